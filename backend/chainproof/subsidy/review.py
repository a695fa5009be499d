"""What reviewers use: the integrity check of files in front of them, and the report.

Integrity check: for each file (its digest, computed by the reviewer's own machine or while
the upload streams), one row:

- ``match``: a document (or the manifest) of this application; with its anchor (time,
  block, transaction) and what the chain says about it now;
- ``other_application``: a document of another application (named if the reviewer may see
  it);
- ``anchored_elsewhere``: on record here, but in no application;
- ``unknown``: never anchored here: modified, or never submitted.

The report puts every document with its digest, anchor, verdict, late and reuse flags next
to the rule checks, the acceptance check and the audit trail, each verified on chain.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session, col, select

from chainproof.chain.context import ChainContext
from chainproof.digests import Algorithm, hash_bytes, to_hex
from chainproof.store.models import Evidence
from chainproof.subsidy import acceptance, lifecycle
from chainproof.subsidy.access import (
    Actor,
    application_ref,
    require_reviewer,
    visible_application,
)
from chainproof.subsidy.anchoring import RECORD_ALGORITHM, Proof, prove, record_evidence
from chainproof.subsidy.applications import application_out
from chainproof.subsidy.checks import rule_checks
from chainproof.subsidy.documents import document_fields, documents_of
from chainproof.subsidy.manifests import manifest_out, manifests_of
from chainproof.subsidy.models import (
    Application,
    ApplicationStatus,
    Document,
    Manifest,
    Phase,
    Round,
)
from chainproof.subsidy.rounds import round_out
from chainproof.subsidy.schemas import (
    ApplicationRef,
    DocumentRef,
    IntegrityOut,
    IntegrityRowOut,
    ManifestProofOut,
    ProvenAnchorOut,
    ProvenDocumentOut,
    ReportOut,
)

RESULTS = ("match", "other_application", "anchored_elsewhere", "unknown")


# --- integrity check -------------------------------------------------------------------------


def _holders(
    session: Session, evidence: Sequence[Evidence], algorithm: Algorithm, digest: str
) -> list[tuple[Application, DocumentRef, Evidence | None]]:
    """Every application holding the digest: as a document, or as one of its manifests."""
    by_id = {ev.id: ev for ev in evidence}
    out: list[tuple[Application, DocumentRef, Evidence | None]] = []
    if by_id:
        docs = session.exec(
            select(Document, Application)
            .join(Application, col(Document.application_id) == col(Application.id))
            .where(col(Document.evidence_id).in_(list(by_id)))
            .order_by(col(Document.id))
        ).all()
        for doc, app in docs:
            ev = by_id[doc.evidence_id]
            ref = DocumentRef(id=doc.id, kind=doc.kind, phase=doc.phase, filename=ev.filename)
            out.append((app, ref, ev))
    if algorithm != RECORD_ALGORITHM:  # manifests are hashed with SHA-256 only
        return out
    manifests = session.exec(
        select(Manifest, Application)
        .join(Application, col(Manifest.application_id) == col(Application.id))
        .where(Manifest.digest == digest)
    ).all()
    for manifest, app in manifests:
        ref = DocumentRef(id=None, kind="manifest", phase=manifest.phase, filename=None)
        out.append((app, ref, record_evidence(session, manifest.digest)))
    return out


def _best_proof(session: Session, chain: ChainContext, evidence: Sequence[Evidence]) -> Proof:
    """The first row that verifies, else what the first one says (earliest anchor first)."""
    proofs = [prove(session, chain, ev) for ev in evidence]
    return next((p for p in proofs if p.verdict == "anchored"), proofs[0])


def _row(
    session: Session,
    chain: ChainContext,
    actor: Actor,
    application: Application,
    name: str,
    algorithm: Algorithm,
    digest: bytes,
) -> IntegrityRowOut:
    digest_hex = to_hex(digest)
    evidence = session.exec(
        select(Evidence)
        .where(Evidence.algorithm == algorithm, Evidence.digest == digest_hex)
        .order_by(col(Evidence.id))
    ).all()
    if not evidence:
        return IntegrityRowOut(
            name=name,
            algorithm=algorithm,
            digest=digest_hex,
            result="unknown",
            verdict="not_found",
            reason="never anchored here: the file was modified, or never submitted",
        )
    holders = _holders(session, evidence, algorithm, digest_hex)
    own = [h for h in holders if h[0].id == application.id]
    others = [h for h in holders if h[0].id != application.id]
    also_in: list[ApplicationRef] = []
    for other_app, _, _ in others:
        ref = application_ref(session, actor, other_app)
        if ref not in also_in:
            also_in.append(ref)
    if own or others:
        holder_app, document, ev = (own or others)[0]
        proof = prove(session, chain, ev)
        return IntegrityRowOut(
            name=name,
            algorithm=algorithm,
            digest=digest_hex,
            result="match" if own else "other_application",
            verdict=proof.verdict,
            reason=proof.reason,
            document=document if own else None,
            application=application_ref(session, actor, holder_app),
            anchor=ProvenAnchorOut.of(proof.anchor),
            also_in=also_in if own else also_in[1:],
        )
    proof = _best_proof(session, chain, evidence)
    return IntegrityRowOut(
        name=name,
        algorithm=algorithm,
        digest=digest_hex,
        result="anchored_elsewhere",
        verdict=proof.verdict,
        reason=proof.reason or "on record, but not part of any application",
        anchor=ProvenAnchorOut.of(proof.anchor),
    )


def integrity_check(
    *,
    session: Session,
    chain: ChainContext,
    actor: Actor,
    application_id: int,
    algorithm: Algorithm,
    files: Sequence[tuple[str, bytes]],
) -> IntegrityOut:
    """One row per ``(name, digest)``; ``all_match`` when every file is a document of this
    application that verifies on chain."""
    require_reviewer(actor)
    application = visible_application(session, application_id, actor)
    rows = [
        _row(session, chain, actor, application, name, algorithm, digest) for name, digest in files
    ]
    counts = {r: sum(1 for row in rows if row.result == r) for r in RESULTS}
    all_match = bool(rows) and all(
        row.result == "match" and row.verdict == "anchored" for row in rows
    )
    return IntegrityOut(
        application_id=application_id, all_match=all_match, counts=counts, rows=rows
    )


# --- the report ------------------------------------------------------------------------------


def _manifest_proof(
    session: Session, chain: ChainContext, manifest: Manifest, deadline: datetime
) -> ManifestProofOut:
    proof = prove(session, chain, record_evidence(session, manifest.digest))
    body_ok = to_hex(hash_bytes(manifest.body.encode("utf-8"), "sha256")) == manifest.digest
    late = proof.late(deadline) if manifest.phase == Phase.APPLICATION.value else None
    return ManifestProofOut(
        **manifest_out(session, manifest).model_dump(),
        verdict=proof.verdict,
        reason=proof.reason,
        anchor=ProvenAnchorOut.of(proof.anchor),
        late=late,
        body_ok=body_ok,
    )


def _late(flags: Sequence[bool | None]) -> bool | None:
    if any(flags):
        return True
    return None if not flags or None in flags else False


def report(
    *, session: Session, chain: ChainContext, actor: Actor, application_id: int, now: datetime
) -> ReportOut:
    """The reviewer's report on one application (JSON; issue #6 prints it)."""
    require_reviewer(actor)
    application = visible_application(session, application_id, actor)
    round_ = session.get(Round, application.round_id)
    assert round_ is not None and application.id is not None
    documents: list[ProvenDocumentOut] = []
    for doc, ev in documents_of(session, application.id, Phase.APPLICATION):
        proof = prove(session, chain, ev)
        documents.append(
            ProvenDocumentOut.model_validate(
                {
                    **document_fields(doc, ev),
                    "verdict": proof.verdict,
                    "reason": proof.reason,
                    "anchor": ProvenAnchorOut.of(proof.anchor),
                    "late": proof.late(round_.deadline),
                    "reused": acceptance.reuse_of(session, actor, application, doc, ev),
                }
            )
        )
    manifests = [
        _manifest_proof(session, chain, m, round_.deadline)
        for m in manifests_of(session, application.id)
    ]
    checked = None
    if application.status in _ACCEPTANCE_STATES or documents_of(
        session, application.id, Phase.ACCEPTANCE
    ):
        checked = acceptance.evaluate(session, chain, actor, application)
        documents += checked.documents
    app_manifest = [m.late for m in manifests if m.phase == Phase.APPLICATION.value]
    return ReportOut(
        generated_at=now,
        application=application_out(session, actor, application),
        round=round_out(round_, now),
        late=_late([*app_manifest, *(d.late for d in documents if d.phase == "application")]),
        manifests=manifests,
        documents=documents,
        rule_checks=rule_checks(session, application),
        acceptance=checked,
        trail=lifecycle.trail(session, chain, application),
    )


_ACCEPTANCE_STATES = frozenset(
    {
        ApplicationStatus.APPROVED.value,
        ApplicationStatus.ACCEPTANCE_SUBMITTED.value,
        ApplicationStatus.ACCEPTED.value,
        ApplicationStatus.ACCEPTANCE_FAILED.value,
    }
)
