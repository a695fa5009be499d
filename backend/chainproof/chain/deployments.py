"""Deployment records: which contract lives where, on which chain.

A record is written per chain (keyed by chain id) under ``<data_dir>/deployments/``. The next
start reuses it after checking that the chain is still the one it names: same genesis block
and the expected runtime code at the address. A reset Anvil (new genesis) or a different
network is reported as :class:`~chainproof.errors.ChainMismatchError` and nothing runs as if
the earlier anchors still existed (trust invariant 6).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from hexbytes import HexBytes
from web3 import Web3

from chainproof.chain.compiler import ContractArtifact, runtime_matches
from chainproof.chain.registry import EvidenceRegistryClient
from chainproof.chain.sender import TxSender
from chainproof.errors import ChainMismatchError, TransactionError

REGISTRY = "EvidenceRegistry"


@dataclass(frozen=True)
class Deployment:
    contract: str
    chain_id: int
    genesis_hash: str
    address: str
    tx_hash: str
    block_number: int
    bytecode_hash: str  # keccak-256 of the runtime code read back from the chain
    deployer: str
    deployed_at: str


def genesis_hash(w3: Web3) -> str:
    return HexBytes(w3.eth.get_block(0)["hash"]).to_0x_hex()


def record_path(data_dir: Path, chain_id: int, contract: str = REGISTRY) -> Path:
    return data_dir / "deployments" / f"{contract}-{chain_id}.json"


def load_record(data_dir: Path, chain_id: int, contract: str = REGISTRY) -> Deployment | None:
    path = record_path(data_dir, chain_id, contract)
    if not path.is_file():
        return None
    return Deployment(**json.loads(path.read_text()))


def save_record(data_dir: Path, deployment: Deployment) -> Path:
    path = record_path(data_dir, deployment.chain_id, deployment.contract)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(deployment), indent=2) + "\n")
    os.replace(tmp, path)  # atomic: a crash never leaves half a record
    return path


def check_deployment(w3: Web3, deployment: Deployment, artifact: ContractArtifact) -> None:
    """Raises ChainMismatchError unless ``deployment`` is live on the chain ``w3`` talks to."""
    chain_id = w3.eth.chain_id
    if chain_id != deployment.chain_id:
        raise ChainMismatchError(
            f"the node is chain {chain_id}, but the deployment record is for chain "
            f"{deployment.chain_id}",
            expected_chain_id=deployment.chain_id,
            found_chain_id=chain_id,
        )
    found_genesis = genesis_hash(w3)
    if found_genesis != deployment.genesis_hash:
        raise ChainMismatchError(
            f"chain {chain_id} has genesis {found_genesis}, but {deployment.contract} was "
            f"deployed on a chain with genesis {deployment.genesis_hash}: the chain was reset "
            "or replaced, so anchors recorded earlier are not on it. Point ChainProof at the "
            "original chain, or deploy anew with `chainproof contracts deploy --new` "
            "(see docs/operations.md, 'Chain reset').",
            expected_genesis=deployment.genesis_hash,
            found_genesis=found_genesis,
        )
    code = bytes(w3.eth.get_code(Web3.to_checksum_address(deployment.address)))
    if not code:
        raise ChainMismatchError(
            f"no contract code at {deployment.address} on chain {chain_id}: the chain lost "
            "the deployment (a node restarted without its state?). Restore the node's state, "
            "or deploy anew with `chainproof contracts deploy --new` (docs/operations.md).",
            address=deployment.address,
        )
    if not runtime_matches(artifact, code):
        raise ChainMismatchError(
            f"the code at {deployment.address} is not {deployment.contract} as compiled from "
            "contracts/: the sources changed since it was deployed, or it is another contract. "
            "Deploy anew with `chainproof contracts deploy --new`.",
            address=deployment.address,
        )


def deploy_registry(
    w3: Web3, deployer: LocalAccount, artifact: ContractArtifact, *, admin: str | None = None
) -> Deployment:
    """Deploys EvidenceRegistry with ``admin`` (default: the deployer) and makes the deployer
    a member, so the operator key can anchor straight away."""
    sender = TxSender(w3, deployer)
    factory = w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    admin_address = Web3.to_checksum_address(admin or deployer.address)
    ctor = factory.constructor(admin_address)
    gas = int(ctor.estimate_gas({"from": deployer.address}) * 1.2)
    tx = ctor.build_transaction({"from": deployer.address, "gas": gas, **sender.fee_fields()})
    tx.pop("nonce", None)
    signed = sender.sign(dict(tx))
    sender.send_raw(signed)
    mined = sender.wait(signed.tx_hash)
    receipt = w3.eth.get_transaction_receipt(signed.tx_hash)  # type: ignore[arg-type]
    if mined.status != 1 or not receipt["contractAddress"]:
        raise TransactionError(f"deploying {artifact.name} failed in tx {mined.tx_hash}")
    address = Web3.to_checksum_address(receipt["contractAddress"])
    code = bytes(w3.eth.get_code(address))
    assert code, "deployment left no code"  # the chain must hold what we just deployed
    if admin_address == deployer.address:
        EvidenceRegistryClient(w3, address, artifact.abi).grant_member(sender, deployer.address)
    return Deployment(
        contract=artifact.name,
        chain_id=int(w3.eth.chain_id),
        genesis_hash=genesis_hash(w3),
        address=address,
        tx_hash=mined.tx_hash,
        block_number=mined.block_number,
        bytecode_hash=HexBytes(keccak(code)).to_0x_hex(),
        deployer=str(deployer.address),
        deployed_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )


def ensure_registry(
    w3: Web3,
    *,
    deployer: LocalAccount,
    artifact: ContractArtifact,
    data_dir: Path,
    deploy_if_missing: bool = True,
) -> tuple[Deployment, bool]:
    """The live registry for this chain: the recorded one (checked) or a new deployment.

    Returns (deployment, created). A record whose chain is gone raises ChainMismatchError;
    it is never silently replaced, because that would orphan every receipt issued so far.
    """
    chain_id = int(w3.eth.chain_id)
    record = load_record(data_dir, chain_id)
    if record is not None:
        check_deployment(w3, record, artifact)
        return record, False
    if not deploy_if_missing:
        raise ChainMismatchError(
            f"no {REGISTRY} deployment is recorded for chain {chain_id} under {data_dir}",
            chain_id=chain_id,
        )
    deployment = deploy_registry(w3, deployer, artifact)
    save_record(data_dir, deployment)
    return deployment, True


def retire_record(data_dir: Path, chain_id: int) -> Path | None:
    """Moves the current record aside (kept for the audit trail) so a new deploy can start."""
    path = record_path(data_dir, chain_id)
    if not path.is_file():
        return None
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    retired = path.with_name(f"{path.stem}.retired-{stamp}.json")
    os.replace(path, retired)
    return retired
