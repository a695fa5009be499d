"""A channel and its members. A record names at most one channel (``evidence.channel_id``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from chainproof.store.models import utcnow


class Channel(SQLModel, table=True):
    __tablename__ = "channel"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, min_length=1, unique=True)
    created_at: datetime = Field(default_factory=utcnow)


class ChannelMember(SQLModel, table=True):
    __tablename__ = "channel_member"
    __table_args__ = (UniqueConstraint("channel_id", "member_id"),)

    id: int | None = Field(default=None, primary_key=True)
    channel_id: int = Field(foreign_key="channel.id", index=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    added_at: datetime = Field(default_factory=utcnow)
