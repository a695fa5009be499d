"""PostgreSQL crashed and restarted under load, under a real ``chainproof serve``.

The test owns its PostgreSQL server (``tests/pg.py``'s binaries and helpers, but a server of
its own, so it may stop it with ``pg_ctl stop -m immediate`` -- a crash, no checkpoint --
and start it again on the same port). While it is down, ``/readyz`` says so with 503 and the
API must answer 503, never 500; once it is back, every document the API acknowledged is
there and gets anchored.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from chainproof import identity
from chainproof.chain.managed import AnvilNode
from chainproof.chain.nodes import free_port
from chainproof.store import db

from ..conftest import node_binary_present, require
from ..pg import _missing, _run, find_pg_bin
from . import _procs

pytestmark = [pytest.mark.postgres, pytest.mark.chain]


@dataclass
class Postgres:
    """A private PostgreSQL server the test may stop and start."""

    pg_bin: Path
    data: Path
    workdir: Path
    port: int
    as_postgres: bool

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        options = f"-p {self.port} -k {self.workdir} -c listen_addresses=127.0.0.1 -c fsync=off"
        done = _run(
            [str(self.pg_bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.workdir / "log"),
             "-w", "-t", "60", "-o", options, "start"],
            as_postgres=self.as_postgres,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr

    def stop(self, mode: str = "immediate") -> None:
        done = _run(
            [str(self.pg_bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"],
            as_postgres=self.as_postgres,
        )
        assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture(scope="module")
def postgres() -> Iterator[Postgres]:
    if os.environ.get("CHAINPROOF_TEST_POSTGRES_URL"):
        pytest.skip("an external CHAINPROOF_TEST_POSTGRES_URL cannot be stopped by the test")
    pg_bin = find_pg_bin()
    if pg_bin is None:
        _missing("no initdb/pg_ctl in /usr/lib/postgresql/*/bin or on PATH")
    as_postgres = os.geteuid() == 0
    workdir = Path(tempfile.mkdtemp(prefix="chainproof-pgfault-"))
    try:
        if as_postgres:
            shutil.chown(workdir, user="postgres", group="postgres")
        init = _run(
            [str(pg_bin / "initdb"), "-D", str(workdir / "data"), "-U", "postgres", "-A", "trust",
             "-E", "UTF8", "--locale=C", "--no-sync"],
            as_postgres=as_postgres,
        )  # fmt: skip
        assert init.returncode == 0, init.stdout + init.stderr
        server = Postgres(pg_bin, workdir / "data", workdir, free_port(), as_postgres)
        server.start()
        try:
            yield server
        finally:
            server.stop("fast")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


class Load:
    """One client sending digests; keeps the acknowledged ones and every status it saw."""

    def __init__(self, url: str, key: str) -> None:
        self.url = url
        self.headers = {"Authorization": f"Bearer {key}"}
        self.acknowledged: dict[str, str] = {}
        self.statuses: list[int] = []  # -1: no answer
        self.bodies: dict[int, str] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=30, headers=self.headers) as client:
            while not self.stop.is_set():
                digests = ["0x" + secrets.token_hex(32) for _ in range(20)]
                try:
                    r = client.post("/api/v1/evidence/digests", json={"digests": digests})
                except httpx.HTTPError:
                    self.statuses.append(-1)
                    time.sleep(0.05)
                    continue
                self.statuses.append(r.status_code)
                self.bodies.setdefault(r.status_code, r.text[:300])
                if r.status_code == 202:
                    for item in r.json()["items"]:
                        self.acknowledged[item["id"]] = item["digest"]
                time.sleep(0.02)


def _wait_all_anchored(postgres: Postgres, load: Load, proc: _procs.Proc) -> None:
    engine = create_engine(postgres.url)
    try:
        deadline = time.monotonic() + 60
        while True:
            with engine.connect() as c:
                rows = dict(c.execute(text("SELECT public_id, digest FROM evidence")).all())
                left = c.execute(
                    text("SELECT count(*) FROM evidence WHERE status <> 'anchored'")
                ).scalar_one()
            if left == 0:
                break
            assert time.monotonic() < deadline, f"{left} not anchored:\n{proc.tail()}"
            time.sleep(0.2)
    finally:
        engine.dispose()
    lost = {i: d for i, d in load.acknowledged.items() if rows.get(i) != d}
    assert not lost, f"{len(lost)} acknowledged documents lost"


@dataclass
class Outage:
    """What one PostgreSQL crash under load looked like from outside."""

    proc: _procs.Proc
    load: Load
    ready_during: httpx.Response
    ready_took: float
    statuses_during: list[int]


@pytest.fixture(scope="module")
def outage(postgres: Postgres, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Outage]:
    """A server on the test's PostgreSQL and Anvil, under load; PostgreSQL crashes for ~2 s.

    Anvil, not the embedded chain: on eth-tester a batch whose commit the crash lost leaves
    the batcher re-sending a nonce the chain has used (docs/security.md, finding F9).
    """
    require(node_binary_present("anvil"), "anvil is missing from node_modules (run `make install`)")
    root = tmp_path_factory.mktemp("dbfault")
    node = AnvilNode(state_file=root / "anvil" / "state.json", port=free_port())
    node.start()
    assert node.rpc_url
    proc = _procs.serve(
        root / "data",
        chain=node.rpc_url,
        log=root / "serve.log",
        CHAINPROOF_DATABASE_URL=postgres.url,
        CHAINPROOF_BATCH_INTERVAL_MS="100",
        # The load thread uploads as fast as it can with one key: the per-key rate limit
        # (tested in test_secrets.py) would turn this into a test of the limiter.
        CHAINPROOF_RATE_LIMIT_ANCHOR="1000000/minute",
    ).start()
    try:
        proc.wait_http("/readyz")
        with db.open_session(postgres.url) as session:
            _, key = identity.create_api_key(session=session, org="示范企业甲", role="submitter")
        load = Load(proc.url, key)
        load.thread.start()
        time.sleep(1.5)
        postgres.stop("immediate")
        mark = len(load.statuses)
        time.sleep(0.5)
        started = time.monotonic()
        ready = httpx.get(f"{proc.url}/readyz", timeout=30)
        took = time.monotonic() - started
        time.sleep(0.5)
        during = load.statuses[mark:]
        postgres.start()
        time.sleep(1.0)
        load.stop.set()
        load.thread.join(30)
        yield Outage(proc, load, ready, took, during)
    finally:
        proc.stop()
        node.stop()


def test_postgres_crash_loses_nothing_acknowledged(postgres: Postgres, outage: Outage) -> None:
    proc, load, ready = outage.proc, outage.load, outage.ready_during
    assert ready.status_code == 503, ready.text
    assert ready.json()["checks"]["database"]["ok"] is False
    assert ready.json()["error"]["code"] == "database_unavailable"
    assert proc.alive(), proc.tail()
    assert load.acknowledged, "nothing was acknowledged at all"
    # Back: the pool's pre-ping replaces dead connections; the API answers again.
    after = httpx.post(
        f"{proc.url}/api/v1/evidence/digests",
        json={"digests": ["0x" + secrets.token_hex(32)]},
        headers=load.headers,
        timeout=20,
    )
    assert after.status_code == 202, after.text
    load.acknowledged[after.json()["items"][0]["id"]] = after.json()["items"][0]["digest"]
    proc.wait_http("/readyz", timeout=30)  # the batcher's next step clears its last error
    _wait_all_anchored(postgres, load, proc)


def test_while_postgres_is_down_the_api_answers_503_promptly(outage: Outage) -> None:
    during = set(outage.statuses_during)
    bodies = outage.load.bodies.get(500)
    assert 500 not in during, f"statuses during the outage: {sorted(during)}: {bodies}"
    assert outage.ready_took < 5.0, f"/readyz took {outage.ready_took:.1f}s"
