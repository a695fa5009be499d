"""Review: the integrity check of the files in front of a reviewer, acceptance and the report."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import (
    BaseModel,
    Field,
)

from chainproof.subsidy.schemas.applications import (
    ApplicationOut,
    DocumentOut,
    ManifestOut,
    ProvenAnchorOut,
    TrailOut,
)
from chainproof.subsidy.schemas.common import (
    EX_ANCHOR,
    EX_APPLICANT,
    EX_DIGEST,
    WanIn,
    WanOut,
    _examples,
)
from chainproof.subsidy.schemas.rounds import RoundOut
from chainproof.vocabulary import Verdict

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
    verdict: Verdict = Field(description="What the chain says about that anchor.")
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
    verdict: Verdict
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
    # The invoice map's key fields, each on its own (docs/invoices.md): with a tax id the
    # key is keccak256(abi.encode("chainproof-invoice-key/2", tax id, code, number)).
    issuer_tax_id: str | None = Field(
        None,
        min_length=15,
        max_length=20,
        pattern=r"^[0-9A-Za-z]+$",
        description="The issuer's tax id (统一社会信用代码, or an older 15-20 character 税号).",
    )
    invoice_code: str | None = Field(
        None,
        max_length=12,
        pattern=r"^[0-9]*$",
        description="The invoice code (发票代码, 10 or 12 digits; empty or absent for an "
        "all-electronic invoice). Only with issuer_tax_id.",
    )


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
    verdict: Verdict
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
