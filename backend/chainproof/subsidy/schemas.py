"""Request and response bodies of ``/api/v1/subsidy``, each with an example for ``/docs``.

The services return these ``…Out`` models, so the shapes live next to the rules they show.
Money is ``Decimal`` 万元 on the way in (a JSON number or a decimal string, at most six
decimal places, i.e. to the fen) and a JSON number on the way out (``money.json_number``).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, Final, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
    model_validator,
)

from chainproof.subsidy import catalog, rules
from chainproof.subsidy.catalog import check_scope, get_package
from chainproof.subsidy.money import MAX_WAN, WAN_PLACES, json_number

# --- shared types ----------------------------------------------------------------------------

WanIn = Annotated[
    Decimal,
    Field(ge=0, le=MAX_WAN, decimal_places=WAN_PLACES, description="万元 (10,000 CNY)."),
]
WanOut = Annotated[
    Decimal,
    PlainSerializer(json_number, return_type=Any, when_used="json"),
    WithJsonSchema({"type": "number", "description": "万元 (10,000 CNY)."}),
]
RequestName = Literal["cash", "training", "cloud"]
StatusName = Literal[
    "draft",
    "submitted",
    "under_review",
    "approved",
    "rejected",
    "acceptance_submitted",
    "accepted",
    "acceptance_failed",
]
KindName = Literal["申报书", "合同", "发票", "人员名单", "培训材料", "其他"]
ProofVerdictName = Literal["anchored", "pending", "revoked", "chain_mismatch", "not_found"]
Comment = Annotated[
    str, Field(max_length=2000, description="Kept off chain; hashed into the record.")
]


def _package(code: str) -> str:
    return get_package(code).code  # InvalidInputError is a ValueError: pydantic reports it


PackageCode = Annotated[
    str,
    AfterValidator(_package),
    WithJsonSchema({"type": "string", "description": "A package code of 附件4-1."}),
]

# sha256 of "2023年区块链示范应用申报书"
EX_DIGEST: Final = "0x27a9c60d7e02a0a164c87013e92c9ecee2de0ef8f5367f36a2d952ae80ee746f"
EX_TX: Final = "0x7129e1738184e452b667c67321b41bbc607ea4bcbf9d9281904429ec86380b8e"
EX_ANCHOR: Final[dict[str, Any]] = {
    "root": "0x3bccf72f4360f8af653317414b9c077462de763bcdadee83bdb433bb06e970b8",
    "tx_hash": EX_TX,
    "block_number": 42,
    "block_hash": "0xe4e657139f820bb920c21905b1b00b89cff9500591cd6ceee30d0865594953e2",
    "block_timestamp": 1_688_000_000,
    "anchored_at": "2023-06-29T00:53:20+00:00",
    "chain_id": 31337,
    "contract": "0x5FbDB2315678afecb367f032d93F642f64180aa3",
    "submitter": "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
}
EX_APPLICANT: Final = "广西示范科技有限公司"


def _examples(*examples: dict[str, Any], forbid: bool = False) -> ConfigDict:
    config = ConfigDict(json_schema_extra={"examples": list(examples)})
    if forbid:
        config["extra"] = "forbid"
    return config


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


# --- rounds ----------------------------------------------------------------------------------


ROUND_CODE: Final = re.compile(r"[0-9A-Za-z._-]{1,32}")


def _round_code(code: str) -> str:
    # Said in words: the regex pydantic would quote means nothing to an administrator.
    if not ROUND_CODE.fullmatch(code):  # fullmatch: "$" would let a trailing newline in
        raise ValueError(
            f"round code {code!r} may use only letters, digits, '.', '_' and '-' "
            "(no spaces or Chinese characters; it goes into URLs), e.g. 2024 or 2024-2"
        )
    return code


class RoundIn(BaseModel):
    model_config = _examples(
        {"code": "2024", "name": "2024年专项补贴项目", "deadline": "2024-06-30T17:00:00+08:00"},
        forbid=True,
    )

    code: Annotated[
        str,
        Field(
            min_length=1,
            max_length=32,
            description="1–32 letters, digits, '.', '_' or '-' (it goes into URLs), e.g. 2024.",
            json_schema_extra={"pattern": f"^{ROUND_CODE.pattern}$"},
        ),
        AfterValidator(_round_code),
    ]
    name: str = Field(min_length=1, max_length=200)
    deadline: AwareDatetime


class RoundPatch(BaseModel):
    model_config = _examples({"deadline": "2023-07-31T17:00:00+08:00"}, forbid=True)

    name: str | None = Field(None, min_length=1, max_length=200)
    deadline: AwareDatetime | None = None


class RoundOut(BaseModel):
    model_config = _examples(
        {
            "code": "2023",
            "name": "中国—东盟区块链创新中心2023年专项补贴项目",
            "deadline": "2023-12-31T15:59:59+00:00",
            "closed": True,
            "created_at": "2026-11-23T00:00:00+00:00",
        }
    )

    code: str
    name: str
    deadline: datetime
    closed: bool = Field(description="The deadline has passed: what is anchored now is late.")
    created_at: datetime


# --- applications ----------------------------------------------------------------------------


class ApplicationFields(BaseModel):
    """Everything an applicant declares; a PATCH sends any subset of it."""

    model_config = ConfigDict(extra="forbid")

    scope_category: str | None = Field(
        None, max_length=16, description="政务 / 农业 / 工业 / 服务业"
    )
    scope_field: str | None = Field(None, max_length=32, description="A field the guide lists.")
    project_name: str | None = Field(None, min_length=1, max_length=200)
    summary: str | None = Field(None, max_length=10_000)
    requests: list[RequestName] | None = Field(None, max_length=3)
    self_investment_wan: WanIn | None = None
    headcount: int | None = Field(None, ge=0, le=1_000_000)
    training_classes: list[TrainingIn] | None = Field(None, max_length=100)
    packages: list[PackageCode] | None = Field(None, max_length=100)


EX_APPLICATION_IN: Final[dict[str, Any]] = {
    "round": "2023",
    "scope_category": "政务",
    "scope_field": "可信存证",
    "project_name": "桂链电子证照存证平台",
    "summary": "基于桂链的电子证照可信存证与核验。",
    "requests": ["cash", "cloud"],
    "self_investment_wan": 120,
    "headcount": 15,
    "training_classes": [],
    "packages": ["platform-admin-pro"],
}


class ApplicationIn(ApplicationFields):
    model_config = _examples(EX_APPLICATION_IN, forbid=True)

    round: str = Field("2023", max_length=32, description="The round's code.")
    scope_category: str = Field(max_length=16, description="政务 / 农业 / 工业 / 服务业")
    scope_field: str = Field(max_length=32, description="A field the guide lists (一、支持范围).")
    project_name: str = Field(min_length=1, max_length=200)

    @model_validator(mode="after")
    def _scope_listed(self) -> ApplicationIn:
        self.scope_category, self.scope_field = check_scope(self.scope_category, self.scope_field)
        return self


class ApplicationPatch(ApplicationFields):
    model_config = _examples({"headcount": 18, "packages": ["platform-admin-pro"]}, forbid=True)


class ProvenAnchorOut(BaseModel):
    root: str
    tx_hash: str | None
    block_number: int
    block_hash: str | None
    block_timestamp: int
    anchored_at: str = Field(description="The block's time, ISO 8601 UTC.")
    chain_id: int
    contract: str
    submitter: str | None = None

    @classmethod
    def of(cls, anchor: dict[str, Any] | None) -> ProvenAnchorOut | None:
        """From ``anchoring.Proof.anchor`` (``None`` stays ``None``)."""
        if anchor is None:
            return None
        when = datetime.fromtimestamp(int(anchor["block_timestamp"]), UTC).isoformat()
        return cls.model_validate({**anchor, "anchored_at": when})


class DocumentOut(BaseModel):
    model_config = _examples(
        {
            "id": 3,
            "phase": "application",
            "kind": "发票",
            "evidence_id": "01943b2e-7c00-7a3f-9d21-5c8e4b7f0a17",
            "algorithm": "sha256",
            "digest": EX_DIGEST,
            "filename": "发票-2023-118.pdf",
            "size": 183_204,
            "status": "anchored",
            "amount_wan": None,
            "invoice_number": None,
            "issuer": None,
            "created_at": "2023-06-01T08:00:00+00:00",
        }
    )

    id: int
    phase: Literal["application", "acceptance"]
    kind: KindName
    evidence_id: str = Field(description="The evidence's public id.")
    algorithm: str
    digest: str
    filename: str | None
    size: int | None
    status: str = Field(description="The evidence status: queued, batched, anchored, revoked.")
    amount_wan: WanOut | None = None
    invoice_number: str | None = None
    issuer: str | None = None
    created_at: datetime


class ManifestOut(BaseModel):
    phase: Literal["application", "acceptance"]
    digest: str = Field(description="0x + SHA-256 of the canonical manifest bytes.")
    evidence_id: str | None
    receipt: str | None = Field(description="Where its receipt is, once anchored.")
    created_at: datetime


class ApplicationOut(BaseModel):
    model_config = _examples(
        {
            "id": 5,
            "round": "2023",
            "applicant": EX_APPLICANT,
            "status": "submitted",
            **{k: v for k, v in EX_APPLICATION_IN.items() if k != "round"},
            "created_at": "2023-06-01T08:00:00+00:00",
            "updated_at": "2023-06-02T08:00:00+00:00",
            "documents": [],
            "manifests": [
                {
                    "phase": "application",
                    "digest": EX_DIGEST,
                    "evidence_id": "01943b2e-7c00-7a3f-9d21-5c8e4b7f0a18",
                    "receipt": "/api/v1/evidence/01943b2e-7c00-7a3f-9d21-5c8e4b7f0a18/receipt",
                    "created_at": "2023-06-02T08:00:00+00:00",
                }
            ],
            "allowed_transitions": ["under_review"],
        }
    )

    id: int
    round: str
    applicant: str | None
    status: StatusName
    scope_category: str
    scope_field: str
    project_name: str
    summary: str
    requests: list[RequestName]
    self_investment_wan: WanOut | None
    headcount: int | None
    training_classes: list[TrainingIn]
    packages: list[str]
    created_at: datetime
    updated_at: datetime
    documents: list[DocumentOut]
    manifests: list[ManifestOut]
    allowed_transitions: list[StatusName]


# --- lifecycle -------------------------------------------------------------------------------


class SubmitIn(BaseModel):
    model_config = _examples({"comment": "提交2023年申报材料"}, forbid=True)

    comment: Comment | None = None


class TransitionIn(BaseModel):
    model_config = _examples({"to": "approved", "comment": "材料齐全，同意立项"}, forbid=True)

    to: StatusName
    comment: Comment | None = None


class TrailEntryOut(BaseModel):
    seq: int
    from_status: StatusName
    to_status: StatusName
    actor: str | None
    role: str
    at: datetime
    comment: str | None
    record_hash: str
    prev: str | None
    evidence_id: str | None
    verdict: ProofVerdictName
    reason: str | None = None
    anchor: ProvenAnchorOut | None = None
    hash_ok: bool = Field(description="sha256(record) is record_hash.")
    link_ok: bool = Field(description="The record names the previous entry's hash and this step.")
    ok: bool


class TrailOut(BaseModel):
    """The audit trail; ``ok`` when every entry hashes, links and verifies on chain."""

    model_config = _examples(
        {
            "application_id": 5,
            "ok": True,
            "reasons": [],
            "entries": [
                {
                    "seq": 1,
                    "from_status": "draft",
                    "to_status": "submitted",
                    "actor": EX_APPLICANT,
                    "role": "submitter",
                    "at": "2023-06-02T08:00:00+00:00",
                    "comment": "提交2023年申报材料",
                    "record_hash": EX_DIGEST,
                    "prev": None,
                    "evidence_id": "01943b2e-7c00-7a3f-9d21-5c8e4b7f0a19",
                    "verdict": "anchored",
                    "anchor": EX_ANCHOR,
                    "hash_ok": True,
                    "link_ok": True,
                    "ok": True,
                }
            ],
        }
    )

    application_id: int
    ok: bool
    reasons: list[str]
    entries: list[TrailEntryOut]


# --- integrity check -------------------------------------------------------------------------

IntegrityResult = Literal["match", "other_application", "anchored_elsewhere", "unknown"]


class ApplicationRef(BaseModel):
    """Another application; names only for a caller who may see it."""

    id: int | None = None
    round: str | None = None
    project_name: str | None = None
    applicant: str | None = None


class DocumentRef(BaseModel):
    id: int | None = Field(description="Null for the manifest itself.")
    kind: str
    phase: str
    filename: str | None


class IntegrityRowOut(BaseModel):
    name: str
    algorithm: str
    digest: str
    result: IntegrityResult
    verdict: ProofVerdictName = Field(description="What the chain says about that anchor.")
    reason: str | None = None
    document: DocumentRef | None = None
    application: ApplicationRef | None = None
    anchor: ProvenAnchorOut | None = None
    also_in: list[ApplicationRef] = Field(
        default_factory=list, description="Other applications holding the same file."
    )


class IntegrityOut(BaseModel):
    model_config = _examples(
        {
            "application_id": 5,
            "all_match": False,
            "counts": {"match": 1, "other_application": 0, "anchored_elsewhere": 0, "unknown": 1},
            "rows": [
                {
                    "name": "申报书.pdf",
                    "algorithm": "sha256",
                    "digest": EX_DIGEST,
                    "result": "match",
                    "verdict": "anchored",
                    "document": {
                        "id": 3,
                        "kind": "申报书",
                        "phase": "application",
                        "filename": "申报书.pdf",
                    },
                    "application": {
                        "id": 5,
                        "round": "2023",
                        "project_name": "桂链电子证照存证平台",
                        "applicant": EX_APPLICANT,
                    },
                    "anchor": EX_ANCHOR,
                    "also_in": [],
                },
                {
                    "name": "合同-改.pdf",
                    "algorithm": "sha256",
                    "digest": "0x" + "ab" * 32,
                    "result": "unknown",
                    "verdict": "not_found",
                    "reason": "never anchored here: modified, or never submitted",
                },
            ],
        }
    )

    application_id: int
    all_match: bool = Field(description="Every file is a document of this application, anchored.")
    counts: dict[str, int]
    rows: list[IntegrityRowOut]


# --- acceptance and report -------------------------------------------------------------------


class ProvenDocumentOut(DocumentOut):
    verdict: ProofVerdictName
    reason: str | None = None
    anchor: ProvenAnchorOut | None = None
    late: bool | None = Field(None, description="Anchored after the round's deadline.")
    reused: list[ApplicationRef] = Field(
        default_factory=list, description="Other applications with this file or number+issuer."
    )
    duplicate_of: int | None = Field(None, description="Counted once: same file or number+issuer.")
    counted: bool | None = Field(None, description="Acceptance: counts towards the 3× rule.")


class AcceptanceDocIn(BaseModel):
    """The text fields sent with an acceptance file (multipart)."""

    kind: Literal["合同", "发票"]
    amount_wan: WanIn
    number: str = Field(min_length=1, max_length=64)
    issuer: str = Field(min_length=1, max_length=200)


class AcceptanceOut(BaseModel):
    model_config = _examples(
        {
            "application_id": 5,
            "cash_subsidy_wan": 60,
            "required_wan": 180,
            "proven_wan": 190,
            "passed": True,
            "reasons": [
                "三、（一）1（验收）: 经核验的采购合同/发票金额合计 190 万元 ≥ 3 × 现金补贴 60 = "
                "180 万元（须不低于现金补贴金额的3倍）→ 通过"
            ],
            "documents": [],
        }
    )

    application_id: int
    cash_subsidy_wan: WanOut | None
    required_wan: WanOut | None
    proven_wan: WanOut
    passed: bool | None = Field(description="Null when no cash subsidy was requested.")
    reasons: list[str]
    documents: list[ProvenDocumentOut]
    invoice_proofs: list[dict[str, Any]] | None = Field(
        None,
        description=(
            "Per invoice or contract: claimed here, claimed elsewhere (reused) or unclaimed, "
            "with its proof in the append-only invoice map against the newest anchored root "
            "(docs/invoices.md); null until a root is anchored."
        ),
    )


class RuleCheckOut(BaseModel):
    name: str
    rule: str = Field(description="The guide's section, e.g. 三、（一）1.")
    ok: bool | None = Field(description="Null: does not apply, or cannot be decided.")
    blocking: bool = Field(description="Submission is refused while this check fails.")
    value_wan: WanOut | None = None
    reasons: list[str]


class ManifestProofOut(ManifestOut):
    verdict: ProofVerdictName
    reason: str | None = None
    anchor: ProvenAnchorOut | None = None
    late: bool | None = None
    body_ok: bool = Field(description="sha256 of the stored body is still the digest.")


class ReportOut(BaseModel):
    """Everything a reviewer needs about one application, every claim with its proof."""

    model_config = _examples(
        {
            "generated_at": "2023-07-01T00:00:00+00:00",
            "application": {
                "id": 5,
                "round": "2023",
                "applicant": EX_APPLICANT,
                "status": "under_review",
            },
            "round": {"code": "2023", "deadline": "2023-12-31T15:59:59+00:00"},
            "late": False,
            "manifests": [],
            "documents": [],
            "rule_checks": [
                {
                    "name": "cash_subsidy",
                    "rule": "三、（一）1",
                    "ok": True,
                    "blocking": True,
                    "value_wan": 60,
                    "reasons": [
                        "三、（一）1: 自费投资金额 120 万元 > 100 且 ≤ 150（含） → "
                        "可申报现金补贴 60 万元"
                    ],
                }
            ],
            "acceptance": None,
            "trail": {"application_id": 5, "ok": True, "reasons": [], "entries": []},
        }
    )

    generated_at: datetime
    application: ApplicationOut
    round: RoundOut
    late: bool | None = Field(
        description="The application manifest was anchored after the deadline."
    )
    manifests: list[ManifestProofOut]
    documents: list[ProvenDocumentOut]
    rule_checks: list[RuleCheckOut]
    acceptance: AcceptanceOut | None
    trail: TrailOut
