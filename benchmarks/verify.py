"""Measurement 4: POST /api/v1/verify (by digest) under concurrent load, and offline
receipt checks.

Each request verifies a random one of the anchored digests the ingest run left (so many
batch roots, not one hot entry). Every answer must be 200 with verdict ``anchored``; a
wrong verdict fails the run. Baseline for the endpoint: ``GET /healthz`` under the same
load (the framework's floor on this machine). Both are measured twice: on the server of
the other measurements (one process) and on a second server over the same data in
``WORKERS`` worker processes. The notes give the server's CPU time per request (all its
processes, from ``/proc``), which does not depend on how busy the machine is the way
requests per second do. The load comes from ``wrk`` where it is installed (``wrk.py``: a
C client leaves the two cores to the server), else from the Python threads of ``load.py``;
the notes say which. Baseline for the offline check: the registry's ``verify`` view called
straight through web3.py (the cheapest online check).
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlmodel import col, select

from benchmarks import wrk
from benchmarks.load import Request, run_load
from benchmarks.results import Result, percentile
from benchmarks.stack import Server, more_workers, request_json
from chainproof.chain.compiler import load_artifact
from chainproof.chain.deployments import REGISTRY
from chainproof.chain.nodes import http_web3
from chainproof.chain.registry import EvidenceRegistryClient
from chainproof.receipts import Receipt, check_receipt_offline
from chainproof.store.db import open_session
from chainproof.store.models import Evidence

JSON = {"Content-Type": "application/json"}


def _rate_for(seconds: float, fn: object) -> float:
    assert callable(fn)
    n = 0
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        fn()
        n += 1
    return n / (time.perf_counter() - t0)


WORKERS = 2


@dataclass
class _Load:
    """One load run against one server: the figures the table needs."""

    count: int
    rate: float  # requests per second
    p50_ms: float
    p99_ms: float
    cpu_ms: float  # server CPU per request


@dataclass
class _Endpoint:
    verify: _Load
    floor: _Load
    generator: str  # what produced the load


def _cpu_per_request(server: Server, cpu_before: float, count: int) -> float:
    return (server.cpu_seconds() - cpu_before) / max(count, 1) * 1000


def _python_load(
    server: Server, make: Callable[[int, int], Request], *, clients: int, seconds: float
) -> tuple[_Load, list[bytes], dict[int, int]]:
    cpu = server.cpu_seconds()
    res = run_load(server.connection, make, clients=clients, duration=seconds, keep_bodies=True)
    load = _Load(
        count=res.count,
        rate=res.rate,
        p50_ms=percentile(res.latencies, 50) * 1000,
        p99_ms=percentile(res.latencies, 99) * 1000,
        cpu_ms=_cpu_per_request(server, cpu, res.count),
    )
    return load, res.bodies, res.statuses


def _wrk_load(
    server: Server,
    *,
    method: str,
    path: str,
    bodies: list[bytes] | None,
    clients: int,
    seconds: float,
    expect: str,
) -> _Load:
    cpu = server.cpu_seconds()
    res = wrk.run(
        host=server.host,
        ports=server.ports or [server.port],
        method=method,
        path=path,
        bodies=bodies,
        headers=JSON if bodies else None,
        clients=clients,
        seconds=seconds,
        expect=expect,
    )
    if res.bad or res.socket_errors:
        raise RuntimeError(
            f"{method} {path}: {res.bad} wrong answers, {res.socket_errors} socket errors "
            f"(first: {res.first_wrong})"
        )
    return _Load(
        count=res.count,
        rate=res.rate,
        p50_ms=res.p50 * 1000,
        p99_ms=res.p99 * 1000,
        cpu_ms=_cpu_per_request(server, cpu, res.count),
    )


ANCHORED = '"verdict":"anchored"'


def _endpoint(server: Server, bodies: list[bytes], *, clients: int, seconds: float) -> _Endpoint:
    def verify_req(c: int, i: int) -> Request:
        return ("POST", "/api/v1/verify", bodies[(c * 7919 + i * 31) % len(bodies)], JSON)

    def healthz(c: int, i: int) -> Request:
        return ("GET", "/healthz", None, {})

    # Warm-up: connections, caches, the first chain status check.
    run_load(server.connection, verify_req, clients=clients, duration=0.5)
    generator = wrk.version()
    if generator is not None:
        res = _wrk_load(
            server,
            method="POST",
            path="/api/v1/verify",
            bodies=bodies,
            clients=clients,
            seconds=seconds,
            expect=ANCHORED,
        )
        floor = _wrk_load(
            server,
            method="GET",
            path="/healthz",
            bodies=None,
            clients=clients,
            seconds=seconds,
            expect='"ok"',
        )
        return _Endpoint(res, floor, f"{generator} (C, {len(server.ports or [1])} threads)")
    res, answers, statuses = _python_load(server, verify_req, clients=clients, seconds=seconds)
    wrong = [b for b in answers if json.loads(b).get("verdict") != "anchored"]
    if set(statuses) != {200} or wrong:
        raise RuntimeError(f"verify answered {statuses}, {len(wrong)} not anchored: {wrong[:1]}")
    floor, _, _ = _python_load(server, healthz, clients=clients, seconds=seconds)
    return _Endpoint(res, floor, "Python threads (wrk is not installed)")


def _rows(e: _Endpoint, *, clients: int, suffix: str) -> list[Result]:
    note = (
        f"{clients} clients ({e.generator}), {e.verify.count} requests; server CPU "
        f"{e.verify.cpu_ms:.2f} ms/request (healthz {e.floor.cpu_ms:.2f})"
    )
    base = "GET /healthz, same load" + (f", {suffix}" if suffix else "")
    name = f", {suffix}" if suffix else ""
    return [
        Result(
            measurement="verify",
            name=f"verify req/s{name}",
            value=e.verify.rate,
            unit="req/s",
            baseline=e.floor.rate,
            baseline_name=base,
            better="higher",
            target=2_000,
            target_text=">= 2,000",
            notes=note,
        ),
        Result(
            measurement="verify",
            name=f"verify p50{name}",
            value=e.verify.p50_ms,
            unit="ms",
            baseline=e.floor.p50_ms,
            baseline_name=base,
            better="lower",
            notes=note,
        ),
        Result(
            measurement="verify",
            name=f"verify p99{name}",
            value=e.verify.p99_ms,
            unit="ms",
            baseline=e.floor.p99_ms,
            baseline_name=base,
            better="lower",
            target=5.0,
            target_text="<= 5 ms",
            notes=note,
        ),
    ]


def measure(server: Server, digests: list[str], *, quick: bool, chain_url: str) -> list[Result]:
    if not digests:
        raise RuntimeError("verify needs the anchored digests of the ingest measurement")
    clients, seconds = (4, 1.0) if quick else (8, 10.0)
    rng = random.Random(8)
    bodies = [
        json.dumps({"algorithm": "sha256", "digest": d}).encode()
        for d in rng.sample(digests, min(len(digests), 50_000))
    ]
    results = _rows(
        _endpoint(server, bodies, clients=clients, seconds=seconds), clients=clients, suffix=""
    )
    with more_workers(server, chain_url, workers=WORKERS) as multi:
        several = _endpoint(multi, bodies, clients=clients, seconds=seconds)
    results += _rows(several, clients=clients, suffix=f"{WORKERS} workers")

    # Offline receipt checks vs the registry's view through web3.py.
    with open_session(server.database_url) as s:
        ids = s.exec(
            select(Evidence.public_id).where(col(Evidence.status) == "anchored").limit(20)
        ).all()
    conn = server.connection()
    receipts = []
    owner = {"Authorization": f"Bearer {server.api_key}"}  # receipts are their member's
    for i in ids:
        status, body = request_json(conn, "GET", f"/api/v1/evidence/{i}/receipt", headers=owner)
        assert status == 200, body
        receipts.append(Receipt.from_dict(body))
    _, chain_info = request_json(conn, "GET", "/api/v1/chain")
    conn.close()
    k = [0]

    def offline() -> None:
        r = receipts[k[0] % len(receipts)]
        k[0] += 1
        problems = check_receipt_offline(r)
        assert not problems, problems

    offline_rate = _rate_for(0.5 if quick else 3.0, offline)
    registry = EvidenceRegistryClient(
        # The node the bench started: an external node's URL is never published (F21).
        http_web3(chain_url),
        chain_info["contract"],
        load_artifact(REGISTRY).abi,
    )

    def online() -> None:
        r = receipts[k[0] % len(receipts)]
        k[0] += 1
        assert registry.verify(r.submitter, r.root, r.leaf_hash, r.proof)

    online_rate = _rate_for(0.5 if quick else 3.0, online)
    return [
        *results,
        Result(
            measurement="verify",
            name="offline receipt checks/s",
            value=offline_rate,
            unit="checks/s",
            baseline=online_rate,
            baseline_name="registry.verify eth_call, web3.py",
            better="higher",
        ),
    ]
