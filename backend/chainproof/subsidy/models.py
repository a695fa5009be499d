"""Tables of the subsidy area: rounds, applications, their documents, manifests, transitions.

What proves what:

- a **document** is one evidence row (``evidence_id``): the file's digest anchored on chain;
- a **manifest** is the canonical JSON of an application's fields and document digests at
  submission (or at acceptance submission); its SHA-256 is itself anchored as evidence, so
  one receipt proves the whole package. ``body`` keeps the exact bytes that were hashed;
- a **transition** is one step of the lifecycle (who, when, comment), as canonical JSON
  chained to the previous step by hash (``record`` / ``record_hash``), and anchored too.

Manifests and transitions find their evidence by digest (``sha256`` of ``body`` / of
``record``), not by a foreign key: they are written in the same commit as their evidence
row, before its id exists (see ``subsidy/anchoring.py``).

Money is whole fen (分) in ``BigInteger`` columns; the API speaks ``Decimal`` 万元
(``subsidy/money.py``). The naming convention comes from ``chainproof.store.models``, which
must be imported first; the migration is ``store/migrations/versions/0002_subsidy.py``.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, CheckConstraint, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

# First: importing chainproof.store.models installs the constraint naming convention.
from chainproof.store.models import HEX32_LEN, utcnow
from chainproof.subsidy.catalog import DocumentKind


class ApplicationStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    UNDER_REVIEW = "under_review"
    APPROVED = "approved"
    REJECTED = "rejected"
    ACCEPTANCE_SUBMITTED = "acceptance_submitted"
    ACCEPTED = "accepted"
    ACCEPTANCE_FAILED = "acceptance_failed"


class Phase(StrEnum):
    APPLICATION = "application"  # 申报: attached while the application is a draft
    ACCEPTANCE = "acceptance"  # 验收: contracts and invoices, once approved


def _in_check(column: str, values: type[StrEnum]) -> str:
    return f"{column} IN ({', '.join(repr(v.value) for v in values)})"


class RoundBase(SQLModel):
    code: str = Field(max_length=32, unique=True)  # "2023"
    name: str = Field(max_length=200)
    deadline: datetime  # anything anchored after it is late


class Round(RoundBase, table=True):
    """A program round (批次) with its submission deadline."""

    __tablename__ = "subsidy_round"

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow)


class Application(SQLModel, table=True):
    """One applicant unit's one project in one round (每个单位只能申报1个项目)."""

    __tablename__ = "subsidy_application"
    __table_args__ = (
        UniqueConstraint("round_id", "member_id"),
        CheckConstraint(_in_check("status", ApplicationStatus), name="status"),
        {"sqlite_autoincrement": True},  # ids appear in URLs and anchored records
    )

    id: int | None = Field(default=None, primary_key=True)
    round_id: int = Field(foreign_key="subsidy_round.id", index=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    status: str = Field(default=ApplicationStatus.DRAFT.value, max_length=24, index=True)
    scope_category: str = Field(max_length=16)
    scope_field: str = Field(max_length=32)
    project_name: str = Field(max_length=200)
    summary: str = Field(default="", sa_type=Text)
    requests: list[str] = Field(default_factory=list, sa_type=JSON)
    self_investment_fen: int | None = Field(default=None, sa_type=BigInteger)
    headcount: int | None = None
    # [{"class_size": int, "days": "2.5", "certified": int}]: days as decimal text.
    training_classes: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    packages: list[str] = Field(default_factory=list, sa_type=JSON)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Document(SQLModel, table=True):
    """A file attached to an application: one anchored evidence row, typed."""

    __tablename__ = "subsidy_document"
    __table_args__ = (
        CheckConstraint(_in_check("phase", Phase), name="phase"),
        CheckConstraint(_in_check("kind", DocumentKind), name="kind"),
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, primary_key=True)
    application_id: int = Field(foreign_key="subsidy_application.id", index=True)
    phase: str = Field(max_length=16)
    kind: str = Field(max_length=8)
    evidence_id: int = Field(foreign_key="evidence.id", unique=True)
    # Acceptance contracts and invoices: amount, number and issuer, as declared.
    amount_fen: int | None = Field(default=None, sa_type=BigInteger)
    invoice_number: str | None = Field(default=None, max_length=64, index=True)
    issuer: str | None = Field(default=None, max_length=200)
    # The invoice map's key fields (migration 0018; null on documents declared before):
    # the issuer's tax id (统一社会信用代码) and the invoice code (发票代码; "" for an
    # all-electronic invoice, which has none).
    issuer_tax_id: str | None = Field(default=None, max_length=20)
    invoice_code: str | None = Field(default=None, max_length=12)
    created_at: datetime = Field(default_factory=utcnow)


class Manifest(SQLModel, table=True):
    """The frozen package of one phase: ``body`` is the canonical JSON that was anchored."""

    __tablename__ = "subsidy_manifest"
    __table_args__ = (
        UniqueConstraint("application_id", "phase"),
        CheckConstraint(_in_check("phase", Phase), name="phase"),
    )

    id: int | None = Field(default=None, primary_key=True)
    application_id: int = Field(foreign_key="subsidy_application.id")
    phase: str = Field(max_length=16)
    body: str = Field(sa_type=Text)
    digest: str = Field(max_length=HEX32_LEN, index=True)  # 0x + sha256(body)
    created_at: datetime = Field(default_factory=utcnow)


class Transition(SQLModel, table=True):
    """One lifecycle step, hash-chained to the previous one and anchored (职权监管)."""

    __tablename__ = "subsidy_transition"
    __table_args__ = (
        UniqueConstraint("application_id", "seq"),  # a forked trail cannot be written
        CheckConstraint(_in_check("to_status", ApplicationStatus), name="to_status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    application_id: int = Field(foreign_key="subsidy_application.id")
    seq: int = Field(ge=1)
    from_status: str = Field(max_length=24)
    to_status: str = Field(max_length=24)
    actor_member_id: int | None = Field(default=None, foreign_key="member.id")
    actor_role: str = Field(max_length=16)
    comment: str | None = Field(default=None, sa_type=Text)
    at: datetime
    record: str = Field(sa_type=Text)  # canonical JSON, the bytes that were hashed
    record_hash: str = Field(max_length=HEX32_LEN, index=True)  # 0x + sha256(record)
