"""Evidence records: read one, issue its receipt, revoke it, rebuild the anchor index."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Required, TypedDict

from eth_utils import keccak
from sqlmodel import Session, col, delete, select

from chainproof.business import service as business
from chainproof.chain.context import ChainContext
from chainproof.chain.writer import enqueue
from chainproof.errors import (
    ChainProofError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
)
from chainproof.evidence.ops import REVOKE_LEAF
from chainproof.evidence.proofs import TreeCache, proof_of, trees_of
from chainproof.evidence.verify import AnchorFields, Viewer, anchor_fields, may_see_private
from chainproof.receipts import LEAF_TYPES, RECEIPT_VERSION, MetadataSection, Receipt
from chainproof.store.lookup import by_public_id
from chainproof.store.models import (
    AnchorRecord,
    Batch,
    BatchStatus,
    Evidence,
    EvidenceStatus,
    Member,
    RevokedLeaf,
    utcnow,
)
from chainproof.store.ops import ChainOp
from chainproof.timestamping.models import token_b64

MAX_REASON = 500  # the evidence.revoke_reason column


def get_evidence(*, session: Session, evidence_id: str) -> Evidence:
    """The row named by its public id. Anything else (an old integer id, a malformed id)
    is the same 404 as an id nobody has: ids are not a way to learn what exists."""
    ev = by_public_id(session, Evidence, evidence_id)
    if ev is None:
        raise NotFoundError(f"no evidence with id {evidence_id!r}")
    return ev


def _may_see(session: Session, viewer: Viewer, ev: Evidence) -> bool:
    assert ev.id is not None
    return may_see_private(
        session,
        viewer,
        evidence_id=ev.id,
        member_id=ev.member_id,
        digest=ev.digest,
        channel_id=ev.channel_id,
    )


def visible_evidence(*, session: Session, evidence_id: str, viewer: Viewer) -> Evidence:
    """The row, if ``viewer`` may see its private fields; else the NotFoundError of a
    missing id, word for word, so a stranger cannot tell the two apart."""
    ev = get_evidence(session=session, evidence_id=evidence_id)
    if not _may_see(session, viewer, ev):
        raise NotFoundError(f"no evidence with id {evidence_id!r}")
    return ev


class EvidencePublic(TypedDict, total=False):
    """``GET /api/v1/evidence/{id}`` (``EvidenceOut``): id and status for everyone, the
    rest for those who may see the record."""

    id: Required[str]
    status: Required[str]
    algorithm: str
    digest: str
    anchor: AnchorFields | None
    member: str | None
    label: str | None
    filename: str | None
    size: int | None
    created_at: str
    confirmed_at: str | None  # the index's own time of confirmation; the block's is the proof
    revoked_at: str | None
    revoke_reason: str | None
    business_type: str  # typed evidence (issue 25): its type's code and proven metadata
    metadata: dict[str, Any]


def evidence_public(*, session: Session, evidence_id: str, viewer: Viewer) -> EvidencePublic:
    """The API shape of ``GET /api/v1/evidence/{id}``: id and status for everyone, the rest
    for those who may see it (``verify.may_see_private``)."""
    ev = get_evidence(session=session, evidence_id=evidence_id)
    public: EvidencePublic = {"id": ev.public_id, "status": ev.status}
    if not _may_see(session, viewer, ev):
        if ev.channel_id is not None:  # a channel's record does not exist for outsiders
            raise NotFoundError(f"no evidence with id {evidence_id!r}")
        return public
    batch = session.get(Batch, ev.batch_id) if ev.batch_id else None
    anchor = None
    if batch is not None and batch.block_number is not None and ev.status != EvidenceStatus.BATCHED:
        anchor = anchor_fields(batch)
    member = session.get(Member, ev.member_id) if ev.member_id is not None else None
    out = EvidencePublic(
        id=ev.public_id,
        status=ev.status,
        algorithm=ev.algorithm,
        digest=ev.digest,
        anchor=anchor,
        member=member.name if member else None,
        label=ev.label,
        filename=ev.filename,
        size=ev.size,
        created_at=ev.created_at.isoformat(),
        confirmed_at=ev.anchored_at.isoformat() if ev.anchored_at else None,
        revoked_at=ev.revoked_at.isoformat() if ev.revoked_at else None,
        revoke_reason=ev.revoke_reason,
    )
    typed = business.metadata_of(session, ev.salt)
    if typed is not None:  # issue 25: typed evidence
        out["business_type"] = typed[1].business_type
        out["metadata"] = typed[1].metadata
    return out


def build_receipt(
    *, session: Session, evidence_id: str, viewer: Viewer, trees: TreeCache | None = None
) -> Receipt:
    """The self-contained receipt, for those who may see the record (404 for anyone else,
    as for a missing id: the salt in it is what keeps the digest from being probed);
    ConflictError (409) while the document is not anchored. ``trees``: the chain context's
    tree cache (``proofs.trees_of``), or None to read the batch's tree."""
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
        receipt = _receipt_of(ev, batch, proof_of(session, ev, batch, trees=trees))
        token = token_b64(session, ev.id) if ev.id is not None else None  # issue 19
        typed = business.metadata_of(session, ev.salt)  # issue 25: the committed metadata
        update: dict[str, Any] = {"tsa_token": token} if token else {}
        if typed is not None:
            update["metadata"] = MetadataSection(text=typed[0].text, nonce=typed[0].nonce)
        return receipt.model_copy(update=update) if update else receipt
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
) -> ChainOp:
    """Asks the chain writer to revoke one anchored document (its leaf), by its submitter
    org or an admin; returns the operation at once (``GET /api/v1/operations/{id}``).

    On a version-2 registry only the key that anchored may revoke: the operator's own
    anchors it revokes itself; a member's it revokes with the member's custodial key signing
    (``revokeLeafWithSignature``), the operator relaying. On a version-1 registry (an
    honoured past one) the operator revokes as its admin. The org is checked here, so an
    outsider never reaches the chain; a second revocation while one is in flight is a 409.
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
    registry = chain.registry_at(batch.contract)
    member_signs = registry.version >= 2 and batch.signer.lower() != chain.sender.address.lower()
    if member_signs:
        _check_submitter_key(session, ev, batch)
    return enqueue(
        session,
        kind=REVOKE_LEAF,
        member_id=ev.member_id,
        dedupe_key=f"revoke:evidence:{ev.id}",
        payload={
            "evidence_id": ev.id,
            "contract": batch.contract,
            "signer": batch.signer,
            "root": batch.root,
            "leaf": ev.leaf_hash,
            "proof": proof_of(session, ev, batch, trees=trees_of(chain)),
            "reason": "0x" + keccak(text=reason).hex(),
            "reason_text": reason,
            "member_signs": member_signs,
            "from_block": batch.block_number or 0,
        },
    )


def _check_submitter_key(session: Session, ev: Evidence, batch: Batch) -> None:
    """A member's anchor is revoked by the member's custodial key (the one that anchored
    ``batch``): refuse at once when this server does not hold it."""
    member = session.get(Member, ev.member_id) if ev.member_id is not None else None
    if member is None or member.chain_key_encrypted is None:
        raise ConflictError(
            f"evidence {ev.id} was anchored by {batch.signer}, whose key this server does not "
            "hold: only that key can revoke it"
        )
    if (member.chain_address or "").lower() != batch.signer.lower():
        raise ConflictError(
            f"evidence {ev.id} was anchored by {batch.signer}, not by its member's current "
            f"key {member.chain_address}: only that key can revoke it"
        )


def reindex(
    *,
    session: Session,
    chain: ChainContext,
    from_block: int | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> dict[str, int]:
    """Rebuilds the anchor index (anchor_record, revoked_leaf) from the contract's events:
    the current registry's, those of the past registries still honoured (v1 after an
    upgrade) and the virtual channels' own registries (``chain.channel_registries()``).

    The chain is the source of truth (docs/architecture.md, promise 1): losing these tables loses
    nothing. In version 2 two members may anchor the same root; the index keeps one record per root,
    ours (the batch's signer) when we anchored it, and a revocation counts only when its revoker is
    the indexed submitter (in v2 only the submitter revokes its anchor).

    ``on_progress(done, total)`` follows the events (the total grows as each registry's
    events are read).
    """
    chain.require_ok()
    if from_block is None:
        session.exec(delete(AnchorRecord))
        session.exec(delete(RevokedLeaf))
    ours = {
        root.lower(): signer.lower()
        for root, signer in session.exec(
            select(col(Batch.root), col(Batch.signer)).where(
                col(Batch.status) == BatchStatus.CONFIRMED.value
            )
        ).all()
    }
    anchored = revoked = 0
    done = total_events = 0

    def step(count: int = 1) -> None:
        nonlocal done
        done += count
        if on_progress is not None:
            on_progress(done, total_events)

    past = [chain.registry_at(d.address) for d in chain.honoured]
    for registry, deployed_in in [
        *[(r, d.block_number) for r, d in zip(past, chain.honoured, strict=True)],
        (chain.registry, chain.deployment.block_number),
        # Virtual channels' own registries (docs/channels.md), from their deployment block.
        *[(chain.registry_at(c.address), c.block_number) for c in chain.channel_registries()],
    ]:
        start = deployed_in if from_block is None else max(from_block, deployed_in)
        submitters: dict[str, str] = {}
        anchor_events = registry.anchored_events(from_block=start)
        revocations = registry.revocation_events(from_block=start)
        total_events += len(anchor_events) + len(revocations)
        step(0)
        for a in anchor_events:
            step()
            mine = ours.get(a.root.lower())
            if mine is not None and mine != a.submitter.lower():
                continue  # another member's anchor of the same root (v2): not our batch's
            submitters[a.root.lower()] = a.submitter.lower()
            anchored += 1
            session.merge(
                AnchorRecord(
                    root=a.root,
                    chain_id=chain.chain_id,
                    contract=registry.address,
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
        for r in revocations:
            step()
            indexed = submitters.get(r["root"].lower())
            if indexed is None and (rec := session.get(AnchorRecord, r["root"])) is not None:
                indexed = rec.submitter.lower()  # indexed by an earlier (partial) reindex
            if registry.version >= 2 and indexed != r["revoker"].lower():
                continue  # a revocation in another member's anchor of the same root
            revoked += 1
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
    return {"anchors": anchored, "revocations": revoked, "indexed": total}
