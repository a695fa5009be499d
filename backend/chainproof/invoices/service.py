"""The invoice map on the server: claims at acceptance submission, roots anchored, proofs.

When an application is submitted for acceptance, every acceptance document with an issuer
and a number (invoices and purchase contracts) is claimed: its key (``proofs.invoice_key``)
goes into the append-only map unless another document claimed it first, and the new root
goes on chain as a ``chainproof-invoice-map/1`` record through the evidence queue (with the
next batch). Proofs are served against the newest root whose record is anchored.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlmodel import Session, col, select

from chainproof.digests import canonical_json
from chainproof.errors import ConflictError, InvalidInputError, NotFoundError
from chainproof.evidence.intake import submit_digests
from chainproof.evidence.service import build_receipt
from chainproof.evidence.verify import Viewer
from chainproof.invoices import consistency, proofs, smt
from chainproof.invoices.models import InvoiceClaim, InvoiceRoot
from chainproof.store.models import Evidence, EvidenceStatus
from chainproof.subsidy.documents import documents_of
from chainproof.subsidy.models import Application, Document, Phase

_LOCK_ID = 0x21_1A_0C_E5  # PostgreSQL: one claimant at a time, so roots cover a prefix
_RECEIPTS = Viewer(member_id=None, is_admin=True, is_reviewer=True)


def _hex(b: bytes) -> str:
    return "0x" + b.hex()


def document_key(doc: Document) -> bytes | None:
    """A document's key in the map: from its tax id, invoice code and number when it was
    declared with a tax id; else from its issuer and number (the first encoding)."""
    if doc.invoice_number is None:
        return None
    if doc.issuer_tax_id is not None:
        return proofs.invoice_key_v2(doc.issuer_tax_id, doc.invoice_code or "", doc.invoice_number)
    if doc.issuer is None:
        return None
    return proofs.invoice_key(doc.issuer, doc.invoice_number)


def document_invoice(doc: Document) -> dict[str, str] | None:
    """The key's fields for a proof (``chainproof-invoice-key/2`` keys only)."""
    if doc.issuer_tax_id is None or doc.invoice_number is None:
        return None
    return proofs.invoice_fields(doc.issuer_tax_id, doc.invoice_code or "", doc.invoice_number)


def claim_application(*, session: Session, application: Application) -> InvoiceRoot | None:
    """Claims the application's acceptance invoices; queues the new root. Commits."""
    assert application.id is not None
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _LOCK_ID})
    added = 0
    for doc, _ in documents_of(session, application.id, Phase.ACCEPTANCE):
        key = document_key(doc)
        if key is None or doc.id is None:
            continue
        taken = session.exec(select(InvoiceClaim).where(InvoiceClaim.key == _hex(key))).first()
        if taken is not None:
            continue  # first claim wins: the proof will name the application that made it
        value = proofs.claim_value(application.id, doc.id)
        session.add(
            InvoiceClaim(
                key=_hex(key), value=_hex(value), application_id=application.id, document_id=doc.id
            )
        )
        session.flush()
        added += 1
    if not added:
        session.commit()
        return None
    m = _map(session, None)
    record = proofs.root_record(m.root(), len(m))
    digest = proofs.record_digest(record)
    row = InvoiceRoot(size=len(m), root=record["root"], record_digest=digest)
    session.add(row)
    submit_digests(  # commits the claims, the root row and its evidence row together
        session=session,
        algorithm="keccak256",
        digests=[bytes.fromhex(digest[2:])],
        member_id=None,
        label=f"invoice map root, {len(m)} claims",
        filenames=[f"invoice-map-{len(m)}.json"],
        sizes=[len(canonical_json(record))],
    )
    return row


def _claims(session: Session, size: int | None) -> list[InvoiceClaim]:
    statement = select(InvoiceClaim).order_by(col(InvoiceClaim.id))
    if size is not None:
        statement = statement.limit(size)
    return list(session.exec(statement).all())


def _map(session: Session, size: int | None) -> smt.SparseMerkleMap:
    return smt.SparseMerkleMap(
        [(bytes.fromhex(c.key[2:]), bytes.fromhex(c.value[2:])) for c in _claims(session, size)]
    )


def _root_evidence(session: Session, root: InvoiceRoot) -> Evidence | None:
    return session.exec(
        select(Evidence)
        .where(Evidence.algorithm == "keccak256", Evidence.digest == root.record_digest)
        .order_by(col(Evidence.id))
    ).first()


def latest_anchored_root(session: Session) -> tuple[InvoiceRoot, dict[str, Any]] | None:
    """The newest root whose record is anchored, with the record's receipt."""
    for root in session.exec(select(InvoiceRoot).order_by(col(InvoiceRoot.size).desc())).all():
        ev = _root_evidence(session, root)
        if ev is not None and ev.status == EvidenceStatus.ANCHORED:
            receipt = build_receipt(session=session, evidence_id=ev.public_id, viewer=_RECEIPTS)
            return root, receipt.model_dump(mode="json")
    return None


def prove_key(
    session: Session, key: bytes, *, invoice: dict[str, str] | None = None
) -> dict[str, Any]:
    """The proof file for ``key`` against the newest anchored root (409 while none is)."""
    latest = latest_anchored_root(session)
    if latest is None:
        raise ConflictError("no invoice map root is anchored yet: proofs exist once one is")
    root_row, receipt = latest
    m = _map(session, root_row.size)
    proof = m.prove(key)
    claimed_by = None
    if proof.value is not None:
        claim = session.exec(select(InvoiceClaim).where(InvoiceClaim.key == _hex(key))).one()
        claimed_by = {"application": claim.application_id, "document": claim.document_id}
    return proofs.proof_document(
        proof,
        root=m.root(),
        size=root_row.size,
        claimed_by=claimed_by,
        receipt=receipt,
        invoice=invoice,
    )


def application_proofs(*, session: Session, application: Application) -> list[dict[str, Any]]:
    """One proof per acceptance document with an issuer and number."""
    assert application.id is not None
    out = []
    for doc, _ in documents_of(session, application.id, Phase.ACCEPTANCE):
        key = document_key(doc)
        if key is None:
            continue
        proof = prove_key(session, key, invoice=document_invoice(doc))
        by = proof["claimed_by"]
        state = (
            "unclaimed"
            if by is None
            else "claimed_here"
            if by["application"] == application.id and by["document"] == doc.id
            else "claimed_elsewhere"
        )
        out.append({"document_id": doc.id, "state": state, "proof": proof})
    return out


def consistency_steps(session: Session, old_size: int, new_size: int) -> list[smt.Step]:
    """The steps from the root of the first ``old_size`` claims to that of ``new_size``."""
    claims = [
        (bytes.fromhex(c.key[2:]), bytes.fromhex(c.value[2:])) for c in _claims(session, new_size)
    ]
    return smt.consistency_steps(claims[:old_size], claims[old_size:])


def _root_at(session: Session, root: str) -> InvoiceRoot:
    row = session.exec(
        select(InvoiceRoot).where(InvoiceRoot.root == root.lower()).order_by(col(InvoiceRoot.size))
    ).first()
    if row is None:
        raise NotFoundError(f"no invoice map root {root}")
    return row


def _anchored_receipt(session: Session, row: InvoiceRoot) -> dict[str, Any]:
    ev = _root_evidence(session, row)
    if ev is None or ev.status != EvidenceStatus.ANCHORED:
        raise ConflictError(f"invoice map root {row.root} is not anchored yet")
    receipt = build_receipt(session=session, evidence_id=ev.public_id, viewer=_RECEIPTS)
    return receipt.model_dump(mode="json")


def consistency_proof(session: Session, *, from_root: str, to_root: str) -> dict[str, Any]:
    """The ``chainproof-invoice-consistency/1`` file from ``from_root`` (an anchored root, or
    the empty map's 32 zero bytes) to ``to_root`` (an anchored root at least as large)."""
    if from_root.lower() == _hex(smt.EMPTY):
        old: tuple[bytes, int, dict[str, Any] | None] = (smt.EMPTY, 0, None)
    else:
        row = _root_at(session, from_root)
        old = (bytes.fromhex(row.root[2:]), row.size, _anchored_receipt(session, row))
    to = _root_at(session, to_root)
    if to.size < old[1]:
        raise InvalidInputError("'to' is an older root than 'from': give them in log order")
    if to.size - old[1] > consistency.MAX_STEPS:
        raise InvalidInputError(
            f"{to.size - old[1]} claims lie between the roots; at most "
            f"{consistency.MAX_STEPS} per proof (compare intermediate roots)"
        )
    new = (bytes.fromhex(to.root[2:]), to.size, _anchored_receipt(session, to))
    return consistency.consistency_document(
        old=old, new=new, steps=consistency_steps(session, old[1], to.size)
    )
