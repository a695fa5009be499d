"""SIGKILL the batcher at every dangerous point; after restarts every document is anchored
exactly once (invariant 4). The failpoints are real SIGKILLs of a real `chainproof worker`
process, against a real Anvil that outlives it."""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from chainproof.chain.context import ChainContext, open_chain
from chainproof.chain.managed import AnvilNode, free_port
from chainproof.config import DEV_OPERATOR_KEY
from chainproof.digests import hash_bytes
from chainproof.evidence.intake import submit_digests
from chainproof.evidence.service import build_receipt
from chainproof.evidence.verify import OPERATOR
from chainproof.receipts import verify_receipt
from chainproof.store.db import make_engine, upgrade
from chainproof.store.models import Batch, Evidence

from .. import forked
from ..conftest import node_binary_present, require
from ..factories import pinned

pytestmark = pytest.mark.chain
CLI = [sys.executable, "-m", "chainproof.cli"]


@pytest.fixture
def anvil(tmp_path: Path) -> Iterator[AnvilNode]:
    """An Anvil the test owns, so killing the worker leaves the chain running."""
    require(node_binary_present("anvil"), "anvil is missing from node_modules (run `make install`)")
    node = AnvilNode(state_file=tmp_path / "anvil-state.json", port=free_port())
    node.start()
    yield node
    node.stop()


@pytest.fixture
def deployed(anvil: AnvilNode, tmp_path: Path) -> Iterator[ChainContext]:
    """EvidenceRegistry deployed on that Anvil, recorded in the worker's data dir."""
    assert anvil.rpc_url
    ctx = open_chain(chain=anvil.rpc_url, data_dir=tmp_path / "data", operator_key=DEV_OPERATOR_KEY)
    yield ctx


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    """The worker's SQLite database, migrated."""
    url = f"sqlite:///{tmp_path / 'data' / 'chainproof.db'}"
    upgrade(url)
    return make_engine(url)


def run_worker(
    anvil: AnvilNode,
    data: Path,
    *,
    fault: str | None,
    timeout: float,
    until: Callable[[], bool] | None = None,
) -> int:
    """Runs ``chainproof worker`` until it exits, ``until()`` holds, or ``timeout``; then
    SIGTERM. Returns its exit code."""
    env = {
        **os.environ,
        "CHAINPROOF_DATA_DIR": str(data),
        "CHAINPROOF_CHAIN": anvil.rpc_url or "",
        "CHAINPROOF_BATCH_SIZE": "10",
        "CHAINPROOF_BATCH_INTERVAL_MS": "20",
    }
    env.pop("CHAINPROOF_FAULT", None)
    if fault:
        env["CHAINPROOF_FAULT"] = fault
    log = data / "worker.log"
    proc = forked.spawn([*CLI, "worker"], env=env, cwd=Path.cwd(), stdout=log)
    try:
        deadline = time.monotonic() + timeout
        while proc.poll() is None and time.monotonic() < deadline:
            if until is not None and until():
                break
            time.sleep(0.1)
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        return proc.wait(timeout=15)
    finally:
        proc.kill()  # a failed assertion above: no worker left behind


def all_anchored(engine: Engine) -> bool:
    with Session(engine) as s:
        return set(s.exec(select(Evidence.status)).all()) == {"anchored"}


@pytest.mark.slow
def test_sigkill_at_every_point_anchors_everything_once(
    anvil: AnvilNode, deployed: ChainContext, engine: Engine, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    digests = [hash_bytes(f"crash-{i}".encode(), "sha256") for i in range(45)]
    with Session(engine) as s:
        submit_digests(session=s, algorithm="sha256", digests=digests, member_id=None)

    for point in ("before_send", "after_send", "after_receipt", "before_send", "after_receipt"):
        code = run_worker(anvil, data, fault=point, timeout=60)
        assert code == -signal.SIGKILL, f"worker did not die at {point} (exit {code})"

    # A clean run finishes the queue; SIGTERM then stops it (it runs until told to stop).
    # One run, stopped once all is anchored: 5 s runs over and over paid a start each
    # (seconds on a loaded machine).
    run_worker(anvil, data, fault=None, timeout=90, until=lambda: all_anchored(engine))
    assert all_anchored(engine)

    registry = deployed.registry
    events = registry.anchored_events(from_block=deployed.deployment.block_number)
    with Session(engine) as s:
        batches = s.exec(select(Batch).where(Batch.status == "confirmed")).all()
        roots = {b.root for b in batches}
        # Every on-chain anchor is one of our confirmed batches, each exactly once ...
        assert sorted(e.root for e in events) == sorted(roots)
        # ... and the leaves add up: no document sits in two anchored batches.
        assert sum(e.leaf_count for e in events) == len(digests)
        for ev in s.exec(select(Evidence)).all():
            assert ev.id is not None
            receipt = build_receipt(session=s, evidence_id=ev.public_id, viewer=OPERATOR)
            verdict = verify_receipt(
                receipt, deployed.w3, trust=pinned(deployed.w3, deployed.contract)
            )
            assert verdict.valid, verdict.reason
