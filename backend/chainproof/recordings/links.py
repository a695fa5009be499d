"""The hash chain of a recording's segments: what the recorder, the server and a verifier
all compute the same way (no server, database or chain needed here).

A recording is cut into segments of ``segment_bytes`` (the last may be shorter). Segment
``i``'s link commits to the previous link, its own index, byte range and SHA-256::

    genesis  = SHA-256("chainproof/recording/v1" 0x00 || nonce)
    link[i]  = SHA-256("chainproof/recording/v1/segment" 0x00 || link[i-1] || i || offset
                       || length || digest[i])           (integers as 8-byte big-endian)

The nonce (32 random bytes the recorder picks) makes two recordings of the same bytes
chain differently and lets a recorder that is offline build its chain before the server
has given it an id. Each link is anchored as one evidence digest in the regular batches, so
an anchored link proves every segment before it: changing a byte anywhere changes that
segment's digest and every link after it.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["NONCE_SIZE", "Segment", "chain_break", "genesis", "link_of", "new_nonce"]

NONCE_SIZE = 32
_GENESIS_TAG = b"chainproof/recording/v1\x00"
_LINK_TAG = b"chainproof/recording/v1/segment\x00"


def new_nonce() -> bytes:
    return secrets.token_bytes(NONCE_SIZE)


def genesis(nonce: bytes) -> bytes:
    if len(nonce) != NONCE_SIZE:
        raise ValueError(f"a recording nonce is {NONCE_SIZE} bytes, not {len(nonce)}")
    return hashlib.sha256(_GENESIS_TAG + nonce).digest()


def link_of(prev: bytes, index: int, offset: int, length: int, digest: bytes) -> bytes:
    """The link of segment ``index`` after ``prev`` (the genesis for segment 0)."""
    return hashlib.sha256(
        _LINK_TAG
        + prev
        + index.to_bytes(8, "big")
        + offset.to_bytes(8, "big")
        + length.to_bytes(8, "big")
        + digest
    ).digest()


@dataclass(frozen=True)
class Segment:
    index: int
    offset: int
    length: int
    digest: bytes  # SHA-256 of the segment's bytes
    link: bytes


def chain_break(nonce: bytes, segments: Iterable[Segment]) -> int | None:
    """The index of the first segment whose link does not follow from those before it
    (or that is out of place), else None."""
    prev = genesis(nonce)
    offset = 0
    for expected, s in enumerate(segments):
        if s.index != expected or s.offset != offset:
            return expected
        if link_of(prev, s.index, s.offset, s.length, s.digest) != s.link:
            return s.index
        prev = s.link
        offset += s.length
    return None
