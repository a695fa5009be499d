"""Nodes we run as child processes (Anvil, Ganache) and the process hygiene they share.

Rules every child follows:

* it runs under a watchdog (``watchdog.py``, a ~100-line script, standard library only) that
  ends it when the process that started it dies, even by SIGKILL: the watchdog reads a pipe
  whose only write end is ours (EOF when we die) and, on Linux, also gets a parent-death
  signal (``PR_SET_PDEATHSIG``). That signal fires when the *thread* that forked exits, so
  every child is spawned from one long-lived thread (:class:`_Spawner`), never from a
  worker thread that may end (anyio's pool ends idle threads after 10 s);
* its own session (``start_new_session=True``), so a Ctrl-C meant for the parent does not
  kill the node behind our back (the server stops first, then stops the node), and
  ``killpg`` reaches the watchdog, the node and anything the node spawns;
* stdout and stderr go to a log file, never to a pipe: nobody drains a pipe, and a full
  pipe blocks the node mid-request;
* ``stop()`` sends SIGTERM (Anvil dumps its state and Ganache closes its database on it),
  then SIGKILL after a timeout, then reaps the process;
* a ``weakref.finalize`` stops it when its owner is collected *and* at interpreter exit
  (finalizers register with ``atexit`` by default);
* a node with a data directory records itself in ``<dir>/chain.json`` and checks that
  record before it starts (:mod:`chainproof.chain.ownership`): a chain whose server is gone
  is stopped cleanly first, one whose server is alive is never touched.
"""

from __future__ import annotations

import abc
import contextlib
import os
import platform
import signal
import subprocess
import sys
import tempfile
import threading
import weakref
from collections.abc import Sequence
from concurrent.futures import Future
from contextlib import nullcontext
from pathlib import Path
from queue import SimpleQueue
from typing import IO, Any

import structlog
from web3 import Web3

from chainproof.chain import ownership
from chainproof.chain.nodes import (
    DEV_BALANCE_ETH,
    DEV_GAS_LIMIT,
    DEV_MNEMONIC,
    DEV_PRIVATE_KEYS,
    Node,
    free_port,
    http_web3,
    wait_for_rpc,
)
from chainproof.chain.processes import listeners
from chainproof.config import get_settings
from chainproof.errors import ChainError, NodeStartError

_TAIL_BYTES = 2000
GANACHE_CHAIN_ID = 1337
WATCHDOG = Path(__file__).with_name("watchdog.py")
log = structlog.get_logger(__name__)


class _Spawner:
    """Runs ``subprocess.Popen`` on one daemon thread that lives as long as the process.

    Linux's parent-death signal follows the thread that forked the child, so a node
    started from a short-lived thread would be killed when that thread ends. Process-wide
    by nature (there is one set of threads per process), hence the one module instance.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: SimpleQueue[tuple[list[str], dict[str, Any], Future[Any]]] = SimpleQueue()
        self._thread: threading.Thread | None = None

    def popen(self, argv: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():  # first use, or after fork
                self._thread = threading.Thread(
                    target=self._run, name="chainproof-spawner", daemon=True
                )
                self._thread.start()
        done: Future[subprocess.Popen[bytes]] = Future()
        self._jobs.put((argv, kwargs, done))
        return done.result()

    def _run(self) -> None:
        while True:
            argv, kwargs, done = self._jobs.get()
            try:
                done.set_result(subprocess.Popen(argv, **kwargs))
            except BaseException as exc:  # handed to the caller, which raises it
                done.set_exception(exc)


_spawner = _Spawner()


def _terminate(proc: subprocess.Popen[bytes], timeout: float, record_dir: Path | None) -> None:
    """SIGTERM the child's process group, SIGKILL it after ``timeout``, then reap it and
    drop its record.

    A module function, not a method, so the finalizer holds no reference to its owner.
    """
    if proc.poll() is None:
        # The child leads its own session, so its pgid is its pid; killpg also reaches
        # grandchildren. ProcessLookupError: it exited between poll() and here.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    # Leftovers of the group (normally none; a node that forks helpers). Safe after the
    # leader is reaped: Linux does not hand out a pid still in use as a process-group id.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    if proc.stdin is not None:
        proc.stdin.close()  # the watchdog's pipe: it is gone already, nothing reads it
    if record_dir is not None:
        ownership.remove_record(record_dir, proc.pid)


class ManagedProcess:
    """One node process under its watchdog: ``start()`` spawns it, ``stop()`` ends it and
    reaps it. ``pid`` is the watchdog's, which leads the node's process group; its exit
    status is the node's."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        name: str,
        log_path: Path | None = None,
        stop_timeout: float = 10.0,
        record_dir: Path | None = None,
    ) -> None:
        self.argv = list(argv)
        self.name = name
        self.log_path = log_path
        self.stop_timeout = stop_timeout
        self.record_dir = record_dir  # whose chain.json names this process, if any
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._log_start = 0
        self._finalizer: weakref.finalize[..., ManagedProcess] | None = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def returncode(self) -> int | None:
        return self._proc.poll() if self._proc is not None else None

    def is_alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        if self.is_alive():
            return
        self._close_log()
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log = self.log_path.open("a+b")  # appends across restarts; readable for the tail
        else:
            # Unnamed and gone on close: still lets us quote the tail on a failed start.
            # Not a `with`: it must stay open for the child's lifetime (closed in stop()).
            self._log = tempfile.TemporaryFile()  # noqa: SIM115
        self._log_start = self._log.tell()
        # -I -S: the watchdog needs the standard library only; no site, no PYTHONPATH.
        watched = [sys.executable, "-I", "-S", str(WATCHDOG), str(os.getpid()), "--", *self.argv]
        try:
            self._proc = _spawner.popen(
                watched,
                stdin=subprocess.PIPE,  # the watchdog's lifeline: EOF when we die
                stdout=self._log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
            )
        except OSError as exc:
            self._close_log()
            raise NodeStartError(f"cannot run {self.name} ({self.argv[0]}): {exc}") from exc
        self._finalizer = weakref.finalize(
            self, _terminate, self._proc, self.stop_timeout, self.record_dir
        )

    def stop(self) -> None:
        if self._finalizer is not None:
            self._finalizer()  # runs _terminate once and unregisters it from atexit
            self._finalizer = None
        self._close_log()

    def log_tail(self, max_bytes: int = _TAIL_BYTES) -> str:
        """What the child wrote since its last start, last ``max_bytes`` of it."""
        if self._log is None or self._log.closed:
            return ""
        self._log.flush()
        end = os.fstat(self._log.fileno()).st_size
        start = max(self._log_start, end - max_bytes)
        # pread, not seek+read: the child shares this file offset (a dup of our descriptor),
        # and moving it would make the child overwrite its own output.
        try:
            data = os.pread(self._log.fileno(), end - start, start)
        except OSError as exc:  # the tail only decorates an error: never replace it
            return f"(cannot read the log: {exc})"
        return data.decode("utf-8", "replace").strip()

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None


def start_and_wait(process: ManagedProcess, url: str, *, timeout: float) -> None:
    """Start ``process`` and wait for RPC at ``url``; on failure stop it and quote its log."""
    process.start()
    try:
        wait_for_rpc(url, timeout, alive=process.is_alive)
    except ChainError as exc:
        tail = process.log_tail() or "(no output)"
        code = process.returncode
        process.stop()
        if code is not None:
            what = f"{process.name} exited with code {code} before answering at {url}"
        else:
            what = f"{process.name} did not come up: {exc.message}"
        raise NodeStartError(
            f"{what}\n--- {process.name} output ---\n{tail}", url=url, returncode=code
        ) from exc


def _holds_port(process: ManagedProcess, port: int) -> bool:
    """Whether the node ``process`` leads (its watchdog leads the node's process group)
    listens on ``port``; True where the OS cannot tell (no listener found: off Linux)."""
    holders = listeners(port)
    for info in holders:
        with contextlib.suppress(OSError):
            if info.pid == process.pid or os.getpgid(info.pid) == process.pid:
                return True
    return not holders


class _ManagedHttpNode(Node):
    """A node we run as a child process and reach over HTTP on 127.0.0.1."""

    def __init__(self, *, port: int | None, root: Path | None, start_timeout: float) -> None:
        self._port = port
        self._root = root
        self.start_timeout = start_timeout
        self._process: ManagedProcess | None = None
        self._w3: Web3 | None = None

    @abc.abstractmethod
    def _argv(self, port: int) -> list[str]: ...

    @abc.abstractmethod
    def _log_path(self) -> Path | None: ...

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def port(self) -> int | None:
        return self._port

    def _record_dir(self) -> Path | None:
        """The data directory whose ``chain.json`` names this node (its state's folder)."""
        log_path = self._log_path()
        return log_path.parent if log_path is not None else None

    def start(self) -> None:
        if self.is_running():
            return
        if self._process is not None:
            self._process.stop()  # it died on its own: reap it and close its log
        record_dir = self._record_dir()
        with ownership.claim(record_dir) if record_dir is not None else nullcontext():
            if record_dir is not None:
                self._check_owner(record_dir)
            self._start(record_dir)

    def _check_owner(self, record_dir: Path) -> None:
        """Stops the directory's chain if its server is gone; refuses if its server lives."""
        note = ownership.reclaim_orphan(record_dir)
        if note is not None:
            log.warning("orphaned chain stopped", detail=note)
        found = ownership.inspect(record_dir)
        if found.state == "served":
            assert found.record is not None
            raise NodeStartError(
                f"{found.describe(record_dir)}: a second {self.kind} on the same state would "
                f"fork the chain; share it with --chain {found.record.rpc_url}, or stop that "
                "server first",
                url=found.record.rpc_url,
            )

    def _start(self, record_dir: Path | None) -> None:
        fixed = self._port is not None
        # A port picked by free_port() can be taken before the node binds it; pick again.
        for attempt in range(1 if fixed else 3):
            port = self._port if self._port is not None else free_port()
            url = f"http://127.0.0.1:{port}"
            process = ManagedProcess(
                self._argv(port), name=self.kind, log_path=self._log_path(), record_dir=record_dir
            )
            try:
                start_and_wait(process, url, timeout=self.start_timeout)
            except NodeStartError as exc:
                in_use = "in use" in exc.message or "EADDRINUSE" in exc.message
                if fixed or not in_use or attempt == 2:
                    raise
                continue
            if not _holds_port(process, port):
                # free_port()'s race, lost the other way: another node took the port first,
                # answered our readiness probe, and ours could not bind. Adopting it would put
                # two owners on one chain (nonces, deployments), and it goes when its owner
                # stops: never use a stranger's node, pick again.
                process.stop()
                if fixed or attempt == 2:
                    raise NodeStartError(
                        f"another process holds {url}: {self.kind} could not take it", url=url
                    )
                continue
            if record_dir is not None and process.pid is not None:
                record = ownership.ChainRecord.for_process(
                    kind=self.kind, pid=process.pid, port=port, argv=process.argv
                )
                ownership.write_record(record_dir, record)
            # Keep the port for later restarts so URLs handed out stay valid.
            self._port, self._process, self.rpc_url = port, process, url
            self._w3 = http_web3(url)
            return

    def stop(self) -> None:
        if self._process is not None:
            self._process.stop()
        self._w3 = None

    def is_running(self) -> bool:
        return self._process is not None and self._process.is_alive()

    def web3(self) -> Web3:
        if self._w3 is None:
            raise ChainError(f"the {self.kind} node is not started; call start() first")
        return self._w3


def anvil_binary(root: Path | None = None) -> Path:
    """Anvil's native binary from ``@foundry-rs/anvil`` (not its Node.js shim, which would
    put a ``node`` process between us and the chain)."""
    base = (root or get_settings().root) / "node_modules" / "@foundry-rs"
    system = {"linux": "linux", "darwin": "darwin", "win32": "win32"}.get(sys.platform, "")
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(
        platform.machine().lower(), ""
    )
    candidate = base / f"anvil-{system}-{arch}" / "bin" / "anvil"
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return candidate
    raise NodeStartError(
        f"anvil is not installed under {base}: run `npm install` in {base.parent.parent}"
    )


def ganache_binary(root: Path | None = None) -> Path:
    base = root or get_settings().root
    path = base / "node_modules" / ".bin" / "ganache"
    if not path.exists():
        raise NodeStartError(f"ganache is not installed under {path}: run `npm install` in {base}")
    if not any((Path(d) / "node").is_file() for d in os.get_exec_path()):
        raise NodeStartError("ganache needs Node.js: `node` is not on PATH")
    return path


class AnvilNode(_ManagedHttpNode):
    """Foundry's Anvil. With ``state_file`` the chain survives restarts (same genesis hash,
    blocks and contracts); it is dumped on SIGTERM and every second, so a SIGKILL loses at
    most about a second of blocks."""

    kind = "anvil"

    def __init__(
        self,
        *,
        state_file: Path | None = None,
        port: int | None = None,
        chain_id: int | None = None,
        block_time: float | None = None,
        root: Path | None = None,
        start_timeout: float = 10.0,
        extra_args: Sequence[str] = (),
    ) -> None:
        super().__init__(port=port, root=root, start_timeout=start_timeout)
        self.state_file = state_file
        self.chain_id_override = chain_id
        self.block_time = block_time
        # More anvil flags, e.g. a free-gas network: ("--base-fee", "0", "--gas-price", "0").
        self.extra_args = list(extra_args)

    def _argv(self, port: int) -> list[str]:
        argv = [
            str(anvil_binary(self._root)),
            *("--host", "127.0.0.1", "--port", str(port), "--silent"),
            # Anvil's defaults today, spelled out so every dev chain stays identical.
            *("--mnemonic", DEV_MNEMONIC, "--accounts", str(len(DEV_PRIVATE_KEYS))),
            *("--balance", str(DEV_BALANCE_ETH), "--gas-limit", str(DEV_GAS_LIMIT)),
        ]
        if self.chain_id_override is not None:
            argv += ["--chain-id", str(self.chain_id_override)]
        if self.block_time is not None:
            argv += ["--block-time", f"{self.block_time:g}"]
        if self.state_file is not None:
            # Never pre-create the file: Anvil refuses an empty one as invalid JSON.
            self.state_file.parent.mkdir(parents=True, exist_ok=True)
            argv += ["--state", str(self.state_file), "--state-interval", "1"]
        return argv + self.extra_args

    def _log_path(self) -> Path | None:
        return self.state_file.parent / "anvil.log" if self.state_file is not None else None


class GanacheNode(_ManagedHttpNode):
    """Ganache 7 (shanghai at most). With ``db_path`` the chain survives restarts."""

    kind = "ganache"

    def __init__(
        self,
        *,
        db_path: Path | None = None,
        port: int | None = None,
        chain_id: int | None = None,
        root: Path | None = None,
        start_timeout: float = 20.0,  # Node.js start-up is ~1 s, more on a loaded machine
    ) -> None:
        super().__init__(port=port, root=root, start_timeout=start_timeout)
        self.db_path = db_path
        self.chain_id_override = chain_id or GANACHE_CHAIN_ID

    def _argv(self, port: int) -> list[str]:
        chain_id = str(self.chain_id_override)
        argv = [
            str(ganache_binary(self._root)),
            *("--server.host", "127.0.0.1", "--server.port", str(port), "--logging.quiet"),
            *("--wallet.mnemonic", DEV_MNEMONIC),
            *("--wallet.totalAccounts", str(len(DEV_PRIVATE_KEYS))),
            *("--wallet.defaultBalance", str(DEV_BALANCE_ETH)),
            *("--chain.hardfork", "shanghai", "--chain.chainId", chain_id),
            *("--chain.networkId", chain_id, "--miner.blockGasLimit", str(DEV_GAS_LIMIT)),
        ]
        if self.db_path is not None:
            self.db_path.mkdir(parents=True, exist_ok=True)
            argv += ["--database.dbPath", str(self.db_path)]
        return argv

    def _log_path(self) -> Path | None:
        return self.db_path.parent / "ganache.log" if self.db_path is not None else None
