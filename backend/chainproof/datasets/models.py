"""A registered data set and the orgs it is granted to."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, UniqueConstraint
from sqlmodel import Field, SQLModel

from chainproof.public_ids import PUBLIC_ID_LEN, new_public_id
from chainproof.store.models import HEX32_LEN, utcnow

NAME_LEN = 200
LICENCE_LEN = 200


class DataResource(SQLModel, table=True):
    """A data set: its manifest's Merkle root (anchored as evidence), owner org and licence."""

    __tablename__ = "data_resource"

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(
        default_factory=new_public_id, max_length=PUBLIC_ID_LEN, unique=True, index=True
    )
    name: str = Field(max_length=NAME_LEN)
    licence: str = Field(max_length=LICENCE_LEN)
    owner_member_id: int = Field(foreign_key="member.id", index=True)
    root: str = Field(max_length=HEX32_LEN)
    file_count: int
    total_bytes: int = Field(sa_type=BigInteger)
    # [[path, size, sha256], ...] in leaf order: the manifest the root commits to.
    manifest: list[list[Any]] = Field(sa_type=JSON)
    # The evidence row that anchors ``root`` (its digest, algorithm keccak256).
    evidence_id: int | None = Field(default=None, foreign_key="evidence.id")
    created_at: datetime = Field(default_factory=utcnow)


class DataGrant(SQLModel, table=True):
    """Org ``member_id`` may read data set ``resource_id`` (each grant audited)."""

    __tablename__ = "data_grant"
    __table_args__ = (UniqueConstraint("resource_id", "member_id"),)

    id: int | None = Field(default=None, primary_key=True)
    resource_id: int = Field(foreign_key="data_resource.id", index=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    granted_at: datetime = Field(default_factory=utcnow)
