"""Business types and the metadata of typed evidence.

A typed document's metadata row is keyed by the salt it produced (``receipts/metadata.py``):
the salt is a commitment to the metadata, unique per document, and the evidence row already
holds it, so the metadata is written in the same transaction as the row without knowing its
id first.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Text
from sqlmodel import Field, SQLModel

from chainproof.store.models import HEX32_LEN, utcnow

CODE_LEN = 64
NAME_LEN = 200


class BusinessType(SQLModel, table=True):
    """An admin-defined type: its code (in URLs and receipts), name and metadata schema."""

    __tablename__ = "business_type"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=CODE_LEN, unique=True)
    name: str = Field(max_length=NAME_LEN)
    # The JSON Schema (draft 2020-12) its evidence's metadata must meet, checked on creation
    # (``business/schemas.py``: bounded, no $ref, linear-time patterns).
    metadata_schema: dict[str, Any] = Field(sa_type=JSON)
    created_at: datetime = Field(default_factory=utcnow)


class EvidenceMetadata(SQLModel, table=True):
    """The committed metadata of one typed document, found by the evidence row's salt."""

    __tablename__ = "evidence_metadata"

    salt: str = Field(max_length=HEX32_LEN, primary_key=True)
    business_type_id: int = Field(foreign_key="business_type.id", index=True)
    nonce: str = Field(max_length=HEX32_LEN)
    text: str = Field(sa_type=Text)
