"""Acceptance (验收): contracts and invoices, the 3× rule on what verifies, reuse flags.

三、（一）1: "原则上现金补贴验收时，申报项目自费投资金额须不低于现金补贴金额的3倍，验收须提供
符合现金补贴用途的采购合同或发票等相关凭证材料". Once approved, the applicant uploads each
purchase contract or invoice with its amount, number and issuer; each file is anchored. The
platform sums the amounts of the documents whose own evidence verifies on chain (anchored,
not revoked), counting a file or a number + issuer once, and compares with 3 × the cash
subsidy of the declared investment. A document whose file, or number + issuer, is also in
another application is flagged ``reused`` for the reviewer (and still counted: the reviewer
decides).
"""

from __future__ import annotations

import unicodedata
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlmodel import Session, col, select

from chainproof.chain.context import ChainContext
from chainproof.digests import Algorithm
from chainproof.errors import ConflictError
from chainproof.invoices.service import application_proofs, claim_application
from chainproof.store.models import Evidence
from chainproof.subsidy import rules
from chainproof.subsidy.access import Actor, application_ref, owned_application
from chainproof.subsidy.anchoring import prove
from chainproof.subsidy.catalog import DocumentKind, Request
from chainproof.subsidy.documents import (
    FileDigest,
    attach,
    document_fields,
    documents_of,
    documents_out,
)
from chainproof.subsidy.lifecycle import check_move, hold
from chainproof.subsidy.manifests import freeze
from chainproof.subsidy.models import Application, ApplicationStatus, Document, Phase, Round
from chainproof.subsidy.money import fen_to_wan, fmt, wan_to_fen
from chainproof.subsidy.schemas import (
    AcceptanceDocIn,
    AcceptanceOut,
    ApplicationRef,
    DocumentOut,
    ProvenAnchorOut,
    ProvenDocumentOut,
)


def normalise_number(number: str) -> str:
    """Invoice and contract numbers compare without spaces, case or full-width forms."""
    return "".join(unicodedata.normalize("NFKC", number).split()).upper()


def normalise_issuer(issuer: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", issuer).split())


def attach_acceptance_document(
    *,
    session: Session,
    actor: Actor,
    application_id: int,
    body: AcceptanceDocIn,
    algorithm: Algorithm,
    file: FileDigest,
) -> DocumentOut:
    """One contract or invoice with its amount, number and issuer; only while approved."""
    application = owned_application(session, application_id, actor)
    if application.status != ApplicationStatus.APPROVED.value:
        raise ConflictError(
            f"application {application_id} is {application.status}: acceptance documents are "
            "uploaded once it is approved and before acceptance is submitted"
        )
    [document] = attach(
        session,
        application=application,
        phase=Phase.ACCEPTANCE,
        kind=DocumentKind(body.kind),
        algorithm=algorithm,
        files=[file],
        while_status=ApplicationStatus.APPROVED,
        amount_fen=wan_to_fen(body.amount_wan, what="amount_wan"),
        invoice_number=normalise_number(body.number),
        issuer=normalise_issuer(body.issuer),
        issuer_tax_id=None if body.issuer_tax_id is None else body.issuer_tax_id.upper(),
        invoice_code=None if body.issuer_tax_id is None else (body.invoice_code or ""),
    )
    return documents_out(session, [document])[0]


def cash_subsidy_of(application: Application) -> Decimal | None:
    """The cash subsidy the declared investment applies for, if cash was requested."""
    if Request.CASH.value not in application.requests or application.self_investment_fen is None:
        return None
    return rules.cash_subsidy(fen_to_wan(application.self_investment_fen)).amount_wan


def reuse_of(
    session: Session, actor: Actor, application: Application, document: Document, ev: Evidence
) -> list[ApplicationRef]:
    """Other applications holding the same file, or (acceptance) the same number + issuer."""
    by_file = (
        select(Document.application_id)
        .join(Evidence, col(Document.evidence_id) == col(Evidence.id))
        .where(
            Evidence.algorithm == ev.algorithm,
            Evidence.digest == ev.digest,
            Document.application_id != application.id,
        )
    )
    ids = set(session.exec(by_file).all())
    if document.invoice_number is not None and document.issuer is not None:
        by_number = select(Document.application_id).where(
            Document.invoice_number == document.invoice_number,
            Document.issuer == document.issuer,
            Document.application_id != application.id,
        )
        ids |= set(session.exec(by_number).all())
    others = [session.get(Application, i) for i in sorted(ids)]
    return [application_ref(session, actor, other) for other in others if other is not None]


def evaluate(
    session: Session, chain: ChainContext, actor: Actor, application: Application
) -> AcceptanceOut:
    """The acceptance documents, each proven on chain, and the 3× rule on those that count."""
    assert application.id is not None
    rows: list[ProvenDocumentOut] = []
    notes: list[str] = []
    counted_files: dict[tuple[str, str], int] = {}
    counted_numbers: dict[tuple[str, str], int] = {}
    proven = Decimal(0)
    for doc, ev in documents_of(session, application.id, Phase.ACCEPTANCE):
        assert doc.id is not None
        proof = prove(session, chain, ev)
        number_key = (doc.invoice_number or "", doc.issuer or "")
        duplicate = counted_files.get((ev.algorithm, ev.digest)) or (
            counted_numbers.get(number_key) if doc.invoice_number else None
        )
        counted = proof.verdict == "anchored" and duplicate is None
        amount = fen_to_wan(doc.amount_fen or 0)
        what = f"{doc.kind} {doc.invoice_number or ''}（{doc.issuer or '?'}，{fmt(amount)} 万元）"
        if counted:
            proven += amount
            counted_files[(ev.algorithm, ev.digest)] = doc.id
            counted_numbers[number_key] = doc.id
        elif duplicate is not None:
            notes.append(f"{what}: 与文件 {duplicate} 相同（文件或号码+开具方），只计一次")
        else:
            notes.append(f"{what}: 未计入：{proof.verdict}（{proof.reason}）")
        reused = reuse_of(session, actor, application, doc, ev)
        if reused:
            notes.append(f"{what}: 同一文件或号码+开具方出现在其他申报中（reused），请审核")
        rows.append(
            ProvenDocumentOut.model_validate(
                {
                    **document_fields(doc, ev),
                    "verdict": proof.verdict,
                    "reason": proof.reason,
                    "anchor": ProvenAnchorOut.of(proof.anchor),
                    "reused": reused,
                    "duplicate_of": duplicate,
                    "counted": counted,
                }
            )
        )
    cash = cash_subsidy_of(application)
    invoice_proofs = _invoice_proofs(session, application)
    if cash is None:
        return AcceptanceOut(
            application_id=application.id,
            cash_subsidy_wan=None,
            required_wan=None,
            proven_wan=proven,
            passed=None,
            reasons=[f"{rules.RULE_CASH}（验收）: 未申报现金补贴：3倍规则不适用", *notes],
            documents=rows,
            invoice_proofs=invoice_proofs,
        )
    check = rules.acceptance_check(cash_subsidy_wan=cash, proven_wan=proven)
    return AcceptanceOut(
        application_id=application.id,
        cash_subsidy_wan=cash,
        required_wan=check.required_wan,
        proven_wan=proven,
        passed=check.passed,
        reasons=[*check.reasons, *notes],
        documents=rows,
        invoice_proofs=invoice_proofs,
    )


def _invoice_proofs(session: Session, application: Application) -> list[dict[str, Any]] | None:
    """The invoice map's word on each invoice (invoices/service.py); None before any root
    is anchored."""
    try:
        return application_proofs(session=session, application=application)
    except ConflictError:
        return None


def submit_acceptance(
    *,
    session: Session,
    actor: Actor,
    application: Application,
    round_: Round,
    comment: str | None,
    now: datetime,
) -> Application:
    """approved → acceptance_submitted: freezes the acceptance documents in a manifest."""
    check_move(actor, application, ApplicationStatus.ACCEPTANCE_SUBMITTED)
    assert application.id is not None
    hold(session, application, status=ApplicationStatus.APPROVED)
    if not documents_of(session, application.id, Phase.ACCEPTANCE):
        session.rollback()
        raise ConflictError(
            f"{rules.RULE_CASH}（验收）: 验收须提供采购合同或发票等相关凭证材料: upload the "
            "contracts or invoices first"
        )
    submitted = freeze(
        session,
        application=application,
        round_=round_,
        phase=Phase.ACCEPTANCE,
        actor=actor,
        to=ApplicationStatus.ACCEPTANCE_SUBMITTED,
        comment=comment,
        now=now,
    )
    # Its invoices into the append-only map, the new root on chain (invoices/service.py).
    claim_application(session=session, application=submitted)
    return submitted


def decision_record(check: AcceptanceOut) -> dict[str, object]:
    """What an acceptance decision's transition record keeps of the 3× check."""
    return {
        "acceptance_check": {
            "cash_subsidy_wan": None
            if check.cash_subsidy_wan is None
            else fmt(check.cash_subsidy_wan),
            "required_wan": None if check.required_wan is None else fmt(check.required_wan),
            "proven_wan": fmt(check.proven_wan),
            "passed": check.passed,
            "counted_documents": [d.id for d in check.documents if d.counted],
        }
    }
