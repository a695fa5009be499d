"""``chainproof serve / worker / reindex / status``: run and inspect a ChainProof server.

Every option defaults from the settings (``CHAINPROOF_HOST``, ``CHAINPROOF_PORT``,
``CHAINPROOF_DATA_DIR``, ``CHAINPROOF_CHAIN``, ...); the command line only overrides them.

Processes and the chain node:

* ``serve`` runs the API; its lifespan starts the managed node (anvil, ganache), migrates,
  finds or deploys the registry and runs the batcher, and stops all of it on Ctrl-C or
  SIGTERM (uvicorn turns both into a graceful shutdown).
* ``worker`` runs only the batcher. On a managed chain it starts its own node, so point it at
  a running server's node with ``--chain <rpc_url>`` (``GET /api/v1/chain``) instead; with a
  URL no node is started. One batcher per signing key: the data directory's leader lock
  refuses a second one before any node is started.
* ``reindex`` rebuilds the anchor index from the contract's events.
* ``status`` reads the data directory and the database, and asks a running server if any;
  it never starts a node.
"""

from __future__ import annotations

import json
import os
import signal
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from chainproof.cli.signals import stop_on_signals
from chainproof.client import DEFAULT_SERVER, ChainProofClient
from chainproof.errors import ChainProofError
from chainproof.vocabulary import MANAGED_CHAINS, ChainKind, chain_kind

# The settings, the chain, store and web stacks (pydantic-settings, web3, SQLAlchemy,
# Alembic, FastAPI) are imported inside the commands that use them: `chainproof anchor`
# should not pay for them at start-up, and `verify-receipt` runs without the server extra.
if TYPE_CHECKING:
    from sqlalchemy import Engine

    from chainproof.chain.context import ChainContext
    from chainproof.config import Settings
    from chainproof.evidence.batcher import LeaderLock
    from chainproof.store.leader import KeyLock

__all__ = ["register", "settings_with"]

_out = Console(highlight=False)
_err = Console(stderr=True, highlight=False)

DataDirOption = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        file_okay=False,
        help="Data directory: SQLite database, chain state, deployments "
        "[default: CHAINPROOF_DATA_DIR, ./data].",
        show_default=False,
    ),
]
ChainOption = Annotated[
    str | None,
    typer.Option(
        "--chain",
        help="anvil | ganache | embedded | an http(s):// JSON-RPC URL "
        "[default: CHAINPROOF_CHAIN, anvil].",
        show_default=False,
    ),
]


def _fail(message: str, code: int = 2) -> NoReturn:
    """One red line on stderr (details, such as a node's log tail, follow plain); no traceback."""
    first, _, rest = message.partition("\n")
    _err.print(f"[red]error: {escape(first)}[/red]", soft_wrap=True)
    if rest:
        _err.print(escape(rest), soft_wrap=True)
    raise typer.Exit(code)


def settings_with(**overrides: Any) -> Settings:
    """The settings from the environment with the command line's ``overrides`` on top.

    The overrides go through the environment (``CHAINPROOF_<NAME>``) and ``get_settings``'
    cache is cleared, so they are validated like any setting and every ``get_settings()``
    deeper in the stack (node launchers, scripts) sees the same data directory and chain as
    the object returned here. Bad values become one red line, exit 2.
    """
    for name, value in overrides.items():
        if value is None:
            continue
        if isinstance(value, Path):
            # Absolute, so the server and the node it starts agree whatever their cwd.
            value = value.expanduser().resolve()
        os.environ[f"CHAINPROOF_{name.upper()}"] = str(value)
    from chainproof.config import get_settings

    get_settings.cache_clear()
    try:
        return get_settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'settings'}: "
            f"{str(err['msg']).removeprefix('Value error, ')}"
            for err in exc.errors()
        )
        _fail(f"invalid settings: {problems}")
    except ChainProofError as exc:
        _fail(exc.message)


def _migrate(settings: Settings) -> str:
    from chainproof.store.db import upgrade

    url = settings.resolved_database_url
    try:
        upgrade(url)
    except ChainProofError as exc:
        _fail(exc.message)
    return url


def _open_chain(settings: Settings, *, deploy_if_missing: bool = True) -> ChainContext:
    from chainproof.chain.configured import open_configured_chain

    try:
        return open_configured_chain(settings, deploy_if_missing=deploy_if_missing)
    except ChainProofError as exc:
        _fail(exc.message)


def _leader_lock(settings: Settings, what: str) -> LeaderLock:
    """The data directory's batcher lock, taken; refuses when a server or worker holds it."""
    from eth_account import Account

    from chainproof.evidence.batcher import LeaderLock

    signer = Account.from_key(settings.operator_key.get_secret_value()).address
    lock = LeaderLock(settings.data_dir, signer)
    try:
        lock.acquire()
    except ChainProofError:
        _fail(
            f"a server or worker is already running on {settings.data_dir} (it holds "
            f"{lock.path}); {what}"
        )
    return lock


def _pg_key_leader(engine: Engine, settings: Settings) -> KeyLock | None:
    """The operator key's PostgreSQL leadership, taken if free (None: another process leads;
    ``start_runtime`` then stands by for it)."""
    from eth_account import Account

    from chainproof.runtime import key_lock

    signer = Account.from_key(settings.operator_key.get_secret_value()).address
    lock = key_lock(engine, settings.data_dir, signer)
    try:
        lock.acquire()
    except ChainProofError:
        return None
    return lock


# ---- serve ---------------------------------------------------------------------------------


def serve(
    host: Annotated[
        str | None,
        typer.Option(
            "--host",
            help="Address to listen on [default: CHAINPROOF_HOST, 127.0.0.1].",
            show_default=False,
        ),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(
            "--port",
            min=1,
            max=65535,
            show_default=False,
            help="Port to listen on [default: CHAINPROOF_PORT, 8000].",
        ),
    ] = None,
    data_dir: DataDirOption = None,
    chain: ChainOption = None,
    chain_port: Annotated[
        int | None,
        typer.Option(
            "--chain-port",
            min=1,
            max=65535,
            show_default=False,
            help="RPC port of the anvil/ganache node it starts [default: CHAINPROOF_CHAIN_PORT, "
            f"else {STANDARD_RPC_PORT}, else (held by another process) a free one].",
        ),
    ] = None,
    no_batcher: Annotated[
        bool,
        typer.Option("--no-batcher", help="Serve the API only; run `chainproof worker` apart."),
    ] = False,
) -> None:
    """Run the API, the batcher and (for anvil/ganache) the chain node; Ctrl-C stops all."""
    settings = settings_with(
        host=host, port=port, data_dir=data_dir, chain=chain, chain_port=chain_port
    )
    settings = _choose_chain_port(settings)
    _preflight(settings)
    import uvicorn

    from chainproof.api.app import create_app
    from chainproof.chain.nodes import display_url
    from chainproof.store.db import redact_url

    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        app = create_app(settings, run_batcher=not no_batcher)
    except ChainProofError as exc:
        _fail(exc.message)
    except OSError as exc:
        _fail(f"cannot use the data directory {settings.data_dir}: {exc}")
    chain_shown = display_url(settings.chain) if "://" in settings.chain else settings.chain
    if chain_kind(settings.chain) in MANAGED_CHAINS and settings.chain_port:
        chain_shown += f" (RPC http://127.0.0.1:{settings.chain_port})"
    _err.print(
        f"ChainProof on http://{settings.host}:{settings.port}  chain {chain_shown}  data "
        f"{settings.data_dir}  database {redact_url(settings.resolved_database_url)}"
        + ("  (no batcher)" if no_batcher else ""),
        soft_wrap=True,
    )
    # uvicorn handles SIGINT and SIGTERM itself: it stops accepting, finishes requests for
    # at most timeout_graceful_shutdown seconds, then runs the lifespan's shutdown (batcher,
    # node, engine), and only then re-raises the signal.
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level="info",
        log_config=None,  # its loggers already write through structlog (logs.py)
        timeout_graceful_shutdown=5,
    )


STANDARD_RPC_PORT = 8545


def _choose_chain_port(settings: Settings) -> Settings:
    """The managed node's port, by one rule for ``serve``, ``demo``, ``make run`` and ``make
    demo`` (README, "The chain's port"). First the data directory's own chain: one whose
    server is gone is stopped cleanly (it saves its state; ours loads it), one whose server
    runs is never touched and this start is refused. Then the port: ``--chain-port`` /
    ``CHAINPROOF_CHAIN_PORT`` if set, else 8545 (receipts are checked against the node's URL,
    so it should not move with every restart). A port held by a process that is not this
    directory's chain is never taken: its PID and command line are printed, and a default
    port moves to a free one while a port you chose stops the start."""
    kind = chain_kind(settings.chain)
    if kind not in MANAGED_CHAINS:
        return settings
    from chainproof.chain import ownership
    from chainproof.chain.nodes import bindable, free_port

    directory = settings.data_dir
    try:
        note = ownership.reclaim_orphan(directory)
    except OSError as exc:
        _fail(f"cannot use the data directory {directory}: {exc}")
    if note is not None:
        _err.print(f"[yellow]{escape(note)}[/yellow]", soft_wrap=True)
    found = ownership.inspect(directory)
    if found.state == "served":
        assert found.record is not None
        _fail(
            f"{found.describe(directory)}: a second {kind} on the same state would fork the "
            f"chain; share it with --chain {found.record.rpc_url}, or stop that server first"
        )
    chosen = settings.chain_port
    wanted = chosen or STANDARD_RPC_PORT
    if bindable(wanted):
        return settings if chosen else settings_with(chain_port=wanted)
    holder = _port_holder(wanted)
    if chosen:
        _fail(
            f"cannot start {kind} on port {wanted}: it is held by {holder}; choose another with "
            "--chain-port or CHAINPROOF_CHAIN_PORT, or end that process"
        )
    port = free_port()
    _err.print(
        f"port {wanted} is held by {holder}: the {kind} node gets port {port} "
        "(pin one with --chain-port or CHAINPROOF_CHAIN_PORT)",
        soft_wrap=True,
    )
    return settings_with(chain_port=port)


def _port_holder(port: int) -> str:
    """``pid N (command line)`` of whoever listens on ``port``, for the user to act on."""
    from chainproof.chain.processes import describe, listeners

    holders = listeners(port)
    if not holders:
        return "a process ChainProof cannot see (another user's, or not on Linux: try `ss -ltnp`)"
    return ", ".join(describe(info) for info in holders)


def _preflight(settings: Settings) -> None:
    """Fails fast, in one red line, on what would otherwise fail inside the app's lifespan,
    where uvicorn prints a traceback, possibly after starting and deploying to a node for
    nothing: a taken port, an unknown chain, a missing node binary, an unreachable RPC URL.
    """
    from chainproof.chain.managed import anvil_binary, ganache_binary
    from chainproof.chain.nodes import (
        bindable,
        display_url,
        embedded_backend,
        make_node,
        rpc_chain_id,
    )

    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # As uvicorn binds: sockets of an earlier run in TIME_WAIT do not count as taken.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((settings.host, settings.port))
        except OSError as exc:
            _fail(
                f"cannot listen on {settings.host}:{settings.port}: {exc.strerror or exc} "
                "(is another server running there? choose one with --port)"
            )
    kind = chain_kind(settings.chain)
    port = settings.chain_port
    # Taken since _choose_chain_port looked (or it was not called): the same refusal.
    if kind in MANAGED_CHAINS and port is not None and not bindable(port):
        _fail(
            f"cannot start {kind} on port {port}: it is held by {_port_holder(port)}; "
            "choose another with --chain-port or CHAINPROOF_CHAIN_PORT"
        )
    try:
        make_node(settings.chain, data_dir=settings.data_dir)  # checks the spec; starts nothing
        if kind == ChainKind.ANVIL:
            anvil_binary()
        elif kind == ChainKind.GANACHE:
            ganache_binary()
        elif kind == ChainKind.URL and "," not in settings.chain:
            rpc_chain_id(settings.chain.strip(), timeout=10.0)
        # Several endpoints: the pool's first health round, at start, names each bad one.
        elif kind == ChainKind.EMBEDDED:
            embedded_backend()  # an install without the `embedded` extra
    except ChainProofError as exc:
        _fail(exc.message)
    except Exception as exc:  # httpx errors, a non-JSON answer: the node is not usable
        _fail(
            f"cannot reach the JSON-RPC node at {display_url(settings.chain)}: "
            f"{type(exc).__name__}: {exc}"
        )


# ---- worker --------------------------------------------------------------------------------


def worker(
    data_dir: DataDirOption = None,
    chain: ChainOption = None,
) -> None:
    """Run the batcher, the chain writer and the trace head publisher (no HTTP) on the data
    directory's database, until SIGTERM: anchoring, the revocations and member admissions API
    replicas enqueue, and trace heads.

    With a URL for --chain no node is started: use the server's rpc_url (GET /api/v1/chain)
    to share its managed node. Exit 0 after SIGTERM/SIGINT, 2 on errors.
    """
    from chainproof.chain.nodes import display_url
    from chainproof.runtime import find_trace_registry, start_runtime
    from chainproof.store.db import make_engine
    from chainproof.store.shared_files import shared_deployments

    settings = settings_with(data_dir=data_dir, chain=chain)
    if chain_kind(settings.chain) == ChainKind.EMBEDDED:
        _fail(
            "the embedded chain lives inside one process, where no server can see it: run "
            "`chainproof serve --chain embedded` (it runs the batcher itself)"
        )
    url = _migrate(settings)
    lock = _leader_lock(settings, "one batcher per signing key")
    try:
        with stop_on_signals() as stopping:
            engine = make_engine(url)
            shared = engine.dialect.name == "postgresql"
            # Deploying is sending with the operator's key: only its one nonce owner does it.
            # On SQLite this process holds the key's lock already; on PostgreSQL it asks for
            # the key's leadership first, and a standby (another worker leads) deploys
            # nothing: the leader found or deployed every contract at its own start.
            leader = _pg_key_leader(engine, settings) if shared else lock
            # The deployment records another host wrote, from the database; ours, to it.
            with shared_deployments(engine, settings.data_dir):
                context = _open_chain(settings)
                if leader is not None:
                    find_trace_registry(context, settings)
            # The same composition root as `serve`: batcher, chain writer, trace heads. On
            # PostgreSQL the key's leader is elected there (an advisory lock: workers on
            # other hosts stand by and take over); on SQLite the data dir's lock decides.
            runtime = start_runtime(settings, chain=context, engine=engine, leader_lock=leader)
            stop_metrics = None
            if settings.worker_metrics:
                from chainproof.metrics import serve_worker_metrics

                stop_metrics = serve_worker_metrics(runtime, settings.worker_metrics)
            try:
                node = context.node
                where = display_url(node.rpc_url) if node.rpc_url else node.kind
                role = (
                    "standing by for the key's leader"
                    if runtime.batcher is None
                    else f"batching every {settings.batch_size} documents or "
                    f"{settings.batch_interval_ms} ms, sending chain operations and trace heads"
                )
                _err.print(
                    f"worker {os.getpid()}: {context.deployment.contract} {context.contract} "
                    f"on chain {context.chain_id} ({where}): {role}; SIGTERM or Ctrl-C stops it",
                    soft_wrap=True,
                )
                while not stopping.wait(0.5):
                    # An external node may come back (the batcher retries); our own will not.
                    if node.managed and not node.is_running():
                        _fail(f"the {node.kind} node exited; see its log in {settings.data_dir}")
                _err.print("stopping the worker…")
            finally:
                if stop_metrics is not None:
                    stop_metrics()
                runtime.close()  # the workers; releases the lock (taken above)
                context.stop()
                engine.dispose()
    finally:
        lock.release()
    _err.print("worker stopped")


# ---- reindex -------------------------------------------------------------------------------


def reindex(
    data_dir: DataDirOption = None,
    chain: ChainOption = None,
    from_block: Annotated[
        int | None,
        typer.Option(
            "--from-block",
            min=0,
            help="Add events from this block on, keeping the "
            "index (default: rebuild it from the deployment block).",
        ),
    ] = None,
) -> None:
    """Rebuild the anchor index from the registry's events (the chain is the truth).

    While a server runs on the same data directory, pass its node with --chain <rpc_url>.
    """
    from chainproof.channels.registry_ops import registries_in
    from chainproof.cli.progress import progress_bar
    from chainproof.evidence.service import reindex as reindex_index
    from chainproof.store.db import open_session

    settings = settings_with(data_dir=data_dir, chain=chain)
    kind = chain_kind(settings.chain)
    if kind == ChainKind.EMBEDDED:
        _fail("a new embedded chain holds no anchors: reindex needs the chain that has them")
    url = _migrate(settings)
    # A managed node on this data directory is the running server's: a second one on the
    # same state file would fork the chain. The lock says whether a server runs.
    lock = (
        _leader_lock(settings, "pass its node with --chain <rpc_url>")
        if kind != ChainKind.URL
        else None
    )
    # SIGTERM as Ctrl-C: an exception that runs the finally blocks, which stop a managed node.
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        context = _open_chain(settings, deploy_if_missing=False)
        try:
            with open_session(url) as session, progress_bar(console=_err) as progress:
                task = progress.add_task("indexing events", total=None, unit="docs")

                def on_progress(done: int, total: int) -> None:
                    progress.update(task, completed=done, total=total)

                # Virtual channels' registries are read from this database (docs/channels.md).
                context.use_channel_registries(lambda: registries_in(session))
                counts = reindex_index(
                    session=session,
                    chain=context,
                    from_block=from_block,
                    on_progress=on_progress,
                )
        except ChainProofError as exc:
            _fail(exc.message)
        finally:
            context.stop()
    finally:
        signal.signal(signal.SIGTERM, previous)
        if lock is not None:
            lock.release()
    _out.print(
        f"reindexed {context.deployment.contract} {context.contract} on chain {context.chain_id}: "
        f"{counts['anchors']} Anchored events, {counts['revocations']} revocations; "
        f"the index holds {counts['indexed']} anchors",
        soft_wrap=True,
    )


# ---- status --------------------------------------------------------------------------------


def status(
    data_dir: DataDirOption = None,
    server: Annotated[
        str, typer.Option("--server", envvar="CHAINPROOF_SERVER", help="A server to ask too.")
    ] = DEFAULT_SERVER,
) -> None:
    """Show the registry deployments, the queue and the server, without starting a node."""
    from chainproof.evidence.batcher import batch_summary
    from chainproof.store.db import current_revision, make_engine, redact_url

    settings = settings_with(data_dir=data_dir)
    url = settings.resolved_database_url
    _row("data dir", str(settings.data_dir.resolve()))
    for record in _deployments(settings.data_dir):
        _row(
            "registry",
            f"chain {record.get('chain_id')}  contract {record.get('address')}  (deployed in "
            f"block {record.get('block_number')}, genesis {record.get('genesis_hash')})",
        )
    try:
        revision = None if _sqlite_missing(url) else current_revision(url)
    except ChainProofError as exc:
        _fail(exc.message)
    if revision is None:
        _row("database", f"{redact_url(url)}: not created yet (the server creates it)")
    else:
        engine = make_engine(url)
        try:
            summary = batch_summary(engine)
        finally:
            engine.dispose()
        _row("database", f"{redact_url(url)} (revision {revision})")
        _row("evidence", _counts(summary["evidence"], ("queued", "batched", "anchored", "revoked")))
        _row("batches", _counts(summary["batches"], ("planned", "sent", "confirmed", "orphaned")))
    _row("server", _server_line(server))


def _row(name: str, value: str) -> None:
    _out.print(f"[bold]{name:<9}[/bold] {escape(value)}", soft_wrap=True)


def _counts(counts: dict[str, int], order: tuple[str, ...]) -> str:
    names = [*order, *sorted(set(counts) - set(order))]
    return "  ".join(f"{name} {counts.get(name, 0)}" for name in names)


def _deployments(data_dir: Path) -> list[dict[str, Any]]:
    """The live deployment records (retired ones are kept aside for the audit trail)."""
    from chainproof.chain.deployments import REGISTRY

    records = []
    for path in sorted((data_dir / "deployments").glob(f"{REGISTRY}-*.json")):
        if ".retired-" in path.name:
            continue
        try:
            records.append(json.loads(path.read_text()))
        except (OSError, ValueError) as exc:
            _err.print(f"[yellow]cannot read {path}: {exc}[/yellow]", soft_wrap=True)
    return records


def _sqlite_missing(url: str) -> bool:
    """True for a SQLite file that does not exist (connecting would create it)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    database = parsed.database or ""
    return (
        parsed.get_backend_name() == "sqlite"
        and database not in ("", ":memory:")
        and not database.startswith("file:")
        and not Path(database).exists()
    )


def _server_line(server: str) -> str:
    try:
        with ChainProofClient(server, timeout=3.0) as client:
            info = client.chain_info()
            try:
                client.ready()
                state = "ready"
            except ChainProofError as exc:
                state = f"NOT READY: {exc}"
    except ChainProofError as exc:
        return f"{server}: not reachable ({exc.message})"
    return (
        f"{server} {state}; chain {info.get('chain_id')} contract {info.get('contract')} "
        f"rpc {info.get('rpc_url')}"
    )


def register(app: typer.Typer) -> None:
    """Adds ``serve``, ``worker``, ``reindex`` and ``status`` to ``app``."""
    app.command("serve")(serve)
    app.command("worker")(worker)
    app.command("reindex")(reindex)
    app.command("status")(status)
