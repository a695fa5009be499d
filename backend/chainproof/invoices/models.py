"""The invoice map's tables (migration 0015): the append-only log of claims, and its roots.

``invoice_claim`` is the map in insertion order (``id``); ``invoice_root`` each root as it
was anchored (``size`` = how many claims it covers, ``record_digest`` = the keccak256 of the
root record queued as evidence). Neither table is ever updated or deleted from.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from chainproof.store.models import HEX32_LEN, utcnow  # also installs the naming convention


class InvoiceClaim(SQLModel, table=True):
    __tablename__ = "invoice_claim"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=HEX32_LEN, unique=True)
    value: str = Field(max_length=HEX32_LEN)
    application_id: int = Field(foreign_key="subsidy_application.id", index=True)
    document_id: int = Field(foreign_key="subsidy_document.id")
    created_at: datetime = Field(default_factory=utcnow)


class InvoiceRoot(SQLModel, table=True):
    __tablename__ = "invoice_root"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: int | None = Field(default=None, primary_key=True)
    size: int = Field(unique=True)
    root: str = Field(max_length=HEX32_LEN)
    record_digest: str = Field(max_length=HEX32_LEN, index=True)
    created_at: datetime = Field(default_factory=utcnow)
