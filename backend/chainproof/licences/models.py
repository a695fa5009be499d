"""Tables of e-licences (migration 0014): issuer orgs, licence types, licences, status log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, UniqueConstraint
from sqlmodel import Field, SQLModel

from chainproof.public_ids import PUBLIC_ID_LEN, new_public_id
from chainproof.store.models import HEX32_LEN, LABEL_LEN, utcnow  # naming convention first


class LicenceIssuer(SQLModel, table=True):
    """A member org with the ``licence_issuer`` role (an org's role, given by an admin)."""

    __tablename__ = "licence_issuer"

    member_id: int = Field(foreign_key="member.id", primary_key=True)
    created_at: datetime = Field(default_factory=utcnow)


class LicenceType(SQLModel, table=True):
    __tablename__ = "licence_type"
    __table_args__ = (UniqueConstraint("issuer_member_id", "code"),)

    id: int | None = Field(default=None, primary_key=True)
    issuer_member_id: int = Field(foreign_key="member.id")
    code: str = Field(max_length=64)
    name: str = Field(max_length=LABEL_LEN)
    fields: list[str] = Field(sa_type=JSON)  # the claims every licence of the type has
    validity_days: int


class Licence(SQLModel, table=True):
    __tablename__ = "licence"

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(
        default_factory=new_public_id, max_length=PUBLIC_ID_LEN, unique=True, index=True
    )
    type_id: int = Field(foreign_key="licence_type.id")
    issuer_member_id: int = Field(foreign_key="member.id", index=True)
    holder: str = Field(max_length=LABEL_LEN, index=True)  # e.g. the credit code
    # The holder's org on this platform, when it has one (migration 0017): its people see the
    # licence, print it and make presentations of it (web/licence_pages.py).
    holder_member_id: int | None = Field(default=None, foreign_key="member.id", index=True)
    # The full credential with every salt: the holder's to keep and present from.
    credential: dict[str, Any] = Field(sa_type=JSON)
    claims_root: str = Field(max_length=HEX32_LEN, index=True)
    status: str = Field(max_length=16)  # active, suspended, revoked, superseded
    valid_from: datetime
    valid_until: datetime
    superseded_by: str | None = Field(default=None, max_length=PUBLIC_ID_LEN)
    created_at: datetime = Field(default_factory=utcnow)
    # Issue 25: the channel whose members read it too (None: its issuer org alone).
    channel_id: int | None = Field(default=None, index=True)


class LicenceEvent(SQLModel, table=True):
    """One status change; its canonical record's SHA-256 is anchored as evidence."""

    __tablename__ = "licence_event"
    __table_args__ = (UniqueConstraint("licence_id", "seq"),)

    id: int | None = Field(default=None, primary_key=True)
    licence_id: int = Field(foreign_key="licence.id")
    seq: int
    action: str = Field(max_length=16)  # issue, suspend, reinstate, revoke, renew
    reason_hash: str = Field(max_length=HEX32_LEN)
    record_digest: str = Field(max_length=HEX32_LEN)
    created_at: datetime = Field(default_factory=utcnow)
