"""Calls and transactions of a deployed TenderRegistry (sealed bids, issue #21).

Reverts are decoded into :class:`~chainproof.errors.ContractRevertError` (``CommitClosed``,
``RevealNotOpen``, ``CommitmentMismatch``, ...) by the evidence client's decoder, which works
for any ABI. The deploy helper mirrors ``deploy_trace_registry`` (one deploy helper for all
registries is issue #16's, in progress).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from eth_utils import keccak
from hexbytes import HexBytes
from web3 import Web3
from web3.contract.contract import ContractFunction

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

    # The calls the chain writer signs (tenders/ops.py); the direct sends below are for
    # tests and one-off tools only: the server's transactions all go through the writer.

    def open_tender_call(
        self, tender: bytes, commit_deadline: int, reveal_deadline: int, document_hash: bytes
    ) -> ContractFunction:
        return self.contract.functions.openTender(
            tender, commit_deadline, reveal_deadline, document_hash
        )

    def commit_bid_call(
        self, tender: bytes, bidder: str, commitment: bytes, signature: bytes
    ) -> ContractFunction:
        return self.contract.functions.commitBid(
            tender, Web3.to_checksum_address(bidder), commitment, signature
        )

    def reveal_bid_call(
        self, tender: bytes, bidder: str, bid_digest: bytes, salt: bytes
    ) -> ContractFunction:
        return self.contract.functions.revealBid(
            tender, Web3.to_checksum_address(bidder), bid_digest, salt
        )

    def award_call(self, tender: bytes, report_hash: bytes, award_hash: bytes) -> ContractFunction:
        return self.contract.functions.award(tender, report_hash, award_hash)

    def open_tender(
        self,
        sender: TxSender,
        tender: bytes,
        commit_deadline: int,
        reveal_deadline: int,
        document_hash: bytes,
    ) -> MinedTx:
        fn = self.open_tender_call(tender, commit_deadline, reveal_deadline, document_hash)
        return self._send(sender, fn)

    def commit_bid(
        self, sender: TxSender, tender: bytes, bidder: str, commitment: bytes, signature: bytes
    ) -> MinedTx:
        return self._send(sender, self.commit_bid_call(tender, bidder, commitment, signature))

    def reveal_bid(
        self, sender: TxSender, tender: bytes, bidder: str, bid_digest: bytes, salt: bytes
    ) -> MinedTx:
        return self._send(sender, self.reveal_bid_call(tender, bidder, bid_digest, salt))

    def award(
        self, sender: TxSender, tender: bytes, report_hash: bytes, award_hash: bytes
    ) -> MinedTx:
        return self._send(sender, self.award_call(tender, report_hash, award_hash))

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


class _Found:
    """This chain context's TenderRegistry once found or deployed (kept on the context)."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.client: TenderRegistryClient | None = None


def tender_registry(chain: ChainContext, *, data_dir: Path | None) -> TenderRegistryClient:
    """The TenderRegistry of ``chain``: the recorded one (checked against the source) or a
    new deployment by the operator's key, which is then the organiser (as trace_chain).

    Only the chain writer calls this (``tenders/ops.py``, opening a tender): the deployment
    is then sent by the key's one nonce owner. Readers use :func:`find_tender_registry`."""
    found = chain.local(_Found, _Found)
    with found.lock:
        if found.client is None:
            found.client = _recorded(chain, data_dir) or _deploy(chain, data_dir)
        return found.client


def find_tender_registry(
    chain: ChainContext, *, data_dir: Path | None
) -> TenderRegistryClient | None:
    """The TenderRegistry of ``chain`` if one was deployed (never deploys one)."""
    found = chain.local(_Found, _Found)
    with found.lock:
        if found.client is None:
            found.client = _recorded(chain, data_dir)
        return found.client


def tender_registry_at(chain: ChainContext, address: str) -> TenderRegistryClient:
    """The client of the TenderRegistry a tender row names (no lookup, no deployment)."""
    return TenderRegistryClient(chain.w3, address, load_artifact(TENDER_REGISTRY).abi)


def _persist(chain: ChainContext, data_dir: Path | None) -> bool:
    return data_dir is not None and chain.node.kind != ChainKind.EMBEDDED


def _recorded(chain: ChainContext, data_dir: Path | None) -> TenderRegistryClient | None:
    if not _persist(chain, data_dir):
        return None
    assert data_dir is not None
    record = load_record(data_dir, chain.chain_id, TENDER_REGISTRY)
    if record is None:
        return None
    artifact = load_artifact(TENDER_REGISTRY)
    check_deployment(chain.w3, record, artifact)
    return TenderRegistryClient(chain.w3, record.address, artifact.abi)


def _deploy(chain: ChainContext, data_dir: Path | None) -> TenderRegistryClient:
    artifact = load_artifact(TENDER_REGISTRY)
    record = deploy_tender_registry(chain.w3, chain.sender, artifact)
    found = TenderRegistryClient(chain.w3, record.address, artifact.abi)
    found.grant_organiser(chain.sender, chain.sender.address)
    if _persist(chain, data_dir):
        assert data_dir is not None
        save_record(data_dir, record)
    return found
