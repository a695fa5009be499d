"""Evidence records: read one, issue its receipt, revoke it, rebuild the anchor index."""

from __future__ import annotations

from typing import Any

from eth_utils import keccak
from sqlmodel import Session, col, delete, select

from chainproof.chain.context import ChainContext
from chainproof.errors import (
    ChainProofError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
)
from chainproof.evidence.proofs import proof_of
from chainproof.evidence.roots import root_states
from chainproof.evidence.verify import Viewer, anchor_fields, may_see_private
from chainproof.public_ids import parse_public_id
from chainproof.receipts import LEAF_TYPES, RECEIPT_VERSION, Receipt
from chainproof.store.models import (
    AnchorRecord,
    Batch,
    Evidence,
    EvidenceStatus,
    Member,
    RevokedLeaf,
    utcnow,
)

MAX_REASON = 500  # the evidence.revoke_reason column


def get_evidence(*, session: Session, evidence_id: str) -> Evidence:
    """The row named by its public id. Anything else (an old integer id, a malformed id)
    is the same 404 as an id nobody has: ids are not a way to learn what exists."""
    public_id = parse_public_id(evidence_id)
    ev = None
    if public_id is not None:
        ev = session.exec(select(Evidence).where(Evidence.public_id == public_id)).first()
    if ev is None:
        raise NotFoundError(f"no evidence with id {evidence_id!r}")
    return ev


def visible_evidence(*, session: Session, evidence_id: str, viewer: Viewer) -> Evidence:
    """The row, if ``viewer`` may see its private fields; else the NotFoundError of a
    missing id, word for word, so a stranger cannot tell the two apart."""
    ev = get_evidence(session=session, evidence_id=evidence_id)
    assert ev.id is not None
    if not may_see_private(
        session, viewer, evidence_id=ev.id, member_id=ev.member_id, digest=ev.digest
    ):
        raise NotFoundError(f"no evidence with id {evidence_id!r}")
    return ev


def evidence_public(*, session: Session, evidence_id: str, viewer: Viewer) -> dict[str, Any]:
    """The API shape of ``GET /api/v1/evidence/{id}``: id and status for everyone, the rest
    for those who may see it (``verify.may_see_private``)."""
    ev = get_evidence(session=session, evidence_id=evidence_id)
    assert ev.id is not None
    out: dict[str, Any] = {"id": ev.public_id, "status": ev.status}
    if not may_see_private(
        session, viewer, evidence_id=ev.id, member_id=ev.member_id, digest=ev.digest
    ):
        return out
    batch = session.get(Batch, ev.batch_id) if ev.batch_id else None
    anchor = None
    if batch is not None and batch.block_number is not None and ev.status != EvidenceStatus.BATCHED:
        anchor = anchor_fields(batch)
    member = session.get(Member, ev.member_id) if ev.member_id is not None else None
    out.update(
        algorithm=ev.algorithm,
        digest=ev.digest,
        anchor=anchor,
        member=member.name if member else None,
        label=ev.label,
        filename=ev.filename,
        size=ev.size,
        created_at=ev.created_at.isoformat(),
        # The index's own time of confirmation; the proof of time is the block's.
        confirmed_at=ev.anchored_at.isoformat() if ev.anchored_at else None,
        revoked_at=ev.revoked_at.isoformat() if ev.revoked_at else None,
        revoke_reason=ev.revoke_reason,
    )
    return out


def build_receipt(*, session: Session, evidence_id: str, viewer: Viewer) -> Receipt:
    """The self-contained receipt, for those who may see the record (404 for anyone else,
    as for a missing id: the salt in it is what keeps the digest from being probed);
    ConflictError (409) while the document is not anchored."""
    ev = visible_evidence(session=session, evidence_id=evidence_id, viewer=viewer)
    batch = session.get(Batch, ev.batch_id) if ev.batch_id else None
    if (
        ev.status in (EvidenceStatus.QUEUED.value, EvidenceStatus.BATCHED.value)
        or batch is None
        or batch.block_number is None
    ):
        raise ConflictError(
            f"evidence {evidence_id} is {ev.status}: its receipt exists once it is anchored",
            status=ev.status,
        )
    try:
        return _receipt_of(ev, batch, proof_of(session, ev, batch))
    except InvalidInputError as exc:
        # The stored rows do not form a valid receipt: our fault, not the caller's.
        raise ChainProofError(
            f"evidence {evidence_id} has inconsistent stored data: {exc.message}"
        ) from exc


def _receipt_of(ev: Evidence, batch: Batch, proof: list[str]) -> Receipt:
    return Receipt.from_dict(
        dict(
            version=RECEIPT_VERSION,
            algorithm=ev.algorithm,
            digest=ev.digest,
            salt=ev.salt,
            leaf_types=list(LEAF_TYPES),
            leaf_values=[ev.algorithm, ev.digest, ev.salt],
            leaf_hash=ev.leaf_hash,
            proof=proof,
            root=batch.root,
            chain_id=batch.chain_id,
            contract=batch.contract,
            tx_hash=batch.tx_hash,
            block_number=batch.block_number,
            block_hash=batch.block_hash,
            block_timestamp=batch.block_timestamp,
            submitter=batch.signer,
            evidence_id=ev.public_id,
            label=ev.label,
            issued_at=utcnow(),
        )
    )


def revoke_evidence(
    *,
    session: Session,
    chain: ChainContext,
    evidence_id: str,
    viewer: Viewer,
    reason: str,
) -> Evidence:
    """Revokes one anchored document on chain (its leaf), by its submitter org or an admin.

    The contract enforces the same rule for the key that anchored (the operator or the org's
    own key); the API checks the org first so an outsider never reaches the chain.
    """
    reason = reason.strip()
    if not 1 <= len(reason) <= MAX_REASON:
        raise InvalidInputError(f"a revocation reason of 1 to {MAX_REASON} characters is required")
    ev = get_evidence(session=session, evidence_id=evidence_id)
    if not viewer.owns(ev.member_id):
        # Another member's record is "not found", word for word as a missing one.
        raise NotFoundError(f"no evidence with id {evidence_id!r}")
    if ev.status == EvidenceStatus.REVOKED.value:
        raise ConflictError(f"evidence {evidence_id} is revoked already")
    if ev.status != EvidenceStatus.ANCHORED.value:
        raise ConflictError(
            f"evidence {evidence_id} is {ev.status}: only anchored evidence can be revoked"
        )
    chain.require_ok()
    batch = session.get(Batch, ev.batch_id)
    assert batch is not None
    reason_hash = keccak(text=reason)
    try:
        mined = chain.registry.revoke_leaf(
            chain.sender, batch.root, ev.leaf_hash, proof_of(session, ev, batch), reason_hash
        )
    finally:
        # Our own revocation is seen by the next verify, not a second later (roots.py).
        root_states(chain).forget(bytes.fromhex(batch.root[2:]))
    ev.status = EvidenceStatus.REVOKED.value
    ev.revoked_at = utcnow()
    ev.revoke_reason = reason
    session.merge(
        RevokedLeaf(
            root=batch.root,
            leaf_hash=ev.leaf_hash,
            reason_hash="0x" + reason_hash.hex(),
            tx_hash=mined.tx_hash,
            block_number=mined.block_number,
        )
    )
    session.add(ev)
    session.commit()
    session.refresh(ev)
    return ev


def reindex(
    *, session: Session, chain: ChainContext, from_block: int | None = None
) -> dict[str, int]:
    """Rebuilds the anchor index (anchor_record, revoked_leaf) from the contract's events.

    The chain is the source of truth (invariant 1): losing these tables loses nothing.
    """
    chain.require_ok()
    start = chain.deployment.block_number if from_block is None else from_block
    if from_block is None:
        session.exec(delete(AnchorRecord))
        session.exec(delete(RevokedLeaf))
    anchors = chain.registry.anchored_events(from_block=start)
    for a in anchors:
        session.merge(
            AnchorRecord(
                root=a.root,
                chain_id=chain.chain_id,
                contract=chain.contract,
                submitter=a.submitter,
                leaf_count=a.leaf_count,
                metadata_hash=a.metadata_hash,
                tx_hash=a.tx_hash,
                block_number=a.block_number,
                block_hash=a.block_hash,
                block_timestamp=a.timestamp,
                log_index=a.log_index,
            )
        )
    session.flush()
    revocations = chain.registry.revocation_events(from_block=start)
    for r in revocations:
        if r["event"] == "RootRevoked":
            rec = session.get(AnchorRecord, r["root"])
            if rec is not None:
                rec.revoked = True
                rec.revoked_reason_hash = r["reason_hash"]
                session.add(rec)
        else:
            session.merge(
                RevokedLeaf(
                    root=r["root"],
                    leaf_hash=r["leaf"],
                    reason_hash=r["reason_hash"],
                    tx_hash=r["tx_hash"],
                    block_number=r["block_number"],
                )
            )
    session.commit()
    total = len(session.exec(select(col(AnchorRecord.root))).all())
    return {"anchors": len(anchors), "revocations": len(revocations), "indexed": total}
