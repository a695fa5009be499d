"""Manifests: an application package frozen as canonical JSON and anchored as one digest.

At submission the manifest holds the application's declared fields and every attached
document's digest; at acceptance submission, the acceptance contracts and invoices with
their amounts, and the digest of the application manifest (so the two are chained). The
stored ``body`` is the exact canonical bytes: ``sha256(body)`` is the anchored digest, and
``GET /api/v1/subsidy/applications/{id}/manifest`` hands it out for anyone to re-hash.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from sqlmodel import Session, col, select

from chainproof.subsidy.access import Actor, member_name
from chainproof.subsidy.anchoring import Record, make_record, record_evidence
from chainproof.subsidy.documents import documents_of
from chainproof.subsidy.lifecycle import move
from chainproof.subsidy.models import Application, ApplicationStatus, Manifest, Phase, Round
from chainproof.subsidy.money import fen_to_wan, fmt
from chainproof.subsidy.schemas import ManifestOut

MANIFEST_KIND: Final = "chainproof-subsidy-manifest"


def application_fields(application: Application) -> dict[str, Any]:
    """The declared fields in JSON-safe form (amounts as decimal strings, never floats)."""
    investment = application.self_investment_fen
    return {
        "scope_category": application.scope_category,
        "scope_field": application.scope_field,
        "project_name": application.project_name,
        "summary": application.summary,
        "requests": list(application.requests),
        "self_investment_wan": None if investment is None else fmt(fen_to_wan(investment)),
        "headcount": application.headcount,
        "training_classes": list(application.training_classes),
        "packages": list(application.packages),
    }


def _documents(session: Session, application_id: int, phase: Phase) -> list[dict[str, Any]]:
    out = []
    for doc, ev in documents_of(session, application_id, phase):
        item: dict[str, Any] = {
            "document_id": doc.id,
            "kind": doc.kind,
            "filename": ev.filename,
            "size": ev.size,
            "algorithm": ev.algorithm,
            "digest": ev.digest,
            "evidence_id": ev.public_id,
        }
        if phase is Phase.ACCEPTANCE:
            item.update(
                amount_wan=None if doc.amount_fen is None else fmt(fen_to_wan(doc.amount_fen)),
                number=doc.invoice_number,
                issuer=doc.issuer,
            )
        out.append(item)
    return out


def get_manifest(session: Session, application_id: int, phase: Phase) -> Manifest | None:
    return session.exec(
        select(Manifest).where(
            Manifest.application_id == application_id, Manifest.phase == phase.value
        )
    ).first()


def manifests_of(session: Session, application_id: int) -> list[Manifest]:
    return list(
        session.exec(
            select(Manifest)
            .where(Manifest.application_id == application_id)
            .order_by(col(Manifest.id))
        ).all()
    )


def _stage_manifest(
    session: Session, *, application: Application, round_: Round, phase: Phase, now: datetime
) -> Record:
    """Builds the phase's manifest and stages its row; the caller anchors and commits."""
    assert application.id is not None
    body: dict[str, Any] = {
        "kind": MANIFEST_KIND,
        "version": 1,
        "phase": phase.value,
        "round": {"code": round_.code, "deadline": round_.deadline.isoformat()},
        "application": application.id,
        "applicant": member_name(session, application.member_id),
        "fields": application_fields(application),
        "documents": _documents(session, application.id, phase),
        "frozen_at": now.isoformat(),
    }
    if phase is Phase.ACCEPTANCE:
        first = get_manifest(session, application.id, Phase.APPLICATION)
        body["application_manifest"] = first.digest if first else None
    record = make_record(body, filename=f"application-{application.id}-{phase.value}-manifest.json")
    session.add(
        Manifest(
            application_id=application.id,
            phase=phase.value,
            body=record.text,
            digest=record.digest,
            created_at=now,
        )
    )
    return record


def freeze(
    session: Session,
    *,
    application: Application,
    round_: Round,
    phase: Phase,
    actor: Actor,
    to: ApplicationStatus,
    comment: str | None,
    now: datetime,
) -> Application:
    """Freezes the phase's package and moves the application to ``to``: the manifest and the
    transition that names it are anchored in one commit. The caller holds the row first
    (``lifecycle.hold``) and has checked what the phase needs."""
    manifest = _stage_manifest(
        session, application=application, round_=round_, phase=phase, now=now
    )
    return move(
        session,
        application=application,
        round_code=round_.code,
        actor=actor,
        to=to,
        comment=comment,
        now=now,
        extra={"manifest": manifest.digest},
        with_records=[manifest],
    )


def manifest_out(session: Session, manifest: Manifest) -> ManifestOut:
    ev = record_evidence(session, manifest.digest)
    return ManifestOut(
        phase=Phase(manifest.phase).value,
        digest=manifest.digest,
        evidence_id=None if ev is None else ev.public_id,
        receipt=None if ev is None else f"/api/v1/evidence/{ev.public_id}/receipt",
        created_at=manifest.created_at,
    )
