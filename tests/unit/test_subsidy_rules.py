"""The 2023 guide's rules (``subsidy/rules.py``): every bound of every table, on both sides.

Amounts step by 0.000001 万元 (1 分), the finest amount the platform takes, so "just over a
bound" is exactly one fen over it. Property tests compare each table with an oracle written
another way (counting the bounds passed) and check monotonicity.
"""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chainproof.errors import InvalidInputError
from chainproof.subsidy import catalog, rules
from chainproof.subsidy.money import fen_to_wan, json_number, wan_to_fen

FEN = Decimal("0.000001")  # 1 分 in 万元
D = Decimal

# --- cash subsidy (三、（一）1) -----------------------------------------------------------------

CASH_CASES = [
    # (self-funded investment 万元, cash subsidy 万元, tier)
    (FEN, 10, 1),
    (D(30) - FEN, 10, 1),
    (D(30), 10, 1),  # 小于30万（含）
    (D(30) + FEN, 20, 2),
    (D(50), 20, 2),  # 大于30且小于50万元（含）
    (D(50) + FEN, 40, 3),
    (D(100), 40, 3),
    (D(100) + FEN, 60, 4),
    (D(120), 60, 4),
    (D(150), 60, 4),
    (D(150) + FEN, 80, 5),
    (D(200), 80, 5),
    (D(200) + FEN, 100, 6),  # 大于200万元
    (D(1_000_000), 100, 6),
]


@pytest.mark.parametrize(("investment", "subsidy", "tier"), CASH_CASES)
def test_cash_subsidy_at_every_bound(investment: Decimal, subsidy: int, tier: int) -> None:
    answer = rules.cash_subsidy(investment)
    assert answer.amount_wan == subsidy and answer.tier == tier
    [reason] = answer.reasons
    assert reason.startswith("三、（一）1: 自费投资金额 ")
    assert reason.endswith(f"→ 可申报现金补贴 {subsidy} 万元")


def test_cash_reason_reads_like_the_guide() -> None:
    assert rules.cash_subsidy(D(120)).reasons == (
        "三、（一）1: 自费投资金额 120 万元 > 100 且 ≤ 150（含） → 可申报现金补贴 60 万元",
    )
    assert "≤ 30（含）" in rules.cash_subsidy(D(30)).reasons[0]
    assert "> 200 →" in rules.cash_subsidy(D(201)).reasons[0]


def test_no_investment_no_cash_subsidy() -> None:
    answer = rules.cash_subsidy(D(0))
    assert answer.amount_wan is None and answer.tier is None
    assert answer.reasons[0].startswith("三、（一）1")


def _cash_oracle(investment: Decimal) -> int:
    bounds, amounts = (30, 50, 100, 150, 200), (10, 20, 40, 60, 80, 100)
    return amounts[sum(1 for b in bounds if investment > b)]


money = st.decimals(min_value=FEN, max_value=D(100_000), places=6)


@given(investment=money)
def test_cash_subsidy_is_the_tier_the_guide_words(investment: Decimal) -> None:
    assert rules.cash_subsidy(investment).amount_wan == _cash_oracle(investment)


@given(a=money, b=money)
def test_cash_subsidy_never_falls_as_investment_grows(a: Decimal, b: Decimal) -> None:
    low, high = sorted((a, b))
    assert rules.cash_subsidy(low).amount_wan <= rules.cash_subsidy(high).amount_wan  # type: ignore[operator]


# --- acceptance (三、（一）1 验收) -------------------------------------------------------------


@pytest.mark.parametrize("subsidy", [10, 20, 40, 60, 80, 100])
def test_acceptance_needs_three_times_the_subsidy_inclusive(subsidy: int) -> None:
    required = D(3 * subsidy)
    assert rules.acceptance_minimum(D(subsidy)).min_investment_wan == required
    exact = rules.acceptance_check(cash_subsidy_wan=D(subsidy), proven_wan=required)
    short = rules.acceptance_check(cash_subsidy_wan=D(subsidy), proven_wan=required - FEN)
    assert exact.passed is True and short.passed is False  # 不低于: equal passes
    assert exact.required_wan == short.required_wan == required
    assert "→ 通过" in exact.reasons[0] and "→ 不通过" in short.reasons[0]
    for answer in (exact, short):
        assert answer.reasons[0].startswith("三、（一）1（验收）")
        assert "3倍" in answer.reasons[0]


def test_acceptance_failure_shows_the_numbers() -> None:
    [reason] = rules.acceptance_check(cash_subsidy_wan=D(60), proven_wan=D(170)).reasons
    assert "170 万元 < 3 × 现金补贴 60 = 180 万元" in reason


@given(subsidy=st.sampled_from([D(v) for v in (10, 20, 40, 60, 80, 100)]), proven=money)
def test_acceptance_passes_exactly_from_three_times(subsidy: Decimal, proven: Decimal) -> None:
    check = rules.acceptance_check(cash_subsidy_wan=subsidy, proven_wan=proven)
    assert check.passed is (proven >= 3 * subsidy)


def test_the_guides_tiers_and_its_3x_rule_disagree() -> None:
    """Only the top of tier 1 and tier 6 can reach 3× with the investment they declare."""
    for bracket in rules.CASH_TIERS[1:5]:
        assert bracket.upper is not None and bracket.upper < 3 * bracket.amount
    answer = rules.assess(self_investment_wan=D(120))
    assert any("验收最低 180 万元" in r for r in answer.reasons)
    assert not any("注意" in r for r in rules.assess(self_investment_wan=D(300)).reasons)


# --- talent training (三、（一）2) ---------------------------------------------------------------

TRAINING_CASES = [
    # (class size, days, certified, subsidy or None, failed condition mentions)
    (29, D(2), 20, None, "29 人 < 30 人"),
    (30, D(2), 20, 8, None),
    (30, D(2), 19, None, "19 人 < 20 人"),
    (40, D(2), 20, 8, None),  # 40 ends the first row (30~40人（含）)
    (40, D(2), 25, 8, None),
    (41, D(2), 25, 9, None),
    (41, D(2), 24, None, "24 人 < 25 人"),
    (50, D(2), 25, 9, None),
    (51, D(2), 30, 10, None),
    (51, D(2), 29, None, "29 人 < 30 人"),
    (60, D(2), 30, 10, None),
    (61, D(2), 61, None, "61 人 > 60 人"),
    (35, D("1.99"), 35, None, "1.99 天 < 2 天"),
    (35, D("2.5"), 20, 8, None),
]


@pytest.mark.parametrize(("size", "days", "certified", "subsidy", "failed"), TRAINING_CASES)
def test_training_at_every_bound(
    size: int, days: Decimal, certified: int, subsidy: int | None, failed: str | None
) -> None:
    answer = rules.training_subsidy(class_size=size, days=days, certified=certified)
    assert answer.amount_wan == (None if subsidy is None else D(subsidy))
    assert answer.reasons[0].startswith("三、（一）2")
    if failed is None:
        assert answer.failed == ()
    else:
        assert any(failed in f for f in answer.failed), answer.failed
        assert failed in answer.reasons[0]


def test_a_class_failing_twice_names_both_conditions() -> None:
    answer = rules.training_subsidy(class_size=45, days=D("1.5"), certified=24)
    assert len(answer.failed) == 2
    assert "培训时长 1.5 天 < 2 天" in answer.failed[0]
    assert "24 人 < 25 人" in answer.failed[1]


def _training_oracle(size: int, days: Decimal, certified: int) -> int | None:
    for low, high, need, amount in ((30, 40, 20, 8), (41, 50, 25, 9), (51, 60, 30, 10)):
        if low <= size <= high:
            return amount if days >= 2 and certified >= need else None
    return None


@st.composite
def classes(draw: st.DrawFn) -> tuple[int, Decimal, int]:
    size = draw(st.integers(min_value=0, max_value=80))
    days = draw(st.decimals(min_value=0, max_value=10, places=2))
    return size, days, draw(st.integers(min_value=0, max_value=size))


@given(cls=classes())
def test_training_matches_the_table(cls: tuple[int, Decimal, int]) -> None:
    size, days, certified = cls
    answer = rules.training_subsidy(class_size=size, days=days, certified=certified)
    expected = _training_oracle(size, days, certified)
    assert answer.amount_wan == (None if expected is None else D(expected))
    assert bool(answer.failed) is (expected is None)


@given(cls=classes(), more=st.integers(min_value=0, max_value=80))
def test_more_certified_never_lowers_the_training_subsidy(
    cls: tuple[int, Decimal, int], more: int
) -> None:
    size, days, certified = cls
    higher = min(size, certified + more)
    before = rules.training_subsidy(class_size=size, days=days, certified=certified).amount_wan
    after = rules.training_subsidy(class_size=size, days=days, certified=higher).amount_wan
    assert (before or 0) <= (after or 0)


def test_training_total_sums_the_classes() -> None:
    total = rules.training_total(
        [
            rules.TrainingClass(35, D(2), 20),
            rules.TrainingClass(55, D(3), 30),
            rules.TrainingClass(20, D(2), 20),
        ]
    )
    assert total.amount_wan == 18
    assert [r[:3] for r in total.reasons] == ["第1班", "第2班", "第3班"]


# --- cloud resources (三、（二）, 附件4-1) --------------------------------------------------------

CLOUD_CASES = [(1, 30), (10, 30), (11, 50), (20, 50), (21, 60), (30, 60), (31, 70)]
CLOUD_CASES += [(40, 70), (41, 80), (50, 80), (51, 100), (5000, 100)]


@pytest.mark.parametrize(("headcount", "cap"), CLOUD_CASES)
def test_cloud_cap_at_every_bound(headcount: int, cap: int) -> None:
    answer = rules.cloud_cap(headcount)
    assert answer.cap_wan == cap
    assert answer.reasons[0].startswith("三、（二）: 研发和实施人员 ")
    assert answer.reasons[0].endswith(f"可申报资源补贴 {cap} 万元")


def test_no_staff_no_cloud_cap() -> None:
    assert rules.cloud_cap(0).cap_wan is None


@given(a=st.integers(min_value=1, max_value=10_000), b=st.integers(min_value=1, max_value=10_000))
def test_cloud_cap_matches_the_table_and_never_falls(a: int, b: int) -> None:
    def oracle(n: int) -> int:
        return (30, 50, 60, 70, 80, 100)[sum(1 for bound in (10, 20, 30, 40, 50) if n > bound)]

    assert rules.cloud_cap(a).cap_wan == oracle(a)
    low, high = sorted((a, b))
    assert rules.cloud_cap(low).cap_wan <= rules.cloud_cap(high).cap_wan  # type: ignore[operator]


PRICES = {
    "platform-admin-basic": 300_000,
    "platform-admin-pro": 400_000,
    "platform-admin-flagship": 500_000,
    "platform-user-basic": 100_000,
    "platform-user-pro": 150_000,
    "platform-user-flagship": 200_000,
    "crosschain-basic": 300_000,
    "crosschain-data": None,  # the source gives none
}


def test_the_package_list_is_annex_4_1() -> None:
    assert {p.code: p.price_yuan for p in catalog.PACKAGES} == PRICES
    assert catalog.get_package("platform-user-pro").price_wan == D(15)
    assert (
        catalog.get_package("platform-admin-flagship").title == "区块链基础平台资源 · 管理 · 旗舰版"
    )


@pytest.mark.parametrize(
    ("codes", "cap", "within", "total"),
    [
        (["platform-admin-basic"], D(30), True, 30),  # exactly the cap: within
        (["platform-user-basic", "platform-user-flagship"], D(30), True, 30),
        (["platform-user-basic"] * 3, D(30), True, 30),  # stackable, even the same package
        (["platform-user-basic"] * 3 + ["platform-user-basic"], D(30), False, 40),
        (["platform-admin-pro"], D(30), False, 40),
        (["platform-admin-flagship", "platform-admin-flagship"], D(100), True, 100),
        (["platform-user-basic", "crosschain-data"], D(30), None, 10),  # a price is missing
        (["crosschain-basic", "crosschain-data"], D(20), False, 30),  # over even without it
        ([], D(30), True, 0),
        (["platform-user-basic"], None, None, 10),  # no cap to compare with
    ],
)
def test_packages_against_the_cap(
    codes: list[str], cap: Decimal | None, within: bool | None, total: int
) -> None:
    selection = rules.package_selection(codes, cap)
    assert selection.within_cap is within and selection.total_wan == total
    assert all(r.startswith(("附件4-1", "三、（二）")) for r in selection.reasons)


@given(
    codes=st.lists(st.sampled_from([c for c, p in PRICES.items() if p is not None]), max_size=8),
    cap=st.sampled_from([D(v) for v in (30, 50, 60, 70, 80, 100)]),
)
def test_package_totals_add_up_in_any_order(codes: list[str], cap: Decimal) -> None:
    selection = rules.package_selection(codes, cap)
    assert selection.total_wan == sum(D(PRICES[c] or 0) / 10_000 for c in codes)
    assert selection.within_cap is (selection.total_wan <= cap)
    assert rules.package_selection(codes[::-1], cap).total_wan == selection.total_wan


# --- application-level rules -----------------------------------------------------------------


def test_cash_requires_cloud() -> None:
    assert rules.cash_requires_cloud(["cash"]).ok is False
    assert rules.cash_requires_cloud(["cash", "cloud"]).ok is True
    assert rules.cash_requires_cloud(["cloud", "training"]).ok is None  # does not apply
    assert (
        "申报现金补贴时须同时申报区块链云资源补贴" in rules.cash_requires_cloud(["cash"]).reasons[0]
    )


def test_one_project_per_unit() -> None:
    assert rules.one_project_per_unit(1).ok is True
    refused = rules.one_project_per_unit(2)
    assert refused.ok is False and "每个单位只能申报1个项目" in refused.reasons[0]


def test_assess_answers_only_what_was_asked() -> None:
    assert rules.assess() == rules.Assessment(None, None, None, None, None, ())
    only_cloud = rules.assess(headcount=15, packages=["platform-admin-pro"])
    assert only_cloud.cash is None and only_cloud.cloud is not None
    assert only_cloud.packages is not None and only_cloud.packages.within_cap is True


# --- refusing nonsense -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda: rules.cash_subsidy(D(-1)),
        lambda: rules.cloud_cap(-1),
        lambda: rules.training_subsidy(class_size=-1, days=D(2), certified=0),
        lambda: rules.training_subsidy(class_size=30, days=D(-1), certified=0),
        lambda: rules.training_subsidy(class_size=30, days=D(2), certified=31),
        lambda: rules.package_selection(["platinum"], D(30)),
        lambda: rules.acceptance_check(cash_subsidy_wan=D(10), proven_wan=D(-1)),
        lambda: catalog.check_scope("区块链+金融", "保险"),
        lambda: catalog.check_scope("政务", "保险"),
        lambda: catalog.parse_kind("照片"),
    ],
)
def test_bad_input_is_refused(call: object) -> None:
    with pytest.raises(InvalidInputError):
        call()  # type: ignore[operator]


def test_scopes_are_the_guides() -> None:
    assert {k: len(v) for k, v in catalog.SCOPES.items()} == {
        "政务": 11,
        "农业": 6,
        "工业": 8,
        "服务业": 10,
    }
    assert catalog.check_scope("区块链+政务", " 职权监管 ") == ("政务", "职权监管")


# --- money -------------------------------------------------------------------------------------


@given(fen=st.integers(min_value=0, max_value=100_000_000 * 1_000_000))
def test_fen_and_wan_round_trip_exactly(fen: int) -> None:
    wan = fen_to_wan(fen)
    assert wan_to_fen(wan) == fen
    number = json_number(wan)
    assert D(repr(number)) == wan if isinstance(number, float) else D(number) == wan


@pytest.mark.parametrize("bad", [D("0.0000001"), D(-1), D(100_000_001), D("NaN"), D("Infinity")])
def test_amounts_finer_than_a_fen_or_absurd_are_refused(bad: Decimal) -> None:
    with pytest.raises(InvalidInputError):
        wan_to_fen(bad)


# --- issue 27: the exact sentences applicants read, the tables' shape -------------------------

CASH_REASONS = [
    (FEN, 1, "0.000001 万元 ≤ 30（含） → 可申报现金补贴 10 万元"),
    (D(30), 1, "30 万元 ≤ 30（含） → 可申报现金补贴 10 万元"),
    (D(30) + FEN, 2, "30.000001 万元 > 30 且 ≤ 50（含） → 可申报现金补贴 20 万元"),
    (D(50), 2, "50 万元 > 30 且 ≤ 50（含） → 可申报现金补贴 20 万元"),
    (D(50) + FEN, 3, "50.000001 万元 > 50 且 ≤ 100（含） → 可申报现金补贴 40 万元"),
    (D(100), 3, "100 万元 > 50 且 ≤ 100（含） → 可申报现金补贴 40 万元"),
    (D(100) + FEN, 4, "100.000001 万元 > 100 且 ≤ 150（含） → 可申报现金补贴 60 万元"),
    (D(150), 4, "150 万元 > 100 且 ≤ 150（含） → 可申报现金补贴 60 万元"),
    (D(150) + FEN, 5, "150.000001 万元 > 150 且 ≤ 200（含） → 可申报现金补贴 80 万元"),
    (D(200), 5, "200 万元 > 150 且 ≤ 200（含） → 可申报现金补贴 80 万元"),
    (D(200) + FEN, 6, "200.000001 万元 > 200 → 可申报现金补贴 100 万元"),
]


@pytest.mark.parametrize(("investment", "tier", "text"), CASH_REASONS)
def test_cash_reason_quotes_the_right_bounds(investment: Decimal, tier: int, text: str) -> None:
    answer = rules.cash_subsidy(investment)
    assert answer.tier == tier
    assert answer.reasons == (f"三、（一）1: 自费投资金额 {text}",)


def test_zero_investment_reason() -> None:
    assert rules.cash_subsidy(D(0)).reasons == (
        "三、（一）1: 自费投资金额 0 万元：没有可由合同或发票反映的自费投资，无现金补贴可申报",
    )


CLOUD_REASONS = [
    (1, 1, "1 人 ≤ 10（含） → 可申报资源补贴 30 万元"),
    (10, 1, "10 人 ≤ 10（含） → 可申报资源补贴 30 万元"),
    (11, 2, "11 人 > 10 且 ≤ 20（含） → 可申报资源补贴 50 万元"),
    (20, 2, "20 人 > 10 且 ≤ 20（含） → 可申报资源补贴 50 万元"),
    (21, 3, "21 人 > 20 且 ≤ 30（含） → 可申报资源补贴 60 万元"),
    (30, 3, "30 人 > 20 且 ≤ 30（含） → 可申报资源补贴 60 万元"),
    (31, 4, "31 人 > 30 且 ≤ 40（含） → 可申报资源补贴 70 万元"),
    (40, 4, "40 人 > 30 且 ≤ 40（含） → 可申报资源补贴 70 万元"),
    (41, 5, "41 人 > 40 且 ≤ 50（含） → 可申报资源补贴 80 万元"),
    (50, 5, "50 人 > 40 且 ≤ 50（含） → 可申报资源补贴 80 万元"),
    (51, 6, "51 人 > 50 → 可申报资源补贴 100 万元"),
]


@pytest.mark.parametrize(("headcount", "tier", "text"), CLOUD_REASONS)
def test_cloud_reason_quotes_the_right_bounds(headcount: int, tier: int, text: str) -> None:
    answer = rules.cloud_cap(headcount)
    assert answer.tier == tier
    assert answer.reasons == (f"三、（二）: 研发和实施人员 {text}",)


def test_no_staff_reason() -> None:
    answer = rules.cloud_cap(0)
    assert answer.tier is None
    assert answer.reasons == ("三、（二）: 研发和实施人员 0 人：无可申报的资源补贴",)


TRAINING_PASS = [
    (30, 1, 20, "30 ≤ 30 人 ≤ 40（含）", 8),
    (40, 1, 20, "30 ≤ 40 人 ≤ 40（含）", 8),
    (41, 2, 25, "41 人 > 40 且 ≤ 50（含）", 9),
    (50, 2, 25, "50 人 > 40 且 ≤ 50（含）", 9),
    (51, 3, 30, "51 人 > 50 且 ≤ 60（含）", 10),
    (60, 3, 30, "60 人 > 50 且 ≤ 60（含）", 10),
]


@pytest.mark.parametrize(("size", "row", "certified", "described", "amount"), TRAINING_PASS)
def test_training_passing_reason(
    size: int, row: int, certified: int, described: str, amount: int
) -> None:
    answer = rules.training_subsidy(class_size=size, days=D(2), certified=certified)
    assert (answer.row, answer.amount_wan, answer.failed) == (row, D(amount), ())
    assert answer.reasons == (
        f"三、（一）2: 每班次人数 {described}，培训 2 天 ≥ 2 天，认证 {certified} 人 ≥ "
        f"{certified} 人 → 可申报 {amount} 万元",
    )
    # One certified trainee fewer fails the row's minimum, and says which row it was.
    short = rules.training_subsidy(class_size=size, days=D(2), certified=certified - 1)
    assert (short.row, short.amount_wan) == (row, None)
    assert short.failed == (
        f"取得区块链人才认证 {certified - 1} 人 < {certified} 人（{described} 的班次须不少于"
        f"{certified}人）",
    )
    assert short.reasons == (f"三、（一）2: 不符合任何一档：{short.failed[0]} → 无人才培养补贴",)


def test_training_failing_reasons() -> None:
    small = rules.training_subsidy(class_size=29, days=D(2), certified=29)
    assert (small.row, small.failed) == (None, ("每班次人数 29 人 < 30 人（最小一档为30~40人）",))
    big = rules.training_subsidy(class_size=61, days=D(2), certified=61)
    assert (big.row, big.failed) == (None, ("每班次人数 61 人 > 60 人（最大一档为50~60人（含））",))
    nothing = rules.training_subsidy(class_size=0, days=D(0), certified=0)
    assert nothing.reasons == (
        "三、（一）2: 不符合任何一档：每班次人数 0 人 < 30 人（最小一档为30~40人）；"
        "培训时长 0 天 < 2 天（须不少于2天） → 无人才培养补贴",
    )
    short_days = rules.training_subsidy(class_size=45, days=D("1.999999"), certified=45)
    assert (short_days.row, short_days.failed) == (
        2,
        ("培训时长 1.999999 天 < 2 天（须不少于2天）",),
    )
    assert rules.training_subsidy(class_size=45, days=D(2), certified=45).amount_wan == 9


def test_training_total_reasons_and_amounts() -> None:
    total = rules.training_total(
        [rules.TrainingClass(35, D(2), 20), rules.TrainingClass(20, D(2), 20)]
    )
    assert total.amount_wan == 8
    assert [c.amount_wan for c in total.classes] == [D(8), None]
    assert total.reasons == (
        "第1班 三、（一）2: 每班次人数 30 ≤ 35 人 ≤ 40（含），培训 2 天 ≥ 2 天，认证 20 人 ≥ 20 人"
        " → 可申报 8 万元",
        "第2班 三、（一）2: 不符合任何一档：每班次人数 20 人 < 30 人（最小一档为30~40人）"
        " → 无人才培养补贴",
    )
    assert rules.training_total([]).amount_wan == 0


@pytest.mark.parametrize("table", [rules.CASH_TIERS, rules.CLOUD_TIERS])
def test_tables_are_contiguous_open_ended_and_rising(table: tuple[rules.Bracket, ...]) -> None:
    """No gap and no overlap: each row starts where the one before ends, the first has no
    lower bound and the last no upper one, and a higher row pays more."""
    assert table[0].lower is None and table[-1].upper is None
    for before, after in itertools.pairwise(table):
        assert before.upper == after.lower
        assert before.amount < after.amount
        assert not after.lower_inclusive  # a shared bound belongs to the lower row
    for row in table:
        # The row quotes the source sentence with its own numbers.
        for bound in (row.lower, row.upper, row.amount):
            if bound is not None:
                assert str(bound) in row.source, (row, bound)


def test_training_rows_are_contiguous() -> None:
    sizes = [r.size for r in rules.TRAINING_ROWS]
    assert sizes[0].lower == 30 and sizes[0].lower_inclusive
    for before, after in itertools.pairwise(sizes):
        assert before.upper == after.lower and not after.lower_inclusive
    assert [r.min_certified for r in rules.TRAINING_ROWS] == [20, 25, 30]
    for row in rules.TRAINING_ROWS:
        assert f"不少于{row.min_certified}人" in row.source
        assert f"可申报{row.size.amount}万元" in row.source


@pytest.mark.parametrize(
    ("bracket", "inside", "outside"),
    [
        (rules.Bracket(None, D(10), D(1), ""), [D(-5), D(10)], [D(10) + FEN]),
        (rules.Bracket(D(10), None, D(1), ""), [D(10) + FEN, D(10**9)], [D(10)]),
        (rules.Bracket(D(10), D(20), D(1), ""), [D(10) + FEN, D(20)], [D(10), D(20) + FEN]),
        (
            rules.Bracket(D(10), D(20), D(1), "", lower_inclusive=True),
            [D(10), D(20)],
            [D(10) - FEN, D(20) + FEN],
        ),
    ],
)
def test_bracket_contains_both_sides_of_each_bound(
    bracket: rules.Bracket, inside: list[Decimal], outside: list[Decimal]
) -> None:
    assert all(bracket.contains(x) for x in inside)
    assert not any(bracket.contains(x) for x in outside)


def test_bracket_describe_each_shape() -> None:
    assert rules.Bracket(None, D(10), D(1), "").describe(D(3), "人") == "3 人 ≤ 10（含）"
    assert rules.Bracket(D(10), None, D(1), "").describe(D(11), "人") == "11 人 > 10"
    assert rules.Bracket(D(10), D(20), D(1), "").describe(D(15), "人") == "15 人 > 10 且 ≤ 20（含）"
    inclusive = rules.Bracket(D(10), D(20), D(1), "", lower_inclusive=True)
    assert inclusive.describe(D(10), "人") == "10 ≤ 10 人 ≤ 20（含）"


def test_acceptance_reasons_word_for_word() -> None:
    assert rules.acceptance_minimum(D(20)) == rules.AcceptanceMinimum(
        D(60), ("三、（一）1（验收）: 自费投资金额须不低于现金补贴金额的3倍：3 × 20 = 60 万元",)
    )
    passed = rules.acceptance_check(cash_subsidy_wan=D(20), proven_wan=D(60))
    assert passed == rules.AcceptanceCheck(
        D(20),
        D(60),
        D(60),
        True,
        (
            "三、（一）1（验收）: 经核验的采购合同/发票金额合计 60 万元 ≥ 3 × 现金补贴 20 = 60 万元"
            "（须不低于现金补贴金额的3倍）→ 通过",
        ),
    )
    failed = rules.acceptance_check(cash_subsidy_wan=D(20), proven_wan=D("59.999999"))
    assert failed.reasons == (
        "三、（一）1（验收）: 经核验的采购合同/发票金额合计 59.999999 万元 < "
        "3 × 现金补贴 20 = 60 万元（须不低于现金补贴金额的3倍）→ 不通过",
    )
    assert rules.acceptance_check(cash_subsidy_wan=D(0), proven_wan=D(0)).passed is True


def test_package_reasons_word_for_word() -> None:
    user_basic = "附件4-1: 区块链基础平台资源 · 普通 · 基础版 100,000 元/年 = 10 万元"
    data = (
        "附件4-1: 区块链跨链服务 · 跨链数据对接服务（元/次）：附件4-1 未给出价格，无法计入上限核算"
    )
    assert rules.package_selection([], D(30)).reasons == ("附件4-1: 未选择资源套餐",)
    assert rules.package_selection([], None).within_cap is True
    assert rules.package_selection(["platform-user-basic"], None).reasons == (
        user_basic,
        "三、（二）: 没有资源补贴上限（未申报研发和实施人员），无法核对套餐合计",
    )
    assert rules.package_selection(["platform-admin-pro"], D(30)).reasons[-1] == (
        "三、（二）: 资源套餐合计 40 万元 > 上限 30 万元 → 超出上限"
    )
    unpriced = rules.package_selection(["platform-user-basic", "crosschain-data"], D(30))
    assert unpriced.unpriced == ("crosschain-data",)
    assert unpriced.reasons == (
        user_basic,
        data,
        "三、（二）: 有价格的资源套餐合计 10 万元 ≤ 上限 30 万元，但 crosschain-data 没有价格："
        "无法确定是否在上限内",
    )
    stacked = rules.package_selection(["platform-user-basic"] * 2, D(20))
    assert (stacked.within_cap, stacked.total_wan) == (True, D(20))
    assert stacked.reasons == (
        user_basic,
        user_basic,
        "三、（二）: 资源套餐合计（可叠加）20 万元 ≤ 上限 20 万元",
    )
    over = rules.package_selection(["platform-user-basic"], D("9.999999"))
    assert over.within_cap is False


def test_application_checks_word_for_word() -> None:
    assert rules.cash_requires_cloud(["cash"]) == rules.Check(
        "cash_requires_cloud",
        "三、（一）1",
        False,
        (
            "三、（一）1: 申报现金补贴时须同时申报区块链云资源补贴："
            "未同时申报区块链云资源补贴 → 不符合",
        ),
    )
    assert rules.cash_requires_cloud(["cash", "cloud"]).reasons == (
        "三、（一）1: 申报现金补贴时须同时申报区块链云资源补贴：已同时申报区块链云资源补贴",
    )
    assert rules.cash_requires_cloud([]) == rules.Check(
        "cash_requires_cloud", "三、（一）1", None, ("三、（一）1: 未申报现金补贴，不适用",)
    )
    assert rules.one_project_per_unit(0) == rules.Check(
        "one_project_per_unit",
        "三、（一）1、三、（二）",
        True,
        ("三、（一）1、三、（二）: 每个单位只能申报1个项目：本单位本轮申报 0 个项目",),
    )
    assert rules.one_project_per_unit(2).reasons == (
        "三、（一）1、三、（二）: 每个单位只能申报1个项目：本单位本轮申报 2 个项目 → 不符合",
    )


def test_assess_everything_at_once_in_order() -> None:
    answer = rules.assess(
        self_investment_wan=D(120),
        headcount=15,
        packages=["platform-admin-pro"],
        training=rules.TrainingClass(35, D(2), 20),
    )
    assert answer.cash == rules.cash_subsidy(D(120))
    assert answer.acceptance == rules.acceptance_minimum(D(60))
    assert answer.cloud == rules.cloud_cap(15)
    assert answer.packages == rules.package_selection(["platform-admin-pro"], D(50))
    assert answer.training == rules.training_subsidy(class_size=35, days=D(2), certified=20)
    assert answer.reasons == (
        "三、（一）1: 自费投资金额 120 万元 > 100 且 ≤ 150（含） → 可申报现金补贴 60 万元",
        "三、（一）1（验收）: 自费投资金额须不低于现金补贴金额的3倍：3 × 60 = 180 万元",
        "三、（一）1（验收）: 注意：申报的自费投资 120 万元 < 验收最低 180 万元：验收时须以合同或"
        "发票证明更多投资，否则不通过",
        "三、（二）: 研发和实施人员 15 人 > 10 且 ≤ 20（含） → 可申报资源补贴 50 万元",
        "附件4-1: 区块链基础平台资源 · 管理 · 专业版 400,000 元/年 = 40 万元",
        "三、（二）: 资源套餐合计（可叠加）40 万元 ≤ 上限 50 万元",
        "三、（一）2: 每班次人数 30 ≤ 35 人 ≤ 40（含），培训 2 天 ≥ 2 天，认证 20 人 ≥ 20 人"
        " → 可申报 8 万元",
    )


def test_assess_cash_branches() -> None:
    none = rules.assess(self_investment_wan=D(0))
    assert none.cash == rules.cash_subsidy(D(0)) and none.acceptance is None
    assert none.reasons == rules.cash_subsidy(D(0)).reasons
    # Exactly 3x the subsidy it brings: no warning (不低于); one fen less would warn.
    top = rules.assess(self_investment_wan=D(300))
    assert top.acceptance == rules.acceptance_minimum(D(100))
    assert (
        top.reasons == rules.cash_subsidy(D(300)).reasons + rules.acceptance_minimum(D(100)).reasons
    )
    # Tier 1 at its top: 30 declared, 3 x 10 = 30 needed: equal, no warning; a fen less warns.
    at_bound = rules.assess(self_investment_wan=D(30))
    assert len(at_bound.reasons) == 2
    below = rules.assess(self_investment_wan=D(30) - FEN)
    assert below.reasons[-1] == (
        "三、（一）1（验收）: 注意：申报的自费投资 29.999999 万元 < 验收最低 30 万元："
        "验收时须以合同或发票证明更多投资，否则不通过"
    )
    packages_without_cloud = rules.assess(packages=["platform-user-basic"])
    assert packages_without_cloud.cloud is None
    assert packages_without_cloud.packages == rules.package_selection(["platform-user-basic"], None)
    trained = rules.assess(training=rules.TrainingClass(29, D(2), 20))
    assert trained.training == rules.training_subsidy(class_size=29, days=D(2), certified=20)
    assert trained.reasons == trained.training.reasons  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("call", "message", "field"),
    [
        (
            lambda: rules.cash_subsidy(D(-1)),
            "self_investment_wan: cannot be negative, got -1",
            "self_investment_wan",
        ),
        (lambda: rules.cloud_cap(-2), "headcount: cannot be negative, got -2", "headcount"),
        (
            lambda: rules.acceptance_minimum(D(-1)),
            "cash_subsidy_wan: cannot be negative, got -1",
            "cash_subsidy_wan",
        ),
        (
            lambda: rules.acceptance_check(cash_subsidy_wan=D(1), proven_wan=D("-0.5")),
            "proven_wan: cannot be negative, got -0.5",
            "proven_wan",
        ),
        (
            lambda: rules.training_subsidy(class_size=-1, days=D(2), certified=0),
            "class_size: cannot be negative, got -1",
            "class_size",
        ),
        (
            lambda: rules.training_subsidy(class_size=30, days=D("-0.5"), certified=1),
            "days: cannot be negative, got -0.5",
            "days",
        ),
        (
            lambda: rules.training_subsidy(class_size=30, days=D(2), certified=-1),
            "certified: cannot be negative, got -1",
            "certified",
        ),
        (
            lambda: rules.training_subsidy(class_size=30, days=D(2), certified=31),
            "certified: 31 certified trainees in a class of 30",
            "certified",
        ),
    ],
)
def test_refusals_name_the_field(call: object, message: str, field: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        call()  # type: ignore[operator]
    assert info.value.message == message
    assert info.value.details == {"field": field}
    # Zero is allowed everywhere (a boundary, on the accepting side).
    assert rules.training_subsidy(class_size=30, days=D(2), certified=30).amount_wan == 8


def test_package_selection_keeps_the_packages_and_lists_every_unpriced_code() -> None:
    selection = rules.package_selection(
        ["crosschain-data", "platform-user-basic", "crosschain-data"], D(30)
    )
    assert [p.code for p in selection.packages] == [
        "crosschain-data",
        "platform-user-basic",
        "crosschain-data",
    ]
    assert selection.unpriced == ("crosschain-data", "crosschain-data")
    assert selection.reasons[-1] == (
        "三、（二）: 有价格的资源套餐合计 10 万元 ≤ 上限 30 万元，"
        "但 crosschain-data, crosschain-data 没有价格：无法确定是否在上限内"
    )


def test_totals_are_decimal_even_when_empty() -> None:
    """Money is Decimal everywhere, also a sum of nothing (int 0 would leak into JSON as a
    different type than every other amount)."""
    for total in (
        rules.package_selection([], D(30)).total_wan,
        rules.package_selection(["crosschain-data"], D(30)).total_wan,
        rules.training_total([]).amount_wan,
    ):
        assert type(total) is Decimal and total == 0
