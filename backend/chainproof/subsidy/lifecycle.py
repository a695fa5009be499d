"""The application lifecycle, enforced, and its audit trail, hash-chained and anchored.

::

    draft ─▶ submitted ─▶ under_review ─┬─▶ approved ─▶ acceptance_submitted ─┬─▶ accepted
                                        └─▶ rejected                         └─▶ acceptance_failed

The applicant unit moves its application out of ``draft`` and ``approved``; reviewers make
every other move. Each move is a record (canonical JSON: application, seq, from, to, who,
when, comment, and ``prev``, the hash of the previous record) whose SHA-256 is anchored in the
same commit as the status change, so the trail cannot be rewritten without the chain
showing it (职权监管). :func:`trail` re-checks it entry by entry.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

from sqlalchemy import update
from sqlmodel import Session, col, select

from chainproof.chain.context import ChainContext
from chainproof.errors import AuthError, ConflictError
from chainproof.hashchain import check_link, link
from chainproof.subsidy.access import Actor, member_name
from chainproof.subsidy.anchoring import Record, anchor_records, prove, record_evidence
from chainproof.subsidy.models import Application, ApplicationStatus, Transition
from chainproof.subsidy.schemas import ProvenAnchorOut, TrailEntryOut, TrailOut

S = ApplicationStatus
APPLICANT: Final = "applicant"
REVIEWER: Final = "reviewer"
RECORD_KIND: Final = "chainproof-subsidy-transition"

# from → {to: who may make the move}
TRANSITIONS: Final[dict[S, dict[S, str]]] = {
    S.DRAFT: {S.SUBMITTED: APPLICANT},
    S.SUBMITTED: {S.UNDER_REVIEW: REVIEWER},
    S.UNDER_REVIEW: {S.APPROVED: REVIEWER, S.REJECTED: REVIEWER},
    S.APPROVED: {S.ACCEPTANCE_SUBMITTED: APPLICANT},
    S.ACCEPTANCE_SUBMITTED: {S.ACCEPTED: REVIEWER, S.ACCEPTANCE_FAILED: REVIEWER},
}


def allowed_from(status: str) -> list[S]:
    return list(TRANSITIONS.get(S(status), {}))


def allowed_for(actor: Actor, application: Application) -> list[S]:
    """The moves ``actor`` may make from the application's current state."""
    return [to for to in allowed_from(application.status) if _may(actor, application, to)]


def _may(actor: Actor, application: Application, to: S) -> bool:
    who = TRANSITIONS[S(application.status)][to]
    if who == APPLICANT:
        return actor.owns(application) or actor.is_admin
    return actor.is_reviewer


class IllegalTransitionError(ConflictError):
    """The lifecycle has no such move from the current state; ``allowed`` lists the ones it has."""

    code = "illegal_transition"

    def __init__(self, application_id: int, current: str, wanted: str) -> None:
        self.allowed = [s.value for s in allowed_from(current)]
        shown = ", ".join(self.allowed) or "none (the application is closed)"
        super().__init__(
            f"application {application_id} is {current}: it cannot go to {wanted}; "
            f"allowed from {current}: {shown}",
            current=current,
            wanted=wanted,
            allowed=self.allowed,
        )


def check_move(actor: Actor, application: Application, to: S) -> None:
    """IllegalTransitionError (409) for a move the lifecycle lacks, AuthError (403) for one
    the actor may not make."""
    assert application.id is not None
    if to not in allowed_from(application.status):
        raise IllegalTransitionError(application.id, application.status, to.value)
    if not _may(actor, application, to):
        who = TRANSITIONS[S(application.status)][to]
        raise AuthError(
            f"{application.status} → {to.value} is the {who}'s move"
            + (" (the applicant unit's own key, or an admin)" if who == APPLICANT else "")
        )


def hold(session: Session, application: Application, *, status: S) -> None:
    """Write-locks the application's row for this transaction, if it is still ``status``.

    A no-op UPDATE, so it takes the row lock on PostgreSQL and the write lock on SQLite
    *before* the caller reads the documents. Attaching and submitting both hold first: a
    document is attached before the package is frozen, or refused after; never left out of
    a manifest while counted as part of the application.
    """
    changed = session.execute(
        update(Application)
        .where(col(Application.id) == application.id, col(Application.status) == status.value)
        .values(status=col(Application.status))
        .execution_options(synchronize_session=False)
    )
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        raise ConflictError(f"application {application.id} is no longer {status.value}: reload it")


def move(
    session: Session,
    *,
    application: Application,
    round_code: str,
    actor: Actor,
    to: S,
    comment: str | None,
    now: datetime,
    extra: dict[str, Any] | None = None,
    with_records: Sequence[Record] = (),
) -> Application:
    """Makes the move and anchors its record (after ``with_records``, e.g. the manifest it
    names) as the actor's evidence: status, row and evidence land in one commit."""
    # Staged first: the status (if it is still what was read), the transition row and its
    # record; anchoring the record below commits all three with the evidence, as one.
    check_move(actor, application, to)
    assert application.id is not None and actor.role is not None
    current = application.status  # the UPDATE below refreshes the loaded row in place
    last = session.exec(
        select(Transition)
        .where(Transition.application_id == application.id)
        .order_by(col(Transition.seq).desc())
    ).first()
    seq = 1 if last is None else last.seq + 1
    record = link(
        RECORD_KIND,
        seq=seq,
        prev=None if last is None else last.record_hash,
        fields={
            "application": application.id,
            "round": round_code,
            "from": current,
            "to": to.value,
            "by": {
                "member": member_name(session, actor.member_id),
                "role": actor.role.value,
                "key_id": actor.key_id,
            },
            "at": now.isoformat(),
            "comment": comment,
            **(extra or {}),
        },
        filename=f"application-{application.id}-transition-{seq}.json",
    )
    # The guard against two reviewers deciding at once: only one UPDATE finds the old status.
    changed = session.execute(
        update(Application)
        .where(col(Application.id) == application.id, col(Application.status) == current)
        .values(status=to.value, updated_at=now)
    )
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        raise ConflictError(f"application {application.id} changed meanwhile; reload it")
    session.add(
        Transition(
            application_id=application.id,
            seq=seq,
            from_status=current,
            to_status=to.value,
            actor_member_id=actor.member_id,
            actor_role=actor.role.value,
            comment=comment,
            at=now,
            record=record.text,
            record_hash=record.digest,
        )
    )
    anchor_records(
        session,
        records=[*with_records, record],
        member_id=actor.member_id,
        label=f"subsidy application {application.id}: {to.value}",
    )
    session.refresh(application)
    return application


def trail(session: Session, chain: ChainContext, application: Application) -> TrailOut:
    """The transitions, each checked: its hash, its link to the previous one, its anchor."""
    assert application.id is not None
    rows = session.exec(
        select(Transition)
        .where(Transition.application_id == application.id)
        .order_by(col(Transition.seq))
    ).all()
    entries: list[TrailEntryOut] = []
    reasons: list[str] = []
    prev: str | None = None
    status = S.DRAFT.value
    for expected_seq, row in enumerate(rows, 1):
        checked = check_link(
            row.record, row.record_hash, kind=RECORD_KIND, seq=expected_seq, prev=prev
        )
        rec, hash_ok = checked.record, checked.hash_ok
        link_ok = (
            checked.link_ok
            and rec.get("application") == application.id
            and row.seq == expected_seq
            and rec.get("from") == row.from_status == status
            and rec.get("to") == row.to_status
        )
        proof = prove(session, chain, record_evidence(session, row.record_hash))
        ok = hash_ok and link_ok and proof.verdict == "anchored"
        if not hash_ok:
            reasons.append(f"entry {row.seq}: the stored record no longer hashes to its hash")
        if not link_ok:
            reasons.append(f"entry {row.seq}: does not follow entry {row.seq - 1} (prev/seq/from)")
        if proof.verdict != "anchored":
            reasons.append(f"entry {row.seq}: {proof.verdict}: {proof.reason}")
        entries.append(
            TrailEntryOut(
                seq=row.seq,
                from_status=S(row.from_status).value,
                to_status=S(row.to_status).value,
                actor=member_name(session, row.actor_member_id),
                role=row.actor_role,
                at=row.at,
                comment=row.comment,
                record_hash=row.record_hash,
                prev=rec.get("prev"),
                evidence_id=proof.evidence_id,
                verdict=proof.verdict,
                reason=proof.reason,
                anchor=ProvenAnchorOut.of(proof.anchor),
                hash_ok=hash_ok,
                link_ok=link_ok,
                ok=ok,
            )
        )
        prev, status = row.record_hash, row.to_status
    if status != application.status:
        reasons.append(
            f"the application is {application.status} but its trail ends at {status}: "
            "the status was changed outside the lifecycle"
        )
    ok = not reasons
    return TrailOut(application_id=application.id, ok=ok, reasons=reasons, entries=entries)
