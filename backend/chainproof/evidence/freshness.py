"""Two-sided time: each batch commits to a block chosen before its documents were accepted.

The chain's block time is an upper bound: the batch existed by then. For a lower bound the
batch's anchored metadata (whose keccak-256 the ``Anchored`` event carries as
``metadataHash``) names a block ``not_before = {number, hash}``: the oldest head recorded
when the batch's documents were accepted (``evidence/records.py`` reads it *before* the
intake commits). A block hash cannot be known before its block, so the batch was formed
after that block's time; the certificate states the interval [not before, not after] and
its width, and the offline bundle proves both ends (``time.json``: the metadata and the
earlier header; the verifier checks its hash against the proven log, and the header's hash
against the commitment).

The metadata is kept as it was hashed (``batch_meta``), so what a bundle shows is what was
anchored, whatever rows are recorded later.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any, Final

from eth_utils import keccak
from sqlmodel import Field, Session, SQLModel, col, select
from web3 import Web3

import chainproof.store.models  # noqa: F401  (the naming convention, and batch)
from chainproof.bundle import layout
from chainproof.bundle.ethproofs import header_rlp
from chainproof.chain.context import ChainContext
from chainproof.digests import canonical_json, to_hex
from chainproof.evidence.records import EvidenceRecord, Head
from chainproof.store.models import Batch, Evidence

# How stale the head may be: a recorded block is at most this much older than the newest.
HEAD_TTL_S: Final = 1.0


class BatchMeta(SQLModel, table=True):
    """The batch metadata exactly as its hash went on chain."""

    __tablename__ = "batch_meta"

    batch_id: int = Field(foreign_key="batch.id", primary_key=True)
    meta: str  # canonical JSON


class RecentHead:
    """The last head read from one chain and when (kept on its chain context)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: tuple[float, Head] | None = None

    def fresh(self, now: float) -> Head | None:
        with self._lock:
            seen = self._seen
        return seen[1] if seen is not None and now - seen[0] < HEAD_TTL_S else None

    def saw(self, now: float, head: Head) -> None:
        with self._lock:
            self._seen = (now, head)


def recent_head(chain: ChainContext) -> Head | None:
    """The newest block (number, hash), read at most once a second per chain; None when the
    node cannot say (a document is never refused for it: its batch then has no lower bound)."""
    seen = chain.local(RecentHead, RecentHead)
    now = time.monotonic()
    cached = seen.fresh(now)
    if cached is not None:
        return cached
    try:
        block = chain.w3.eth.get_block("latest")
        head = Head(number=int(block["number"]), hash=to_hex(bytes(block["hash"])))
    except Exception:  # node trouble: the record simply has no head
        return None
    seen.saw(now, head)
    return head


def commitment(session: Session, first_id: int, last_id: int) -> dict[str, Any]:
    """The ``not_before`` entry of a batch's metadata over evidence ``first_id..last_id``:
    the oldest head recorded for them (empty when none was recorded)."""
    row = session.exec(
        select(EvidenceRecord.head_number, EvidenceRecord.head_hash)
        .where(
            col(EvidenceRecord.evidence_id).between(first_id, last_id),
            col(EvidenceRecord.head_number).is_not(None),
        )
        .order_by(col(EvidenceRecord.head_number))
        .limit(1)
    ).first()
    if row is None or row[0] is None or row[1] is None:
        return {}
    return {"not_before": {"number": int(row[0]), "hash": row[1]}}


def keep_meta(session: Session, batch_id: int, meta: dict[str, Any]) -> None:
    """Keeps the metadata of a newly planned batch (a re-planned one keeps its first)."""
    if session.get(BatchMeta, batch_id) is None:
        session.add(BatchMeta(batch_id=batch_id, meta=canonical_json(meta).decode()))


def batch_meta(session: Session, batch: Batch) -> dict[str, Any] | None:
    """The batch's metadata when it is kept and still hashes to the anchored one."""
    if batch.id is None:
        return None
    kept = session.get(BatchMeta, batch.id)
    if kept is None:
        return None
    meta: dict[str, Any] = json.loads(kept.meta)
    if to_hex(keccak(canonical_json(meta))) != batch.metadata_hash:
        return None
    return meta


def interval(session: Session, ev: Evidence, w3: Web3) -> dict[str, Any] | None:
    """``{"not_before": {number, hash, timestamp}, "not_after": timestamp, "width": s}`` for
    an anchored evidence whose batch committed to a block; None otherwise."""
    batch = session.get(Batch, ev.batch_id) if ev.batch_id else None
    if batch is None or batch.block_timestamp is None:
        return None
    meta = batch_meta(session, batch)
    if meta is None or "not_before" not in meta:
        return None
    committed = meta["not_before"]
    block = w3.eth.get_block(committed["hash"])
    stamp = int(block["timestamp"])
    return {
        "not_before": {**committed, "timestamp": stamp},
        "not_after": batch.block_timestamp,
        "width": batch.block_timestamp - stamp,
        "meta": meta,
        "header": header_rlp(block),
    }


def time_document(session: Session, ev: Evidence, w3: Web3) -> bytes | None:
    """``time.json`` of the evidence's bundle: the batch metadata and the committed block's
    header (None when the batch committed to none)."""
    found = interval(session, ev, w3)
    if found is None:
        return None
    doc = {
        "format": layout.TIME_FORMAT,
        "metadata": found["meta"],
        "header": "0x" + found["header"].hex(),
        "not_before": found["not_before"]["timestamp"],
        "not_after": found["not_after"],
        "width_s": found["width"],
    }
    return (json.dumps(doc, indent=2) + "\n").encode()
