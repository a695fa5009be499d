"""Thousands of documents through the API while the server and the batcher are SIGKILLed at
seeded random moments and restarted each time (invariant 4, under load).

``chainproof serve --chain <anvil url> --no-batcher`` takes the uploads; a separate
``chainproof worker`` on the same data directory anchors them; both are killed with SIGKILL
(no shutdown code runs) at moments drawn from ``random.Random(SEED)``, while client threads
keep sending. Then, with both running again: every document the API answered 2xx for is in
the database with its digest, every document in the database (acknowledged or not) is
anchored exactly once (the confirmed batches' leaves add up and match the chain's
``Anchored`` events one to one), every receipt passes the offline checks, and one receipt
per batch passes the full check against the node.

``tests/integration/test_crash.py`` kills the worker at each failpoint of the batcher; this
test adds the API under load and random timing. Set ``CHAINPROOF_CRASH_SEED`` to replay a
run (the seed fixes the kill schedule; thread timing still varies).
"""

from __future__ import annotations

import os
import random
import secrets
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import select

from chainproof import identity
from chainproof.chain.compiler import load_artifact
from chainproof.chain.context import open_chain
from chainproof.chain.managed import AnvilNode
from chainproof.chain.nodes import free_port, http_web3
from chainproof.chain.registry import EvidenceRegistryClient
from chainproof.config import DEV_OPERATOR_KEY
from chainproof.evidence.proofs import TreeCache
from chainproof.evidence.service import build_receipt
from chainproof.evidence.verify import OPERATOR
from chainproof.receipts import check_receipt_offline, verify_receipt
from chainproof.store import db
from chainproof.store.models import Batch, Evidence

from ..conftest import node_binary_present, require
from ..factories import pinned
from . import _procs

pytestmark = [pytest.mark.chain, pytest.mark.slow]

SEED = int(os.environ.get("CHAINPROOF_CRASH_SEED", "20231123"))
CHAOS_SECONDS = float(os.environ.get("CHAINPROOF_CHAOS_SECONDS", "30"))  # longer: a soak
CLIENTS = 3
PER_REQUEST = 40
MIN_DOCUMENTS = 2000
MAX_CHAOS_FACTOR = 4  # at most this many CHAOS_SECONDS to reach MIN_DOCUMENTS
# Documents per second the clients acknowledge at most, all together. Unpaced, a quiet machine
# took 55,000 in the 30 s and the test spent two minutes building their receipts; the floor
# above asks for thousands (~4,500 at this pace). A busy machine stays below it, unpaced.
PACE = 150


@pytest.fixture
def anvil(tmp_path: Path) -> Iterator[AnvilNode]:
    """The chain outlives every kill: the test owns it."""
    require(node_binary_present("anvil"), "anvil is missing from node_modules (run `make install`)")
    node = AnvilNode(state_file=tmp_path / "anvil" / "state.json", port=free_port())
    node.start()
    try:
        yield node
    finally:
        node.stop()


class Load:
    """Client threads sending digests (and now and then a file); they keep what was 2xx."""

    def __init__(self, url: str, keys: list[str], rng: random.Random) -> None:
        self.url = url
        self.keys = keys
        self.stop = threading.Event()
        self.acknowledged: dict[str, str] = {}  # evidence id → digest
        self.refused: list[str] = []  # 4xx but 429: our bug, never the server's restart
        self.lock = threading.Lock()
        self.started = 0.0
        self.seeds = [rng.getrandbits(32) for _ in range(CLIENTS)]
        self.threads = [
            threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(CLIENTS)
        ]

    def start(self) -> None:
        self.started = time.monotonic()
        for t in self.threads:
            t.start()

    def join(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(30)

    def _ahead(self) -> bool:
        """More documents acknowledged than ``PACE`` a second since the start."""
        with self.lock:
            acknowledged = len(self.acknowledged)
        return acknowledged >= PACE * (time.monotonic() - self.started)

    def _run(self, n: int) -> None:
        rng = random.Random(self.seeds[n])
        headers = {"Authorization": f"Bearer {self.keys[n % len(self.keys)]}"}
        with httpx.Client(base_url=self.url, timeout=10, headers=headers) as client:
            while not self.stop.is_set():
                if self._ahead():
                    time.sleep(0.05)
                    continue
                try:
                    if rng.random() < 0.1:
                        body = secrets.token_bytes(rng.randint(1, 4096))
                        r = client.post("/api/v1/evidence", files={"file": ("f.bin", body)})
                    else:
                        digests = ["0x" + secrets.token_hex(32) for _ in range(PER_REQUEST)]
                        r = client.post("/api/v1/evidence/digests", json={"digests": digests})
                except httpx.HTTPError:
                    time.sleep(0.05)  # the server is down or died mid-request: unknown
                    continue
                if r.status_code == 202:
                    with self.lock:
                        for item in r.json()["items"]:
                            self.acknowledged[item["id"]] = item["digest"]
                elif r.status_code == 429:  # a rate limit: wait as told (at most a second)
                    time.sleep(min(float(r.headers.get("retry-after", "1")), 1.0))
                elif r.status_code < 500:
                    self.refused.append(f"{r.status_code} {r.text[:200]}")


def test_sigkill_server_and_worker_under_load(anvil: AnvilNode, tmp_path: Path) -> None:
    assert anvil.rpc_url
    rpc = anvil.rpc_url
    data = tmp_path / "data"
    context = open_chain(chain=rpc, data_dir=data, operator_key=DEV_OPERATOR_KEY)
    deployment_block = context.deployment.block_number
    context.stop()
    settings = {
        "CHAINPROOF_BATCH_SIZE": "500",
        "CHAINPROOF_BATCH_INTERVAL_MS": "100",
        # Load, not the limiter (test_secrets.py tests that): keep 429s out of the way.
        "CHAINPROOF_RATE_LIMIT_ANCHOR": "1000000/minute",
    }
    server = _procs.serve(
        data, chain=rpc, log=tmp_path / "serve.log", extra=("--no-batcher",), **settings
    ).start()
    worker = _procs.worker(data, chain=rpc, log=tmp_path / "worker.log", **settings).start()
    procs = {"server": server, "worker": worker}
    rng = random.Random(SEED)
    kills: list[tuple[float, str]] = []
    try:
        server.wait_http("/healthz")
        url = f"sqlite:///{data / 'chainproof.db'}"
        with db.open_session(url) as session:
            keys = [
                identity.create_api_key(session=session, org=org, role="submitter")[1]
                for org in ("示范企业甲", "示范企业乙")
            ]
        load = Load(server.url, keys, rng)
        load.start()
        started = time.monotonic()
        # Kill for CHAOS_SECONDS, and on until MIN_DOCUMENTS are in flight: a busy machine
        # acknowledges fewer per second, and the floor is about coverage, not speed.
        while time.monotonic() - started < CHAOS_SECONDS or (
            len(load.acknowledged) < MIN_DOCUMENTS
            and time.monotonic() - started < CHAOS_SECONDS * MAX_CHAOS_FACTOR
        ):
            time.sleep(rng.uniform(0.5, 3.0))
            name = rng.choice(("server", "worker"))
            kills.append((round(time.monotonic() - started, 2), name))
            procs[name].kill()
            time.sleep(rng.uniform(0.0, 0.5))
            procs[name].start()
            if name == "server":
                # The next kill is timed from the server being back: on a busy machine a
                # restart can take longer than the gap between kills, and the load would
                # then find it down most of the time and exercise nothing.
                server.wait_http("/healthz")
        load.join()
        for proc in procs.values():
            if not proc.alive():
                proc.start()
        server.wait_http("/healthz")
        assert load.refused == [], load.refused[:5]
        assert len(load.acknowledged) >= MIN_DOCUMENTS, (
            f"only {len(load.acknowledged)} documents acknowledged; kills: {kills}"
        )

        deadline = time.monotonic() + 60
        while True:
            with db.open_session(url) as s:
                left = [e.id for e in s.exec(select(Evidence)).all() if e.status != "anchored"]
            if not left:
                break
            assert worker.alive(), worker.tail()
            assert time.monotonic() < deadline, (
                f"{len(left)} not anchored (seed {SEED}, kills {kills}):\n{worker.tail()}"
            )
            time.sleep(0.2)
        _check_everything(url, rpc, deployment_block, load.acknowledged, kills)
    finally:
        for proc in procs.values():
            proc.stop()


def _check_everything(
    url: str,
    rpc: str,
    deployment_block: int,
    acknowledged: dict[str, str],
    kills: list[tuple[float, str]],
) -> None:
    where = f"seed {SEED}, kills {kills}"
    w3 = http_web3(rpc)
    with db.open_session(url) as s:
        rows = {e.public_id: e for e in s.exec(select(Evidence)).all()}
        missing = [i for i, d in acknowledged.items() if i not in rows or rows[i].digest != d]
        assert not missing, f"{len(missing)} acknowledged documents lost ({where})"
        batches = s.exec(select(Batch).where(Batch.status == "confirmed")).all()
        by_id = {b.id: b for b in batches}
        assert all(e.batch_id in by_id for e in rows.values()), where
        assert sum(b.leaf_count for b in batches) == len(rows), f"leaves != documents ({where})"
        one_per_batch: dict[int, Any] = {}
        trees = TreeCache()  # the receipt route's cache: each batch's tree read once
        for e in rows.values():
            assert e.id is not None
            receipt = build_receipt(
                session=s, evidence_id=e.public_id, viewer=OPERATOR, trees=trees
            )
            assert check_receipt_offline(receipt) == [], (e.id, where)
            one_per_batch.setdefault(e.batch_id or 0, receipt)
    registry = EvidenceRegistryClient(
        w3, batches[0].contract, load_artifact("EvidenceRegistry").abi
    )
    events = registry.anchored_events(from_block=deployment_block)
    assert sorted(e.root for e in events) == sorted(b.root for b in batches), (
        f"on-chain anchors are not our confirmed batches one to one ({where})"
    )
    for receipt in one_per_batch.values():
        verdict = verify_receipt(receipt, w3, trust=pinned(w3, batches[0].contract))
        assert verdict.valid, (verdict.reason, where)
    print(
        f"crash under load: {len(rows)} documents ({len(acknowledged)} acknowledged) in "
        f"{len(batches)} batches, {len(kills)} SIGKILLs: {kills} (seed {SEED})"
    )
