"""Measurement 6: ingest until anchored on PostgreSQL, and the leader takeover time.

First the intake's own cost, in process and without HTTP (``submit_digests`` of 10,000
digests): on PostgreSQL through ``COPY`` and through the multi-row ``INSERT ... RETURNING``
it replaced, on one server in the same run, with SQLite beside them.

Three ingest runs of the same digests, each on a fresh Anvil and a fresh database, started
as ``chainproof`` processes from the same commands an operator runs (rate limits lifted):

* baseline: one ``chainproof serve`` on SQLite (the one-machine default);
* one ``chainproof serve`` on PostgreSQL (API + batcher in one process);
* two API replicas ``serve --no-batcher`` and one ``chainproof worker`` on PostgreSQL,
  each with its own data dir (as on separate hosts), the clients dealt over the replicas.

Each posts ``clients`` x ``per_client`` bulk requests of 10,000 digests and waits until the
database says every one is anchored. Takeover: two workers on PostgreSQL; the leader is
SIGKILLed and a member admission enqueued at once; the time until the standby has it
confirmed on chain (the lock poll, the standby starting its batcher and writer, one
transaction).
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from unittest.mock import patch

import httpx
from eth_account import Account
from sqlalchemy import Engine, func
from sqlmodel import Session, select

from benchmarks.results import Result
from benchmarks.stack import _server_env, fresh_chain
from chainproof.chain.nodes import free_port
from chainproof.chain.writer import enqueue
from chainproof.evidence import intake
from chainproof.identity import create_api_key
from chainproof.store import db
from chainproof.store.models import Evidence
from chainproof.store.ops import ChainOp

BULK = 10_000
CLI = str(Path(sys.executable).parent / "chainproof")
WAIT = 600.0


@dataclass
class Proc:
    popen: subprocess.Popen[bytes]
    log: Path
    url: str = ""

    def text(self) -> str:
        return self.log.read_text(errors="replace")


@contextmanager
def _procs() -> Iterator[list[Proc]]:
    """Processes started into the list; each stopped by its own pid on the way out."""
    started: list[Proc] = []
    try:
        yield started
    finally:
        for p in started:
            if p.popen.poll() is None:
                p.popen.send_signal(signal.SIGTERM)
        for p in started:
            try:
                p.popen.wait(15)
            except subprocess.TimeoutExpired:
                p.popen.kill()
                p.popen.wait()


def _start(
    into: list[Proc], argv: list[str], data_dir: Path, env: dict[str, str], *, port: int = 0
) -> Proc:
    data_dir.mkdir(parents=True, exist_ok=True)
    log = data_dir / "process.log"
    with log.open("ab") as out:
        popen = subprocess.Popen(
            [CLI, *argv, "--data-dir", str(data_dir)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=data_dir,
        )
    proc = Proc(popen, log, f"http://127.0.0.1:{port}" if port else "")
    into.append(proc)
    return proc


def _serve(into: list[Proc], data_dir: Path, env: dict[str, str], *extra: str) -> Proc:
    port = free_port()
    return _start(into, ["serve", "--port", str(port), *extra], data_dir, env, port=port)


def _wait_for(what: str, done: object, procs: list[Proc], timeout: float = WAIT) -> None:
    assert callable(done)
    deadline = time.monotonic() + timeout
    while not done():
        for p in procs:
            if p.popen.poll() is not None:
                raise RuntimeError(f"a process exited waiting for {what}:\n{p.text()[-3000:]}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"no {what} within {timeout}s")
        time.sleep(0.02)


def _ready(proc: Proc) -> bool:
    try:
        return httpx.get(proc.url + "/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _env(database_url: str, chain_url: str, data_dir: Path) -> dict[str, str]:
    env = _server_env(data_dir, database_url, chain_url, 10_000, 500)
    env["CHAINPROOF_CHAIN"] = chain_url
    return {k: v for k, v in env.items() if k not in ("CHAINPROOF_DATA_DIR",)}


def _anchored(engine: Engine) -> int:
    with Session(engine) as s:
        return int(
            s.exec(
                select(func.count()).select_from(Evidence).where(Evidence.status == "anchored")
            ).one()
        )


def _ingest(
    urls: list[str], engine: Engine, bodies: list[bytes], key: str, procs: list[Proc]
) -> Rates:
    """Digests/s until accepted, and until the database says all are anchored."""
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    errors: list[str] = []

    def client(c: int) -> None:
        with httpx.Client(base_url=urls[c % len(urls)], timeout=120) as http:
            for body in bodies[c :: len(urls) * 2]:
                for _attempt in range(10):
                    r = http.post("/api/v1/evidence/digests", content=body, headers=headers)
                    if r.status_code == 202:
                        break
                    if r.status_code != 503:  # 503: a busy database, retry as clients do
                        errors.append(f"{r.status_code} {r.text[:300]}")
                        return
                    time.sleep(0.2)

    t0 = time.perf_counter()
    threads = [threading.Thread(target=client, args=(c,)) for c in range(len(urls) * 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    accepted = time.perf_counter()
    if errors:
        raise RuntimeError(f"bulk ingest failed: {errors[0]}")
    total = len(bodies) * BULK
    _wait_for(f"{total} anchored", lambda: _anchored(engine) >= total, procs)
    return Rates(total / (time.perf_counter() - t0), total / (accepted - t0))


@dataclass(frozen=True)
class Rates:
    anchored: float  # digests/s from the first request until all are anchored
    accepted: float  # digests/s from the first request until the last 202


def _bodies(requests: int) -> list[bytes]:
    return [
        json.dumps(
            {"algorithm": "sha256", "digests": ["0x" + os.urandom(32).hex() for _ in range(BULK)]}
        ).encode()
        for _ in range(requests)
    ]


def _key(database_url: str) -> str:
    with db.open_session(database_url) as s:
        _, key = create_api_key(session=s, org="bench", role="submitter")
    return key


def ingest_run(workdir: Path, database_url: str, bodies: list[bytes], *, replicas: int) -> float:
    """``replicas`` 0: one ``serve`` with its batcher; else that many ``serve
    --no-batcher`` and one ``worker``."""
    with (
        fresh_chain(workdir / "chain") as chain,
        _procs() as procs,
    ):
        rpc = chain.node.rpc_url or ""
        db.upgrade(database_url)
        engine = db.make_engine(database_url)
        try:
            env = _env(database_url, rpc, workdir)
            if replicas == 0:
                apis = [_serve(procs, workdir / "one", env)]
            else:
                apis = [
                    _serve(procs, workdir / f"api-{i}", env, "--no-batcher")
                    for i in range(replicas)
                ]
                _start(procs, ["worker", "--chain", rpc], workdir / "worker", env)
            for api in apis:
                _wait_for("/readyz", lambda a=api: _ready(a), procs, timeout=120)
            if replicas:
                _wait_for(
                    "the worker batching",
                    lambda: "batching every" in procs[-1].text(),
                    procs,
                    timeout=120,
                )
            return _ingest([a.url for a in apis], engine, bodies, _key(database_url), procs)
        finally:
            engine.dispose()


def takeover(workdir: Path, database_url: str) -> float:
    """Seconds from SIGKILL of the leading worker to a grant confirmed by the standby."""
    with fresh_chain(workdir / "chain") as chain, _procs() as procs:
        rpc = chain.node.rpc_url or ""
        db.upgrade(database_url)
        engine = db.make_engine(database_url)
        try:
            env = _env(database_url, rpc, workdir)
            first = _start(procs, ["worker", "--chain", rpc], workdir / "w1", env)
            _wait_for("a leader", lambda: "batching every" in first.text(), procs, 120)
            second = _start(procs, ["worker", "--chain", rpc], workdir / "w2", env)
            _wait_for("a standby", lambda: "standing by" in second.text(), procs, 120)
            first.popen.send_signal(signal.SIGKILL)
            killed = time.perf_counter()
            first.popen.wait()
            procs.remove(first)
            with Session(engine) as s:
                op = enqueue(s, kind="grant_member", payload={"address": Account.create().address})

            def confirmed() -> bool:
                with Session(engine) as s:
                    row = s.get(ChainOp, op.id)
                    return row is not None and row.status == "confirmed"

            _wait_for("the standby's grant", confirmed, procs, 120)
            return time.perf_counter() - killed
        finally:
            engine.dispose()


@dataclass(frozen=True)
class IntakeCost:
    wall: float  # seconds per 10,000-digest request, the median round
    cpu: float  # this process's CPU seconds per request, the median round


def intake_cost(database_url: str, *, rounds: int, copy: bool = True) -> IntakeCost:
    """``submit_digests`` of 10,000 digests in process, no HTTP: the intake's own cost.
    ``copy=False`` takes the portable multi-row ``INSERT ... RETURNING`` on PostgreSQL (what
    the intake did before ``COPY``), so both are measured in one run on one server."""
    db.upgrade(database_url)
    engine = db.make_engine(database_url)
    walls: list[float] = []
    cpus: list[float] = []
    try:
        with ExitStack() as stack:
            if not copy:
                stack.enter_context(patch.object(intake, "supports_copy", lambda conn: False))
            for _ in range(rounds + 1):  # the first round warms the pool and the caches
                digests = [os.urandom(32) for _ in range(BULK)]
                t0, c0 = time.perf_counter(), time.process_time()
                with Session(engine) as s:
                    intake.submit_digests(
                        session=s, algorithm="sha256", digests=digests, member_id=None
                    )
                walls.append(time.perf_counter() - t0)
                cpus.append(time.process_time() - c0)
    finally:
        engine.dispose()
    return IntakeCost(statistics.median(walls[1:]), statistics.median(cpus[1:]))


def measure(workdir: Path, *, quick: bool) -> list[Result]:
    # tests/pg.py starts a private PostgreSQL from the apt package's binaries.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.pg import fresh_database, postgres_server

    bodies = _bodies(2 if quick else 5)
    rounds = 3 if quick else 5
    with ExitStack() as stack:
        server = stack.enter_context(postgres_server())
        sqlite_cost = intake_cost(f"sqlite:///{workdir / 'pg-bench-intake.db'}", rounds=rounds)
        with fresh_database(server) as url:
            copy_cost = intake_cost(url, rounds=rounds)
        with fresh_database(server) as url:
            insert_cost = intake_cost(url, rounds=rounds, copy=False)
        sqlite = ingest_run(
            workdir / "pg-bench-sqlite",
            f"sqlite:///{workdir / 'pg-bench-sqlite.db'}",
            bodies,
            replicas=0,
        )
        with fresh_database(server) as url:
            one = ingest_run(workdir / "pg-bench-one", url, bodies, replicas=0)
        with fresh_database(server) as url:
            scaled = ingest_run(workdir / "pg-bench-two", url, bodies, replicas=2)
        with fresh_database(server) as url:
            took = takeover(workdir / "pg-bench-takeover", url)
    n = len(bodies) * BULK

    def row(name: str, rates: Rates, notes: str, target: float | None = None) -> Result:
        return Result(
            measurement="postgres",
            name=name,
            value=rates.anchored,
            unit="docs/s",
            baseline=sqlite.anchored,
            baseline_name="1 process on SQLite",
            better="higher",
            target=target,
            target_text=f">= {target:,.0f}" if target else "",
            notes=f"{n:,} digests, {notes}; accepted (202) at {rates.accepted:,.0f}/s "
            f"(SQLite: {sqlite.accepted:,.0f}/s)",
        )

    def cost(name: str, of: IntakeCost, unit: str) -> Result:
        value, baseline = (
            (of.cpu, insert_cost.cpu) if unit == "cpu" else (of.wall, insert_cost.wall)
        )
        return Result(
            measurement="postgres",
            name=f"intake of 10,000 digests in process, {name}, {unit} s",
            value=value,
            unit="s",
            baseline=baseline,
            baseline_name="PostgreSQL, multi-row INSERT ... RETURNING",
            better="lower",
            notes=f"`submit_digests`, median of {rounds} rounds; SQLite: {sqlite_cost.wall:.3f} s "
            f"wall, {sqlite_cost.cpu:.3f} s CPU",
        )

    return [
        cost("PostgreSQL, COPY", copy_cost, "wall"),
        cost("PostgreSQL, COPY", copy_cost, "cpu"),
        row("bulk digests/s until anchored, PostgreSQL, 1 process", one, "`serve` + batcher"),
        row(
            "bulk digests/s until anchored, PostgreSQL, 2 replicas + 1 worker",
            scaled,
            "`serve --no-batcher` x2 + `worker`, own data dirs",
            50_000,
        ),
        Result(
            measurement="postgres",
            name="standby takeover: SIGKILL of the leader to a confirmed grant",
            value=took,
            unit="s",
            baseline=0.25,
            baseline_name="the standby's lock poll",
            better="lower",
            target=5.0,
            target_text="<= 5 s",
            notes="two `worker`s, own data dirs; one grantRole transaction included",
        ),
    ]
