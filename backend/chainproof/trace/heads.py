"""Publishing heads and recall flags on chain, in batches, behind the captures.

Nothing here signs: heads, recalls and lifts are operations of the chain writer
(``trace/ops.py``: one outbox, one nonce owner per key, one crash story). The
:class:`HeadPublisher` thread, run beside the writer by the key's leader, enqueues every
interval what moved (:func:`~chainproof.trace.ops.enqueue_pending`) and wakes the writer.
:func:`publish_pending` is the one-shot form for tests and demo seeding, where no writer
runs: it enqueues, then drains the operations through a writer of its own.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import structlog
from sqlalchemy import Engine
from sqlmodel import Session

from chainproof.chain.context import ChainContext
from chainproof.chain.writer import ChainWriter
from chainproof.errors import ChainProofError
from chainproof.store.ops import ChainOp, OpStatus
from chainproof.trace.ops import (
    DEFAULT_LIMIT,
    LIFT_RECALL,
    RECALL,
    SET_HEADS,
    enqueue_pending,
    live_ops,
    trace_kinds,
)

log = structlog.get_logger("chainproof.trace")
MAX_ROUNDS = 20  # x DEFAULT_LIMIT heads per call at most; the publisher thread does the rest


@dataclass(frozen=True)
class Published:
    heads: int
    recalls: int
    tx_hashes: tuple[str, ...]
    lifts: int = 0


def summarize(engine: Engine, ops: Sequence[ChainOp]) -> Published:
    """What the confirmed ones among ``ops`` put on chain (read again: they moved on)."""
    heads = recalls = lifts = 0
    txs: list[str] = []
    with Session(engine) as s:
        for op in ops:
            now = s.get(ChainOp, op.id)
            if now is None or now.status != OpStatus.CONFIRMED.value:
                continue
            if now.tx_hash:
                txs.append(now.tx_hash)
            if now.kind == SET_HEADS:
                heads += len(now.payload["heads"])
            recalls += now.kind == RECALL
            lifts += now.kind == LIFT_RECALL
    return Published(heads, recalls, tuple(txs), lifts)


def publish_now(
    engine: Engine, send: Callable[[list[ChainOp]], bool], *, limit: int = DEFAULT_LIMIT
) -> tuple[list[ChainOp], bool]:
    """Enqueues everything pending and has ``send`` settle it, round after round, until
    nothing is pending (a head batch the publisher thread enqueued a moment ago holds the
    heads of then: the next round takes what moved since, and a batch holds ``limit``
    heads). Returns the operations and whether ``send`` settled them all (False: another
    process leads the key and sends them)."""
    seen: dict[int | None, ChainOp] = {}
    for round_ in range(MAX_ROUNDS):
        # A failed recall is asked again once per call, not once per round.
        enqueue_pending(engine, limit=limit, retry_failed=round_ == 0)
        ops = live_ops(engine)
        if not ops:
            return list(seen.values()), True
        seen.update((op.id, op) for op in ops)
        if not send(ops):
            return list(seen.values()), False
    return list(seen.values()), True


def publish_pending(
    *, engine: Engine, chain: ChainContext, data_dir: Path | None, limit: int = DEFAULT_LIMIT
) -> Published:
    """Publishes what is pending through a writer of this call's own: only where no other
    writer runs for the key (tests, demo seeding before the server starts)."""
    writer = ChainWriter(engine=engine, chain=chain, kinds=trace_kinds(data_dir=data_dir))

    def drain(ops: list[ChainOp]) -> bool:
        writer.drain()
        return True

    ops, _ = publish_now(engine, drain, limit=limit)
    return summarize(engine, ops)


def reason_hash(reason: str) -> str:
    return "0x" + hashlib.sha256(reason.encode()).hexdigest()


class HeadPublisher:
    """A thread enqueuing the pending heads, recalls and lifts every ``interval_ms`` and
    waking the key's writer; errors are logged and retried on the next round (captures
    never wait for it)."""

    def __init__(self, *, engine: Engine, writer: ChainWriter | None, interval_ms: int) -> None:
        self.engine = engine
        self.writer = writer
        self.interval = interval_ms / 1000
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="trace-heads", daemon=True)
        self.last_error: str | None = None

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                if enqueue_pending(self.engine) and self.writer is not None:
                    self.writer.wake()
                self.last_error = None
            except ChainProofError as exc:
                self.last_error = exc.message
                log.warning("trace head publishing failed; retrying", error=exc.message)
            except Exception as exc:  # the database away for a moment: retry later
                self.last_error = str(exc)
                log.warning("trace head publishing failed; retrying", error=str(exc))
