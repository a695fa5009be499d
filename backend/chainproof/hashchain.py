"""Hash-chained records: the one mechanism behind every anchored trail of the platform.

A trail is a sequence of records, each canonical JSON (RFC 8785) carrying its ``kind``, its
``seq`` (1, 2, …) and ``prev``, the SHA-256 of the record before it (``None`` for the first).
Each record's SHA-256 is anchored like evidence (``subsidy/anchoring.py``), so rewriting,
dropping or reordering a record either breaks a link here or contradicts the chain.

Two trails use it: a subsidy application's lifecycle (``subsidy/lifecycle.py``, one trail per
application) and the platform's audit log (``audit/log.py``, one trail for everything that
changes who may do what or what the platform holds).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from chainproof.digests import hash_bytes, to_hex
from chainproof.subsidy.anchoring import Record, make_record

__all__ = ["Link", "check_link", "link"]


def link(kind: str, *, seq: int, prev: str | None, fields: dict[str, Any], filename: str) -> Record:
    """The ``seq``-th record of a ``kind`` trail, chained to ``prev``."""
    body: dict[str, Any] = {"kind": kind, "version": 1, "seq": seq, "prev": prev, **fields}
    return make_record(body, filename=filename)


@dataclass(frozen=True)
class Link:
    """One stored record, checked: does it hash to its stored hash, does it follow ``prev``?"""

    record: dict[str, Any]  # the parsed record ({} when it is not JSON)
    hash_ok: bool
    link_ok: bool  # kind, seq and prev as expected


def check_link(text: str, digest: str, *, kind: str, seq: int, prev: str | None) -> Link:
    """Checks a stored record against its stored hash and its expected place in the trail."""
    hash_ok = to_hex(hash_bytes(text.encode("utf-8"), "sha256")) == digest
    try:
        rec = json.loads(text)
    except ValueError:
        rec = {}
    if not isinstance(rec, dict):
        rec = {}
    link_ok = rec.get("kind") == kind and rec.get("seq") == seq and rec.get("prev") == prev
    return Link(record=rec, hash_ok=hash_ok, link_ok=link_ok)
