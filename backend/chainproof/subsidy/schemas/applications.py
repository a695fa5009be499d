"""Applications, their documents and manifests, and their lifecycle (moves and the trail)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    model_validator,
)

from chainproof.subsidy.catalog import check_scope
from chainproof.subsidy.schemas.common import (
    EX_ANCHOR,
    EX_APPLICANT,
    EX_DIGEST,
    Comment,
    KindName,
    PackageCode,
    RequestName,
    StatusName,
    WanIn,
    WanOut,
    _examples,
)
from chainproof.subsidy.schemas.guide import TrainingIn
from chainproof.vocabulary import Verdict

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
            "issuer_tax_id": None,
            "invoice_code": None,
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
    issuer_tax_id: str | None = Field(
        None, description="The issuer's tax id (统一社会信用代码): a key field of the invoice map."
    )
    invoice_code: str | None = Field(
        None, description="The invoice code (发票代码; empty for an all-electronic invoice)."
    )
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
    verdict: Verdict
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
