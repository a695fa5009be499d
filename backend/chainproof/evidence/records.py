"""What happened before the chain (人民法院在线诉讼规则 Art. 18): for each accepted document,
when it was received, through which channel, by which key, what the client called it (name,
size, type), and the newest block the server knew when it accepted it.

The block is read *before* the document is accepted (``freshness.recent_head``), so the
batch that anchors it can commit to a block older than every one of its documents
(two-sided time, ``evidence/freshness.py``). The record is shown on the certificate and
signed with it; a custodial member also signs the leaf and the record (EIP-712,
``member_signature``) the first time a certificate is made.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import BigInteger, Engine, insert
from sqlmodel import Field, Session, SQLModel

import chainproof.store.models  # noqa: F401  (the naming convention, and evidence)
from chainproof.store.models import FILENAME_LEN, HEX32_LEN, utcnow

CHANNELS: Final = ("web", "api", "cli", "tsa")
CHANNEL_HEADER: Final = "x-chainproof-channel"  # the pages send "web"
CLI_AGENT: Final = "chainproof-client/"
CONTENT_TYPE_LEN: Final = 255


class EvidenceRecord(SQLModel, table=True):
    __tablename__ = "evidence_record"

    evidence_id: int = Field(foreign_key="evidence.id", primary_key=True)
    received_at: datetime = Field(default_factory=utcnow)
    channel: str = Field(max_length=8)  # as the client declared it: web, api, cli; or tsa
    api_key_id: int | None = None  # the uploading key (None: anonymous, a TSA query)
    client_name: str | None = Field(default=None, max_length=FILENAME_LEN)
    client_size: int | None = Field(default=None, sa_type=BigInteger)
    client_type: str | None = Field(default=None, max_length=CONTENT_TYPE_LEN)
    # The newest block the server knew before it accepted the document.
    head_number: int | None = Field(default=None, sa_type=BigInteger)
    head_hash: str | None = Field(default=None, max_length=HEX32_LEN)
    # EIP-712 signature of the member's custodial key over the leaf and this record.
    member_signature: str | None = Field(default=None, max_length=2 + 2 * 65)


@dataclass(frozen=True)
class Head:
    number: int
    hash: str


def channel_of(headers: Mapping[str, str]) -> str:
    """The channel a request declares: ``web`` (the pages' header), ``cli`` (our client's
    User-Agent), else ``api``. Declared, not proven: a client can claim any of them."""
    declared = headers.get(CHANNEL_HEADER, "").strip().lower()
    if declared == "web":
        return "web"
    if headers.get("user-agent", "").startswith(CLI_AGENT):
        return "cli"
    return "api"


def clean_type(value: str | None) -> str | None:
    """A client's content type, kept as text: printable ASCII, bounded."""
    if not value:
        return None
    kept = "".join(c for c in value if " " <= c <= "~").strip()
    return kept[:CONTENT_TYPE_LEN] or None


def keep_records(
    engine: Engine,
    evidence_ids: Sequence[int],
    *,
    channel: str,
    api_key_id: int | None,
    head: Head | None,
    names: Sequence[str | None] | None = None,
    sizes: Sequence[int | None] | None = None,
    types: Sequence[str | None] | None = None,
) -> None:
    """One record per accepted document, in one INSERT (a bulk request writes 10,000)."""
    if not evidence_ids:
        return
    now = utcnow()
    n = len(evidence_ids)
    names, sizes = names or [None] * n, sizes or [None] * n
    kinds = [clean_type(t) for t in (types or [None] * n)]
    number, block = (head.number, head.hash) if head else (None, None)
    rows = [
        (eid, now, channel, api_key_id, names[i], sizes[i], kinds[i], number, block)
        for i, eid in enumerate(evidence_ids)
    ]
    with engine.begin() as connection:
        dialect = connection.dialect
        if dialect.name == "sqlite":
            # Straight to the driver's executemany, as the intake does (intake._insert):
            # SQLAlchemy's per-row parameter processing cost 5x the insert itself (1.4 s
            # for a bulk request of 10,000). The time is converted once, by its own type.
            column = EvidenceRecord.__table__.c.received_at  # type: ignore[attr-defined]
            to_db = column.type.dialect_impl(dialect).bind_processor(dialect)
            at = to_db(now) if to_db is not None else now
            connection.exec_driver_sql(
                f"INSERT INTO evidence_record ({', '.join(_COLUMNS)}) "
                f"VALUES ({', '.join('?' * len(_COLUMNS))})",
                [(r[0], at, *r[2:]) for r in rows],
            )
        else:
            connection.execute(
                insert(EvidenceRecord), [dict(zip(_COLUMNS, r, strict=True)) for r in rows]
            )


_COLUMNS: Final = (
    "evidence_id",
    "received_at",
    "channel",
    "api_key_id",
    "client_name",
    "client_size",
    "client_type",
    "head_number",
    "head_hash",
)


def record_of(session: Session, evidence_id: int) -> EvidenceRecord | None:
    return session.get(EvidenceRecord, evidence_id)
