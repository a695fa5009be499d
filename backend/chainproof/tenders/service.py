"""Tenders on the server: open (the operator organises on chain), relay bidders' signed
commitments and their reveals, award; the public view read from the chain's events.

The server relays but holds nothing that could change a bid: a commitment is checked on
chain against the bidder's EIP-712 signature, a reveal against the commitment. Deadlines
are block time (``TenderRegistry``). Every transaction is an operation of the chain writer
(``tenders/ops.py``): these functions check what they can, enqueue and return the
operation; a reveal the contract refuses as ``CommitmentMismatch`` is flagged when the
writer hears the refusal.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from sqlmodel import Session, select
from web3 import Web3

from chainproof.chain.context import ChainContext
from chainproof.chain.tender_registry import TenderRegistryClient, tender_registry_at
from chainproof.chain.writer import enqueue
from chainproof.digests import parse_hex
from chainproof.errors import ConflictError, InvalidInputError, NotFoundError
from chainproof.store.ops import ChainOp, OpStatus
from chainproof.tenders import ops
from chainproof.tenders.commitments import tender_id
from chainproof.tenders.models import Tender, TenderFlag

# The operator pays each relayed commitment's gas: a tender takes this many at most, so
# signatures from throw-away keys cannot drain it (the rate limit bounds the pace).
MAX_BIDS = 500


def _registry(chain: ChainContext, row: Tender) -> TenderRegistryClient:
    chain.require_ok()
    return tender_registry_at(chain, row.registry_address)


def _hex32(value: str, what: str) -> str:
    return "0x" + parse_hex(value, size=32, what=what).hex()


def open_tender(
    *,
    session: Session,
    chain: ChainContext,
    reference: str,
    title: str,
    commit_deadline: datetime,
    reveal_deadline: datetime,
    document_digest: str,
) -> ChainOp:
    if session.exec(select(Tender).where(Tender.reference == reference)).first() is not None:
        raise ConflictError(f"tender {reference!r} exists")
    commit_at, reveal_at = int(commit_deadline.timestamp()), int(reveal_deadline.timestamp())
    # The contract takes uint64 block times: a past or out-of-range deadline is the caller's
    # mistake (400), not a transaction the chain refuses or an encoding error (500).
    if not time.time() < commit_at < reveal_at < 2**64:
        raise InvalidInputError(
            "commit_deadline must be in the future and reveal_deadline after it",
            commit_deadline=commit_deadline.isoformat(),
            reveal_deadline=reveal_deadline.isoformat(),
        )
    chain.require_ok()
    tid = "0x" + tender_id(reference).hex()
    return enqueue(
        session,
        kind=ops.OPEN,
        payload={
            "reference": reference,
            "title": title,
            "tender_id": tid,
            "commit_deadline": commit_at,
            "reveal_deadline": reveal_at,
            "document_hash": _hex32(document_digest, "document_digest"),
        },
        dedupe_key=ops.dedupe_key(ops.OPEN, tid),
    )


def get_tender(session: Session, reference: str) -> Tender:
    row = session.exec(select(Tender).where(Tender.reference == reference)).first()
    if row is None:
        raise NotFoundError(f"no tender {reference!r}")
    return row


def _bidder(bidder: str) -> str:
    if not Web3.is_address(bidder):
        raise InvalidInputError("bidder is not an address")
    return Web3.to_checksum_address(bidder)


def relay_commitment(
    *,
    session: Session,
    chain: ChainContext,
    reference: str,
    bidder: str,
    commitment: str,
    signature: str,
) -> ChainOp:
    row = get_tender(session, reference)
    registry = _registry(chain, row)
    who = _bidder(bidder)
    sig = parse_hex(signature, what="signature")
    if len(sig) != 65:
        raise InvalidInputError("a signature is 65 bytes")
    on_chain = registry.tender(bytes.fromhex(row.tender_id[2:])).bids
    if on_chain + ops.live_commitments(session, row.tender_id) >= MAX_BIDS:
        raise ConflictError(f"tender {reference!r} has {MAX_BIDS} bids, the most relayed")
    return _bidder_op(
        session,
        ops.COMMIT,
        row,
        who,
        commitment=_hex32(commitment, "commitment"),
        signature="0x" + sig.hex(),
    )


def relay_reveal(
    *,
    session: Session,
    chain: ChainContext,
    reference: str,
    bidder: str,
    bid_digest: str,
    salt: str,
) -> ChainOp:
    row = get_tender(session, reference)
    chain.require_ok()
    who = _bidder(bidder)
    return _bidder_op(
        session,
        ops.REVEAL,
        row,
        who,
        bid_digest=_hex32(bid_digest, "bid_digest"),
        salt=_hex32(salt, "salt"),
    )


def _bidder_op(session: Session, kind: str, row: Tender, who: str, **fields: str) -> ChainOp:
    """A bidder's operation on a tender, queued for the chain writer: one per bidder, tender
    and kind (its dedupe key)."""
    return enqueue(
        session,
        kind=kind,
        payload={"reference": row.reference, "tender_id": row.tender_id, "bidder": who, **fields},
        dedupe_key=ops.dedupe_key(kind, row.tender_id, who),
    )


def award(
    *,
    session: Session,
    chain: ChainContext,
    reference: str,
    report_digest: str,
    award_digest: str,
) -> ChainOp:
    row = get_tender(session, reference)
    chain.require_ok()
    return enqueue(
        session,
        kind=ops.AWARD,
        payload={
            "reference": reference,
            "tender_id": row.tender_id,
            "report_hash": _hex32(report_digest, "report_digest"),
            "award_hash": _hex32(award_digest, "award_digest"),
        },
        dedupe_key=ops.dedupe_key(ops.AWARD, row.tender_id),
    )


def tender_operation(session: Session, reference: str, operation_id: str) -> ChainOp:
    """A tender's operation, public to whoever holds its id (a bidder has no API key): the
    same 404 for an unknown id and for another tender's or another service's."""
    op = session.exec(select(ChainOp).where(ChainOp.public_id == operation_id)).first()
    if op is None or op.kind not in ops.KINDS or op.payload.get("reference") != reference:
        raise NotFoundError(f"no operation {operation_id} of tender {reference!r}")
    return op


def settled_result(op: ChainOp) -> dict[str, Any]:
    """What a confirmed operation carried; ConflictError (409) with the contract's refusal
    for a failed one."""
    if op.status == OpStatus.FAILED.value:
        raise ConflictError(f"the TenderRegistry refused it: {op.error}", operation=op.public_id)
    return {"tx_hash": op.tx_hash, "block_number": op.block_number}


def tender_public(*, session: Session, chain: ChainContext, reference: str) -> dict[str, Any]:
    """Everything from the chain (deadlines, commitments and openings with their block
    times, award), the server's flags beside it."""
    row = get_tender(session, reference)
    registry = _registry(chain, row)
    tid = bytes.fromhex(row.tender_id[2:])
    t = registry.tender(tid)
    awards = registry.events("TenderAwarded", tid)
    flags = session.exec(select(TenderFlag).where(TenderFlag.tender == row.id)).all()
    return {
        "reference": row.reference,
        "title": row.title,
        "tender_id": row.tender_id,
        "registry": row.registry_address,
        "chain_id": row.chain_id,
        "organiser": t.organiser,
        "commit_deadline": t.commit_deadline,
        "reveal_deadline": t.reveal_deadline,
        "document_hash": t.document_hash,
        "commitments": registry.events("BidCommitted", tid),
        "openings": registry.events("BidRevealed", tid),
        "award": awards[0] if awards else None,
        "flags": [
            {"bidder": f.bidder, "bid_digest": f.bid_digest, "reason": f.reason} for f in flags
        ],
    }
