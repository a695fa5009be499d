"""The batcher: queued evidence → Merkle batch → one anchoring transaction → anchored.

The batch is an outbox row written *before* anything is sent, holding the root, the planned
nonce and the signed raw transaction. Every step after that is idempotent, so a crash at
any point resumes on restart (docs/architecture.md, promise 4):

    planned ──send raw tx──▶ sent ──receipt + confirmations──▶ confirmed
       │                       │
       └──── nonce taken by another tx / reverted / block lost ──▶ orphaned (rows requeued)

* crash before send: the stored raw tx is sent on restart (same nonce, same hash);
* crash after send: the receipt is looked up by hash; a tx the node forgot is re-sent;
* crash after the receipt, before the commit: the receipt is found again and committed;
* a managed node that comes back without its last blocks: ``recover()`` walks confirmed
  batches from the newest and requeues every one whose block hash the chain no longer has.

One batch is in flight at a time per signing key, so nonces never race; a file lock keeps a
second batcher on the same data directory from starting at all.

A member's batch that the registry refuses through no fault of ours never holds up the
queue: a root someone else already holds (registry v1: first come, first served) is
re-salted (new salts, new leaves, a new root) and planned again; any other refusal at
planning sets that member aside for a while (``MEMBER_BACKOFF``) and the next member's
documents go first. Roots are published (``GET /api/v1/batches/{id}``) only once mined.

The steps live by concern: ``batch_close.py`` (grouping rows and planning a batch),
``batch_send.py`` (sending, replacing, recovery) and ``batch_confirm.py`` (confirming and
orphaning); :class:`Batcher` runs them in one thread.
"""

from __future__ import annotations

import fcntl
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, TypedDict

import structlog
from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from chainproof.chain.context import ChainContext
from chainproof.chain.writer import ChainWriter
from chainproof.errors import ChainError, ConflictError
from chainproof.evidence.batch_send import Sending, failpoint
from chainproof.evidence.finality import FinalityPolicy, ReorgWatcher
from chainproof.evidence.ops import evidence_kinds
from chainproof.evidence.writes import Turns, new_turns
from chainproof.store.leader import KeyLock, PgLeaderLock
from chainproof.store.models import (
    Batch,
    BatchStatus,
    Evidence,
    EvidenceStatus,
)

log = structlog.get_logger("chainproof.batcher")
IN_FLIGHT = (BatchStatus.PLANNED.value, BatchStatus.SENT.value)


class LeaderLock:
    """Only one batcher per data directory (and so per signing key) may run."""

    def __init__(self, data_dir: Path, signer: str) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.path = data_dir / f"batcher-{signer.lower()}.lock"
        self._fh: IO[str] | None = None

    def acquire(self) -> None:
        fh = self.path.open("a+")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            fh.close()
            raise ConflictError(
                f"another batcher holds {self.path}: one batcher per signing key"
            ) from exc
        self._fh = fh

    def release(self) -> None:
        if self._fh is not None:
            fcntl.flock(self._fh, fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None


def key_lock(engine: Engine, data_dir: Path, signer: str) -> KeyLock:
    """The lock of ``signer``'s one nonce owner (the writer's leader, a deployment, a CLI
    draining the outbox, the cross-chain relay). PostgreSQL: an advisory lock processes on
    any host see; SQLite: the data dir's file."""
    if engine.dialect.name == "postgresql":
        return PgLeaderLock(engine, signer)
    return LeaderLock(data_dir, signer)


class Batcher(Sending):
    """Anchors queued evidence: closes batches (``batch_close.py``), sends them
    (``batch_send.py``) and confirms them (``batch_confirm.py``); one thread, one batch in
    flight per signing key."""

    def __init__(
        self,
        *,
        engine: Engine,
        chain: ChainContext,
        batch_size: int,
        interval_ms: int,
        confirmations: int = 1,
        gas_cap: int = 16_777_216,
        clock: Callable[[], float] = time.time,
        member_secret: str | None = None,
        finality: FinalityPolicy | None = None,
        stuck_after: float = 60.0,
        turns: Turns | None = None,
    ) -> None:
        self.engine = engine
        self.chain = chain
        self.batch_size = batch_size
        self.interval = interval_ms / 1000
        self.confirmations = confirmations
        # When a mined batch counts as anchored, and who requeues one a reorg took away.
        self.finality = finality or FinalityPolicy("confirmations", confirmations)
        self.watcher = ReorgWatcher(engine=engine, chain=chain, orphan=self._orphan)
        self.stuck_after = stuck_after  # a pending anchor this old is replaced (or re-sent)
        self.replacements = 0
        self.gas_cap = gas_cap
        self.clock = clock
        self.member_secret = member_secret  # unlocks members' custodial keys (None: operator)
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._queue_empty = False  # the last look found nothing queued (run() polls slower)
        self._paused_reason: str | None = None
        self.last_error: str | None = None
        self.batches_confirmed = 0
        self._admitted: set[str] = set()  # "registry:address" known to hold the role there
        # member id (None: the operator's own documents) -> (monotonic time it may plan
        # again, its current backoff): members whose batch the registry refused.
        self._set_aside: dict[int | None, tuple[float, float]] = {}
        self.resalted_batches = 0  # planned roots re-salted after a refusal (tests, metrics)
        # The write lock, before the intake (writes.py): the runtime passes its engine's turns,
        # shared with the intake's group commit; a batcher on its own takes turns with nobody.
        self._turns = turns if turns is not None else new_turns(engine)
        # The chain writer of this key, when this process runs one: admissions go to it.
        self.writer: ChainWriter | None = None

    # ---- lifecycle ---------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="chainproof-batcher", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def run(self) -> None:
        backoff = 0.05
        recovered = False
        while not self._stop.is_set():
            try:
                if not recovered:
                    recovered = self.recover()
                    if not recovered:
                        self._stop.wait(1.0)
                        continue
                worked = self.step()
                backoff = 0.05
                self.last_error = None
            except Exception as exc:  # keep the worker alive; the queue is safe in the DB
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.warning("batcher step failed", error=self.last_error, retry_in=backoff)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            if not worked:
                # An empty queue is polled at half the batch interval (a step is a few
                # queries, which add up on an idle server); a queue with
                # rows too young to close, every 50 ms. The first row is then seen before it
                # is old enough to close, so no batch closes later than it did.
                self._stop.wait(
                    self.interval / 2 if self._queue_empty else min(0.05, self.interval / 4)
                )

    def drain(self, timeout: float = 60.0) -> None:
        """Runs steps in this thread until nothing is queued or in flight (tests, CLI)."""
        deadline = time.monotonic() + timeout
        self.recover()
        # Member admissions go through the chain writer: step one here too (a transient
        # one when none is attached, as in tests that drive a bare batcher).
        writer = self.writer or ChainWriter(
            engine=self.engine,
            chain=self.chain,
            kinds=evidence_kinds(member_secret=self.member_secret),
        )
        while time.monotonic() < deadline:
            wrote = writer.step()
            if not self.step(force=True) and not wrote and self.pending_count() == 0:
                return
        raise ChainError(f"the queue did not drain within {timeout}s")

    @property
    def alive(self) -> bool:
        """True while the worker thread runs (readyz reports a dead batcher)."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def paused_reason(self) -> str | None:
        return self._paused_reason

    def pending_count(self) -> int:
        """Documents accepted but not anchored yet (queued or in a batch in flight)."""
        with Session(self.engine) as s:
            q = (
                select(func.count())
                .select_from(Evidence)
                .where(
                    col(Evidence.status).in_(
                        [EvidenceStatus.QUEUED.value, EvidenceStatus.BATCHED.value]
                    )
                )
            )
            return int(s.exec(q).one())

    # ---- recovery ----------------------------------------------------------------------

    def step(self, *, force: bool = False) -> bool:
        """Advances the in-flight batch, or closes a new one. True when it did work."""
        self._queue_empty = False  # until _close_batch finds it so
        status = self.chain.status()
        if not status.ok:
            self._pause(status.reason or status.code)
            return False
        self._paused_reason = None
        self.watcher.tick()
        with Session(self.engine) as s:
            inflight = s.exec(
                select(Batch.id).where(col(Batch.status).in_(IN_FLIGHT)).order_by(col(Batch.id))
            ).first()
        if inflight is not None:
            return self._advance(int(inflight))
        with self.chain.sender.sending():
            try:
                batch_id = self._close_batch(force=force)
            except BaseException:
                self._admitted.clear()
                # Signing reserved a nonce before the batch row was stored; if storing it
                # failed ("database is locked"), that nonce was never used. Forget the
                # counter so the next transaction takes it, or every later one would wait
                # forever behind the gap. Safe: ``sending()`` is held, nothing else signed.
                self.chain.sender.reset_nonce()
                raise
            if batch_id is None:
                return False
            failpoint("before_send")
            self._advance(batch_id, wait=False)
        self._advance(batch_id)
        return True


class BatchSummary(TypedDict):
    """Rows by status (``queued``, ``anchored``...; ``planned``, ``sent``, ``confirmed``...)."""

    evidence: dict[str, int]
    batches: dict[str, int]


def batch_summary(engine: Engine) -> BatchSummary:
    """Counts by status, for readyz and the CLI."""

    with Session(engine) as s:
        ev = dict(s.exec(select(Evidence.status, func.count()).group_by(Evidence.status)).all())
        ba = dict(s.exec(select(Batch.status, func.count()).group_by(Batch.status)).all())
    return BatchSummary(evidence=ev, batches=ba)
