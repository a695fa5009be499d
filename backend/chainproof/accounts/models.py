"""Tables of people's accounts and their sessions (migration 0009).

Secrets are never stored as given: the password as an argon2id hash, the invitation token
and the session id as their SHA-256 (both are 32 random bytes: a fast hash cannot be
inverted), the TOTP secret encrypted under ``CHAINPROOF_SECRET_KEY`` (``store/crypto.py``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Text
from sqlmodel import Field, SQLModel

from chainproof.roles import Role
from chainproof.store.models import utcnow  # also installs the naming convention first

EMAIL_LEN = 254  # RFC 5321's longest path


class UserAccount(SQLModel, table=True):
    """A person of a member org, with the role an API key would have."""

    __tablename__ = "user_account"
    __table_args__ = (
        CheckConstraint(f"role IN ({', '.join(repr(r.value) for r in Role)})", name="role"),
    )

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=EMAIL_LEN, unique=True)  # normalised: NFC, lower case
    member_id: int = Field(foreign_key="member.id", index=True)
    role: str = Field(max_length=16)
    # argon2id (PHC string); null until the invitation is accepted.
    password_hash: str | None = Field(default=None, sa_type=Text)
    invite_hash: str | None = Field(default=None, max_length=64, unique=True)
    invite_expires_at: datetime | None = None
    totp_secret_encrypted: str | None = Field(default=None, sa_type=Text)  # enabled when set
    totp_pending_encrypted: str | None = Field(default=None, sa_type=Text)  # enrolment started
    totp_last_step: int | None = None  # the last accepted code's time step: no replay
    created_at: datetime = Field(default_factory=utcnow)
    password_changed_at: datetime | None = None
    disabled_at: datetime | None = None


class UserSession(SQLModel, table=True):
    """One signed-in browser: the cookie holds the id, the table its SHA-256."""

    __tablename__ = "user_session"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    user_id: int = Field(foreign_key="user_account.id", index=True)
    csrf_token: str = Field(max_length=64)  # the synchronizer token of this session's forms
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    revoked_at: datetime | None = None
