"""Calls and transactions of a deployed TenderRegistry (sealed bids, issue #21).

Reverts are decoded into :class:`~chainproof.errors.ContractRevertError` (``CommitClosed``,
``RevealNotOpen``, ``CommitmentMismatch``, ...) by the evidence client's decoder, which works
for any ABI. The deploy helper mirrors ``deploy_trace_registry`` (one deploy helper for all
registries is issue #16's, in progress).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from eth_utils import keccak
from hexbytes import HexBytes
from web3 import Web3

from chainproof.chain.client import ContractClient
from chainproof.chain.compiler import ContractArtifact, load_artifact
from chainproof.chain.context import ChainContext
from chainproof.chain.deployments import (
    Deployment,
    check_deployment,
    deploy_contract,
    load_record,
    save_record,
)
from chainproof.chain.sender import MinedTx, TxSender
from chainproof.vocabulary import ChainKind

ORGANISER_ROLE = keccak(text="ORGANISER_ROLE")
TENDER_REGISTRY: Final = "TenderRegistry"


@dataclass(frozen=True)
class OnChainTender:
    organiser: str
    commit_deadline: int
    reveal_deadline: int
    document_hash: str
    report_hash: str
    award_hash: str
    bids: int
    revealed: int


@dataclass(frozen=True)
class OnChainBid:
    commitment: str
    committed_at: int
    revealed_at: int
    bid_digest: str


def _h(value: Any) -> str:
    return HexBytes(value).to_0x_hex()


class TenderRegistryClient(ContractClient):
    """Calls and transactions of one deployed TenderRegistry."""

    contract_name = "TenderRegistry"

    def _send(self, sender: TxSender, fn: Any) -> MinedTx:
        return self.transact(sender, fn)

    def grant_organiser(self, sender: TxSender, account: str) -> MinedTx:
        fn = self.contract.functions.grantRole(ORGANISER_ROLE, Web3.to_checksum_address(account))
        return self._send(sender, fn)

    def open_tender(
        self,
        sender: TxSender,
        tender: bytes,
        commit_deadline: int,
        reveal_deadline: int,
        document_hash: bytes,
    ) -> MinedTx:
        fn = self.contract.functions.openTender(
            tender, commit_deadline, reveal_deadline, document_hash
        )
        return self._send(sender, fn)

    def commit_bid(
        self, sender: TxSender, tender: bytes, bidder: str, commitment: bytes, signature: bytes
    ) -> MinedTx:
        fn = self.contract.functions.commitBid(
            tender, Web3.to_checksum_address(bidder), commitment, signature
        )
        return self._send(sender, fn)

    def reveal_bid(
        self, sender: TxSender, tender: bytes, bidder: str, bid_digest: bytes, salt: bytes
    ) -> MinedTx:
        fn = self.contract.functions.revealBid(
            tender, Web3.to_checksum_address(bidder), bid_digest, salt
        )
        return self._send(sender, fn)

    def award(
        self, sender: TxSender, tender: bytes, report_hash: bytes, award_hash: bytes
    ) -> MinedTx:
        return self._send(sender, self.contract.functions.award(tender, report_hash, award_hash))

    def tender(self, tender: bytes) -> OnChainTender:
        t = self.call(self.contract.functions.getTender(tender).call)
        return OnChainTender(
            t[0], int(t[1]), int(t[2]), _h(t[3]), _h(t[4]), _h(t[5]), int(t[6]), int(t[7])
        )

    def events(self, name: str, tender: bytes) -> list[dict[str, Any]]:
        """``BidCommitted`` / ``BidRevealed`` / ``TenderAwarded`` events of ``tender``, each
        with its block's number and time (the chain's word on when)."""
        logs = getattr(self.contract.events, name)().get_logs(
            argument_filters={"tenderId": tender}, from_block=0, to_block="latest"
        )
        out = []
        for log in logs:
            block = self.w3.eth.get_block(log["blockNumber"])
            args = {k: _h(v) if isinstance(v, bytes) else v for k, v in log["args"].items()}
            args.pop("tenderId", None)
            out.append(
                {
                    **args,
                    "block_number": int(log["blockNumber"]),
                    "block_timestamp": int(block["timestamp"]),
                    "tx_hash": _h(log["transactionHash"]),
                }
            )
        return out

    def bid(self, tender: bytes, bidder: str) -> OnChainBid:
        fn = self.contract.functions.getBid(tender, Web3.to_checksum_address(bidder))
        b = self.call(fn.call)
        return OnChainBid(_h(b[0]), int(b[1]), int(b[2]), _h(b[3]))


def deploy_tender_registry(
    w3: Web3, sender: TxSender, artifact: ContractArtifact, *, admin: str | None = None
) -> Deployment:
    """Deploys TenderRegistry with ``admin`` (default: the sender's account)."""
    admin_address = Web3.to_checksum_address(admin or sender.account.address)
    return deploy_contract(w3, sender, artifact, (admin_address,))


def tender_registry(chain: ChainContext, *, data_dir: Path | None) -> TenderRegistryClient:
    """The TenderRegistry of ``chain``: the recorded one (checked against the source) or a
    new deployment by the operator's key, which is then the organiser (as trace_chain).
    Found once per chain context (``ChainContext.local``)."""
    return chain.local(TenderRegistryClient, lambda: _find_or_deploy(chain, data_dir))


def _find_or_deploy(chain: ChainContext, data_dir: Path | None) -> TenderRegistryClient:
    artifact = load_artifact(TENDER_REGISTRY)
    w3 = chain.w3
    persist = data_dir is not None and chain.node.kind != ChainKind.EMBEDDED
    record = None
    if persist:
        assert data_dir is not None
        record = load_record(data_dir, int(w3.eth.chain_id), TENDER_REGISTRY)
    if record is not None:
        check_deployment(w3, record, artifact)
        return TenderRegistryClient(w3, record.address, artifact.abi)
    record = deploy_tender_registry(w3, chain.sender, artifact)
    found = TenderRegistryClient(w3, record.address, artifact.abi)
    found.grant_organiser(chain.sender, chain.sender.address)
    if persist:
        assert data_dir is not None
        save_record(data_dir, record)
    return found
