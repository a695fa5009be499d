"""One row an audited action: the columns for filtering, the record for proving.

The columns (who, what, on what, when, request id) repeat fields of ``record``, the
canonical JSON that was hashed and anchored; ``audit verify`` checks that they agree, so an
edited column is as visible as an edited record.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Text
from sqlmodel import Field, SQLModel

from chainproof.store.models import HEX32_LEN


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_entry"

    id: int | None = Field(default=None, primary_key=True)
    seq: int = Field(ge=1, unique=True)  # a forked log cannot be written
    at: datetime = Field(index=True)
    action: str = Field(max_length=64, index=True)  # e.g. key.create, role.grant
    target: str = Field(max_length=200)  # what it acted on, e.g. "key:7", "member:acme"
    actor_key_id: int | None = None
    actor_user_id: int | None = None
    actor_org: str | None = Field(default=None, max_length=200, index=True)
    actor: str = Field(max_length=200)  # "key:3", "user:5", "cli:root"
    request_id: str | None = Field(default=None, max_length=128)
    record: str = Field(sa_type=Text)  # canonical JSON, the bytes that were hashed
    record_hash: str = Field(max_length=HEX32_LEN, index=True)  # 0x + sha256(record)
