"""Tenders on the server: open (the operator organises on chain), relay bidders' signed
commitments and their reveals, award; the public view read from the chain's events.

The server relays but holds nothing that could change a bid: a commitment is checked on
chain against the bidder's EIP-712 signature, a reveal against the commitment. A reveal the
contract refuses as ``CommitmentMismatch`` is recorded here and flagged on the tender page.
Deadlines are block time (``TenderRegistry``); these functions send the transactions with
the operator's key directly (to move into the chain writer with #15's other op kinds).
"""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session, select
from web3 import Web3

from chainproof.chain.context import ChainContext
from chainproof.chain.tender_registry import TenderRegistryClient, tender_registry
from chainproof.digests import parse_hex
from chainproof.errors import ConflictError, ContractRevertError, InvalidInputError, NotFoundError
from chainproof.tenders.commitments import tender_id
from chainproof.tenders.models import Tender, TenderFlag

# The operator pays each relayed commitment's gas: a tender takes this many at most, so
# signatures from throw-away keys cannot drain it (the rate limit bounds the pace).
MAX_BIDS = 500


def _registry(chain: ChainContext, data_dir: Path) -> TenderRegistryClient:
    chain.require_ok()
    return tender_registry(chain, data_dir=data_dir)


def _refused(exc: ContractRevertError) -> ConflictError:
    return ConflictError(
        f"the TenderRegistry refused it: {exc.error_name} {exc.error_args}",
        contract_error=exc.error_name,
    )


def open_tender(
    *,
    session: Session,
    chain: ChainContext,
    data_dir: Path,
    reference: str,
    title: str,
    commit_deadline: datetime,
    reveal_deadline: datetime,
    document_digest: str,
) -> Tender:
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
    registry = _registry(chain, data_dir)
    tid = tender_id(reference)
    try:
        registry.open_tender(
            chain.sender,
            tid,
            commit_at,
            reveal_at,
            parse_hex(document_digest, size=32, what="document_digest"),
        )
    except ContractRevertError as exc:
        raise _refused(exc) from exc
    row = Tender(
        reference=reference,
        title=title,
        tender_id="0x" + tid.hex(),
        registry_address=registry.address,
        chain_id=chain.chain_id,
    )
    session.add(row)
    session.commit()
    session.refresh(row)
    return row


def get_tender(session: Session, reference: str) -> Tender:
    row = session.exec(select(Tender).where(Tender.reference == reference)).first()
    if row is None:
        raise NotFoundError(f"no tender {reference!r}")
    return row


def relay_commitment(
    *,
    session: Session,
    chain: ChainContext,
    data_dir: Path,
    reference: str,
    bidder: str,
    commitment: str,
    signature: str,
) -> dict[str, Any]:
    row = get_tender(session, reference)
    registry = _registry(chain, data_dir)
    if not Web3.is_address(bidder):
        raise InvalidInputError("bidder is not an address")
    sig = parse_hex(signature, what="signature")
    if len(sig) != 65:
        raise InvalidInputError("a signature is 65 bytes")
    if registry.tender(bytes.fromhex(row.tender_id[2:])).bids >= MAX_BIDS:
        raise ConflictError(f"tender {reference!r} has {MAX_BIDS} bids, the most relayed")
    try:
        mined = registry.commit_bid(
            chain.sender,
            bytes.fromhex(row.tender_id[2:]),
            bidder,
            parse_hex(commitment, size=32, what="commitment"),
            sig,
        )
    except ContractRevertError as exc:
        raise _refused(exc) from exc
    return {"tx_hash": mined.tx_hash, "block_number": mined.block_number}


def relay_reveal(
    *,
    session: Session,
    chain: ChainContext,
    data_dir: Path,
    reference: str,
    bidder: str,
    bid_digest: str,
    salt: str,
) -> dict[str, Any]:
    row = get_tender(session, reference)
    registry = _registry(chain, data_dir)
    if not Web3.is_address(bidder):
        raise InvalidInputError("bidder is not an address")
    digest = parse_hex(bid_digest, size=32, what="bid_digest")
    try:
        mined = registry.reveal_bid(
            chain.sender,
            bytes.fromhex(row.tender_id[2:]),
            bidder,
            digest,
            parse_hex(salt, size=32, what="salt"),
        )
    except ContractRevertError as exc:
        if exc.error_name == "CommitmentMismatch":
            assert row.id is not None
            session.add(
                TenderFlag(
                    tender=row.id,
                    bidder=Web3.to_checksum_address(bidder),
                    bid_digest="0x" + digest.hex(),
                    reason="the revealed bid file and salt do not match the commitment",
                )
            )
            session.commit()
        raise _refused(exc) from exc
    return {"tx_hash": mined.tx_hash, "block_number": mined.block_number}


def award(
    *,
    session: Session,
    chain: ChainContext,
    data_dir: Path,
    reference: str,
    report_digest: str,
    award_digest: str,
) -> dict[str, Any]:
    row = get_tender(session, reference)
    registry = _registry(chain, data_dir)
    try:
        mined = registry.award(
            chain.sender,
            bytes.fromhex(row.tender_id[2:]),
            parse_hex(report_digest, size=32, what="report_digest"),
            parse_hex(award_digest, size=32, what="award_digest"),
        )
    except ContractRevertError as exc:
        raise _refused(exc) from exc
    return {"tx_hash": mined.tx_hash, "block_number": mined.block_number}


def tender_public(
    *, session: Session, chain: ChainContext, data_dir: Path, reference: str
) -> dict[str, Any]:
    """Everything from the chain (deadlines, commitments and openings with their block
    times, award), the server's flags beside it."""
    row = get_tender(session, reference)
    registry = _registry(chain, data_dir)
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
