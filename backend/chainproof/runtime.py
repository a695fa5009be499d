"""The composition root: one place builds what a process runs on.

:func:`start_runtime` migrates the database, makes the engine, opens the chain (or a degraded
stand-in, docs/architecture.md, promise 6) and, when this process wins the one-per-signing-key lock,
starts the key's chain workers: the batcher (anchoring), the chain writer (every other chain write,
``chain/writer.py``) and the trace head publisher. ``chainproof serve`` (through the app's
lifespan), ``chainproof worker`` and the tests' apps all start through it, so a worker runs exactly
what a serving process runs beside its API, and :meth:`Runtime.close` stops it all in reverse order.

No working state sits in a module: what a process keeps per engine (the intake's group
commit and the write turns it shares with the batcher) is :attr:`Runtime.engine_state`, and
what it keeps per chain (root states, trees, the trace registry client, the recent head, the
trust anchor) lives on the chain context (``ChainContext.local``); both die with the runtime,
and two runtimes in one process (tests) share none of it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import structlog
from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session, col, select

from chainproof.audit import platform
from chainproof.chain.configured import open_configured_chain
from chainproof.chain.context import ChainContext, ChainLocals, ChainStatus
from chainproof.chain.endpoints import pool_options
from chainproof.chain.nodes import Node, make_node
from chainproof.chain.trace_registry import deploy_role, find_only, trace_chain
from chainproof.chain.writer import ChainWriter, OpKind
from chainproof.channels import registry_ops
from chainproof.config import Settings
from chainproof.crosschain.relay import Relay
from chainproof.crosschain.second_anchor import SecondAnchorer
from chainproof.crosschain.service import start_crosschain
from chainproof.draws.revealer import Revealer
from chainproof.errors import ChainMismatchError, ChainProofError, ConflictError
from chainproof.evidence.batcher import Batcher, key_lock
from chainproof.evidence.engine_state import EngineState
from chainproof.evidence.finality import FinalityPolicy, choose_policy
from chainproof.evidence.ops import evidence_kinds
from chainproof.store import db, shared_files
from chainproof.store.leader import KeyLock, PgLeaderLock
from chainproof.store.ops import ChainOp, OpStatus
from chainproof.tenders.ops import tender_kinds
from chainproof.trace.heads import HeadPublisher
from chainproof.trace.ops import trace_kinds
from chainproof.vocabulary import MANAGED_CHAINS, chain_kind

log = structlog.get_logger("chainproof.runtime")


class UnavailableChain(ChainContext):
    """Stands in for the chain when the server runs degraded (docs/architecture.md, promise 6).

    ``open_chain`` refused the chain (reset, other genesis, contract gone), but the server
    keeps serving: documents are still accepted into the queue, and every verdict that
    would need the chain is ``chain_mismatch`` with this reason. Services only touch the
    chain after ``status()``/``require_ok()``, which say so; the properties that would
    need a deployment raise instead of inventing one.

    ``standby`` is the node itself, when it could be started, so receipts can still be
    checked against it (and be told why they do not verify there).
    """

    def __init__(self, *, reason: str, code: str, standby: Node | None) -> None:
        # No super().__init__(): there is no deployment, registry or sender to build.
        self._locals = ChainLocals()
        self.reason = reason
        self.code = code
        self.standby = standby

    @property
    def chain_id(self) -> int:
        raise ChainMismatchError(self.reason)

    @property
    def contract(self) -> str:
        raise ChainMismatchError(self.reason)

    def status(self, *, fresh: bool = False, may_block: bool = True) -> ChainStatus:
        return ChainStatus(False, self.reason, self.code, time.monotonic())

    def require_ok(self) -> None:
        raise ChainMismatchError(self.reason)

    def stop(self) -> None:
        if self.standby is not None:
            self.standby.stop()


@dataclass
class Runtime:
    """What a process runs on: one per app (on ``app.state.runtime``) or worker."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    chain: ChainContext
    engine_state: EngineState
    # An engine the event loop may read with, without a worker thread (``db.loop_reader``):
    # None where every read goes through the thread pool.
    reader: Engine | None = None
    batcher: Batcher | None = None
    writer: ChainWriter | None = None  # runs where the batcher runs (one per signing key)
    publisher: HeadPublisher | None = None  # trace heads, beside them (same key)
    revealer: Revealer | None = None  # reveals draws, beside them (draws/revealer.py)
    relay: Relay | None = None  # checkpoints into CHAINPROOF_MAIN_CHAIN, beside them
    second_anchorer: SecondAnchorer | None = None  # roots into CHAINPROOF_SECOND_CHAIN too
    leader_lock: KeyLock | None = None
    standby: _Standby | None = None  # PostgreSQL: waiting to take the key over
    led_since: float | None = None  # when this process took the key's lead
    # Why no batcher runs here, when none does ("disabled", "standby: ...", "degraded").
    batcher_note: str | None = None
    owns_chain: bool = False
    owns_engine: bool = False
    started_at: float = field(default_factory=time.time)

    @property
    def degraded(self) -> bool:
        return isinstance(self.chain, UnavailableChain)

    def close(self) -> None:
        """Stops the chain workers, then the chain and engine if this runtime opened them."""
        if self.standby is not None:
            self.standby.stop()
        if self.revealer is not None:
            self.revealer.stop()
        if self.publisher is not None:
            self.publisher.stop()
        if self.second_anchorer is not None:
            self.second_anchorer.stop()
        if self.relay is not None:
            self.relay.stop()
        if self.batcher is not None:
            self.batcher.stop()
        if self.writer is not None:
            self.writer.stop()
        if self.leader_lock is not None:
            self.leader_lock.release()
        if self.owns_chain:
            self.chain.stop()
        if self.reader is not None:
            self.reader.dispose()
        if self.owns_engine:
            self.engine.dispose()


def start_runtime(
    settings: Settings,
    *,
    chain: ChainContext | None = None,
    engine: Engine | None = None,
    run_batcher: bool = True,
    leader_lock: KeyLock | None = None,
) -> Runtime:
    """Migrates, connects and starts everything in order; undoes it all if a step fails."""
    url = (
        engine.url.render_as_string(hide_password=False)
        if engine is not None
        else settings.resolved_database_url
    )
    db.upgrade(url)
    owns_engine = engine is None
    engine = engine or db.make_engine(url)
    owns_chain = chain is None
    try:
        # Issue 25: a settings change since the last start is an audit entry.
        platform.record_settings(engine, settings, platform.process_who())
        if chain is None:
            # Deployment records come from the database and go back to it: a process on
            # another host finds the contracts the first one deployed (store/shared_files.py).
            with shared_files.shared_deployments(engine, settings.data_dir):
                chain = _open_chain_or_degrade(settings)
                if not run_batcher:  # `serve --no-batcher`: an API replica
                    _find_only(chain, engine, settings)
                find_trace_registry(chain, settings)
        # Virtual channels' registries are listed in the database (channels/registry_ops.py).
        chain.use_channel_registries(lambda: registry_ops.registries(engine))
        runtime = Runtime(
            settings=settings,
            engine=engine,
            sessions=db.session_factory(engine),
            engine_state=EngineState.of(engine),
            reader=db.loop_reader(engine),
            chain=chain,
            owns_chain=owns_chain,
            owns_engine=owns_engine,
        )
    except BaseException:
        if owns_engine:
            engine.dispose()
        raise
    try:
        _start_chain_workers(runtime, enabled=run_batcher, lock=leader_lock)
    except BaseException:
        runtime.close()
        raise
    return runtime


def _start_trace_publisher(runtime: Runtime) -> HeadPublisher | None:
    """Only where the batcher runs: it enqueues heads for the key's one writer."""
    if runtime.batcher is None:
        return None
    publisher = HeadPublisher(
        engine=runtime.engine,
        writer=runtime.writer,
        interval_ms=runtime.settings.trace_publish_interval_ms,
    )
    publisher.start()
    return publisher


def _find_only(chain: ChainContext, engine: Engine, settings: Settings) -> None:
    """Not the key's leader (an API replica, a standby): the TraceRegistry is found, never
    deployed here; the leader's record comes in from the database (``DeployRole``)."""
    find_only(chain, refresh=lambda: shared_files.materialize(engine, settings.data_dir))


def find_trace_registry(chain: ChainContext, settings: Settings) -> None:
    """Finds (or deploys) the TraceRegistry while the deployment lock is held, so its record
    reaches the database with the registry's: deployed later, by whichever process first
    needed it, each host would deploy one of its own."""
    if isinstance(chain, UnavailableChain) or chain.node.kind == "embedded":
        return
    try:
        trace_chain(chain, data_dir=settings.data_dir)
    except ChainProofError as exc:
        log.warning("no trace registry at start; trace heads wait", error=exc.message)


def _open_chain_or_degrade(settings: Settings) -> ChainContext:
    try:
        return open_configured_chain(settings, port=settings.chain_port)
    except ChainMismatchError as exc:
        log.error("chain mismatch: serving degraded; nothing will be anchored", reason=exc.message)
        return UnavailableChain(
            reason=exc.message, code="chain_mismatch", standby=_standby_node(settings)
        )


def _standby_node(settings: Settings) -> Node | None:
    """The node again (``open_chain`` stopped it on failure), for receipt checks only."""
    try:
        node = make_node(
            settings.chain,
            data_dir=settings.data_dir,
            port=settings.chain_port if chain_kind(settings.chain) in MANAGED_CHAINS else None,
            pool_options=pool_options(settings),
        )
        node.start()
    except ChainProofError as exc:
        log.warning("no chain node in degraded mode", error=exc.message)
        return None
    return node


def _start_chain_workers(runtime: Runtime, *, enabled: bool, lock: KeyLock | None) -> None:
    """The batcher, the chain writer and the trace head publisher of the operator's key, if
    this process holds (or wins) the key's lock; ``lock`` is one the caller took already."""
    if not enabled:
        runtime.batcher_note = "disabled in this process"
        return
    if runtime.degraded:
        runtime.batcher_note = "not running: the chain is not the one anchored on"
        return
    if lock is None:
        lock = _key_lock(runtime)
        try:
            lock.acquire()
        except ConflictError as exc:
            # One batcher per signing key: another process anchors; this one serves the API.
            runtime.batcher_note = f"standby: {exc.message}"
            log.info("batcher on standby", reason=exc.message)
            if runtime.owns_chain:  # a chain context handed in may be the leader's own too
                _find_only(runtime.chain, runtime.engine, runtime.settings)
            if isinstance(lock, PgLeaderLock):
                runtime.standby = _Standby(runtime, lock)
            return
    _run_chain_workers(runtime, lock)


def _key_lock(runtime: Runtime) -> KeyLock:
    return key_lock(runtime.engine, runtime.settings.data_dir, runtime.chain.sender.address)


class _Standby:
    """Polls the leader lock of a PostgreSQL-shared key; starts the chain workers here the
    moment the leader's session ends (its process died, or stopped)."""

    def __init__(self, runtime: Runtime, lock: PgLeaderLock, poll: float = 0.25) -> None:
        self.runtime = runtime
        self.lock = lock
        self.poll = poll
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="chainproof-standby", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.poll):
            try:
                self.lock.acquire()
            except ConflictError:
                continue
            except Exception as exc:  # the database away for a moment: try again
                log.warning("standby could not ask for the leader lock", error=str(exc))
                continue
            log.warning("leader gone: this process takes over", signer=self.lock.signer)
            _run_chain_workers(self.runtime, self.lock)
            return

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10.0)


def _run_chain_workers(runtime: Runtime, lock: KeyLock) -> None:
    settings, chain = runtime.settings, runtime.chain
    runtime.leader_lock = lock
    deploy_role(chain).find_only = False  # the key's leader: it may deploy what is missing
    runtime.batcher_note = None
    runtime.led_since = time.time()
    finality = finality_policy(chain, settings)
    log.info("anchors count as final after " + finality.describe())
    batcher = Batcher(
        engine=runtime.engine,
        chain=chain,
        batch_size=settings.batch_size,
        interval_ms=settings.batch_interval_ms,
        confirmations=finality.confirmations,
        finality=finality,
        stuck_after=settings.stuck_after_s,
        gas_cap=settings.gas_cap,
        member_secret=settings.secret_key.get_secret_value(),
        turns=runtime.engine_state.turns,
    )
    writer = start_writer(runtime.engine, chain, settings)
    batcher.writer = writer
    runtime.writer = writer
    batcher.start()
    runtime.batcher = batcher
    runtime.publisher = _start_trace_publisher(runtime)
    runtime.revealer = Revealer(
        engine=runtime.engine,
        chain=chain,
        secret_key=settings.secret_key.get_secret_value(),
        confirmations=finality.confirmations,
    )
    runtime.revealer.start()
    runtime.relay, runtime.second_anchorer = start_crosschain(runtime)


def finality_policy(chain: ChainContext, settings: Settings) -> FinalityPolicy:
    """CHAINPROOF_FINALITY and CHAINPROOF_CONFIRMATIONS for this chain's kind (finality.py)."""
    return choose_policy(
        mode=settings.finality,
        confirmations=settings.confirmations,
        kind=chain.node.kind,
        w3=chain.w3,
    )


def chain_kinds(settings: Settings) -> Mapping[str, OpKind]:
    """Every kind of chain operation the writer sends (each service registers its own)."""
    return {
        **evidence_kinds(member_secret=settings.secret_key.get_secret_value()),
        **trace_kinds(data_dir=settings.data_dir),
        **tender_kinds(data_dir=settings.data_dir),
        **registry_ops.channel_kinds(),
    }


def make_writer(engine: Engine, chain: ChainContext, settings: Settings) -> ChainWriter:
    return ChainWriter(
        engine=engine,
        chain=chain,
        kinds=chain_kinds(settings),
        confirmations=finality_policy(chain, settings).confirmations,
        gas_cap=settings.gas_cap,
    )


def start_writer(engine: Engine, chain: ChainContext, settings: Settings) -> ChainWriter:
    """The chain writer of the operator's key, next to the batcher (same leader lock, same
    nonce counter): revocations, member role changes, trace heads, recalls and admin
    transfers go through it."""
    writer = make_writer(engine, chain, settings)
    writer.start()
    return writer


def send_now(
    engine: Engine,
    chain: ChainContext,
    settings: Settings,
    ops: Sequence[ChainOp],
    *,
    writer: ChainWriter | None = None,
    timeout: float = 60.0,
) -> bool:
    """Waits until ``ops`` are confirmed or failed; True when they are, False when another
    process leads the key (it sends them; the caller answers 202 and lets its caller poll).

    ``writer`` is this process's own running writer, if it leads the key: woken, then
    waited for. Where none runs, the key's lock is taken for the moment (a CLI command, an
    app without its batcher on one machine) and the operations are drained here: still one
    nonce owner per key.
    """
    ids = [op.id for op in ops]
    if not ids:
        return True
    if writer is None:
        lock = key_lock(engine, settings.data_dir, chain.sender.address)
        try:
            lock.acquire()
        except ConflictError:
            return False
        try:
            make_writer(engine, chain, settings).drain(timeout)
        finally:
            lock.release()
        return True
    writer.wake()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with Session(engine) as s:
            statuses = s.exec(select(ChainOp.status).where(col(ChainOp.id).in_(ids))).all()
        if all(st in (OpStatus.CONFIRMED.value, OpStatus.FAILED.value) for st in statuses):
            return True
        time.sleep(0.02)
    return False
