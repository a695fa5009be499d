"""The TSA's ledger: every token issued, with the evidence its imprint was queued as."""

from __future__ import annotations

import base64
from datetime import datetime

from sqlalchemy import LargeBinary
from sqlmodel import Field, Session, SQLModel, col, select

import chainproof.store.models  # noqa: F401  (the naming convention, and evidence/member)
from chainproof.store.models import utcnow

SERIAL_LEN = 48  # decimal: RFC 3161 serials are at most 160 bits (49 digits); ours 127


class TsaStamp(SQLModel, table=True):
    """One granted RFC 3161 token. Its imprint (or, for a 48- or 64-byte imprint, the SHA-256
    of the signed TSTInfo, which holds it) is queued for anchoring as ``evidence_id``, so one
    receipt carries the TSA's time and the chain's."""

    __tablename__ = "tsa_stamp"

    id: int | None = Field(default=None, primary_key=True)
    serial: str = Field(max_length=SERIAL_LEN, unique=True)
    evidence_id: int = Field(foreign_key="evidence.id", index=True)
    member_id: int | None = Field(default=None, foreign_key="member.id")  # None: the platform
    api_key_id: int | None = None  # None: anonymous
    gen_time: datetime
    algorithm: str = Field(max_length=16)  # the imprint's
    imprint: str = Field(max_length=2 + 2 * 64)
    token: bytes = Field(sa_type=LargeBinary)  # the TimeStampToken, DER
    created_at: datetime = Field(default_factory=utcnow)


def stamp_of(session: Session, evidence_id: int) -> TsaStamp | None:
    return session.exec(select(TsaStamp).where(col(TsaStamp.evidence_id) == evidence_id)).first()


def token_b64(session: Session, evidence_id: int) -> str | None:
    """The evidence's RFC 3161 token (base64 DER) when it was queued by the TSA."""
    stamp = stamp_of(session, evidence_id)
    return base64.b64encode(stamp.token).decode() if stamp else None
