"""The guide's own figures: assessing a plan (``/assess``) and the tables of the 2023 guide."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import (
    BaseModel,
    Field,
    model_validator,
)

from chainproof.subsidy import catalog, rules
from chainproof.subsidy.schemas.common import PackageCode, WanIn, WanOut, _examples

# --- assess ----------------------------------------------------------------------------------


class TrainingIn(BaseModel):
    """One training class (每班次)."""

    model_config = _examples({"class_size": 45, "days": 2, "certified": 26}, forbid=True)

    class_size: int = Field(ge=0, le=10_000, description="Trainees in the class.")
    days: Decimal = Field(ge=0, le=366, decimal_places=2, description="Length in days.")
    certified: int = Field(ge=0, le=10_000, description="Trainees certified (区块链人才认证).")

    @model_validator(mode="after")
    def _certified_within_class(self) -> TrainingIn:
        if self.certified > self.class_size:
            raise ValueError(
                f"certified ({self.certified}) cannot exceed class_size ({self.class_size})"
            )
        return self


class AssessIn(BaseModel):
    model_config = _examples(
        {
            "self_investment_wan": 120,
            "headcount": 15,
            "training": {"class_size": 45, "days": 2, "certified": 26},
            "packages": ["platform-user-basic", "platform-admin-basic"],
        },
        forbid=True,
    )

    self_investment_wan: WanIn | None = None
    headcount: int | None = Field(None, ge=0, le=1_000_000, description="R&D + implementation.")
    training: TrainingIn | None = None
    packages: list[PackageCode] | None = Field(None, max_length=100)


class AssessOut(BaseModel):
    """Null where the input was absent or nothing applies; ``reasons`` cite the guide."""

    model_config = _examples(
        {
            "cash_subsidy_wan": 60,
            "acceptance_min_investment_wan": 180,
            "cloud_subsidy_cap_wan": 50,
            "training_subsidy_wan": 9,
            "packages_total_wan": 40,
            "packages_within_cap": True,
            "training_failed": [],
            "reasons": [
                "三、（一）1: 自费投资金额 120 万元 > 100 且 ≤ 150（含） → 可申报现金补贴 60 万元",
                "三、（一）1（验收）: 自费投资金额须不低于现金补贴金额的3倍：3 × 60 = 180 万元",
            ],
        }
    )

    cash_subsidy_wan: WanOut | None
    acceptance_min_investment_wan: WanOut | None
    cloud_subsidy_cap_wan: WanOut | None
    training_subsidy_wan: WanOut | None
    packages_total_wan: WanOut | None = None
    packages_within_cap: bool | None = None
    training_failed: list[str] = Field(default_factory=list)
    reasons: list[str]


# --- the guide's tables ----------------------------------------------------------------------


class BracketOut(BaseModel):
    lower: WanOut | None = Field(description="Exclusive, unless lower_inclusive.")
    lower_inclusive: bool
    upper: WanOut | None = Field(description="Inclusive (含).")
    amount_wan: WanOut
    min_certified: int | None = None
    source: str = Field(description="The guide's sentence for this row.")


class PackageOut(BaseModel):
    code: str
    service_type: str
    user_type: str
    name: str
    unit: str
    price_yuan: int | None = Field(description="Null: 附件4-1 gives no price.")
    price_wan: WanOut | None
    services: list[dict[str, str]]


class CatalogOut(BaseModel):
    """The guide as data: scopes, document kinds, 附件4-1 and the tables the rules use."""

    model_config = _examples(
        {
            "scopes": {"政务": ["数据共享交换", "可信存证"]},
            "requests": {"cash": "现金补贴（区块链示范应用）"},
            "document_kinds": ["申报书", "合同", "发票", "人员名单", "培训材料", "其他"],
            "packages": [
                {
                    "code": "platform-user-basic",
                    "service_type": "区块链基础平台资源",
                    "user_type": "普通",
                    "name": "基础版",
                    "unit": "元/年",
                    "price_yuan": 100000,
                    "price_wan": 10,
                    "services": [{"item": "区块链引擎服务", "description": "提供数据存证…"}],
                }
            ],
            "cash_tiers": [
                {
                    "lower": None,
                    "lower_inclusive": False,
                    "upper": 30,
                    "amount_wan": 10,
                    "source": "自费投资金额小于30万（含）的可申报10万元现金补贴",
                }
            ],
            "cloud_tiers": [],
            "training_rows": [],
        }
    )

    scopes: dict[str, list[str]]
    requests: dict[str, str]
    document_kinds: list[str]
    packages: list[PackageOut]
    cash_tiers: list[BracketOut]
    cloud_tiers: list[BracketOut]
    training_rows: list[BracketOut]

    @classmethod
    def current(cls) -> CatalogOut:
        def bracket(b: rules.Bracket, **extra: Any) -> BracketOut:
            return BracketOut(
                lower=b.lower,
                lower_inclusive=b.lower_inclusive,
                upper=b.upper,
                amount_wan=b.amount,
                source=extra.pop("source", b.source),
                **extra,
            )

        return cls(
            scopes={k: list(v) for k, v in catalog.SCOPES.items()},
            requests={r.value: label for r, label in catalog.REQUEST_LABELS.items()},
            document_kinds=[k.value for k in catalog.DocumentKind],
            packages=[
                PackageOut(
                    code=p.code,
                    service_type=p.service_type,
                    user_type=p.user_type,
                    name=p.name,
                    unit=p.unit,
                    price_yuan=p.price_yuan,
                    price_wan=p.price_wan,
                    services=[{"item": s.item, "description": s.description} for s in p.services],
                )
                for p in catalog.PACKAGES
            ],
            cash_tiers=[bracket(b) for b in rules.CASH_TIERS],
            cloud_tiers=[bracket(b) for b in rules.CLOUD_TIERS],
            training_rows=[
                bracket(r.size, min_certified=r.min_certified, source=r.source)
                for r in rules.TRAINING_ROWS
            ],
        )
