"""Issue 15's headline run: two API replicas (``serve --no-batcher``) and two ``worker``s on
one PostgreSQL and one Anvil, each process with its own data dir as on its own host; 20,000
digests through both replicas (the bulk endpoint, 1,000 a request); the leading worker
SIGKILLed part-way (after 8,000 are anchored, with the rest queued, claimed or in flight).

Then every digest is anchored exactly once: anchoring transactions = confirmed batches =
distinct roots = ``Anchored`` events, the batches' leaves add up to 20,000 and each batch's
tree, rebuilt from its documents' leaves, has the root the chain holds (all 20,000); 200
receipts fetched from the replicas verify against the trust anchor pinned from the chain;
the standby took the key over; every chain operation (the member's admission) landed once;
the four processes share one EvidenceRegistry and one TraceRegistry (two deployments), and
the new leader publishes a trace head enqueued after the kill.

Before issue 15 (e81d182) this lost documents: a dead worker's claimed rows stayed claimed.
Before trace registries were found at start (main at 1b0830c) the run anchored everything
but deployed three TraceRegistries: the worker's, each replica's, the standby's.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from eth_utils import keccak
from hexbytes import HexBytes
from sqlalchemy import func
from sqlmodel import Session, col, select

from chainproof import identity
from chainproof.chain.compiler import load_artifact
from chainproof.chain.managed import AnvilNode, free_port
from chainproof.chain.registry import EvidenceRegistryClient
from chainproof.chain.trace_registry import TraceRegistryClient
from chainproof.merkle import packed_root, packed_tree
from chainproof.receipts import Receipt, verify_receipt
from chainproof.store import db
from chainproof.store.models import Batch, Evidence
from chainproof.store.ops import ChainOp
from chainproof.store.shared_files import DeploymentFile
from chainproof.trace.models import TraceNode

from ..conftest import node_binary_present, require
from ..factories import pinned
from ..security._procs import Proc, serve, worker

pytestmark = [pytest.mark.chain, pytest.mark.postgres]
N = 20_000
CHUNK = 1_000
KILL_AFTER = 8_000
SAMPLE = 200
WAIT = 180.0  # liveness on a loaded machine, not speed
ANCHOR_SIGS = (
    "anchor(bytes32,uint32,bytes32)",
    "anchorWithSignature(bytes32,uint32,bytes32,address,uint256,bytes)",
)


@pytest.fixture
def anvil(tmp_path: Path) -> Iterator[AnvilNode]:
    require(node_binary_present("anvil"), "anvil is missing from node_modules (run `make install`)")
    node = AnvilNode(state_file=tmp_path / "anvil-state.json", port=free_port())
    node.start()
    yield node
    node.stop()


def _wait(what: str, done: object, procs: list[Proc], timeout: float = WAIT) -> None:
    assert callable(done)
    deadline = time.monotonic() + timeout
    while not done():
        for p in procs:
            assert p.alive(), f"{p.argv} died while waiting for {what}:\n{p.tail()}"
        assert time.monotonic() < deadline, f"no {what} in {timeout}s:\n" + "\n".join(
            p.tail(1500) for p in procs
        )
        time.sleep(0.05)


@pytest.mark.slow
def test_two_replicas_two_workers_leader_killed_every_digest_anchored_once(
    anvil: AnvilNode, postgres_database_url: str, tmp_path: Path
) -> None:
    started = time.monotonic()
    url = postgres_database_url
    rpc = anvil.rpc_url or ""
    env = {
        "CHAINPROOF_DATABASE_URL": url,
        "CHAINPROOF_BATCH_SIZE": "1000",
        "CHAINPROOF_BATCH_INTERVAL_MS": "100",
    }
    workers = [
        worker(tmp_path / f"worker-{i}", chain=rpc, log=tmp_path / f"worker-{i}.log", **env)
        for i in (1, 2)
    ]
    replicas = [
        serve(
            tmp_path / f"api-{i}",
            chain=rpc,
            log=tmp_path / f"api-{i}.log",
            extra=("--no-batcher",),
            **env,
        )
        for i in (1, 2)
    ]
    for p in [*workers, *replicas]:
        (tmp_path / Path(p.argv[p.argv.index("--data-dir") + 1]).name).mkdir(exist_ok=True)
        p.start()
    everyone = [*workers, *replicas]
    try:
        for r in replicas:
            r.wait_http("/readyz", timeout=WAIT)
        _wait(
            "a leader and a standby",
            lambda: (
                sum("batching every" in w.text() for w in workers) == 1
                and sum("standing by" in w.text() for w in workers) == 1
            ),
            everyone,
        )
        leader = next(w for w in workers if "batching every" in w.text())
        standby = next(w for w in workers if w is not leader)
        engine = db.make_engine(url)
        with Session(engine) as s:
            _, key = identity.create_api_key(session=s, org="两地部署", role="submitter")
        headers = {"Authorization": f"Bearer {key}"}
        digests = ["0x" + hashlib.sha256(f"scale-out-{i}".encode()).hexdigest() for i in range(N)]
        chunks = [digests[i : i + CHUNK] for i in range(0, N, CHUNK)]

        def post(i: int) -> None:
            r = httpx.post(
                f"{replicas[i % 2].url}/api/v1/evidence/digests",
                json={"algorithm": "sha256", "digests": chunks[i]},
                headers=headers,
                timeout=60,
            )
            assert r.status_code == 202, r.text

        def anchored() -> int:
            with Session(engine) as s:
                return int(
                    s.exec(
                        select(func.count())
                        .select_from(Evidence)
                        .where(Evidence.status == "anchored", col(Evidence.member_id).is_not(None))
                    ).one()
                )

        half = len(chunks) // 2
        for i in range(half):
            post(i)
        _wait(f"{KILL_AFTER} anchored", lambda: anchored() >= KILL_AFTER, everyone)
        leader.kill()  # SIGKILL: its session ends, its claimed rows and batches are orphans
        at_kill = anchored()
        everyone.remove(leader)
        # A trace head to publish: only the new leader can (trace heads follow the key).
        item = TraceNode(
            kind="item",
            uri="https://id.example/01/scale-out",
            code="item-scale-out",
            salt="0x" + "00" * 32,
            chain_key="0x" + hashlib.sha256(b"scale-out item").hexdigest(),
            head="0x" + hashlib.sha256(b"scale-out head").hexdigest(),
            count=2,
        )
        with Session(engine) as s:
            s.add(item)
            s.commit()
            s.refresh(item)
        for i in range(half, len(chunks)):
            post(i)
        _wait("every digest anchored", lambda: anchored() == N, everyone)

        def head_published() -> bool:
            with Session(engine) as s:
                node = s.get(TraceNode, item.id)
                return node is not None and node.published_count == 2

        _wait("the trace head published", head_published, everyone)
        assert "this process takes over" in standby.text(), standby.tail()
        took = time.monotonic() - started
        print(
            f"\n{N} digests anchored through 2 replicas + 2 workers (leader killed at "
            f"{at_kill} anchored) in {took:.1f} s"
        )

        _check_exactly_once(engine, rpc, replicas, headers, at_kill, item.chain_key)
        print(f"whole test {time.monotonic() - started:.1f} s")
        engine.dispose()
    finally:
        for p in [*workers, *replicas]:
            p.kill()


def _check_exactly_once(
    engine: object,
    rpc: str,
    replicas: list[Proc],
    headers: dict[str, str],
    at_kill: int,
    item_key: str,
) -> None:
    from sqlalchemy import Engine
    from web3 import Web3

    assert isinstance(engine, Engine)
    assert at_kill < N, "the leader finished before it was killed: nothing was taken over"
    w3 = Web3(Web3.HTTPProvider(rpc))
    with Session(engine) as s:
        record = next(
            json.loads(f.body)
            for f in s.exec(select(DeploymentFile)).all()
            if f.name.startswith("EvidenceRegistry-") and f.name.endswith(f"{w3.eth.chain_id}.json")
        )
        trace_record = next(
            json.loads(f.body)
            for f in s.exec(select(DeploymentFile)).all()
            if f.name == f"TraceRegistry-{w3.eth.chain_id}.json"
        )
        registry = EvidenceRegistryClient(
            w3, record["address"], load_artifact("EvidenceRegistry").abi
        )
        batches = list(s.exec(select(Batch).where(Batch.status == "confirmed")).all())
        assert s.exec(select(func.count()).select_from(Batch)).one() == len(batches)
        rows = list(s.exec(select(Evidence).order_by(col(Evidence.id))).all())
        ops = list(s.exec(select(ChainOp)).all())
    # The digests, and any of the audit log's own records (of no member, issue 25), anchored
    # in batches of their own.
    evidence = [e for e in rows if e.member_id is not None]
    audit = [e for e in rows if e.member_id is None]
    assert all(e.label and e.label.startswith("audit ") for e in audit), audit

    # Every digest once in the index, anchored, in a confirmed batch of the right size.
    assert len(evidence) == N and len({e.digest for e in evidence}) == N
    assert {e.status for e in rows} == {"anchored"}
    by_batch = Counter(e.batch_id for e in rows)
    assert sum(b.leaf_count for b in batches) == N + len(audit)
    assert {b.id: b.leaf_count for b in batches} == dict(by_batch)

    # The chain: one anchoring transaction per batch, one Anchored event per root, the
    # same roots as the index, and each root the tree of exactly its documents' leaves.
    selectors = {keccak(text=sig)[:4] for sig in ANCHOR_SIGS}
    anchor_txs, creations = [], []
    for n in range(int(record["block_number"]), w3.eth.block_number + 1):
        for tx in w3.eth.get_block(n, full_transactions=True)["transactions"]:
            if tx["to"] is None:  # type: ignore[index]
                creations.append(HexBytes(tx["hash"]).to_0x_hex())  # type: ignore[index]
            elif tx["to"] == registry.address and bytes(HexBytes(tx["input"]))[:4] in selectors:
                anchor_txs.append(HexBytes(tx["hash"]).to_0x_hex())
    # Four processes on four "hosts", one deployment of each contract: the EvidenceRegistry
    # and the TraceRegistry (found at start under the deployment lock, shared through the
    # database; before, each process that needed one deployed its own).
    assert len(creations) == 2, creations
    trace = TraceRegistryClient(w3, trace_record["address"], load_artifact("TraceRegistry").abi)
    assert trace.head_of(item_key).count == 2
    events = registry.anchored_events(from_block=int(record["block_number"]))
    roots = [e.root if isinstance(e.root, str) else HexBytes(e.root).to_0x_hex() for e in events]
    assert len(anchor_txs) == len(batches) == len(events) == len(set(roots))
    assert sorted(anchor_txs) == sorted(str(b.tx_hash) for b in batches)
    assert {r.lower() for r in roots} == {b.root.lower() for b in batches}
    leaves: dict[int, list[bytes]] = {}
    for e in rows:
        leaves.setdefault(int(e.batch_id or 0), []).append(bytes.fromhex(e.leaf_hash[2:]))
    for b in batches:
        assert "0x" + packed_root(packed_tree(leaves[int(b.id or 0)])).hex() == b.root.lower()

    # The writer's operations: the member's admission and the head batch, once each.
    assert sorted((op.kind, op.status) for op in ops) == [
        ("grant_member", "confirmed"),
        ("trace_set_heads", "confirmed"),
    ]

    # Receipts from both replicas verify against the anchor pinned from the chain itself,
    # and each replica publishes that same anchor.
    trust = pinned(w3, registry.address)
    for r in replicas:
        published = httpx.get(f"{r.url}/.well-known/chainproof.json").json()
        assert (published["registry"], published["registry_code_hash"]) == (
            trust.registry,
            trust.registry_code_hash,
        )
        assert published["trace_registry"] == trace_record["address"], published
    sample = random.Random(15).sample(evidence, SAMPLE)

    def check(i: int) -> None:
        e = sample[i]
        got = httpx.get(
            f"{replicas[i % 2].url}/api/v1/evidence/{e.public_id}/receipt", headers=headers
        )
        assert got.status_code == 200, got.text
        verdict = verify_receipt(Receipt.model_validate(got.json()), w3, trust=trust)
        assert verdict.valid, (e.public_id, verdict.reason)

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(check, range(SAMPLE)))  # list(): re-raises a failed check here
