"""Public ids of evidence: UUIDv7 (RFC 9562, section 5.7), unguessable and time-ordered.

An evidence record is named in URLs, receipts, certificates and QR codes by this id, never
by its integer primary key: sequential keys let anyone walk every member's records one by
one (issue 14, finding 6). A v7 id is 48 bits of Unix milliseconds, then 74 bits from the
OS CSPRNG (``os.urandom``), with the version and variant bits in between. The random part
is what makes it unguessable (2**74 tries for one millisecond); the time prefix keeps new
ids at the right-hand edge of the unique index, as a sequence would, instead of scattering
inserts over its pages as a random v4 id does.

Built here in a few lines rather than taken from PyPI (Python 3.11 has no ``uuid.uuid7``):
the layout is fixed by the RFC, it needs nothing but ``os.urandom`` and the clock, and the
bulk endpoint makes 10,000 of them per request from one ``os.urandom`` call.

Pure module: imports nothing from the project.
"""

from __future__ import annotations

import os
import time
from typing import Final

__all__ = ["PUBLIC_ID_LEN", "new_public_id", "new_public_ids", "parse_public_id"]

PUBLIC_ID_LEN: Final = 36  # 8-4-4-4-12 hex digits and hyphens
_RANDOM_BYTES: Final = 10  # 80 bits drawn per id; 74 of them are used
_VARIANT: Final = "89ab"  # the hex digit of variant 10xx, by its two random bits
_HEX: Final = frozenset("0123456789abcdef")
_HYPHENS: Final = (8, 13, 18, 23)


def new_public_ids(n: int, *, now_ms: int | None = None) -> list[str]:
    """``n`` fresh UUIDv7 ids in canonical text form (lowercase, hyphenated).

    Built as text from one hex string of random bytes (faster than integer arithmetic per
    id, for the 10,000 of a bulk request): per id, 19 hex digits of ``os.urandom``
    give rand_a (12 bits), two bits under the variant ``10`` and the 60 bits after it.
    """
    ms = (time.time_ns() // 1_000_000 if now_ms is None else now_ms) & (2**48 - 1)
    head = ms.to_bytes(6, "big").hex()
    prefix = f"{head[:8]}-{head[8:]}-7"
    digits = os.urandom(_RANDOM_BYTES * n).hex()
    step = 2 * _RANDOM_BYTES
    return [
        f"{prefix}{r[:3]}-{_VARIANT[int(r[3], 16) & 3]}{r[4:7]}-{r[7:19]}"
        for r in (digits[i : i + step] for i in range(0, step * n, step))
    ]


def new_public_id() -> str:
    """One fresh UUIDv7 id."""
    return new_public_ids(1)[0]


def parse_public_id(raw: str) -> str | None:
    """``raw`` if it is a public id in canonical form (36 characters, lowercase hex and
    hyphens in their places, version 7); None otherwise. No regex: a length check first,
    then one pass over at most 36 characters."""
    if len(raw) != PUBLIC_ID_LEN:
        return None
    for i, ch in enumerate(raw):
        if i in _HYPHENS:
            if ch != "-":
                return None
        elif ch not in _HEX:
            return None
    if raw[14] != "7" or raw[19] not in "89ab":
        return None
    return raw
