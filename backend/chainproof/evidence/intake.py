"""Accepting documents: each digest becomes a queued evidence row with its own salt.

Rows are written in one bulk write per request (COPY on PostgreSQL) and committed before the
API answers 202: an acknowledged document is in the queue whatever happens next
(docs/architecture.md, promise 4).

This is the bulk endpoint's hot path (10,000 digests a request), so it avoids per-row
overhead that does not buy anything: one ``os.urandom`` call for all the salts, the leaf
hashed with the Merkle kernel's precomputed frame (``merkle.evidence_leaf_hasher``) instead
of the generic encoder, and a Core
``executemany`` instead of the ORM's bulk insert (which costs ~4x the database's own time
in per-row bookkeeping). On SQLite the new ids are read back without ``RETURNING``: one
writer holds the database lock for the whole transaction, so an ``AUTOINCREMENT`` insert of
n rows takes n consecutive ids ending at ``last_insert_rowid()``. PostgreSQL sequences give
no such guarantee under concurrent writers, so there the ids are drawn from the sequence
first and the rows streamed with them through ``COPY`` (``store/pg_copy.py``): a multi-row
``INSERT`` spent most of its time in the driver parsing placeholders, not in the database.

The API's upload routes go through :func:`submit_bulk` instead: concurrent requests share
one write transaction (group commit), up to ``GROUP_MAX_ROWS`` rows. A request still gets
its 202 only after the transaction holding its rows has committed. What grouping buys
depends on the size of the requests. Many small ones (single-file uploads) share one commit
and one WAL sync instead of one each. For full 10,000-digest requests it cuts the bytes
written, since the digest index takes random keys and each commit rewrites every index page
it touched (docs/performance.md has the bytes written), but not the CPU time of the inserts, and
the batcher then waited behind 40,000-row transactions to mark its batches anchored.
So a group holds at most one full request: bulk requests commit one by one, small ones
together.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final, NamedTuple, NotRequired, TypedDict, Unpack

from sqlalchemy import Connection, Engine, Table, func, insert, select
from sqlmodel import Session

from chainproof.digests import Algorithm, check_algorithm
from chainproof.errors import ChainProofError, InvalidInputError
from chainproof.evidence.writes import Turns
from chainproof.merkle import evidence_leaf_hasher
from chainproof.public_ids import new_public_ids
from chainproof.receipts import SALT_SIZE, random_salt
from chainproof.store.models import FILENAME_LEN, LABEL_LEN, Evidence, EvidenceStatus, utcnow
from chainproof.store.pg_copy import copy_rows, supports_copy
from chainproof.vocabulary import Hash32, SaltSource

MAX_BULK = 10_000
_TABLE: Final[Table] = Evidence.__table__  # type: ignore[attr-defined]
_QUEUED: Final = EvidenceStatus.QUEUED.value
_RESALT_CHUNK: Final = 1000


class Accepted(NamedTuple):
    # A NamedTuple, not a frozen dataclass: a bulk request builds 10,000 of them, and a
    # frozen dataclass's __init__ (object.__setattr__ per field) showed in bulk-ingest
    # profiles (docs/performance.md). Same fields, same attribute access, still immutable.
    id: int  # the internal key (foreign keys); public surfaces show ``public_id``
    algorithm: str
    digest: str
    status: str
    public_id: str


def _check(
    algorithm: Algorithm,
    digests: Sequence[Hash32],
    label: str | None,
    filenames: Sequence[str | None] | None,
    sizes: Sequence[int | None] | None,
) -> None:
    check_algorithm(algorithm)
    if len(digests) > MAX_BULK:
        raise InvalidInputError(f"at most {MAX_BULK} digests per request, got {len(digests)}")
    for i, d in enumerate(digests):
        if len(d) != 32:
            raise InvalidInputError(f"digest {i} is {len(d)} bytes; {algorithm} digests are 32")
    if label is not None and len(label) > LABEL_LEN:
        raise InvalidInputError(f"the label is longer than {LABEL_LEN} characters")
    for i, name in enumerate(filenames or []):
        if name is not None and len(name) > FILENAME_LEN:
            raise InvalidInputError(f"file name {i} is longer than {FILENAME_LEN} characters")
    for what, extra in (("file names", filenames), ("sizes", sizes)):
        if extra is not None and len(extra) != len(digests):
            raise InvalidInputError(f"{len(extra)} {what} for {len(digests)} digests")


def _salts(n: int, salt_source: SaltSource) -> list[bytes]:
    if salt_source is random_salt:
        # One read from the OS CSPRNG for the whole request instead of one per document.
        pool = os.urandom(SALT_SIZE * n)
        return [pool[i : i + SALT_SIZE] for i in range(0, SALT_SIZE * n, SALT_SIZE)]
    return [salt_source() for _ in range(n)]


def _rows(
    algorithm: Algorithm,
    digests: Sequence[Hash32],
    member_id: int | None,
    label: str | None,
    filenames: Sequence[str | None] | None,
    sizes: Sequence[int | None] | None,
    salt_source: SaltSource,
    channel_id: int | None = None,
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Checks the input (raising before any write) and builds the rows in ``_COLUMNS``
    order without ``created_at`` (the insert adds it): (0x digests, rows)."""
    _check(algorithm, digests, label, filenames, sizes)
    salts = _salts(len(digests), salt_source)
    for i, salt in enumerate(salts):
        if len(salt) != SALT_SIZE:
            raise InvalidInputError(f"salt {i} is {len(salt)} bytes, not {SALT_SIZE}")
    hash_leaf = evidence_leaf_hasher(algorithm)
    digest_hex = ["0x" + d.hex() for d in digests]
    names = filenames or [None] * len(digests)
    lengths = sizes or [None] * len(digests)
    public_ids = new_public_ids(len(digests))
    rows: list[tuple[Any, ...]] = [
        (
            public_id,
            algorithm,
            dh,
            "0x" + salt.hex(),
            "0x" + hash_leaf(d, salt).hex(),
            label,
            name,
            size,
            member_id,
            _QUEUED,
            channel_id,
        )
        for d, dh, salt, name, size, public_id in zip(
            digests, digest_hex, salts, names, lengths, public_ids, strict=True
        )
    ]
    return digest_hex, rows


def resalt(session: Session, ids: Sequence[int], salt_source: SaltSource = random_salt) -> int:
    """Gives the queued rows ``ids`` new salts, so new leaves and a new Merkle root.

    For a planned root the registry refused through no fault of ours (version 1 lets the
    first account to anchor a root own it, and planned roots were visible): the same salts
    would give the same refused root forever. Only queued rows change: no receipt was ever
    issued for them. The caller commits; returns the number of rows changed."""
    changed = 0
    for start in range(0, len(ids), _RESALT_CHUNK):  # SQLite caps bound parameters
        chunk = list(ids[start : start + _RESALT_CHUNK])
        rows = session.execute(
            select(_TABLE.c.id, _TABLE.c.algorithm, _TABLE.c.digest).where(
                _TABLE.c.id.in_(chunk), _TABLE.c.status == _QUEUED
            )
        ).all()
        salts = _salts(len(rows), salt_source)
        for (row_id, algorithm, digest), salt in zip(rows, salts, strict=True):
            leaf = evidence_leaf_hasher(algorithm)(bytes.fromhex(digest[2:]), salt)
            session.execute(
                _TABLE.update()
                .where(_TABLE.c.id == row_id, _TABLE.c.status == _QUEUED)
                .values(salt="0x" + salt.hex(), leaf_hash="0x" + leaf.hex())
            )
        changed += len(rows)
    return changed


def _accepted(
    algorithm: str, digest_hex: list[str], rows: list[tuple[Any, ...]], ids: list[int]
) -> list[Accepted]:
    return [
        Accepted(i, algorithm, dh, _QUEUED, row[0])
        for i, dh, row in zip(ids, digest_hex, rows, strict=True)
    ]


class Documents(TypedDict):
    """What a submission names besides where it goes (``submit_digests``, ``submit_bulk``)."""

    algorithm: Algorithm
    digests: Sequence[Hash32]  # 32 bytes each
    member_id: int | None
    label: NotRequired[str | None]
    filenames: NotRequired[Sequence[str | None] | None]
    sizes: NotRequired[Sequence[int | None] | None]
    salt_source: NotRequired[SaltSource]
    channel_id: NotRequired[int | None]


def _prepare(documents: Documents) -> tuple[list[str], list[tuple[Any, ...]]]:
    return _rows(
        documents["algorithm"],
        documents["digests"],
        documents["member_id"],
        documents.get("label"),
        documents.get("filenames"),
        documents.get("sizes"),
        documents.get("salt_source", random_salt),
        documents.get("channel_id"),
    )


def submit_digests(
    *, session: Session, commit: bool = True, **documents: Unpack[Documents]
) -> list[Accepted]:
    """Queues ``digests`` (32 bytes each) and commits; bad input raises before any write.

    Runs in ``session``'s transaction: whatever the caller added to the session before is
    committed with the rows (subsidy documents and trace events rely on that).
    ``commit=False``: the caller commits (it writes rows that name these ids after them).
    """
    if not documents["digests"]:
        return []
    digest_hex, rows = _prepare(documents)
    ids = _insert(session.connection(), [(rows, utcnow())])[0]
    if commit:
        session.commit()
    return _accepted(documents["algorithm"], digest_hex, rows, ids)


def submit_bulk(*, group: GroupCommit, **documents: Unpack[Documents]) -> list[Accepted]:
    """:func:`submit_digests` for requests that bring nothing else to commit (the upload
    routes): the rows go into the next commit of ``group`` (its engine's) and this returns once
    that transaction has committed. Bad input raises before anything is queued; a failed
    commit raises here, in every request whose rows it held, and stores none of them."""
    if not documents["digests"]:
        return []
    digest_hex, rows = _prepare(documents)
    ids = group.write(rows, utcnow())
    return _accepted(documents["algorithm"], digest_hex, rows, ids)


# One group transaction holds at most this many rows (one full bulk request): a bound on how
# long one commit keeps the database's write lock, and so on the batcher's wait for it.
GROUP_MAX_ROWS: Final = MAX_BULK


class _Job:
    __slots__ = ("created", "error", "ids", "rows")

    def __init__(self, rows: list[tuple[Any, ...]], created: datetime) -> None:
        self.rows = rows
        self.created = created
        self.ids: list[int] | None = None
        self.error: BaseException | None = None


class GroupCommit:
    """Leader/follower group commit on one engine (one per engine: the runtime's
    ``EngineState``, ``evidence/engine_state.py``).

    Every request appends its job to ``_pending`` and then takes ``_writing``. Whoever gets
    it with its own job still pending becomes the leader: it takes every pending job (up to
    ``GROUP_MAX_ROWS``), writes them in one transaction and commits, then marks them done
    or failed. A request whose job a previous leader wrote finds it done and returns. So no
    extra thread, and a request returns only after the commit that holds its rows.
    """

    def __init__(self, engine: Engine, turns: Turns) -> None:
        self.engine = engine
        self.turns = turns  # the engine's write turns, shared with its batcher (writes.py)
        self._writing = threading.Lock()
        self._queue_lock = threading.Lock()
        self._pending: list[_Job] = []

    def write(self, rows: list[tuple[Any, ...]], created: datetime) -> list[int]:
        job = _Job(rows, created)
        with self._queue_lock:
            self._pending.append(job)
        while True:
            with self._writing:
                if job.ids is None and job.error is None:
                    self._lead()
            if job.error is not None:
                raise job.error
            if job.ids is not None:
                return job.ids
            # Our job did not fit in the group just written (GROUP_MAX_ROWS): go again.

    def _lead(self) -> None:
        with self._queue_lock:
            taken: list[_Job] = []
            count = 0
            while self._pending and (
                not taken or count + len(self._pending[0].rows) <= GROUP_MAX_ROWS
            ):
                job = self._pending.pop(0)
                taken.append(job)
                count += len(job.rows)
        if not taken:
            return
        try:
            with self.turns.turn(), self.engine.connect() as conn:
                ids = _insert(conn, [(j.rows, j.created) for j in taken])
                conn.commit()
        except BaseException as exc:
            for j in taken:
                j.error = exc
            raise
        for j, job_ids in zip(taken, ids, strict=True):
            j.ids = job_ids


_COLUMNS: Final = (
    "public_id",
    "algorithm",
    "digest",
    "salt",
    "leaf_hash",
    "label",
    "filename",
    "size",
    "member_id",
    "status",
    "channel_id",  # issue 25: the channel whose members see the record (None: its org alone)
    "created_at",
)
_SQLITE_INSERT: Final = (
    f"INSERT INTO evidence ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})"
)


def _insert(
    conn: Connection, jobs: list[tuple[list[tuple[Any, ...]], datetime]]
) -> list[list[int]]:
    """Inserts each job's rows (with its ``created_at``) in ``conn``'s transaction, in one
    statement; returns each job's new ids in row order. The caller commits."""
    total = sum(len(rows) for rows, _ in jobs)
    dialect = conn.dialect
    if supports_copy(conn):
        stream = ((*r, now) for rows, now in jobs for r in rows)
        return _split(copy_rows(conn, _TABLE, _COLUMNS, stream, total), jobs)
    if dialect.name != "sqlite":
        return _split(_insert_returning(conn, jobs), jobs)
    # Straight to the driver's executemany: SQLAlchemy's per-row, per-column parameter
    # processing costs as much as SQLite's own insert here. Every value is already what
    # the driver takes (str, int, None) except the time, converted once per job by its own
    # type. dialect_impl: the TypeDecorator's own bind_processor would stop at its UTC
    # check and leave the datetime to sqlite3's default adapter (another text format).
    to_db = _TABLE.c.created_at.type.dialect_impl(dialect).bind_processor(dialect)
    params_all: list[tuple[Any, ...]] = []
    for rows, now in jobs:
        created = to_db(now) if to_db is not None else now
        params_all.extend((*r, created) for r in rows)
    conn.exec_driver_sql(_SQLITE_INSERT, params_all)
    last = int(conn.exec_driver_sql("SELECT last_insert_rowid()").scalar_one())
    first = last - total + 1
    # Cheap proof of the consecutive-ids premise (a primary-key range count): if it ever
    # failed, answering with wrong ids would be worse than failing the request.
    found = conn.execute(
        select(func.count()).select_from(_TABLE).where(_TABLE.c.id.between(first, last))
    ).scalar_one()
    if found != total:
        raise ChainProofError(f"inserted {total} evidence rows but found {found} in ids")
    return _split(list(range(first, last + 1)), jobs)


def _insert_returning(
    conn: Connection, jobs: list[tuple[list[tuple[Any, ...]], datetime]]
) -> list[int]:
    """The portable path (a database other than SQLite, or PostgreSQL through a driver other
    than psycopg 3): one multi-row ``INSERT ... RETURNING``, ids in parameter order.
    ``benchmarks/postgres.py`` measures ``COPY`` against it on PostgreSQL."""
    stmt = insert(_TABLE).returning(_TABLE.c.id, sort_by_parameter_order=True)
    params = [dict(zip(_COLUMNS, (*r, now), strict=True)) for rows, now in jobs for r in rows]
    return [int(r[0]) for r in conn.execute(stmt, params)]


def _split(flat: list[int], jobs: list[tuple[list[tuple[Any, ...]], datetime]]) -> list[list[int]]:
    out: list[list[int]] = []
    at = 0
    for rows, _ in jobs:
        out.append(flat[at : at + len(rows)])
        at += len(rows)
    return out
