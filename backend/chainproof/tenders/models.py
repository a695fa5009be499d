"""Tenders known to this server, and reveals that did not match (migration 0015).

The chain holds the deadlines, commitments, openings and award; these rows only name a
tender (its reference and title) and keep the mismatched reveals the contract refused, so
the tender page can flag them.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from chainproof.store.models import ADDRESS_LEN, HEX32_LEN, utcnow


class Tender(SQLModel, table=True):
    __tablename__ = "tender"

    id: int | None = Field(default=None, primary_key=True)
    reference: str = Field(max_length=64, unique=True)
    title: str = Field(max_length=200)
    tender_id: str = Field(max_length=HEX32_LEN)
    registry_address: str = Field(max_length=ADDRESS_LEN)
    chain_id: int
    created_at: datetime = Field(default_factory=utcnow)


class TenderFlag(SQLModel, table=True):
    __tablename__ = "tender_flag"

    id: int | None = Field(default=None, primary_key=True)
    tender: int = Field(foreign_key="tender.id", index=True)
    bidder: str = Field(max_length=ADDRESS_LEN)
    bid_digest: str = Field(max_length=HEX32_LEN)
    reason: str = Field(max_length=300)
    created_at: datetime = Field(default_factory=utcnow)
