"""Calls and transactions of a deployed TenderRegistry (sealed bids, issue #21).

Reverts are decoded into :class:`~chainproof.errors.ContractRevertError` (``CommitClosed``,
``RevealNotOpen``, ``CommitmentMismatch``, ...) by the evidence client's decoder, which works
for any ABI. The deploy helper mirrors ``deploy_trace_registry`` (one deploy helper for all
registries is issue #16's, in progress).
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from hexbytes import HexBytes
from web3 import Web3

from chainproof.chain.compiler import ContractArtifact, load_artifact
from chainproof.chain.context import ChainContext
from chainproof.chain.deployments import (
    Deployment,
    check_deployment,
    genesis_hash,
    load_record,
    save_record,
)
from chainproof.chain.registry import EvidenceRegistryClient
from chainproof.chain.sender import MinedTx, TxSender
from chainproof.errors import TransactionError

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


class TenderRegistryClient:
    def __init__(self, w3: Web3, address: str, abi: list[dict[str, Any]]) -> None:
        self._base = EvidenceRegistryClient(w3, address, abi)
        self.w3 = w3
        self.address = self._base.address
        self.contract = self._base.contract

    def _send(self, sender: TxSender, fn: Any) -> MinedTx:
        return self._base.transact(sender, fn)

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
        t = self._base._translate(self.contract.functions.getTender(tender).call)
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
        b = self._base._translate(fn.call)
        return OnChainBid(_h(b[0]), int(b[1]), int(b[2]), _h(b[3]))


def deploy_tender_registry(
    w3: Web3, sender: TxSender, artifact: ContractArtifact, *, admin: str | None = None
) -> Deployment:
    """Deploys TenderRegistry with ``admin`` (default: the sender's account)."""
    deployer: LocalAccount = sender.account
    factory = w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    admin_address = Web3.to_checksum_address(admin or deployer.address)
    ctor = factory.constructor(admin_address)
    gas = int(ctor.estimate_gas({"from": deployer.address}) * 1.2)
    tx = dict(ctor.build_transaction({"from": deployer.address, "gas": gas}))
    tx.pop("nonce", None)
    for fee in ("maxFeePerGas", "maxPriorityFeePerGas", "gasPrice"):
        tx.pop(fee, None)
    with sender.sending():
        signed = sender.sign(tx)
        sender.send_raw(signed)
    mined = sender.wait_sent(signed)
    receipt = w3.eth.get_transaction_receipt(signed.tx_hash)  # type: ignore[arg-type]
    if mined.status != 1 or not receipt["contractAddress"]:
        raise TransactionError(f"deploying {artifact.name} failed in tx {mined.tx_hash}")
    address = Web3.to_checksum_address(receipt["contractAddress"])
    code = bytes(w3.eth.get_code(address))
    assert code, "deployment left no code"
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


_cache: weakref.WeakKeyDictionary[ChainContext, TenderRegistryClient] = weakref.WeakKeyDictionary()
_cache_lock = threading.Lock()


def tender_registry(chain: ChainContext, *, data_dir: Path | None) -> TenderRegistryClient:
    """The TenderRegistry of ``chain``: the recorded one (checked against the source) or a
    new deployment by the operator's key, which is then the organiser (as trace_chain)."""
    with _cache_lock:
        found = _cache.get(chain)
        if found is not None:
            return found
        artifact = load_artifact(TENDER_REGISTRY)
        w3 = chain.w3
        persist = data_dir is not None and chain.node.kind != "embedded"
        record = None
        if persist:
            assert data_dir is not None
            record = load_record(data_dir, int(w3.eth.chain_id), TENDER_REGISTRY)
        if record is not None:
            check_deployment(w3, record, artifact)
            found = TenderRegistryClient(w3, record.address, artifact.abi)
        else:
            record = deploy_tender_registry(w3, chain.sender, artifact)
            found = TenderRegistryClient(w3, record.address, artifact.abi)
            found.grant_organiser(chain.sender, chain.sender.address)
            if persist:
                assert data_dir is not None
                save_record(data_dir, record)
        _cache[chain] = found
        return found
