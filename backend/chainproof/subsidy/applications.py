"""Applications: one per applicant unit and round, edited as a draft, frozen at submission.

Service functions take keyword arguments and commit their own work. Changes of
state go through :func:`change_status`, which enforces the lifecycle (``lifecycle.py``) and
anchors every step; submission also anchors the manifest of the whole package
(``manifests.py``), in the same commit.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from chainproof.chain.context import ChainContext
from chainproof.digests import Algorithm
from chainproof.errors import ConflictError, InvalidInputError, NotFoundError
from chainproof.store.unique import insert_new
from chainproof.subsidy import acceptance, rules
from chainproof.subsidy.access import (
    Actor,
    member_name,
    owned_application,
    visible_application,
)
from chainproof.subsidy.catalog import DocumentKind, check_scope
from chainproof.subsidy.checks import rule_checks
from chainproof.subsidy.documents import (
    FileDigest,
    attach,
    document_out,
    documents_of,
    documents_out,
)
from chainproof.subsidy.lifecycle import allowed_for, check_move, hold, move
from chainproof.subsidy.manifests import freeze, manifest_out, manifests_of
from chainproof.subsidy.models import Application, ApplicationStatus, Document, Phase, Round
from chainproof.subsidy.money import fen_to_wan, fmt, wan_to_fen
from chainproof.subsidy.rounds import get_round
from chainproof.subsidy.schemas import (
    ApplicationFields,
    ApplicationIn,
    ApplicationOut,
    ApplicationPatch,
    DocumentOut,
)

S = ApplicationStatus


# --- drafts ----------------------------------------------------------------------------------


def _apply(application: Application, fields: ApplicationFields) -> None:
    """Copies the fields that were sent onto the row (scope re-checked as a pair)."""
    sent = fields.model_fields_set
    if "scope_category" in sent or "scope_field" in sent:
        category = fields.scope_category or application.scope_category
        field = fields.scope_field or application.scope_field
        application.scope_category, application.scope_field = check_scope(category, field)
    if "project_name" in sent:
        name = (fields.project_name or "").strip()
        if not name:
            raise InvalidInputError("project_name: cannot be empty", field="project_name")
        application.project_name = name
    if "summary" in sent:
        application.summary = (fields.summary or "").strip()
    if "headcount" in sent:
        application.headcount = fields.headcount
    if "requests" in sent:
        application.requests = sorted(set(fields.requests or []))
    if "self_investment_wan" in sent:
        amount = fields.self_investment_wan
        application.self_investment_fen = (
            None if amount is None else wan_to_fen(amount, what="self_investment_wan")
        )
    if "training_classes" in sent:
        application.training_classes = [
            {"class_size": c.class_size, "days": fmt(c.days), "certified": c.certified}
            for c in fields.training_classes or []
        ]
    if "packages" in sent:
        application.packages = list(fields.packages or [])


def create_application(
    *, session: Session, actor: Actor, body: ApplicationIn, now: datetime
) -> Application:
    """The caller's unit's application in ``body.round``: one per unit (每个单位只能申报1个项目)."""
    if actor.member_id is None:
        raise InvalidInputError("an application belongs to a member org: use its key")
    round_ = get_round(session=session, code=body.round)
    existing = session.exec(
        select(Application).where(
            Application.round_id == round_.id, Application.member_id == actor.member_id
        )
    ).first()
    if existing is not None:
        raise ConflictError(
            f"{rules.RULE_CASH}、{rules.RULE_CLOUD}: {rules.ONE_PROJECT_SOURCE}: this unit has "
            f"application {existing.id} in round {round_.code} already",
            application_id=existing.id,
        )
    assert round_.id is not None
    application = Application(
        round_id=round_.id,
        member_id=actor.member_id,
        scope_category=body.scope_category,
        scope_field=body.scope_field,
        project_name=body.project_name.strip(),
        created_at=now,
        updated_at=now,
    )
    _apply(application, body)
    # The unique (round, member) constraint, under a race.
    conflict = ConflictError(
        f"{rules.ONE_PROJECT_SOURCE}: this unit has an application in round {round_.code}"
    )
    return insert_new(session, application, conflict)


def _draft(session: Session, application_id: int, actor: Actor) -> Application:
    application = owned_application(session, application_id, actor)
    if application.status != S.DRAFT.value:
        raise ConflictError(
            f"application {application_id} is {application.status}: only a draft can be changed "
            "(the submitted package is frozen and anchored)"
        )
    return application


def update_application(
    *, session: Session, actor: Actor, application_id: int, body: ApplicationPatch, now: datetime
) -> Application:
    application = _draft(session, application_id, actor)
    _apply(application, body)
    application.updated_at = now
    session.add(application)
    session.commit()
    session.refresh(application)
    return application


def list_applications(
    *, session: Session, actor: Actor, round_code: str | None = None, status: str | None = None
) -> list[Application]:
    """Reviewers see all; an applicant unit its own."""
    statement = select(Application).order_by(col(Application.id))
    if not actor.is_reviewer:
        statement = statement.where(Application.member_id == actor.member_id)
    if round_code is not None:
        statement = statement.where(
            Application.round_id == get_round(session=session, code=round_code).id
        )
    if status is not None:
        statement = statement.where(Application.status == status)
    return list(session.exec(statement).all())


def get_application(*, session: Session, actor: Actor, application_id: int) -> Application:
    return visible_application(session, application_id, actor)


def application_out(session: Session, actor: Actor, application: Application) -> ApplicationOut:
    assert application.id is not None
    round_ = session.get(Round, application.round_id)
    investment = application.self_investment_fen
    return ApplicationOut.model_validate(
        {
            "id": application.id,
            "round": round_.code if round_ else "?",
            "applicant": member_name(session, application.member_id),
            "status": application.status,
            "scope_category": application.scope_category,
            "scope_field": application.scope_field,
            "project_name": application.project_name,
            "summary": application.summary,
            "requests": application.requests,
            "self_investment_wan": None if investment is None else fen_to_wan(investment),
            "headcount": application.headcount,
            "training_classes": application.training_classes,
            "packages": application.packages,
            "created_at": application.created_at,
            "updated_at": application.updated_at,
            "documents": [document_out(d, e) for d, e in documents_of(session, application.id)],
            "manifests": [manifest_out(session, m) for m in manifests_of(session, application.id)],
            "allowed_transitions": [s.value for s in allowed_for(actor, application)],
        }
    )


# --- documents -------------------------------------------------------------------------------


def attach_documents(
    *,
    session: Session,
    actor: Actor,
    application_id: int,
    kind: DocumentKind,
    algorithm: Algorithm,
    files: list[FileDigest],
) -> list[DocumentOut]:
    """Anchors and attaches application documents (申报书, 合同, 发票, …) to a draft."""
    application = _draft(session, application_id, actor)
    attached = attach(
        session,
        application=application,
        phase=Phase.APPLICATION,
        kind=kind,
        algorithm=algorithm,
        files=files,
        while_status=S.DRAFT,
    )
    return documents_out(session, attached)


def detach_document(
    *, session: Session, actor: Actor, application_id: int, document_id: int
) -> None:
    """Takes a document out of a draft. Its evidence stays anchored (nothing is unwritten)."""
    application = _draft(session, application_id, actor)
    hold(session, application, status=S.DRAFT)
    document = session.get(Document, document_id)
    if document is None or document.application_id != application_id:
        session.rollback()
        raise NotFoundError(f"document {document_id} is not part of application {application_id}")
    session.delete(document)
    session.commit()


# --- state changes ---------------------------------------------------------------------------


def submit(
    *, session: Session, actor: Actor, application_id: int, comment: str | None, now: datetime
) -> Application:
    """draft → submitted: refuses while a blocking rule fails, then anchors the manifest of
    the package and the transition in one commit (one receipt proves the whole package)."""
    application = visible_application(session, application_id, actor)
    check_move(actor, application, S.SUBMITTED)
    hold(session, application, status=S.DRAFT)  # no document slips in while we freeze
    failed = [c for c in rule_checks(session, application) if c.blocking and c.ok is False]
    if failed:
        session.rollback()
        raise ConflictError(
            "the application does not meet the guide yet: "
            + "; ".join(r for c in failed for r in c.reasons),
            failed=[c.name for c in failed],
        )
    round_ = session.get(Round, application.round_id)
    assert round_ is not None
    return freeze(
        session,
        application=application,
        round_=round_,
        phase=Phase.APPLICATION,
        actor=actor,
        to=S.SUBMITTED,
        comment=comment,
        now=now,
    )


def change_status(
    *,
    session: Session,
    chain: ChainContext,
    actor: Actor,
    application_id: int,
    to: S,
    comment: str | None,
    now: datetime,
) -> Application:
    """Any move of the lifecycle. Submissions freeze a manifest; acceptance decisions record
    the 3× check, and accepting against a failed check needs a comment saying why."""
    if to is S.SUBMITTED:
        return submit(
            session=session, actor=actor, application_id=application_id, comment=comment, now=now
        )
    application = visible_application(session, application_id, actor)
    round_ = session.get(Round, application.round_id)
    assert round_ is not None
    if to is S.ACCEPTANCE_SUBMITTED:
        return acceptance.submit_acceptance(
            session=session,
            actor=actor,
            application=application,
            round_=round_,
            comment=comment,
            now=now,
        )
    check_move(actor, application, to)
    extra: dict[str, Any] = {}
    if to in (S.ACCEPTED, S.ACCEPTANCE_FAILED):
        check = acceptance.evaluate(session, chain, actor, application)
        if to is S.ACCEPTED and check.passed is False and not (comment or "").strip():
            raise ConflictError(
                "the 3× rule fails ("
                + check.reasons[0]
                + "); accepting anyway needs a comment giving the reason (原则上)"
            )
        extra = acceptance.decision_record(check)
    return move(
        session,
        application=application,
        round_code=round_.code,
        actor=actor,
        to=to,
        comment=comment,
        now=now,
        extra=extra,
    )
