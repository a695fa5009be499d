"""Measurement 4: POST /api/v1/verify (by digest) under concurrent load, and offline
receipt checks.

Each request verifies a random one of the anchored digests the ingest run left (so many
batch roots, not one hot entry). Every answer must be 200 with verdict ``anchored``; a
wrong verdict fails the run. Baseline for the endpoint: ``GET /healthz`` under the same
load (the framework's floor on this machine). Baseline for the offline check: the
registry's ``verify`` view called straight through web3.py (the cheapest online check).
"""

from __future__ import annotations

import json
import random
import time

from sqlmodel import col, select

from benchmarks.load import run_load
from benchmarks.results import Result, percentile
from benchmarks.stack import Server, request_json
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


def measure(server: Server, digests: list[str], *, quick: bool) -> list[Result]:
    if not digests:
        raise RuntimeError("verify needs the anchored digests of the ingest measurement")
    clients, seconds = (4, 2.0) if quick else (8, 10.0)
    rng = random.Random(8)
    bodies = [
        json.dumps({"algorithm": "sha256", "digest": d}).encode()
        for d in rng.sample(digests, min(len(digests), 50_000))
    ]

    def verify_req(c: int, i: int) -> tuple[str, str, bytes | None, dict[str, str]]:
        return ("POST", "/api/v1/verify", bodies[(c * 7919 + i * 31) % len(bodies)], JSON)

    # Warm-up: connections, caches, the first chain status check.
    run_load(server.connection, verify_req, clients=clients, duration=0.5)
    res = run_load(
        server.connection, verify_req, clients=clients, duration=seconds, keep_bodies=True
    )
    wrong = [b for b in res.bodies if json.loads(b).get("verdict") != "anchored"]
    if set(res.statuses) != {200} or wrong:
        raise RuntimeError(
            f"verify answered {res.statuses}, {len(wrong)} not anchored: {wrong[:1]}"
        )
    floor = run_load(
        server.connection,
        lambda c, i: ("GET", "/healthz", None, {}),
        clients=clients,
        duration=seconds,
    )

    # Offline receipt checks vs the registry's view through web3.py.
    with open_session(server.database_url) as s:
        ids = s.exec(select(Evidence.id).where(col(Evidence.status) == "anchored").limit(20)).all()
    conn = server.connection()
    receipts = []
    for i in ids:
        status, body = request_json(conn, "GET", f"/api/v1/evidence/{i}/receipt")
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

    offline_rate = _rate_for(1.0 if quick else 3.0, offline)
    registry = EvidenceRegistryClient(
        http_web3(chain_info["rpc_url"]), chain_info["contract"], load_artifact(REGISTRY).abi
    )

    def online() -> None:
        r = receipts[k[0] % len(receipts)]
        k[0] += 1
        assert registry.verify(r.root, r.leaf_hash, r.proof)

    online_rate = _rate_for(1.0 if quick else 3.0, online)
    note = f"{clients} clients, {res.count} requests"
    return [
        Result(
            measurement="verify",
            name="verify req/s",
            value=res.rate,
            unit="req/s",
            baseline=floor.rate,
            baseline_name="GET /healthz, same load",
            better="higher",
            target=2_000,
            target_text=">= 2,000",
            notes=note,
        ),
        Result(
            measurement="verify",
            name="verify p50",
            value=percentile(res.latencies, 50) * 1000,
            unit="ms",
            baseline=percentile(floor.latencies, 50) * 1000,
            baseline_name="GET /healthz, same load",
            better="lower",
            notes=note,
        ),
        Result(
            measurement="verify",
            name="verify p99",
            value=percentile(res.latencies, 99) * 1000,
            unit="ms",
            baseline=percentile(floor.latencies, 99) * 1000,
            baseline_name="GET /healthz, same load",
            better="lower",
            target=5.0,
            target_text="<= 5 ms",
            notes=note,
        ),
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
