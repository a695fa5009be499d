"""The guide's rules applied to one application: what the report shows, what blocks submission.

``blocking`` checks are the guide's "须" (must): submission is refused while one fails. The
others (the acceptance outlook, the training classes, an 申报书 attached) are for the
reviewer to weigh.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func
from sqlmodel import Session, select

from chainproof.subsidy import rules
from chainproof.subsidy.catalog import DocumentKind, Request
from chainproof.subsidy.documents import documents_of
from chainproof.subsidy.models import Application, Phase
from chainproof.subsidy.money import fen_to_wan
from chainproof.subsidy.schemas import AssessIn, AssessOut, RuleCheckOut


def _check(
    name: str,
    rule: str,
    ok: bool | None,
    reasons: tuple[str, ...] | list[str],
    *,
    blocking: bool,
    value: Decimal | None = None,
) -> RuleCheckOut:
    return RuleCheckOut(
        name=name, rule=rule, ok=ok, blocking=blocking, value_wan=value, reasons=list(reasons)
    )


def rule_checks(session: Session, application: Application) -> list[RuleCheckOut]:
    """Every rule of the guide that the declared amounts and documents reach."""
    assert application.id is not None
    asked = set(application.requests)
    kinds = {d.kind for d, _ in documents_of(session, application.id, Phase.APPLICATION)}
    in_round = session.exec(
        select(func.count())
        .select_from(Application)
        .where(
            Application.round_id == application.round_id,
            Application.member_id == application.member_id,
        )
    ).one()
    one = rules.one_project_per_unit(int(in_round))
    needs_cloud = rules.cash_requires_cloud(asked)
    checks = [
        _check(one.name, one.rule, one.ok, one.reasons, blocking=True),
        _check(
            "requests",
            "三、申报要求",
            bool(asked),
            ["申报的补贴类型: " + ("、".join(sorted(asked)) or "无 → 至少选择一项")],
            blocking=True,
        ),
        _check(
            "application_form",
            "申报材料",
            DocumentKind.FORM.value in kinds,
            ["已附申报书" if DocumentKind.FORM.value in kinds else "未附申报书（请审核）"],
            blocking=False,
        ),
        _check(
            needs_cloud.name, needs_cloud.rule, needs_cloud.ok, needs_cloud.reasons, blocking=True
        ),
    ]
    if Request.CASH.value in asked:
        checks += _cash_checks(application, kinds)
    if Request.CLOUD.value in asked:
        checks += _cloud_checks(application)
    if Request.TRAINING.value in asked:
        classes = [
            rules.TrainingClass(c["class_size"], Decimal(c["days"]), c["certified"])
            for c in application.training_classes
        ]
        total = rules.training_total(classes)
        ok = any(a.amount_wan is not None for a in total.classes)
        reasons = total.reasons or (f"{rules.RULE_TRAINING}: 未申报培训班次",)
        checks.append(
            _check(
                "training", rules.RULE_TRAINING, ok, reasons, blocking=False, value=total.amount_wan
            )
        )
    return checks


def _cash_checks(application: Application, kinds: set[str]) -> list[RuleCheckOut]:
    rule = rules.RULE_CASH
    if application.self_investment_fen is None:
        return [_check("cash_subsidy", rule, False, [f"{rule}: 未申报自费投资金额"], blocking=True)]
    investment = fen_to_wan(application.self_investment_fen)
    cash = rules.cash_subsidy(investment)
    has_proof = bool(kinds & {DocumentKind.CONTRACT.value, DocumentKind.INVOICE.value})
    out = [
        _check(
            "cash_subsidy",
            rule,
            cash.amount_wan is not None,
            cash.reasons,
            blocking=True,
            value=cash.amount_wan,
        ),
        _check(
            "cash_evidence",
            rule,
            has_proof,
            [
                f"{rule}: 申报现金补贴时，单位须提供申报项目合同或发票等材料："
                + ("已附合同或发票" if has_proof else "未附合同或发票 → 不符合")
            ],
            blocking=True,
        ),
    ]
    if cash.amount_wan is not None:
        minimum = rules.acceptance_minimum(cash.amount_wan)
        covers = investment >= minimum.min_investment_wan
        note = "申报投资已达验收最低额" if covers else "申报投资低于验收最低额：验收须证明更多投资"
        out.append(
            _check(
                "acceptance_outlook",
                f"{rule}（验收）",
                covers,
                [*minimum.reasons, f"{rule}（验收）: {note}"],
                blocking=False,
                value=minimum.min_investment_wan,
            )
        )
    return out


def _cloud_checks(application: Application) -> list[RuleCheckOut]:
    rule = rules.RULE_CLOUD
    if not application.headcount:
        return [
            _check("cloud_cap", rule, False, [f"{rule}: 未申报研发和实施人员数量"], blocking=True)
        ]
    cap = rules.cloud_cap(application.headcount)
    selection = rules.package_selection(application.packages, cap.cap_wan)
    chosen = bool(application.packages)
    return [
        _check("cloud_cap", rule, True, cap.reasons, blocking=True, value=cap.cap_wan),
        _check(
            "packages_within_cap",
            f"{rule}、{rules.RULE_PACKAGES}",
            selection.within_cap if chosen else False,
            selection.reasons if chosen else [f"{rules.PACKAGES_SOURCE}：未选择资源套餐"],
            blocking=True,
            value=selection.total_wan,
        ),
    ]


def assess(body: AssessIn) -> AssessOut:
    """``POST /api/v1/subsidy/assess``: the rules on bare numbers, no application needed."""
    training = body.training
    answer = rules.assess(
        self_investment_wan=body.self_investment_wan,
        headcount=body.headcount,
        training=None
        if training is None
        else rules.TrainingClass(training.class_size, training.days, training.certified),
        packages=body.packages,
    )
    return AssessOut(
        cash_subsidy_wan=answer.cash.amount_wan if answer.cash else None,
        acceptance_min_investment_wan=(
            answer.acceptance.min_investment_wan if answer.acceptance else None
        ),
        cloud_subsidy_cap_wan=answer.cloud.cap_wan if answer.cloud else None,
        training_subsidy_wan=answer.training.amount_wan if answer.training else None,
        packages_total_wan=answer.packages.total_wan if answer.packages else None,
        packages_within_cap=answer.packages.within_cap if answer.packages else None,
        training_failed=list(answer.training.failed) if answer.training else [],
        reasons=list(answer.reasons),
    )
