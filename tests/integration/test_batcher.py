"""The batcher end to end on a real chain: queue → Merkle batch → one tx → anchored → receipt."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from chainproof.chain.context import ChainContext, open_chain
from chainproof.config import DEV_OPERATOR_KEY
from chainproof.digests import hash_bytes
from chainproof.evidence.batcher import Batcher
from chainproof.evidence.intake import submit_digests
from chainproof.evidence.service import build_receipt, reindex
from chainproof.evidence.verify import OPERATOR, verify_digest
from chainproof.receipts import check_receipt_offline, verify_receipt
from chainproof.store.db import make_engine, upgrade
from chainproof.store.models import AnchorRecord, Batch, Evidence

from ..factories import pinned

pytestmark = pytest.mark.chain


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[ChainContext]:
    """A fresh embedded chain with EvidenceRegistry deployed by the dev operator key."""
    ctx = open_chain(chain="embedded", data_dir=tmp_path, operator_key=DEV_OPERATOR_KEY)
    yield ctx
    ctx.stop()


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    """A migrated SQLite database in the test's folder."""
    url = f"sqlite:///{tmp_path / 'cp.db'}"
    upgrade(url)
    return make_engine(url)


def docs(n: int, tag: str = "doc") -> list[bytes]:
    return [hash_bytes(f"{tag}-{i}".encode(), "sha256") for i in range(n)]


def test_batches_anchor_in_one_tx_each_and_receipts_verify(
    chain: ChainContext, engine: Engine
) -> None:
    with Session(engine) as s:
        accepted = submit_digests(session=s, algorithm="sha256", digests=docs(25), member_id=None)
    assert [a.status for a in accepted] == ["queued"] * 25
    start_block = chain.w3.eth.block_number
    batcher = Batcher(engine=engine, chain=chain, batch_size=10, interval_ms=10)
    batcher.drain(timeout=60)

    with Session(engine) as s:
        statuses = s.exec(select(Evidence.status)).all()
        batches = s.exec(select(Batch)).all()
        assert set(statuses) == {"anchored"}
        assert sorted(b.leaf_count for b in batches) == [5, 10, 10]
        assert {b.status for b in batches} == {"confirmed"}
        # One anchoring transaction per batch and no other transaction.
        sent = sum(
            len(chain.w3.eth.get_block(n)["transactions"])
            for n in range(start_block + 1, chain.w3.eth.block_number + 1)
        )
        assert sent == len(batches)
        for a in accepted:
            receipt = build_receipt(session=s, evidence_id=a.public_id, viewer=OPERATOR)
            assert check_receipt_offline(receipt) == []
            verdict = verify_receipt(receipt, chain.w3, trust=pinned(chain.w3, chain.contract))
            assert verdict.valid, verdict.reason


def test_verdicts_follow_the_document(chain: ChainContext, engine: Engine) -> None:
    [d1, d2] = docs(2, "verdict")
    with Session(engine) as s:
        submit_digests(session=s, algorithm="sha256", digests=[d1], member_id=None)
        pending = verify_digest(db=s, chain=chain, algorithm="sha256", digest=d1)
        assert pending["verdict"] == "pending"
    Batcher(engine=engine, chain=chain, batch_size=10, interval_ms=10).drain()
    with Session(engine) as s:
        v = verify_digest(db=s, chain=chain, algorithm="sha256", digest=d1, viewer=OPERATOR)
        assert v["verdict"] == "anchored"
        assert v["block_number"] > 0 and v["tx_hash"].startswith("0x")
        assert verify_digest(db=s, chain=chain, algorithm="sha256", digest=d2)["verdict"] == (
            "not_found"
        )
        # The same digest under another algorithm is another document.
        other = verify_digest(db=s, chain=chain, algorithm="sm3", digest=d1)
        assert other["verdict"] == "not_found"


def test_reindex_rebuilds_every_anchor(chain: ChainContext, engine: Engine) -> None:
    with Session(engine) as s:
        submit_digests(session=s, algorithm="sha256", digests=docs(30, "ri"), member_id=None)
    Batcher(engine=engine, chain=chain, batch_size=7, interval_ms=10).drain()
    with Session(engine) as s:
        before = {r.root: r.tx_hash for r in s.exec(select(AnchorRecord)).all()}
        assert len(before) == 5
        for r in s.exec(select(AnchorRecord)).all():
            s.delete(r)
        s.commit()
        assert s.exec(select(func.count()).select_from(AnchorRecord)).one() == 0
        counts = reindex(session=s, chain=chain)
        after = {r.root: r.tx_hash for r in s.exec(select(AnchorRecord)).all()}
    assert counts["anchors"] == 5
    assert after == before


def test_server_on_a_fresh_chain_says_chain_mismatch(
    chain: ChainContext, engine: Engine, tmp_path: Path
) -> None:
    """The index says anchored; the chain behind the server is reset: never say anchored."""
    [d] = docs(1, "reset")
    with Session(engine) as s:
        submit_digests(session=s, algorithm="sha256", digests=[d], member_id=None)
    Batcher(engine=engine, chain=chain, batch_size=1, interval_ms=10).drain()
    # Swap the node under the same context for a brand-new chain (a reset Anvil).
    from chainproof.chain.nodes import EmbeddedNode

    fresh = EmbeddedNode()
    fresh.start()
    chain.node, chain.w3 = fresh, fresh.web3()
    chain.registry.w3 = chain.w3
    chain.registry.contract = chain.w3.eth.contract(
        address=chain.registry.address, abi=chain.artifact.abi
    )
    with Session(engine) as s:
        v = verify_digest(db=s, chain=chain, algorithm="sha256", digest=d)
    assert v["verdict"] == "chain_mismatch", v
    assert "EvidenceRegistry" in (v["reason"] or "")  # eth-tester genesis is deterministic


def test_reset_anvil_behind_a_running_context(engine: Engine, tmp_path: Path) -> None:
    """Anvil restarted without its state file: a new chain on the same URL and chain id."""
    from chainproof.chain.managed import free_port

    data = tmp_path / "anvil"
    ctx = open_chain(chain="anvil", data_dir=data, operator_key=DEV_OPERATOR_KEY, port=free_port())
    try:
        [d] = docs(1, "anvil-reset")
        with Session(engine) as s:
            submit_digests(session=s, algorithm="sha256", digests=[d], member_id=None)
        Batcher(engine=engine, chain=ctx, batch_size=1, interval_ms=10).drain()
        with Session(engine) as s:
            assert verify_digest(db=s, chain=ctx, algorithm="sha256", digest=d)["verdict"] == (
                "anchored"
            )
        ctx.node.stop()
        for f in data.glob("anvil-state*"):
            f.unlink()
        ctx.node.start()
        status = ctx.status(fresh=True)
        assert not status.ok and status.code == "chain_mismatch"
        with Session(engine) as s:
            v = verify_digest(db=s, chain=ctx, algorithm="sha256", digest=d)
        assert v["verdict"] == "chain_mismatch", v
        # Either the genesis differs or (same-second restart) the contract is missing.
        assert "genesis" in v["reason"] or "no contract code" in v["reason"], v["reason"]
        batcher = Batcher(engine=engine, chain=ctx, batch_size=1, interval_ms=10)
        assert batcher.recover() is False  # the batcher pauses instead of requeueing all
    finally:
        ctx.stop()


def test_orphaned_batch_requeues_and_reanchors(chain: ChainContext, engine: Engine) -> None:
    """A confirmed batch whose block vanished goes back to the queue and anchors again."""
    with Session(engine) as s:
        submit_digests(session=s, algorithm="sha256", digests=docs(3, "orph"), member_id=None)
    snap = chain.node.snapshot()
    Batcher(engine=engine, chain=chain, batch_size=3, interval_ms=10).drain()
    chain.node.revert(snap)  # the node comes back without its last block
    # Make the block at that height exist with another hash, as a restarted node would.
    chain.w3.provider.make_request("evm_mine", [])  # type: ignore[attr-defined]
    batcher = Batcher(engine=engine, chain=chain, batch_size=3, interval_ms=10)
    assert batcher.recover()
    with Session(engine) as s:
        assert set(s.exec(select(Evidence.status)).all()) == {"queued"}
        assert s.exec(select(Batch.status)).all() == ["orphaned"]
    batcher.drain()
    with Session(engine) as s:
        assert set(s.exec(select(Evidence.status)).all()) == {"anchored"}
        assert s.exec(select(Batch.status)).all() == ["confirmed"]
        ids = s.exec(select(col(Evidence.public_id))).all()
        for i in ids:
            receipt = build_receipt(session=s, evidence_id=i, viewer=OPERATOR)
            assert verify_receipt(receipt, chain.w3, trust=pinned(chain.w3, chain.contract)).valid


def test_failpoints_are_off_by_default() -> None:
    assert "CHAINPROOF_FAULT" not in os.environ


def test_member_batches_are_signed_by_the_member(chain: ChainContext, engine: Engine) -> None:
    """Each member's documents go in its own batch, anchored under the member's own key."""
    from chainproof.identity import create_member
    from chainproof.store.models import Member

    with Session(engine) as s:
        a = create_member(session=s, name="甲公司")
        b = create_member(session=s, name="乙公司")
        assert a.id is not None and b.id is not None
        submit_digests(session=s, algorithm="sha256", digests=docs(2, "a"), member_id=a.id)
        submit_digests(session=s, algorithm="sha256", digests=docs(3, "b"), member_id=b.id)
        submit_digests(session=s, algorithm="sha256", digests=docs(1, "op"), member_id=None)
    Batcher(
        engine=engine, chain=chain, batch_size=100, interval_ms=10, member_secret="test-secret"
    ).drain()
    with Session(engine) as s:
        members = {m.id: m.chain_address for m in s.exec(select(Member)).all()}
        for ev in s.exec(select(Evidence)).all():
            assert ev.id is not None
            receipt = build_receipt(session=s, evidence_id=ev.public_id, viewer=OPERATOR)
            expected = members[ev.member_id] if ev.member_id else chain.sender.address
            assert receipt.submitter == expected
            assert verify_receipt(receipt, chain.w3, trust=pinned(chain.w3, chain.contract)).valid
        batches = s.exec(select(Batch)).all()
        assert sorted(b.leaf_count for b in batches) == [1, 2, 3]
        assert len({b.signer for b in batches}) == 3
        on_chain = chain.registry.get_anchor(batches[0].signer, batches[0].root)
        assert on_chain is not None and on_chain.submitter == batches[0].signer


def test_failed_batch_insert_leaves_no_nonce_gap(engine: Engine, tmp_path: Path) -> None:
    """The batch row cannot be stored ("database is locked") after its transaction was
    signed: the nonce it reserved must be reused, or every later batch waits forever."""
    import sqlite3

    from sqlalchemy import event
    from sqlalchemy.exc import OperationalError

    from chainproof.chain.managed import free_port

    from ..conftest import node_binary_present, require

    require(node_binary_present("anvil"), "anvil is missing from node_modules (run `make install`)")
    # Give up on a held lock at once rather than after the usual 5 s (runs after make_engine's
    # own connect hook, so it overrides its busy_timeout).
    event.listen(engine, "connect", lambda conn, _rec: conn.execute("PRAGMA busy_timeout=50"))
    engine.dispose()
    ctx = open_chain(
        chain="anvil", data_dir=tmp_path / "anvil", operator_key=DEV_OPERATOR_KEY, port=free_port()
    )
    try:
        with Session(engine) as s:
            submit_digests(session=s, algorithm="sha256", digests=docs(6, "gap"), member_id=None)
        batcher = Batcher(engine=engine, chain=ctx, batch_size=3, interval_ms=10)
        assert batcher.recover()
        first_nonce = ctx.w3.eth.get_transaction_count(ctx.sender.address, "pending")
        # Another writer holds SQLite's write lock while the batcher closes a batch.
        db_path = str(engine.url.database)
        blocker = sqlite3.connect(db_path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(OperationalError, match="locked"):
                batcher.step(force=True)
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        with Session(engine) as s:
            assert s.exec(select(Batch)).all() == []  # nothing stored, nothing sent
        # Bounded by steps, not time: a nonce gap would leave the batch pending forever.
        for _ in range(40):
            batcher.step(force=True)
            if batcher.pending_count() == 0:
                break
        with Session(engine) as s:
            batches = s.exec(select(Batch).order_by(col(Batch.id))).all()
            assert [b.status for b in batches] == ["confirmed", "confirmed"]
            assert [b.nonce for b in batches] == [first_nonce, first_nonce + 1]
            assert set(s.exec(select(Evidence.status)).all()) == {"anchored"}
    finally:
        ctx.stop()


def test_planned_batch_above_the_next_nonce_is_resigned(engine: Engine, tmp_path: Path) -> None:
    """A planned batch stored with a nonce the chain cannot reach yet (one below it was
    never used) is signed again with the next nonce before it is sent."""
    from chainproof.chain.managed import free_port

    from ..conftest import node_binary_present, require

    require(node_binary_present("anvil"), "anvil is missing from node_modules (run `make install`)")
    ctx = open_chain(
        chain="anvil", data_dir=tmp_path / "anvil", operator_key=DEV_OPERATOR_KEY, port=free_port()
    )
    try:
        with Session(engine) as s:
            submit_digests(session=s, algorithm="sha256", digests=docs(2, "resign"), member_id=None)
        batcher = Batcher(engine=engine, chain=ctx, batch_size=2, interval_ms=10)
        assert batcher.recover()
        next_nonce = ctx.w3.eth.get_transaction_count(ctx.sender.address, "pending")
        ctx.sender.reserve_nonce()  # a nonce reserved and lost, as by a failed write
        with ctx.sender.sending():
            batch_id = batcher._close_batch(force=True)
        assert batch_id is not None
        with Session(engine) as s:
            planned = s.get(Batch, batch_id)
            assert planned is not None and planned.nonce == next_nonce + 1
        for _ in range(40):
            batcher.step(force=True)
            if batcher.pending_count() == 0:
                break
        with Session(engine) as s:
            done = s.get(Batch, batch_id)
            assert done is not None and done.status == "confirmed"
            assert done.nonce == next_nonce
            assert set(s.exec(select(Evidence.status)).all()) == {"anchored"}
    finally:
        ctx.stop()
