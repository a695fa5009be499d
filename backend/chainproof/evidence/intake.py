"""Accepting documents: each digest becomes a queued evidence row with its own salt.

Rows are written in one bulk INSERT per request and committed before the API answers 202:
an acknowledged document is in the queue whatever happens next (invariant 4).

This is the bulk endpoint's hot path (10,000 digests a request), so it avoids per-row
overhead that does not buy anything: one ``os.urandom`` call for all the salts, the leaf
hashed with a precomputed ABI frame instead of the generic encoder, and a Core
``executemany`` instead of the ORM's bulk insert (which costs ~4x the database's own time
in per-row bookkeeping). On SQLite the new ids are read back without ``RETURNING``: one
writer holds the database lock for the whole transaction, so an ``AUTOINCREMENT`` insert of
n rows takes n consecutive ids ending at ``last_insert_rowid()``. PostgreSQL sequences give
no such guarantee under concurrent writers, so there the ids come back with ``RETURNING``
in parameter order.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Table, func, insert, select
from sqlmodel import Session

from chainproof.digests import Algorithm, check_algorithm, keccak256
from chainproof.errors import ChainProofError, InvalidInputError
from chainproof.receipts import SALT_SIZE, random_salt
from chainproof.store.models import FILENAME_LEN, LABEL_LEN, Evidence, EvidenceStatus, utcnow

SaltSource = Callable[[], bytes]
MAX_BULK = 10_000
_TABLE: Final[Table] = Evidence.__table__  # type: ignore[attr-defined]
_QUEUED: Final = EvidenceStatus.QUEUED.value


@dataclass(frozen=True)
class Accepted:
    id: int
    algorithm: str
    digest: str
    status: str


def leaf_frame(algorithm: str) -> tuple[bytes, bytes]:
    """The ABI encoding of ``(string algorithm, bytes32 digest, bytes32 salt)`` around its
    two words: ``head + digest + salt + tail`` is ``abi.encode(...)`` of the leaf.

    The string is dynamic: its head word is the offset of its tail (3 words in), and the
    tail is its length then its UTF-8 bytes padded to a word. Only the two bytes32 vary
    between documents, so the rest is computed once per request. The receipts' generic
    encoder (``receipts.evidence_leaf_hash``) is the reference; a test checks they agree.
    """
    data = algorithm.encode("utf-8")
    head = (3 * 32).to_bytes(32, "big")
    tail = len(data).to_bytes(32, "big") + data + bytes(-len(data) % 32)
    return head, tail


def _check(
    algorithm: Algorithm,
    digests: Sequence[bytes],
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


def submit_digests(
    *,
    session: Session,
    algorithm: Algorithm,
    digests: Sequence[bytes],
    member_id: int | None,
    label: str | None = None,
    filenames: Sequence[str | None] | None = None,
    sizes: Sequence[int | None] | None = None,
    salt_source: SaltSource = random_salt,
) -> list[Accepted]:
    """Queues ``digests`` (32 bytes each) and commits; bad input raises before any write.

    Runs in ``session``'s transaction: whatever the caller added to the session before is
    committed with the rows (subsidy documents and trace events rely on that).
    """
    if not digests:
        return []
    _check(algorithm, digests, label, filenames, sizes)
    salts = _salts(len(digests), salt_source)
    for i, salt in enumerate(salts):
        if len(salt) != SALT_SIZE:
            raise InvalidInputError(f"salt {i} is {len(salt)} bytes, not {SALT_SIZE}")
    head, tail = leaf_frame(algorithm)
    k = keccak256
    now = utcnow()
    digest_hex = ["0x" + d.hex() for d in digests]
    names = filenames or [None] * len(digests)
    lengths = sizes or [None] * len(digests)
    # Tuples in _COLUMNS order (created_at last, filled in by _insert).
    rows: list[tuple[Any, ...]] = [
        (
            algorithm,
            dh,
            "0x" + salt.hex(),
            "0x" + k(k(head + d + salt + tail)).hex(),
            label,
            name,
            size,
            member_id,
            _QUEUED,
        )
        for d, dh, salt, name, size in zip(digests, digest_hex, salts, names, lengths, strict=True)
    ]
    ids = _insert(session, rows, now)
    session.commit()
    return [
        Accepted(id=i, algorithm=algorithm, digest=dh, status=_QUEUED)
        for i, dh in zip(ids, digest_hex, strict=True)
    ]


_COLUMNS: Final = (
    "algorithm",
    "digest",
    "salt",
    "leaf_hash",
    "label",
    "filename",
    "size",
    "member_id",
    "status",
    "created_at",
)
_SQLITE_INSERT: Final = (
    f"INSERT INTO evidence ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})"
)


def _insert(session: Session, rows: list[tuple[Any, ...]], now: datetime) -> list[int]:
    conn = session.connection()
    dialect = conn.dialect
    if dialect.name != "sqlite":
        stmt = insert(_TABLE).returning(_TABLE.c.id, sort_by_parameter_order=True)
        params = [dict(zip(_COLUMNS, (*r, now), strict=True)) for r in rows]
        return [int(r[0]) for r in conn.execute(stmt, params)]
    # Straight to the driver's executemany: SQLAlchemy's per-row, per-column parameter
    # processing costs as much as SQLite's own insert here. Every value is already what
    # the driver takes (str, int, None) except the time, converted once by its own type.
    # dialect_impl: the TypeDecorator's own bind_processor would stop at its UTC check and
    # leave the datetime to sqlite3's default adapter, which writes another text format.
    to_db = _TABLE.c.created_at.type.dialect_impl(dialect).bind_processor(dialect)
    created = to_db(now) if to_db is not None else now
    conn.exec_driver_sql(_SQLITE_INSERT, [(*r, created) for r in rows])
    last = int(conn.exec_driver_sql("SELECT last_insert_rowid()").scalar_one())
    first = last - len(rows) + 1
    # Cheap proof of the consecutive-ids premise (a primary-key range count): if it ever
    # failed, answering with wrong ids would be worse than failing the request.
    found = conn.execute(
        select(func.count()).select_from(_TABLE).where(_TABLE.c.id.between(first, last))
    ).scalar_one()
    if found != len(rows):
        raise ChainProofError(f"inserted {len(rows)} evidence rows but found {found} in ids")
    return list(range(first, last + 1))
