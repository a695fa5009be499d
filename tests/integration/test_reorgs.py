"""Reorganisations while ingesting (issue 18): Anvil's ``anvil_reorg`` and ``anvil_rollback``
at depths 1-5 under a running batcher that counts 3 confirmations. Shallow ones take mined,
not yet final anchors away (the batcher sends them again); deeper ones take confirmed ones
(the reorg watcher requeues their documents). In the end every document is anchored exactly
once, in a block of the canonical chain, and every receipt verifies against the pinned
trust anchor."""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from chainproof.chain.context import open_chain
from chainproof.chain.managed import AnvilNode
from chainproof.chain.nodes import http_web3
from chainproof.config import DEV_OPERATOR_KEY
from chainproof.digests import hash_bytes
from chainproof.evidence.batcher import Batcher
from chainproof.evidence.finality import FinalityPolicy, choose_policy
from chainproof.evidence.intake import submit_digests
from chainproof.evidence.proofs import TreeCache
from chainproof.evidence.service import build_receipt
from chainproof.evidence.verify import OPERATOR, verify_digest
from chainproof.receipts import check_receipt_offline, verify_receipt
from chainproof.store.db import make_engine, upgrade
from chainproof.store.models import Batch, BatchStatus, Evidence

from ..consortium import MakeProxy
from ..factories import pinned

pytestmark = pytest.mark.chain

DOCS = 2_000
CHUNKS = 10
CONFIRMATIONS = 3
# (method, depth): every depth 1-5 by reorg (new blocks replace the lost ones) and the
# deeper ones again by rollback (the chain just gets shorter).
FAULTS = [("anvil_reorg", d) for d in (1, 2, 3, 4, 5)] + [("anvil_rollback", d) for d in (2, 4, 5)]


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    url = f"sqlite:///{tmp_path / 'cp.db'}"
    upgrade(url)
    return make_engine(url)


def _confirmed_within(engine: Engine, head: int, depth: int) -> bool:
    with Session(engine) as s:
        newest = s.exec(
            select(func.max(Batch.block_number)).where(
                col(Batch.status) == BatchStatus.CONFIRMED.value
            )
        ).one()
    return newest is not None and int(newest) > head - depth


def test_reorgs_during_an_ingest_anchor_every_document_once_in_a_canonical_block(
    network: AnvilNode, engine: Engine, tmp_path: Path
) -> None:
    ctx = open_chain(chain=network.rpc_url or "", data_dir=tmp_path, operator_key=DEV_OPERATOR_KEY)
    w3 = ctx.w3
    network._rpc("anvil_mine", [hex(10)])  # the registry's deployment stays below every reorg
    floor = int(w3.eth.block_number)
    batcher = Batcher(
        engine=engine,
        chain=ctx,
        batch_size=100,
        interval_ms=20,
        confirmations=CONFIRMATIONS,
        finality=FinalityPolicy("confirmations", CONFIRMATIONS),
    )
    batcher.watcher.interval = 0.05
    stop = threading.Event()

    def mine() -> None:  # a chain that makes blocks on its own, as a consortium network does
        while not stop.wait(0.03):
            network._rpc("evm_mine", [])

    miner = threading.Thread(target=mine, daemon=True)
    miner.start()
    batcher.start()
    hit_confirmed = 0
    try:
        for i in range(CHUNKS):
            digests = [
                hash_bytes(f"reorg-{i}-{j}".encode(), "sha256") for j in range(DOCS // CHUNKS)
            ]
            with Session(engine) as s:
                submit_digests(session=s, algorithm="sha256", digests=digests, member_id=None)
            if i < len(FAULTS):
                method, depth = FAULTS[i]
                # Deep faults wait (a while) for a confirmed anchor inside their reach, so the
                # watcher's path is taken, not only the in-flight one.
                deadline = time.monotonic() + 5
                while (
                    depth > CONFIRMATIONS - 1
                    and not _confirmed_within(engine, int(w3.eth.block_number), depth)
                    and time.monotonic() < deadline
                ):
                    time.sleep(0.01)
                if _confirmed_within(engine, int(w3.eth.block_number), depth):
                    hit_confirmed += 1
                network._rpc(method, [depth, []] if method == "anvil_reorg" else [depth])
            time.sleep(0.1)
        deadline = time.monotonic() + 180
        while batcher.pending_count():
            assert time.monotonic() < deadline, "the queue did not drain"
            assert batcher.alive
            time.sleep(0.1)
    finally:
        batcher.stop()
        stop.set()
        miner.join(5)
    assert hit_confirmed >= 1 and batcher.watcher.orphaned >= 1  # the watcher's path ran

    trust = pinned(w3, ctx.contract)
    head = int(w3.eth.block_number)
    with Session(engine) as s:
        assert Counter(s.exec(select(Evidence.status)).all()) == {"anchored": DOCS}
        confirmed = s.exec(select(Batch).where(Batch.status == BatchStatus.CONFIRMED.value)).all()
        assert sum(b.leaf_count for b in confirmed) == DOCS
        # Each confirmed batch is in a canonical block, holding its transaction.
        for b in confirmed:
            assert b.block_number is not None and floor < b.block_number <= head
            block = w3.eth.get_block(b.block_number)
            assert block["hash"].to_0x_hex() == b.block_hash
            receipt = w3.eth.get_transaction_receipt(b.tx_hash)  # type: ignore[arg-type]
            assert receipt["blockHash"].to_0x_hex() == b.block_hash
        # Exactly once: the canonical chain's Anchored events are the confirmed batches' roots,
        # each once, and no other root (a requeued document anchored twice would add one).
        events = ctx.registry.anchored_events(from_block=floor, to_block=head)
        assert Counter(e.root for e in events) == Counter(b.root for b in confirmed)
        rows = s.exec(select(Evidence)).all()
        assert {r.batch_id for r in rows} == {b.id for b in confirmed}
        trees = TreeCache()  # the receipt route's cache: each batch's tree read once
        for r in rows:
            receipt_ = build_receipt(
                session=s, evidence_id=r.public_id, viewer=OPERATOR, trees=trees
            )
            assert check_receipt_offline(receipt_) == []
        # Online verification against the pinned anchor: one receipt per batch (the proof of
        # every other row was checked offline against the same, now verified, root).
        for b in confirmed:
            r = next(r for r in rows if r.batch_id == b.id)
            receipt_ = build_receipt(session=s, evidence_id=r.public_id, viewer=OPERATOR)
            verdict = verify_receipt(receipt_, w3, trust=trust)
            assert verdict.valid, verdict.reason
    ctx.stop()


def test_the_confirmation_policy_follows_the_chain_kind(
    network: AnvilNode, other_anvil: AnvilNode, make_proxy: MakeProxy
) -> None:
    w3 = network.web3()
    for kind in ("anvil", "external"):  # a dev node by kind, or by its client version
        dev = choose_policy(mode="auto", confirmations=None, kind=kind, w3=w3)
        assert (dev.mode, dev.confirmations) == ("confirmations", 1)
    # The same node passing for Besu: an external chain. Without a meaningful finalized tag
    # (Anvil's sits at genesis while the chain is younger than two epochs): clique's count.
    besu = make_proxy(network)
    besu.client_version = "besu/v24.12.0/linux-x86_64/openjdk-java-21"
    far = http_web3(besu.url)
    young = choose_policy(mode="auto", confirmations=None, kind="external", w3=far)
    assert (young.mode, young.confirmations) == ("confirmations", 6)
    network._rpc("anvil_mine", [hex(80)])
    tagged = choose_policy(mode="auto", confirmations=None, kind="external", w3=far)
    assert tagged.mode == "finalized"
    head = int(w3.eth.block_number)
    assert tagged.is_final(w3, head - 64) and not tagged.is_final(w3, head - 10)
    counted = FinalityPolicy("confirmations", 3)
    assert counted.is_final(w3, head - 2) and not counted.is_final(w3, head - 1)
    forced = choose_policy(mode="confirmations", confirmations=2, kind="external", w3=far)
    assert (forced.mode, forced.confirmations) == ("confirmations", 2)
    # Asked for a tag the node cannot answer (a fresh chain's is genesis): loudly counted.
    fresh = make_proxy(other_anvil)
    fresh.client_version = besu.client_version
    fallback = choose_policy(
        mode="finalized", confirmations=None, kind="external", w3=http_web3(fresh.url)
    )
    assert (fallback.mode, fallback.confirmations) == ("confirmations", 6)


def test_a_receipt_whose_block_is_reorganised_away_fails_and_is_reissued(
    network: AnvilNode, engine: Engine, tmp_path: Path
) -> None:
    ctx = open_chain(chain=network.rpc_url or "", data_dir=tmp_path, operator_key=DEV_OPERATOR_KEY)
    network._rpc("anvil_mine", [hex(5)])
    digest = hash_bytes(b"orphaned receipt", "sha256")
    with Session(engine) as s:
        [accepted] = submit_digests(session=s, algorithm="sha256", digests=[digest], member_id=None)
    batcher = Batcher(engine=engine, chain=ctx, batch_size=10, interval_ms=10)  # 1 confirmation
    batcher.drain(timeout=30)
    trust = pinned(ctx.w3, ctx.contract)
    with Session(engine) as s:
        first = build_receipt(session=s, evidence_id=accepted.public_id, viewer=OPERATOR)
    assert verify_receipt(first, ctx.w3, trust=trust).valid
    network._rpc("anvil_reorg", [2, []])  # the anchoring block and the next are replaced

    assert not verify_receipt(first, ctx.w3, trust=trust).valid  # the old receipt fails
    assert batcher.watcher.check() == 1
    with Session(engine) as s:
        assert verify_digest(db=s, chain=ctx, algorithm="sha256", digest=digest)["verdict"] == (
            "pending"
        )
    batcher.drain(timeout=30)
    with Session(engine) as s:
        second = build_receipt(session=s, evidence_id=accepted.public_id, viewer=OPERATOR)
        verdict = verify_digest(db=s, chain=ctx, algorithm="sha256", digest=digest)
    assert verdict["verdict"] == "anchored"
    assert second.block_hash != first.block_hash and second.root == first.root  # same salt
    assert verify_receipt(second, ctx.w3, trust=trust).valid
    ctx.stop()


def test_an_anchor_sent_behind_a_reorganised_one_is_signed_again_with_the_freed_nonce(
    network: AnvilNode, engine: Engine, tmp_path: Path
) -> None:
    """The ingest test above hung now and then under load ("the queue did not drain"): a
    reorganisation took a confirmed anchor (nonce n) away while the next batch, signed with
    n + 1, was in flight. Its re-send then sat in the pool behind the gap, and with one
    batch in flight nothing of ours would ever fill n: it was replaced at n + 1 every
    minute, forever. Here that state is made on purpose."""
    ctx = open_chain(chain=network.rpc_url or "", data_dir=tmp_path, operator_key=DEV_OPERATOR_KEY)
    network._rpc("anvil_mine", [hex(5)])
    batcher = Batcher(engine=engine, chain=ctx, batch_size=10, interval_ms=10)  # 1 confirmation
    digests = [hash_bytes(f"gapped-{i}".encode(), "sha256") for i in range(2)]
    with Session(engine) as s:
        submit_digests(session=s, algorithm="sha256", digests=digests[:1], member_id=None)
    batcher.drain(timeout=30)  # the first anchor: confirmed, nonce n
    with Session(engine) as s:
        submit_digests(session=s, algorithm="sha256", digests=digests[1:], member_id=None)
    with ctx.sender.sending():  # the second: signed with n + 1 and sent, not yet confirmed
        second = batcher._close_batch(force=True)
        assert second is not None
        batcher._advance(second, wait=False)
    network._rpc("anvil_reorg", [2, []])  # both anchoring blocks replaced: both txs dropped

    batcher.drain(timeout=30)  # before the fix: ChainError, the queue did not drain
    trust = pinned(ctx.w3, ctx.contract)
    with Session(engine) as s:
        assert Counter(s.exec(select(Evidence.status)).all()) == {"anchored": 2}
        confirmed = s.exec(select(Batch).where(Batch.status == BatchStatus.CONFIRMED.value)).all()
        events = ctx.registry.anchored_events(from_block=ctx.deployment.block_number)
        assert Counter(e.root for e in events) == Counter(b.root for b in confirmed)
        for r in s.exec(select(Evidence)).all():
            receipt_ = build_receipt(session=s, evidence_id=r.public_id, viewer=OPERATOR)
            assert verify_receipt(receipt_, ctx.w3, trust=trust).valid
    ctx.stop()
