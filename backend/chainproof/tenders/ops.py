"""Sealed bids' kinds of chain operation (``chain/writer.py``): opening a tender, relaying a
bidder's signed commitment, relaying a reveal, anchoring the award.

Every TenderRegistry transaction goes through the chain writer, so the operator's key has
one nonce owner and one crash story: the API enqueues and the writer signs, sends and
confirms. Each kind looks at the chain before signing and settles without a transaction
when the chain holds its effect already (a receipt lost to a crash), so a kill at any step
lands each intention once. The first tender's operation also deploys the registry, inside
the writer (the same nonce owner).

A relayed commitment stays the bidder's: the contract checks the bidder's EIP-712
signature over it, so the writer can carry it but not change it. A reveal the contract
refuses as ``CommitmentMismatch`` is flagged here (``failed``) for the tender page.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Final

from sqlmodel import Session, col, func, select
from web3 import Web3

from chainproof.chain.context import ChainContext
from chainproof.chain.sender import MinedTx
from chainproof.chain.tender_registry import TenderRegistryClient, tender_registry
from chainproof.chain.writer import Call, OpKind
from chainproof.store.ops import ChainOp
from chainproof.tenders.commitments import commitment
from chainproof.tenders.models import Tender, TenderFlag

OPEN: Final = "tender_open"
COMMIT: Final = "tender_commit"
REVEAL: Final = "tender_reveal"
AWARD: Final = "tender_award"
KINDS: Final = (OPEN, COMMIT, REVEAL, AWARD)
_ZERO: Final = "0x" + "00" * 32  # an empty bytes32 slot
MISMATCH: Final = "the revealed bid file and salt do not match the commitment"


def _b(value: str) -> bytes:
    return bytes.fromhex(value[2:])


def dedupe_key(kind: str, tender_id: str, bidder: str | None = None) -> str:
    """One live operation per tender (open, award) or per tender and bidder (commit,
    reveal): asking twice while the first is in flight is a 409, not two transactions."""
    tail = f":{bidder[2:].lower()}" if bidder else ""
    return f"{kind}:{tender_id[2:]}{tail}"


def live_commitments(session: Session, tender_id: str) -> int:
    """Commitments of ``tender_id`` enqueued and not settled yet (bounded with the chain's)."""
    prefix = dedupe_key(COMMIT, tender_id) + ":"
    return int(
        session.exec(select(func.count()).where(col(ChainOp.dedupe_key).startswith(prefix))).one()
    )


class _TenderKind:
    name: str

    def __init__(self, data_dir: Path | None) -> None:
        self.data_dir = data_dir

    def registry(self, chain: ChainContext) -> TenderRegistryClient:
        return tender_registry(chain, data_dir=self.data_dir)

    def confirmed(
        self, session: Session, op: ChainOp, chain: ChainContext, mined: MinedTx | None
    ) -> None:
        return None  # the chain is the record: the tender page reads its events

    def failed(self, session: Session, op: ChainOp, chain: ChainContext) -> None:
        return None


class OpenTender(_TenderKind):
    """``openTender``; ``confirmed`` writes the tender's row (its reference and title)."""

    name = OPEN

    def build(self, session: Session, op: ChainOp, chain: ChainContext) -> Call | None:
        client = self.registry(chain)  # deploys it on the first tender: in the writer
        p = op.payload
        t = client.tender(_b(p["tender_id"]))
        if (t.organiser, t.commit_deadline, t.reveal_deadline, t.document_hash) == (
            chain.sender.address,
            int(p["commit_deadline"]),
            int(p["reveal_deadline"]),
            p["document_hash"],
        ):
            return None  # opened already, as asked (a receipt a crash lost)
        fn = client.open_tender_call(
            _b(p["tender_id"]),
            int(p["commit_deadline"]),
            int(p["reveal_deadline"]),
            _b(p["document_hash"]),
        )
        return Call(client, fn)

    def confirmed(
        self, session: Session, op: ChainOp, chain: ChainContext, mined: MinedTx | None
    ) -> None:
        p = op.payload
        if session.exec(select(Tender).where(Tender.reference == p["reference"])).first():
            return
        session.add(
            Tender(
                reference=p["reference"],
                title=p["title"],
                tender_id=p["tender_id"],
                registry_address=self.registry(chain).address,
                chain_id=chain.chain_id,
            )
        )


class CommitBid(_TenderKind):
    """``commitBid`` under the bidder's signature."""

    name = COMMIT

    def build(self, session: Session, op: ChainOp, chain: ChainContext) -> Call | None:
        client, p = self.registry(chain), op.payload
        if client.bid(_b(p["tender_id"]), p["bidder"]).commitment == p["commitment"].lower():
            return None
        fn = client.commit_bid_call(
            _b(p["tender_id"]), p["bidder"], _b(p["commitment"]), _b(p["signature"])
        )
        return Call(client, fn)


class RevealBid(_TenderKind):
    """``revealBid``; a reveal the commitment refuses is flagged for the tender page."""

    name = REVEAL

    def build(self, session: Session, op: ChainOp, chain: ChainContext) -> Call | None:
        client, p = self.registry(chain), op.payload
        bid = client.bid(_b(p["tender_id"]), p["bidder"])
        if bid.revealed_at != 0 and bid.bid_digest == p["bid_digest"].lower():
            return None
        fn = client.reveal_bid_call(
            _b(p["tender_id"]), p["bidder"], _b(p["bid_digest"]), _b(p["salt"])
        )
        return Call(client, fn)

    def failed(self, session: Session, op: ChainOp, chain: ChainContext) -> None:
        p = op.payload
        bid = self.registry(chain).bid(_b(p["tender_id"]), p["bidder"])
        opened = commitment(_b(p["tender_id"]), p["bidder"], _b(p["bid_digest"]), _b(p["salt"]))
        if bid.commitment == _ZERO or _b(bid.commitment) == opened:
            return None  # no bid, or refused for its timing: nothing to flag
        row = session.exec(select(Tender).where(Tender.tender_id == p["tender_id"])).first()
        if row is None or row.id is None:
            return None
        session.add(
            TenderFlag(
                tender=row.id,
                bidder=Web3.to_checksum_address(p["bidder"]),
                bid_digest=p["bid_digest"].lower(),
                reason=MISMATCH,
            )
        )


class AwardTender(_TenderKind):
    """``award``: the evaluation report's and the award's digests."""

    name = AWARD

    def build(self, session: Session, op: ChainOp, chain: ChainContext) -> Call | None:
        client, p = self.registry(chain), op.payload
        t = client.tender(_b(p["tender_id"]))
        if (t.report_hash, t.award_hash) == (p["report_hash"], p["award_hash"]):
            return None  # awarded already, as asked (another award: the contract refuses)
        fn = client.award_call(_b(p["tender_id"]), _b(p["report_hash"]), _b(p["award_hash"]))
        return Call(client, fn)


def tender_kinds(*, data_dir: Path | None) -> Mapping[str, OpKind]:
    kinds: list[OpKind] = [
        OpenTender(data_dir),
        CommitBid(data_dir),
        RevealBid(data_dir),
        AwardTender(data_dir),
    ]
    return {k.name: k for k in kinds}
