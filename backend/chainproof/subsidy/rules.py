"""The rules of the 2023 guide, as pure functions over its tables (amounts in 万元).

Every function answers with a small frozen dataclass holding the result *and* ``reasons``:
sentences that cite the guide's section (``三、（一）1`` …) and show the comparison made,
e.g. ``三、（一）1: 自费投资金额 120 万元 > 100 且 ≤ 150（含）→ 可申报现金补贴 60 万元``.

Boundaries follow the source's wording exactly: "大于30且小于50万元（含）" is
``30 < I ≤ 50``: the 含 (inclusive) belongs to the upper bound and a shared bound belongs to
the lower row. The tables keep the source sentence of each row (``source``) so the docs
and the catalog endpoint quote it rather than paraphrase it.

Nothing here touches the database, the chain or the clock; money is ``Decimal``, never
float. Bad input (negative amounts, more certified trainees than trainees) raises
:class:`~chainproof.errors.InvalidInputError`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Final

from chainproof.errors import InvalidInputError
from chainproof.subsidy.catalog import Package, Request, get_package
from chainproof.subsidy.money import fmt

RULE_CASH: Final = "三、（一）1"
RULE_TRAINING: Final = "三、（一）2"
RULE_CLOUD: Final = "三、（二）"
RULE_PACKAGES: Final = "附件4-1"
ACCEPTANCE_FACTOR: Final = 3
TRAINING_MIN_DAYS: Final = Decimal(2)


@dataclass(frozen=True)
class Bracket:
    """One row of a table: ``lower < x ≤ upper`` (``lower ≤ x`` when ``lower_inclusive``)."""

    lower: Decimal | None
    upper: Decimal | None
    amount: Decimal
    source: str
    lower_inclusive: bool = False

    def contains(self, x: Decimal) -> bool:
        if self.lower is not None and (x < self.lower if self.lower_inclusive else x <= self.lower):
            return False
        return self.upper is None or x <= self.upper

    def describe(self, x: Decimal, unit: str) -> str:
        """``120 万元 > 100 且 ≤ 150（含）``: ``x`` against this row's bounds."""
        lo, up = self.lower, self.upper
        if lo is None and up is not None:
            return f"{fmt(x)} {unit} ≤ {fmt(up)}（含）"
        if up is None and lo is not None:
            return f"{fmt(x)} {unit} > {fmt(lo)}"
        assert lo is not None and up is not None
        if self.lower_inclusive:
            return f"{fmt(lo)} ≤ {fmt(x)} {unit} ≤ {fmt(up)}（含）"
        return f"{fmt(x)} {unit} > {fmt(lo)} 且 ≤ {fmt(up)}（含）"


# An alias rather than a wrapper function: the tables are built at import time, where a
# mutation tool that switches mutants per call (mutmut) cannot reach a function's body.
_d: Final = Decimal


# 三、（一）1: cash subsidy by self-funded investment.
CASH_TIERS: Final[tuple[Bracket, ...]] = (
    Bracket(None, _d(30), _d(10), "自费投资金额小于30万（含）的可申报10万元现金补贴"),
    Bracket(_d(30), _d(50), _d(20), "自费投资金额大于30且小于50万元（含）的可申报20万元现金补贴"),
    Bracket(_d(50), _d(100), _d(40), "自费投资金额大于50且小于100万元（含）的可申报40万元现金补贴"),
    Bracket(
        _d(100), _d(150), _d(60), "自费投资金额大于100且小于150万元（含）的可申报60万元现金补贴"
    ),
    Bracket(
        _d(150), _d(200), _d(80), "自费投资金额大于150且小于200万元（含）的可申报80万元现金补贴"
    ),
    Bracket(_d(200), None, _d(100), "自费投资金额大于200万元的可申报100万元现金补贴"),
)
ACCEPTANCE_SOURCE: Final = (
    "原则上现金补贴验收时，申报项目自费投资金额须不低于现金补贴金额的3倍，"
    "验收须提供符合现金补贴用途的采购合同或发票等相关凭证材料"
)
ONE_PROJECT_SOURCE: Final = "每个单位只能申报1个项目"
CASH_NEEDS_CLOUD_SOURCE: Final = "申报现金补贴时须同时申报区块链云资源补贴"

# 三、（二）: cloud-resource subsidy cap by R&D and implementation headcount.
CLOUD_TIERS: Final[tuple[Bracket, ...]] = (
    Bracket(None, _d(10), _d(30), "10人及以下的可申报30万元资源补贴"),
    Bracket(_d(10), _d(20), _d(50), "10~20人（含）的可申报50万元资源补贴"),
    Bracket(_d(20), _d(30), _d(60), "20~30人（含）的可申报60万元资源补贴"),
    Bracket(_d(30), _d(40), _d(70), "30~40人（含）的可申报70万元资源补贴"),
    Bracket(_d(40), _d(50), _d(80), "40~50人（含）的可申报80万元资源补贴"),
    Bracket(_d(50), None, _d(100), "超过50人的可申报100万元资源补贴"),
)
PACKAGES_SOURCE: Final = "按区块链资源服务清单（详见附件4-1）提出申请，资源套餐可叠加申请"


@dataclass(frozen=True)
class TrainingRow:
    """三、（一）2: one row of the talent-training table."""

    size: Bracket  # class size bracket; its amount is the row's subsidy
    min_certified: int
    source: str


# "每班次人数30~40人（含）…40~50人（含）…50~60人（含）": 40 and 50 end the lower row, as
# every shared bound in the guide does; 30 opens the first row (the range says 30~40).
TRAINING_ROWS: Final[tuple[TrainingRow, ...]] = (
    TrainingRow(
        Bracket(_d(30), _d(40), _d(8), "", lower_inclusive=True),
        20,
        "每班次人数30~40人（含），培训时长不少于2天且不少于20人取得区块链人才认证的，可申报8万元",
    ),
    TrainingRow(
        Bracket(_d(40), _d(50), _d(9), ""),
        25,
        "每班次人数40~50人（含），培训时长不少于2天且不少于25人取得区块链人才认证的，可申报9万元",
    ),
    TrainingRow(
        Bracket(_d(50), _d(60), _d(10), ""),
        30,
        "每班次人数50~60人（含），培训时长不少于2天且不少于30人取得区块链人才认证的，可申报10万元",
    ),
)


def _find(table: Sequence[Bracket], x: Decimal) -> tuple[int, Bracket]:
    for i, row in enumerate(table):
        if row.contains(x):
            return i + 1, row
    raise AssertionError(f"the table does not cover {x}")  # the tables are total over x > 0


def _not_negative(value: Decimal | int, what: str) -> None:
    if value < 0:
        raise InvalidInputError(f"{what}: cannot be negative, got {fmt(value)}", field=what)


# --- cash subsidy and acceptance --------------------------------------------------------------


@dataclass(frozen=True)
class CashSubsidy:
    amount_wan: Decimal | None
    tier: int | None  # 1-based row of CASH_TIERS
    reasons: tuple[str, ...]


def cash_subsidy(self_investment_wan: Decimal) -> CashSubsidy:
    """三、（一）1: the cash subsidy a self-funded investment (万元) may apply for."""
    _not_negative(self_investment_wan, "self_investment_wan")
    if self_investment_wan == 0:
        return CashSubsidy(
            None,
            None,
            (
                f"{RULE_CASH}: 自费投资金额 0 万元：没有可由合同或发票反映的自费投资，"
                "无现金补贴可申报",
            ),
        )
    tier, row = _find(CASH_TIERS, self_investment_wan)
    return CashSubsidy(
        row.amount,
        tier,
        (
            f"{RULE_CASH}: 自费投资金额 {row.describe(self_investment_wan, '万元')} "
            f"→ 可申报现金补贴 {fmt(row.amount)} 万元",
        ),
    )


@dataclass(frozen=True)
class AcceptanceMinimum:
    min_investment_wan: Decimal
    reasons: tuple[str, ...]


def acceptance_minimum(cash_subsidy_wan: Decimal) -> AcceptanceMinimum:
    """三、（一）1: the self-funded investment acceptance must prove (≥ 3 × the subsidy)."""
    _not_negative(cash_subsidy_wan, "cash_subsidy_wan")
    minimum = ACCEPTANCE_FACTOR * cash_subsidy_wan
    return AcceptanceMinimum(
        minimum,
        (
            f"{RULE_CASH}（验收）: 自费投资金额须不低于现金补贴金额的3倍："
            f"{ACCEPTANCE_FACTOR} × {fmt(cash_subsidy_wan)} = {fmt(minimum)} 万元",
        ),
    )


@dataclass(frozen=True)
class AcceptanceCheck:
    cash_subsidy_wan: Decimal
    required_wan: Decimal
    proven_wan: Decimal
    passed: bool
    reasons: tuple[str, ...]


def acceptance_check(*, cash_subsidy_wan: Decimal, proven_wan: Decimal) -> AcceptanceCheck:
    """三、（一）1 验收: do the proven (verified) amounts reach 3 × the cash subsidy?"""
    _not_negative(proven_wan, "proven_wan")
    required = acceptance_minimum(cash_subsidy_wan).min_investment_wan
    passed = proven_wan >= required
    sign = "≥" if passed else "<"
    verdict = "通过" if passed else "不通过"
    return AcceptanceCheck(
        cash_subsidy_wan,
        required,
        proven_wan,
        passed,
        (
            f"{RULE_CASH}（验收）: 经核验的采购合同/发票金额合计 {fmt(proven_wan)} 万元 {sign} "
            f"{ACCEPTANCE_FACTOR} × 现金补贴 {fmt(cash_subsidy_wan)} = {fmt(required)} 万元"
            f"（须不低于现金补贴金额的3倍）→ {verdict}",
        ),
    )


# --- talent training --------------------------------------------------------------------------


@dataclass(frozen=True)
class TrainingSubsidy:
    amount_wan: Decimal | None
    row: int | None  # 1-based row of TRAINING_ROWS whose class size matched
    failed: tuple[str, ...]  # the conditions not met (empty when the subsidy applies)
    reasons: tuple[str, ...]


def training_subsidy(*, class_size: int, days: Decimal, certified: int) -> TrainingSubsidy:
    """三、（一）2: the subsidy for one class; names every condition that failed."""
    _not_negative(class_size, "class_size")
    _not_negative(days, "days")
    _not_negative(certified, "certified")
    if certified > class_size:
        raise InvalidInputError(
            f"certified: {certified} certified trainees in a class of {class_size}",
            field="certified",
        )
    size = Decimal(class_size)
    failed: list[str] = []
    found = [(i + 1, r) for i, r in enumerate(TRAINING_ROWS) if r.size.contains(size)]
    if not found:
        lowest, highest = TRAINING_ROWS[0].size.lower, TRAINING_ROWS[-1].size.upper
        assert lowest is not None and highest is not None
        if size < lowest:
            failed.append(f"每班次人数 {class_size} 人 < {fmt(lowest)} 人（最小一档为30~40人）")
        else:
            failed.append(
                f"每班次人数 {class_size} 人 > {fmt(highest)} 人（最大一档为50~60人（含））"
            )
    if days < TRAINING_MIN_DAYS:
        failed.append(f"培训时长 {fmt(days)} 天 < {fmt(TRAINING_MIN_DAYS)} 天（须不少于2天）")
    number, row = found[0] if found else (None, None)
    if row is not None and certified < row.min_certified:
        failed.append(
            f"取得区块链人才认证 {certified} 人 < {row.min_certified} 人"
            f"（{row.size.describe(size, '人')} 的班次须不少于{row.min_certified}人）"
        )
    if failed:
        return TrainingSubsidy(
            None,
            number,
            tuple(failed),
            (f"{RULE_TRAINING}: 不符合任何一档：" + "；".join(failed) + " → 无人才培养补贴",),
        )
    assert row is not None
    return TrainingSubsidy(
        row.size.amount,
        number,
        (),
        (
            f"{RULE_TRAINING}: 每班次人数 {row.size.describe(size, '人')}，"
            f"培训 {fmt(days)} 天 ≥ 2 天，认证 {certified} 人 ≥ {row.min_certified} 人 "
            f"→ 可申报 {fmt(row.size.amount)} 万元",
        ),
    )


@dataclass(frozen=True)
class TrainingClass:
    class_size: int
    days: Decimal
    certified: int


@dataclass(frozen=True)
class TrainingTotal:
    amount_wan: Decimal
    classes: tuple[TrainingSubsidy, ...]
    reasons: tuple[str, ...]


def training_total(classes: Iterable[TrainingClass]) -> TrainingTotal:
    """三、（一）2 per class (每班次), summed over the classes declared."""
    answers = tuple(
        training_subsidy(class_size=c.class_size, days=c.days, certified=c.certified)
        for c in classes
    )
    total = sum((a.amount_wan or Decimal(0) for a in answers), Decimal(0))
    reasons = tuple(f"第{i}班 {a.reasons[0]}" for i, a in enumerate(answers, 1))
    return TrainingTotal(total, answers, reasons)


# --- cloud resources --------------------------------------------------------------------------


@dataclass(frozen=True)
class CloudCap:
    cap_wan: Decimal | None
    tier: int | None
    reasons: tuple[str, ...]


def cloud_cap(headcount: int) -> CloudCap:
    """三、（二）: the cloud-resource subsidy cap for the project's R&D and implementation staff."""
    _not_negative(headcount, "headcount")
    if headcount == 0:
        return CloudCap(None, None, (f"{RULE_CLOUD}: 研发和实施人员 0 人：无可申报的资源补贴",))
    tier, row = _find(CLOUD_TIERS, Decimal(headcount))
    return CloudCap(
        row.amount,
        tier,
        (
            f"{RULE_CLOUD}: 研发和实施人员 {row.describe(Decimal(headcount), '人')} "
            f"→ 可申报资源补贴 {fmt(row.amount)} 万元",
        ),
    )


@dataclass(frozen=True)
class PackageSelection:
    packages: tuple[Package, ...]
    total_wan: Decimal  # of the packages that have a price
    unpriced: tuple[str, ...]  # codes whose price the source does not give
    within_cap: bool | None  # None: no cap, or a price is missing and the rest fits
    reasons: tuple[str, ...]


def package_selection(codes: Sequence[str], cap_wan: Decimal | None) -> PackageSelection:
    """附件4-1: the chosen packages (stackable: a code may repeat) against the cap."""
    packages = tuple(get_package(code) for code in codes)
    total = sum((p.price_wan or Decimal(0) for p in packages), Decimal(0))
    unpriced = tuple(p.code for p in packages if p.price_wan is None)
    reasons = [
        f"{RULE_PACKAGES}: {p.title} {p.price_yuan:,} {p.unit} = {fmt(p.price_wan)} 万元"
        if p.price_wan is not None
        else f"{RULE_PACKAGES}: {p.title}（{p.unit}）：附件4-1 未给出价格，无法计入上限核算"
        for p in packages
    ]
    within: bool | None
    if not packages:
        within = True
        reasons.append(f"{RULE_PACKAGES}: 未选择资源套餐")
    elif cap_wan is None:
        within = None
        reasons.append(f"{RULE_CLOUD}: 没有资源补贴上限（未申报研发和实施人员），无法核对套餐合计")
    elif total > cap_wan:
        within = False
        reasons.append(
            f"{RULE_CLOUD}: 资源套餐合计 {fmt(total)} 万元 > 上限 {fmt(cap_wan)} 万元 → 超出上限"
        )
    elif unpriced:
        within = None
        reasons.append(
            f"{RULE_CLOUD}: 有价格的资源套餐合计 {fmt(total)} 万元 ≤ 上限 {fmt(cap_wan)} 万元，"
            f"但 {', '.join(unpriced)} 没有价格：无法确定是否在上限内"
        )
    else:
        within = True
        reasons.append(
            f"{RULE_CLOUD}: 资源套餐合计（可叠加）{fmt(total)} 万元 ≤ 上限 {fmt(cap_wan)} 万元"
        )
    return PackageSelection(packages, total, unpriced, within, tuple(reasons))


# --- application-level rules ------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    """A yes/no rule about an application: ``ok`` is None when it does not apply."""

    name: str
    rule: str
    ok: bool | None
    reasons: tuple[str, ...]


def cash_requires_cloud(requests: Iterable[Request | str]) -> Check:
    """三、（一）1: "申报现金补贴时须同时申报区块链云资源补贴"."""
    asked = {Request(r) for r in requests}
    if Request.CASH not in asked:
        return Check(
            "cash_requires_cloud", RULE_CASH, None, (f"{RULE_CASH}: 未申报现金补贴，不适用",)
        )
    ok = Request.CLOUD in asked
    tail = "已同时申报区块链云资源补贴" if ok else "未同时申报区块链云资源补贴 → 不符合"
    return Check(
        "cash_requires_cloud",
        RULE_CASH,
        ok,
        (f"{RULE_CASH}: {CASH_NEEDS_CLOUD_SOURCE}：{tail}",),
    )


def one_project_per_unit(projects_in_round: int) -> Check:
    """三、（一）1 and 三、（二）: "每个单位只能申报1个项目"."""
    ok = projects_in_round <= 1
    return Check(
        "one_project_per_unit",
        f"{RULE_CASH}、{RULE_CLOUD}",
        ok,
        (
            f"{RULE_CASH}、{RULE_CLOUD}: {ONE_PROJECT_SOURCE}："
            f"本单位本轮申报 {projects_in_round} 个项目" + ("" if ok else " → 不符合"),
        ),
    )


# --- everything at once (POST /api/v1/subsidy/assess) ----------------------------------------


@dataclass(frozen=True)
class Assessment:
    cash: CashSubsidy | None
    acceptance: AcceptanceMinimum | None
    cloud: CloudCap | None
    packages: PackageSelection | None
    training: TrainingSubsidy | None
    reasons: tuple[str, ...] = field(default=())


def assess(
    *,
    self_investment_wan: Decimal | None = None,
    headcount: int | None = None,
    training: TrainingClass | None = None,
    packages: Sequence[str] | None = None,
) -> Assessment:
    """Every rule that the given inputs reach; ``None`` for what was not asked."""
    reasons: list[str] = []
    cash = acceptance = None
    if self_investment_wan is not None:
        cash = cash_subsidy(self_investment_wan)
        reasons += cash.reasons
        if cash.amount_wan is not None:
            acceptance = acceptance_minimum(cash.amount_wan)
            reasons += acceptance.reasons
            if self_investment_wan < acceptance.min_investment_wan:
                reasons.append(
                    f"{RULE_CASH}（验收）: 注意：申报的自费投资 {fmt(self_investment_wan)} 万元 < "
                    f"验收最低 {fmt(acceptance.min_investment_wan)} 万元：验收时须以合同或发票"
                    "证明更多投资，否则不通过"
                )
    cloud = cloud_cap(headcount) if headcount is not None else None
    if cloud is not None:
        reasons += cloud.reasons
    selection = None
    if packages is not None:
        selection = package_selection(packages, cloud.cap_wan if cloud else None)
        reasons += selection.reasons
    trained = None
    if training is not None:
        trained = training_subsidy(
            class_size=training.class_size, days=training.days, certified=training.certified
        )
        reasons += trained.reasons
    return Assessment(cash, acceptance, cloud, selection, trained, tuple(reasons))
