"""What the benchmarks run against: fresh Anvil nodes and a real server process.

The server is ``uvicorn chainproof.api.app:create_app --factory`` in its own process, on a
free port, with its own data directory (SQLite) and pointed at an Anvil this module started:
its CPU and memory (peak RSS from ``/proc``) are then its own, as in production.
``more_workers`` starts a second server on the same data, in several worker processes
(``benchmarks/serve.py``), for the read-only verify measurement.
"""

from __future__ import annotations

import http.client
import itertools
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chainproof.chain.context import ChainContext, open_chain
from chainproof.chain.nodes import free_port
from chainproof.config import DEV_OPERATOR_KEY


@contextmanager
def fresh_chain(data_dir: Path) -> Iterator[ChainContext]:
    """A new Anvil on a free port with EvidenceRegistry deployed. A fresh node per
    measurement: Anvil slows down as its chain grows (RECIPES.md)."""
    ctx = open_chain(
        chain="anvil", data_dir=data_dir, operator_key=DEV_OPERATOR_KEY, port=free_port()
    )
    try:
        yield ctx
    finally:
        ctx.stop()


@dataclass
class Server:
    url: str
    host: str
    port: int
    process: subprocess.Popen[bytes]
    data_dir: Path
    database_url: str
    api_key: str
    # Several server processes (``more_workers``): one port each, connections dealt out
    # round-robin over them, as a load balancer would.
    ports: list[int] = field(default_factory=list)
    _next: itertools.count[int] = field(default_factory=itertools.count)

    @property
    def pid(self) -> int:
        return self.process.pid

    def connection(self, timeout: float = 60.0) -> http.client.HTTPConnection:
        ports = self.ports or [self.port]
        port = ports[next(self._next) % len(ports)]
        return http.client.HTTPConnection(self.host, port, timeout=timeout)

    def rss_kib(self) -> int:
        return _proc_status_kib(self.pid, "VmRSS")

    def peak_rss_kib(self) -> int:
        return _proc_status_kib(self.pid, "VmHWM")

    def reset_peak_rss(self) -> None:
        """Sets the peak (VmHWM) back to the current RSS (Linux ``clear_refs`` 5)."""
        Path(f"/proc/{self.pid}/clear_refs").write_text("5")

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server and its worker processes so far."""
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0
        for pid in _process_tree(self.pid):
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # exited meanwhile
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)
        return total / ticks


def _process_tree(pid: int) -> list[int]:
    out = [pid]
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children = (task / "children").read_text().split()
        except OSError:
            continue
        for child in children:
            out.extend(_process_tree(int(child)))
    return out


def _proc_status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} for process {pid}")


def request_json(
    conn: http.client.HTTPConnection,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    conn.request(method, path, body=body, headers=headers or {})
    resp = conn.getresponse()
    data = resp.read()
    return resp.status, (json.loads(data) if data else None)


@contextmanager
def running_server(
    data_dir: Path,
    chain_url: str,
    *,
    batch_size: int = 10_000,
    batch_interval_ms: int = 500,
) -> Iterator[Server]:
    """Starts the API (with its batcher) on ``chain_url`` and a submitter key for it."""
    from chainproof.identity import create_api_key
    from chainproof.store.db import open_session, upgrade

    data_dir.mkdir(parents=True, exist_ok=True)
    database_url = f"sqlite:///{data_dir / 'chainproof.db'}"
    upgrade(database_url)
    with open_session(database_url) as s:
        _, api_key = create_api_key(session=s, org="bench", role="submitter")
    port = free_port()
    env = _server_env(data_dir, database_url, chain_url, batch_size, batch_interval_ms)
    argv = [
        sys.executable,
        *("-m", "uvicorn", "chainproof.api.app:create_app", "--factory"),
        *("--host", "127.0.0.1", "--port", str(port)),
        *("--log-level", "warning", "--no-access-log"),
    ]
    with _process(argv, env, data_dir / "server.log") as proc:
        server = Server(
            url=f"http://127.0.0.1:{port}",
            host="127.0.0.1",
            port=port,
            process=proc,
            data_dir=data_dir,
            database_url=database_url,
            api_key=api_key,
        )
        _wait_ready(server, timeout=60.0)
        yield server


@contextmanager
def more_workers(server: Server, chain_url: str, *, workers: int) -> Iterator[Server]:
    """A second server on ``server``'s data (database, deployment record, keys) in
    ``workers`` processes (``benchmarks/serve.py``). Their batchers stay on standby
    (``server`` holds the batcher lock), so they only answer: the verify measurement runs
    against them as well."""
    ports = [free_port() for _ in range(workers)]
    env = _server_env(server.data_dir, server.database_url, chain_url, 10_000, 500)
    argv = [
        sys.executable,
        *("-m", "benchmarks.serve", "--ports", ",".join(map(str, ports))),
    ]
    log = server.data_dir / f"server-{workers}-workers.log"
    with _process(argv, env, log, cwd=Path(__file__).resolve().parent.parent) as proc:
        more = Server(
            url=f"http://127.0.0.1:{ports[0]}",
            host="127.0.0.1",
            port=ports[0],
            process=proc,
            data_dir=server.data_dir,
            database_url=server.database_url,
            api_key=server.api_key,
            ports=ports,
        )
        for port in ports:
            _wait_ready(more, timeout=60.0, log=log, port=port)
        yield more


def _server_env(
    data_dir: Path, database_url: str, chain_url: str, batch_size: int, batch_interval_ms: int
) -> dict[str, str]:
    return {
        **os.environ,
        "CHAINPROOF_DATA_DIR": str(data_dir),
        "CHAINPROOF_DATABASE_URL": database_url,
        "CHAINPROOF_CHAIN": chain_url,
        "CHAINPROOF_BATCH_SIZE": str(batch_size),
        "CHAINPROOF_BATCH_INTERVAL_MS": str(batch_interval_ms),
        # The benchmark is the flood the rate limits exist to stop: lift them.
        "CHAINPROOF_RATE_LIMIT_ANCHOR": "1000000/second",
        "CHAINPROOF_RATE_LIMIT_KEYS": "1000000/second",
        "CHAINPROOF_RATE_LIMIT_VERIFY": "1000000/second",
        "CHAINPROOF_RATE_LIMIT_TRACE_HASH": "1000000/second",
        "CHAINPROOF_RATE_LIMIT_EXPLORER": "1000000/second",
        "CHAINPROOF_RATE_LIMIT_RENDER": "1000000/second",
        "CHAINPROOF_RATE_LIMIT_SCAN": "1000000/second",
        "CHAINPROOF_ENV": "development",
    }


@contextmanager
def _process(
    argv: list[str], env: dict[str, str], log_path: Path, cwd: Path | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    log = log_path.open("wb")
    proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=cwd)
    try:
        yield proc
    finally:
        proc.terminate()  # uvicorn's supervisor stops its workers on SIGTERM
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _wait_ready(
    server: Server, *, timeout: float, log: Path | None = None, port: int | None = None
) -> None:
    log = log or server.data_dir / "server.log"
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"the server exited with {server.process.returncode}:\n{tail}")
        try:
            conn = http.client.HTTPConnection(server.host, port or server.port, timeout=2)
            status, body = request_json(conn, "GET", "/readyz")
            conn.close()
            if status == 200:
                return
            last = f"{status} {body}"
        except OSError as exc:
            last = str(exc)
        time.sleep(0.1)
    raise RuntimeError(f"the server was not ready within {timeout}s: {last}")
