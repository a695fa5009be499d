"""A channel and its members. A record names at most one channel (``evidence.channel_id``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from chainproof.store.models import ADDRESS_LEN, HEX32_LEN, utcnow


class Channel(SQLModel, table=True):
    __tablename__ = "channel"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, min_length=1, unique=True)
    created_at: datetime = Field(default_factory=utcnow)
    # A virtual channel (虚拟通道) anchors its records in an EvidenceRegistry of its own: the
    # chain writer deploys it (``channels/registry_ops.py``) and records here where it is and
    # the keccak-256 of its runtime code, which the trust anchor publishes. Until then the
    # registry is None and the channel takes no records.
    virtual: bool = False
    registry_address: str | None = Field(default=None, max_length=ADDRESS_LEN, unique=True)
    registry_code_hash: str | None = Field(default=None, max_length=HEX32_LEN)
    # The deployment's chain operation (``GET /api/v1/operations/{id}``).
    registry_op: str | None = Field(default=None, max_length=32)


class ChannelMember(SQLModel, table=True):
    __tablename__ = "channel_member"
    __table_args__ = (UniqueConstraint("channel_id", "member_id"),)

    id: int | None = Field(default=None, primary_key=True)
    channel_id: int = Field(foreign_key="channel.id", index=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    added_at: datetime = Field(default_factory=utcnow)
