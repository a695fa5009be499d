"""Trace heads, recalls and recall lifts go through the chain writer (issue 15): SIGKILL a
real ``chainproof worker`` before the send, after the send and after the receipt of each;
after restarts every head batch, recall and lift has landed exactly once (one transaction
each to TraceRegistry, its operation ``confirmed`` with that hash, the index marked), and
the chain holds the heads and the lot's recall state the index says."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
from eth_utils import keccak
from hexbytes import HexBytes
from sqlalchemy import Engine
from sqlmodel import Session, select

from chainproof.chain.context import ChainContext, open_chain
from chainproof.chain.managed import AnvilNode
from chainproof.chain.trace_registry import trace_chain
from chainproof.config import DEV_OPERATOR_KEY
from chainproof.store.db import make_engine, upgrade
from chainproof.store.models import utcnow
from chainproof.store.ops import ChainOp
from chainproof.trace import ops
from chainproof.trace.heads import publish_pending, reason_hash
from chainproof.trace.models import TraceNode, TraceRecall

from .test_writer_crash import STEPS, _killed_at, _ops, _run_until, anvil  # noqa: F401

pytestmark = pytest.mark.chain
SET_HEADS = keccak(text="setHeads(bytes32[],bytes32[],uint32[])")[:4]
RECALL = keccak(text="recall(bytes32,bytes32)")[:4]
LIFT = keccak(text="liftRecall(bytes32,bytes32)")[:4]


def _node(kind: str, count: int) -> TraceNode:
    key = "0x" + secrets.token_hex(32)
    return TraceNode(
        kind=kind,
        uri=f"https://id.example/{kind}/{key[2:18]}",
        code=f"{kind}-{key[2:18]}",
        salt="0x" + "00" * 32,
        chain_key=key,
        head="0x" + secrets.token_hex(32),
        count=count,
    )


def _txs(ctx: ChainContext, contract: str, selector: bytes) -> list[str]:
    """Hashes of every transaction (mined, reverted or not) calling ``selector`` on
    ``contract``: a second send of one intention shows here even without an event."""
    w3 = ctx.w3
    out = []
    for n in range(ctx.deployment.block_number, w3.eth.block_number + 1):
        for tx in w3.eth.get_block(n, full_transactions=True)["transactions"]:
            data = bytes(HexBytes(tx["input"]))  # type: ignore[index]
            if tx["to"] == contract and data[:4] == selector:  # type: ignore[index]
                out.append(HexBytes(tx["hash"]).to_0x_hex())  # type: ignore[index]
    return out


def _settled(engine: Engine, count: int) -> bool:
    done = [op for op in _ops(engine) if op.status in ("confirmed", "failed")]
    return len(done) >= count and len(done) == len(_ops(engine))


@pytest.mark.slow
def test_kill9_at_each_writer_step_lands_each_head_batch_recall_and_lift_once(
    anvil: AnvilNode,  # noqa: F811
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    assert anvil.rpc_url
    ctx = open_chain(chain=anvil.rpc_url, data_dir=data, operator_key=DEV_OPERATOR_KEY)
    tc = trace_chain(ctx, data_dir=data)  # recorded in data/deployments: the worker finds it
    url = f"sqlite:///{data / 'chainproof.db'}"
    upgrade(url)
    engine = make_engine(url)
    with Session(engine) as s:
        item, lot = _node("item", 2), _node("lot", 1)
        s.add(item)
        s.add(lot)
        s.commit()
        s.refresh(lot)
        assert lot.id is not None
        recall = TraceRecall(lot_node_id=lot.id, reason="抽检", reason_hash=reason_hash("抽检"))
        s.add(recall)
        s.commit()
        s.refresh(recall)
        ops.enqueue_recall(s, recall, lift=False)
        item_id, lot_id, recall_id = item.id, lot.id, recall.id

    # Round one: the recall (enqueued above, as the API does) and the first head batch
    # (enqueued by the worker's publisher); a kill at each step of the writer.
    for step in STEPS:
        _killed_at(anvil, data, step)
    _run_until(anvil, data, lambda: _settled(engine, 2))

    # Round two: the lot's recall lifted, the item's head moved on.
    with Session(engine) as s:
        row = s.get(TraceRecall, recall_id)
        node = s.get(TraceNode, item_id)
        assert row is not None and node is not None
        row.lifted_at = utcnow()
        row.lift_reason = "复检合格"
        row.lift_reason_hash = reason_hash("复检合格")
        node.count, node.head = 3, "0x" + secrets.token_hex(32)
        s.add(row)
        s.add(node)
        s.commit()
        s.refresh(row)
        ops.enqueue_recall(s, row, lift=True)
    for step in STEPS:
        _killed_at(anvil, data, step)
    _run_until(anvil, data, lambda: _settled(engine, 4))

    settled = _ops(engine)
    assert sorted((op.kind, op.status) for op in settled) == sorted(
        [("trace_recall", "confirmed"), ("trace_lift_recall", "confirmed")]
        + [("trace_set_heads", "confirmed")] * 2
    ), [(op.kind, op.status, op.error) for op in settled]
    by_kind: dict[str, list[ChainOp]] = {}
    for op in settled:
        by_kind.setdefault(op.kind, []).append(op)
    contract = tc.contract
    # One transaction per intention; each operation names the one the chain holds.
    assert _txs(ctx, contract, RECALL) == [by_kind["trace_recall"][0].tx_hash]
    assert _txs(ctx, contract, LIFT) == [by_kind["trace_lift_recall"][0].tx_hash]
    assert sorted(_txs(ctx, contract, SET_HEADS)) == sorted(
        str(op.tx_hash) for op in by_kind["trace_set_heads"]
    )
    with Session(engine) as s:
        row = s.get(TraceRecall, recall_id)
        node = s.get(TraceNode, item_id)
        lot_node = s.get(TraceNode, lot_id)
        assert row is not None and node is not None and lot_node is not None
        assert row.tx_hash == by_kind["trace_recall"][0].tx_hash
        assert row.lift_tx_hash == by_kind["trace_lift_recall"][0].tx_hash
        assert (node.published_count, lot_node.published_count) == (3, 1)
        on_chain = tc.client.head_of(node.chain_key)
        assert (on_chain.head, on_chain.count) == (node.head, 3)
        state = tc.client.recall_of(lot_node.chain_key)
        assert (state.recalls, state.recalled_at == 0, state.lifted_at > 0) == (1, True, True)
    engine.dispose()
    ctx.stop()


def test_a_recall_whose_operation_failed_is_not_sent_again_unasked(tmp_path: Path) -> None:
    """The publisher's round enqueues a recall once; after its operation failed only an
    explicit publish (``retry_failed``) asks again: no failed operation every interval."""
    url = f"sqlite:///{tmp_path / 'cp.db'}"
    upgrade(url)
    engine = make_engine(url)
    with Session(engine) as s:
        lot = _node("lot", 0)
        lot.head = None
        s.add(lot)
        s.commit()
        s.refresh(lot)
        assert lot.id is not None
        s.add(TraceRecall(lot_node_id=lot.id, reason="x", reason_hash=reason_hash("x")))
        s.commit()
    first = ops.enqueue_pending(engine)
    assert [op.kind for op in first] == ["trace_recall"]
    assert ops.enqueue_pending(engine) == []  # live already
    with Session(engine) as s:
        op = s.exec(select(ChainOp)).one()
        op.status, op.dedupe_key = "failed", None
        s.add(op)
        s.commit()
    assert ops.enqueue_pending(engine) == []
    again = ops.enqueue_pending(engine, retry_failed=True)
    assert [op.kind for op in again] == ["trace_recall"]
    engine.dispose()


def test_publish_sends_what_moved_after_the_publisher_enqueued_its_batch(
    anvil: AnvilNode,  # noqa: F811
    tmp_path: Path,
) -> None:
    """The publisher thread enqueued a head batch (count 1); the item moves on (count 2)
    before it is sent. "Publish now" (`POST /trace/publish`, `publish_pending`) sends that
    batch, then the head that moved since: the chain ends at count 2, not 1."""
    data = tmp_path / "data"
    assert anvil.rpc_url
    ctx = open_chain(chain=anvil.rpc_url, data_dir=data, operator_key=DEV_OPERATOR_KEY)
    tc = trace_chain(ctx, data_dir=data)
    url = f"sqlite:///{data / 'chainproof.db'}"
    upgrade(url)
    engine = make_engine(url)
    with Session(engine) as s:
        item = _node("item", 1)
        s.add(item)
        s.commit()
        s.refresh(item)
    assert [op.kind for op in ops.enqueue_pending(engine)] == ["trace_set_heads"]
    moved = "0x" + secrets.token_hex(32)
    with Session(engine) as s:
        node = s.get(TraceNode, item.id)
        assert node is not None
        node.count, node.head = 2, moved
        s.add(node)
        s.commit()
    published = publish_pending(engine=engine, chain=ctx, data_dir=data)
    assert published.heads == 2 and len(published.tx_hashes) == 2, published
    on_chain = tc.client.head_of(item.chain_key)
    assert (on_chain.head, on_chain.count) == (moved, 2)
    with Session(engine) as s:
        node = s.get(TraceNode, item.id)
        assert node is not None and node.published_count == 2
    engine.dispose()
    ctx.stop()
