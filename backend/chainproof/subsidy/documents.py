"""Documents attached to applications: each file's digest anchored as evidence, then linked.

Files arrive already hashed (the API streams them through ``api/upload.py``; nothing but
the digest, size and name is kept), so this module only ever sees :class:`FileDigest`.
The evidence rows are committed first (``submit_digests``), the links right after: a crash
in between leaves an anchored file that belongs to no application, which the integrity
check reports as ``anchored_elsewhere`` and a retry attaches again. Nothing is lost.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from sqlmodel import Session, col, select

from chainproof.digests import Algorithm
from chainproof.evidence.intake import submit_digests
from chainproof.store.models import Evidence
from chainproof.subsidy.catalog import DocumentKind
from chainproof.subsidy.lifecycle import hold
from chainproof.subsidy.models import Application, ApplicationStatus, Document, Phase
from chainproof.subsidy.money import fen_to_wan
from chainproof.subsidy.schemas import DocumentOut


class FileDigest(Protocol):
    """A hashed upload (``api.upload.HashedFile`` is one)."""

    @property
    def filename(self) -> str | None: ...

    @property
    def digest(self) -> bytes: ...

    @property
    def size(self) -> int: ...


def attach(
    session: Session,
    *,
    application: Application,
    phase: Phase,
    kind: DocumentKind,
    algorithm: Algorithm,
    files: Sequence[FileDigest],
    while_status: ApplicationStatus,
    amount_fen: int | None = None,
    invoice_number: str | None = None,
    issuer: str | None = None,
    issuer_tax_id: str | None = None,
    invoice_code: str | None = None,
) -> list[Document]:
    """Anchors ``files`` as the applicant unit's evidence and links them to ``application``,
    if it is still ``while_status`` once the evidence is committed (ConflictError otherwise)."""
    assert application.id is not None
    accepted = submit_digests(
        session=session,
        algorithm=algorithm,
        digests=[f.digest for f in files],
        member_id=application.member_id,
        label=f"subsidy application {application.id}: {kind.value}",
        filenames=[f.filename for f in files],
        sizes=[f.size for f in files],
    )
    hold(session, application, status=while_status)
    documents = [
        Document(
            application_id=application.id,
            phase=phase.value,
            kind=kind.value,
            evidence_id=a.id,
            amount_fen=amount_fen,
            invoice_number=invoice_number,
            issuer=issuer,
            issuer_tax_id=issuer_tax_id,
            invoice_code=invoice_code,
        )
        for a in accepted
    ]
    session.add_all(documents)
    session.commit()
    for document in documents:
        session.refresh(document)
    return documents


def documents_of(
    session: Session, application_id: int, phase: Phase | None = None
) -> list[tuple[Document, Evidence]]:
    """The application's documents with their evidence rows, in upload order."""
    statement = (
        select(Document, Evidence)
        .join(Evidence, col(Document.evidence_id) == col(Evidence.id))
        .where(Document.application_id == application_id)
        .order_by(col(Document.id))
    )
    if phase is not None:
        statement = statement.where(Document.phase == phase.value)
    return [(d, e) for d, e in session.exec(statement).all()]


def document_fields(document: Document, evidence: Evidence) -> dict[str, object]:
    """The fields of :class:`DocumentOut` (also the base of the proven views)."""
    return {
        "id": document.id,
        "phase": document.phase,
        "kind": document.kind,
        "evidence_id": evidence.public_id,
        "algorithm": evidence.algorithm,
        "digest": evidence.digest,
        "filename": evidence.filename,
        "size": evidence.size,
        "status": evidence.status,
        "amount_wan": None if document.amount_fen is None else fen_to_wan(document.amount_fen),
        "invoice_number": document.invoice_number,
        "issuer": document.issuer,
        "issuer_tax_id": document.issuer_tax_id,
        "invoice_code": document.invoice_code,
        "created_at": document.created_at,
    }


def document_out(document: Document, evidence: Evidence) -> DocumentOut:
    return DocumentOut.model_validate(document_fields(document, evidence))


def documents_out(session: Session, documents: Sequence[Document]) -> list[DocumentOut]:
    out = []
    for document in documents:
        evidence = session.get(Evidence, document.evidence_id)
        assert evidence is not None  # a foreign key
        out.append(document_out(document, evidence))
    return out
