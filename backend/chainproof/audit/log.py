"""Appending to the audit log, reading it, and checking it.

Each entry is a ``hashchain`` record of kind ``chainproof-audit``: who (actor, org, key id,
user id), what (``action``), on what (``target``), ``detail``, ``at`` and the request id,
chained by ``prev`` to the entry before it. Its SHA-256 is queued as evidence of no member
(only admins see such rows' private fields), so the batcher anchors the log's head at least
once a batch interval while entries arrive: an anchored entry fixes every entry before it.

Appends are serialised (a PostgreSQL advisory lock, SQLite's write lock) so two concurrent
actions never both read the same head; the unique ``seq`` is the backstop.
"""

from __future__ import annotations

import getpass
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

import structlog
from sqlalchemy import text, update
from sqlmodel import Session, col, select

from chainproof.audit.models import AuditEntry
from chainproof.hashchain import check_link, link
from chainproof.store.models import utcnow
from chainproof.subsidy.anchoring import anchor_records

RECORD_KIND: Final = "chainproof-audit"
_ADVISORY_KEY: Final = 0x63704175646974  # "cpAudit": one lock for every appender
# The columns a row repeats from its record (column name → record path).
COLUMNS: Final = ("seq", "action", "target", "actor", "actor_org", "actor_key_id", "request_id")


@dataclass(frozen=True)
class Who:
    """Who did it: an API key, a signed-in person, or the operator's CLI."""

    actor: str
    org: str | None = None
    key_id: int | None = None
    user_id: int | None = None

    @classmethod
    def cli(cls) -> Who:
        try:
            name = getpass.getuser()
        except (KeyError, OSError):  # no user name for this uid (containers)
            name = "unknown"
        return cls(actor=f"cli:{name}")

    @classmethod
    def of(cls, *, key_id: int | None, user_id: int | None, org: str | None) -> Who:
        actor = f"key:{key_id}" if key_id is not None else f"user:{user_id}"
        return cls(actor=actor, org=org, key_id=key_id, user_id=user_id)


def _lock(session: Session) -> None:
    """Takes the appenders' lock for this transaction, before the head is read."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _ADVISORY_KEY})
    else:  # a write statement takes SQLite's write lock, even when it matches no row
        session.execute(
            update(AuditEntry).where(col(AuditEntry.id) == -1).values(seq=col(AuditEntry.seq))
        )


def append(
    session: Session,
    who: Who,
    *,
    action: str,
    target: str,
    detail: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> AuditEntry:
    """Appends one entry and queues its record for anchoring; commits the session."""
    _lock(session)
    last = session.exec(select(AuditEntry).order_by(col(AuditEntry.seq).desc())).first()
    seq = 1 if last is None else last.seq + 1
    at = now or utcnow()
    request_id = structlog.contextvars.get_contextvars().get("request_id")
    record = link(
        RECORD_KIND,
        seq=seq,
        prev=None if last is None else last.record_hash,
        fields={
            "at": at.isoformat(),
            "action": action,
            "target": target,
            "detail": detail or {},
            "by": {
                "actor": who.actor,
                "org": who.org,
                "key_id": who.key_id,
                "user_id": who.user_id,
            },
            "request_id": request_id,
        },
        filename=f"audit-{seq}.json",
    )
    entry = AuditEntry(
        seq=seq,
        at=at,
        action=action,
        target=target[:200],
        actor=who.actor,
        actor_org=who.org,
        actor_key_id=who.key_id,
        actor_user_id=who.user_id,
        request_id=request_id,
        record=record.text,
        record_hash=record.digest,
    )
    session.add(entry)
    anchor_records(session, records=[record], member_id=None, label=f"audit {seq}: {action}")
    return entry


def entries(
    session: Session,
    *,
    action: str | None = None,
    org: str | None = None,
    target: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    offset: int = 0,
    limit: int = 100,
) -> list[AuditEntry]:
    """Entries in log order, filtered (exact ``action``/``org``/``target``, times inclusive)."""
    query = select(AuditEntry)
    if action is not None:
        query = query.where(AuditEntry.action == action)
    if org is not None:
        query = query.where(AuditEntry.actor_org == org)
    if target is not None:
        query = query.where(AuditEntry.target == target)
    if since is not None:
        query = query.where(col(AuditEntry.at) >= since)
    if until is not None:
        query = query.where(col(AuditEntry.at) <= until)
    return list(session.exec(query.order_by(col(AuditEntry.seq)).offset(offset).limit(limit)).all())


# --- checking --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stored:
    """One entry as stored (a row, or a line of an exported file)."""

    seq: int
    record: str
    record_hash: str
    columns: dict[str, Any]  # the COLUMNS as stored beside the record


def stored(row: AuditEntry) -> Stored:
    return Stored(
        seq=row.seq,
        record=row.record,
        record_hash=row.record_hash,
        columns={name: getattr(row, name) for name in COLUMNS},
    )


def _from_record(rec: dict[str, Any], name: str) -> Any:
    by = rec.get("by") if isinstance(rec.get("by"), dict) else {}
    assert isinstance(by, dict)
    return {
        "seq": rec.get("seq"),
        "action": rec.get("action"),
        "target": rec.get("target"),
        "actor": by.get("actor"),
        "actor_org": by.get("org"),
        "actor_key_id": by.get("key_id"),
        "request_id": rec.get("request_id"),
    }[name]


@dataclass
class Report:
    """The log, checked: ``first`` names the first entry changed, removed or reordered."""

    entries: int = 0
    head: str | None = None  # the last entry's hash
    problems: list[str] = field(default_factory=list)

    @property
    def first(self) -> str | None:
        return self.problems[0] if self.problems else None

    @property
    def ok(self) -> bool:
        return not self.problems


def check(rows: Iterable[Stored], *, queued: Callable[[str], bool] | None = None) -> Report:
    """Recomputes the chain: each record's hash, its place (seq, prev) and its columns.

    ``queued`` (the database's evidence index) says whether a hash was queued for anchoring
    when its entry was written: a record rewritten with a fresh hash and prev fails there."""
    report = Report()
    prev: str | None = None
    expected = 1
    for row in sorted(rows, key=lambda r: r.seq):
        report.entries += 1
        if row.seq > expected:
            gone = f"{expected}" if row.seq == expected + 1 else f"{expected}-{row.seq - 1}"
            report.problems.append(
                f"entry {gone} removed: the log goes from entry {expected - 1} to {row.seq}"
            )
            expected = row.seq
        linked = check_link(row.record, row.record_hash, kind=RECORD_KIND, seq=row.seq, prev=prev)
        if not linked.hash_ok:
            report.problems.append(
                f"entry {row.seq} changed: its record no longer hashes to {row.record_hash}"
            )
        differs = [
            name for name in COLUMNS if _from_record(linked.record, name) != row.columns[name]
        ]
        if linked.hash_ok and differs:
            report.problems.append(
                f"entry {row.seq} changed: its stored {', '.join(differs)} "
                "no longer match its record"
            )
        if linked.record.get("seq") not in (None, row.seq):
            report.problems.append(
                f"entry {row.seq} reordered: its record is entry {linked.record.get('seq')}"
            )
        elif linked.hash_ok and linked.record.get("prev") != prev and row.seq > 1:
            report.problems.append(
                f"entry {row.seq - 1} changed or replaced: entry {row.seq} follows another record"
            )
        elif linked.hash_ok and queued is not None and not queued(row.record_hash):
            report.problems.append(
                f"entry {row.seq} changed or replaced: its hash was never queued for anchoring"
            )
        prev = row.record_hash
        expected = row.seq + 1
    report.head = prev
    return report


def heads(rows: Sequence[AuditEntry], batch_of: dict[str, int | None]) -> list[AuditEntry]:
    """The last entry of each anchored batch: proving it proves the entries before it."""
    last: dict[int, AuditEntry] = {}
    for row in rows:
        batch = batch_of.get(row.record_hash)
        if batch is not None and (batch not in last or last[batch].seq < row.seq):
            last[batch] = row
    return sorted(last.values(), key=lambda r: r.seq)
