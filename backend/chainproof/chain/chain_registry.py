"""Client of ``ChainRegistry`` on the main chain (``contracts/ChainRegistry.sol``): sub-chain
registration, key rotation, retirement, checkpoints and their reads."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from hexbytes import HexBytes
from web3 import Web3
from web3.contract.contract import ContractFunction

from chainproof.chain.client import ContractClient
from chainproof.chain.compiler import ContractArtifact, load_artifact
from chainproof.chain.deployments import Deployment, deploy_contract
from chainproof.chain.sender import MinedTx, TxSender

CHAIN_REGISTRY = "ChainRegistry"


@dataclass(frozen=True)
class SubChainRecord:
    chain_id: int
    genesis_hash: str
    name: str
    registries: list[str]
    epoch: int
    next_height: int
    threshold: int
    retired: bool
    known: bool


@dataclass(frozen=True)
class CheckpointRecord:
    index: int
    from_block: int
    to_block: int
    epoch: int
    posted_at: int  # main-chain block number
    root: str


def _hex(value: Any) -> str:
    return HexBytes(value).to_0x_hex()


class ChainRegistryClient(ContractClient):
    contract_name = CHAIN_REGISTRY

    # ---- admin (owner) ------------------------------------------------------------------

    def register(
        self,
        sender: TxSender,
        *,
        chain_id: int,
        genesis_hash: str,
        name: str,
        registries: Sequence[str],
        signers: Sequence[str],
        threshold: int,
        first_height: int = 0,
    ) -> MinedTx:
        fn = self.contract.functions.register(
            chain_id,
            HexBytes(genesis_hash),
            name,
            [Web3.to_checksum_address(r) for r in registries],
            [Web3.to_checksum_address(s) for s in signers],
            threshold,
            first_height,
        )
        return self.transact(sender, fn)

    def rotate_signers(
        self, sender: TxSender, chain_id: int, signers: Sequence[str], threshold: int
    ) -> MinedTx:
        fn = self.contract.functions.rotateSigners(
            chain_id, [Web3.to_checksum_address(s) for s in signers], threshold
        )
        return self.transact(sender, fn)

    def retire(self, sender: TxSender, chain_id: int) -> MinedTx:
        return self.transact(sender, self.contract.functions.retire(chain_id))

    # ---- checkpoints --------------------------------------------------------------------

    def checkpoint_call(
        self,
        chain_id: int,
        from_block: int,
        to_block: int,
        root: str,
        signatures: Sequence[str],
    ) -> ContractFunction:
        return self.contract.functions.checkpoint(
            chain_id, from_block, to_block, HexBytes(root), [HexBytes(s) for s in signatures]
        )

    # ---- reads --------------------------------------------------------------------------

    def chain_of(self, chain_id: int) -> SubChainRecord:
        r = self.call(lambda: self.contract.functions.chainOf(chain_id).call())
        return SubChainRecord(
            chain_id=chain_id,
            genesis_hash=_hex(r[0]),
            name=str(r[1]),
            registries=[Web3.to_checksum_address(a) for a in r[2]],
            epoch=int(r[3]),
            next_height=int(r[4]),
            threshold=int(r[5]),
            retired=bool(r[6]),
            known=bool(r[7]),
        )

    def signers_of(self, chain_id: int, epoch: int) -> list[str]:
        out = self.call(lambda: self.contract.functions.signersOf(chain_id, epoch).call())
        return [Web3.to_checksum_address(a) for a in out]

    def checkpoint_count(self, chain_id: int) -> int:
        return int(self.call(lambda: self.contract.functions.checkpointCount(chain_id).call()))

    def checkpoint_at(self, chain_id: int, index: int) -> CheckpointRecord:
        c = self.call(lambda: self.contract.functions.checkpointAt(chain_id, index).call())
        return CheckpointRecord(index, int(c[0]), int(c[1]), int(c[2]), int(c[3]), _hex(c[4]))

    def checkpoint_for(self, chain_id: int, height: int) -> CheckpointRecord | None:
        found, index, c = self.call(
            lambda: self.contract.functions.checkpointFor(chain_id, height).call()
        )
        if not found:
            return None
        return CheckpointRecord(int(index), int(c[0]), int(c[1]), int(c[2]), int(c[3]), _hex(c[4]))

    def verify_block(
        self, chain_id: int, height: int, block_hash: str, proof: Sequence[str]
    ) -> bool:
        fn = self.contract.functions.verifyBlock(
            chain_id, height, HexBytes(block_hash), [HexBytes(p) for p in proof]
        )
        return bool(self.call(fn.call))


def chain_registry_artifact(root: Path | None = None) -> ContractArtifact:
    return load_artifact(CHAIN_REGISTRY, root=root)


def deploy_chain_registry(
    w3: Web3, deployer: LocalAccount, artifact: ContractArtifact, *, admin: str | None = None
) -> Deployment:
    """Deploys a ChainRegistry on the main chain; ``admin`` (default: the deployer, for
    development) registers, rotates and retires sub-chains."""
    sender = TxSender(w3, deployer)
    return deploy_contract(
        w3, sender, artifact, (Web3.to_checksum_address(admin or deployer.address),)
    )


def chain_registry_abi() -> list[dict[str, Any]]:
    return chain_registry_artifact().abi
