"""Accepting documents: each digest becomes a queued evidence row with its own salt.

Rows are written in one bulk INSERT per request (10,000 digests are one statement batch, not
10,000 ORM flushes), and committed before the API answers 202: an acknowledged document is
in the queue whatever happens next (invariant 4).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert
from sqlmodel import Session, col

from chainproof.digests import Algorithm, check_algorithm, to_hex
from chainproof.errors import InvalidInputError
from chainproof.receipts import evidence_leaf_hash, random_salt
from chainproof.store.models import FILENAME_LEN, LABEL_LEN, Evidence, EvidenceStatus, utcnow

SaltSource = Callable[[], bytes]
MAX_BULK = 10_000


@dataclass(frozen=True)
class Accepted:
    id: int
    algorithm: str
    digest: str
    status: str


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
    """Queues ``digests`` (32 bytes each) and commits; bad input raises before any write."""
    if not digests:
        return []
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
    now = utcnow()
    rows: list[dict[str, Any]] = []
    for i, digest in enumerate(digests):
        salt = salt_source()
        rows.append(
            {
                "algorithm": algorithm,
                "digest": to_hex(digest),
                "salt": to_hex(salt),
                "leaf_hash": to_hex(evidence_leaf_hash(algorithm, digest, salt)),
                "label": label,
                "filename": filenames[i] if filenames else None,
                "size": sizes[i] if sizes else None,
                "member_id": member_id,
                "status": EvidenceStatus.QUEUED.value,
                "created_at": now,
            }
        )
    stmt = insert(Evidence).returning(col(Evidence.id), sort_by_parameter_order=True)
    ids = [int(r[0]) for r in session.execute(stmt, rows)]
    session.commit()
    return [
        Accepted(id=i, algorithm=algorithm, digest=r["digest"], status=EvidenceStatus.QUEUED.value)
        for i, r in zip(ids, rows, strict=True)
    ]
