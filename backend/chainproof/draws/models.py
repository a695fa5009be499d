"""The draw table (migration 0015).

The secret is encrypted at rest under ``CHAINPROOF_SECRET_KEY`` until it is revealed: its
commitment is on chain, so nobody can change it, but whoever reads it before the target
block (with a block producer's help) could learn the outcome early.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, CheckConstraint, Text
from sqlmodel import Field, SQLModel

from chainproof.draws.selection import MAX_TITLE_LEN
from chainproof.public_ids import PUBLIC_ID_LEN, new_public_id
from chainproof.store.models import HEX32_LEN, utcnow  # also installs the naming convention


class DrawStatus(StrEnum):
    COMMITTED = "committed"  # commitments queued or on chain; the target block is ahead
    DRAWN = "drawn"  # secret revealed, selection computed from the target block's hash
    VOID = "void"  # the commitment reached the chain only at or after the target block


class Draw(SQLModel, table=True):
    __tablename__ = "draw"
    __table_args__ = (
        CheckConstraint(
            f"status IN ({', '.join(repr(s.value) for s in DrawStatus)})", name="status"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(
        default_factory=new_public_id, max_length=PUBLIC_ID_LEN, unique=True, index=True
    )
    title: str = Field(max_length=MAX_TITLE_LEN)
    purpose: str | None = Field(default=None, max_length=64)  # "spot_audit:<round>", say
    candidates: list[str] = Field(sa_type=JSON)
    count: int
    chain_id: int
    target_block: int
    candidates_hash: str = Field(max_length=HEX32_LEN)
    secret_commitment: str = Field(max_length=HEX32_LEN)
    record_digest: str = Field(max_length=HEX32_LEN)
    # The commitment record's evidence row (anchored through the ordinary queue).
    evidence_id: int = Field(foreign_key="evidence.id", index=True)
    secret_encrypted: str | None = Field(default=None, sa_type=Text)  # until revealed
    secret: str | None = Field(default=None, max_length=HEX32_LEN)  # revealed
    block_hash: str | None = Field(default=None, max_length=HEX32_LEN)
    selected: list[str] | None = Field(default=None, sa_type=JSON)
    status: str = Field(default=DrawStatus.COMMITTED.value, max_length=16, index=True)
    void_reason: str | None = Field(default=None, max_length=300)
    member_id: int | None = Field(default=None, foreign_key="member.id")
    created_at: datetime = Field(default_factory=utcnow)
    drawn_at: datetime | None = None
