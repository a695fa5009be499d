"""Traceability's kinds of chain operation (``chain/writer.py``): trace heads, recalls and
recall lifts on TraceRegistry.

Like the evidence kinds (``evidence/ops.py``), each turns its ``chain_op`` payload into a
contract call when the writer is about to sign it, and marks the index when the writer has
the receipt; a call whose effect the chain holds already (a head published, a lot recalled,
by a transaction a crash lost track of) is settled without a transaction.

:func:`enqueue_pending` is what the head publisher (``heads.py``) runs every interval: one
``trace_set_heads`` operation for up to ``limit`` heads that moved (one live at a time), and
one operation per recall or lift not yet sent. Recalls and lifts asked for over HTTP are
enqueued by :func:`enqueue_recall` in the request, so the caller gets the operation id.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from chainproof.chain.context import ChainContext
from chainproof.chain.sender import MinedTx
from chainproof.chain.trace_registry import trace_chain
from chainproof.chain.writer import Call, OpKind, enqueue
from chainproof.errors import ConflictError
from chainproof.store.models import utcnow
from chainproof.store.ops import LIVE, ChainOp, OpStatus
from chainproof.trace.models import TraceNode, TraceRecall

SET_HEADS = "trace_set_heads"
RECALL = "trace_recall"
LIFT_RECALL = "trace_lift_recall"
HEADS_KEY = "trace:set_heads"  # one live head batch at a time
DEFAULT_LIMIT = 200
# A head batch the contract refused is asked again no sooner than this (not every interval).
RETRY_FAILED_HEADS = timedelta(seconds=60)
ALREADY_ON_CHAIN = "already-on-chain"


class SetHeads:
    """``setHeads`` for a batch of items; ``confirmed`` marks their ``published_count``."""

    name = SET_HEADS

    def __init__(self, data_dir: Path | None) -> None:
        self.data_dir = data_dir

    def build(self, session: Session, op: ChainOp, chain: ChainContext) -> Call | None:
        client = trace_chain(chain, data_dir=self.data_dir).client
        # Heads the chain holds at this count or later already (a lost receipt, a head
        # published by hand) are left out: sending them again would be a no-op or a revert.
        todo = [h for h in op.payload["heads"] if client.head_of(h["key"]).count < h["count"]]
        if not todo:
            return None
        fn = client.set_heads_call(
            [h["key"] for h in todo], [h["head"] for h in todo], [h["count"] for h in todo]
        )
        return Call(client, fn)

    def confirmed(
        self, session: Session, op: ChainOp, chain: ChainContext, mined: MinedTx | None
    ) -> None:
        for h in op.payload["heads"]:
            node = session.get(TraceNode, h["node"])
            if node is not None and node.published_count < h["count"]:
                node.published_count = h["count"]
                session.add(node)

    def failed(self, session: Session, op: ChainOp, chain: ChainContext) -> None:
        return None  # the heads stay unpublished: the publisher asks again later


class RecallFlag:
    """``recall`` (``lift=False``) or ``liftRecall`` of one lot; ``confirmed`` stores the
    transaction on the recall row (``tx_hash`` / ``lift_tx_hash``)."""

    def __init__(self, *, lift: bool, data_dir: Path | None) -> None:
        self.lift = lift
        self.data_dir = data_dir
        self.name = LIFT_RECALL if lift else RECALL

    def build(self, session: Session, op: ChainOp, chain: ChainContext) -> Call | None:
        client = trace_chain(chain, data_dir=self.data_dir).client
        key, reason = op.payload["key"], op.payload["reason_hash"]
        # Operations run one at a time in id order, so a lot recalled, lifted and recalled
        # again reaches the chain in that order; the flag says whether this one is done.
        recalled = client.recall_of(key).recalled_at != 0
        if recalled != self.lift:
            return None
        fn = client.lift_recall_call(key, reason) if self.lift else client.recall_call(key, reason)
        return Call(client, fn)

    def confirmed(
        self, session: Session, op: ChainOp, chain: ChainContext, mined: MinedTx | None
    ) -> None:
        row = session.get(TraceRecall, op.payload["recall"])
        if row is None:
            return
        tx = mined.tx_hash if mined is not None else ALREADY_ON_CHAIN
        if self.lift:
            row.lift_tx_hash = tx
        else:
            row.tx_hash = tx
        session.add(row)

    def failed(self, session: Session, op: ChainOp, chain: ChainContext) -> None:
        return None  # the recall stands in the index; POST /trace/publish asks again


def trace_kinds(*, data_dir: Path | None) -> Mapping[str, OpKind]:
    kinds: list[OpKind] = [
        SetHeads(data_dir),
        RecallFlag(lift=False, data_dir=data_dir),
        RecallFlag(lift=True, data_dir=data_dir),
    ]
    return {k.name: k for k in kinds}


def enqueue_recall(session: Session, recall: TraceRecall, *, lift: bool) -> ChainOp:
    """The recall's (or its lift's) operation, enqueued and committed with the row."""
    lot = session.get(TraceNode, recall.lot_node_id)
    assert lot is not None and recall.id is not None
    kind = LIFT_RECALL if lift else RECALL
    op = enqueue(
        session,
        kind=kind,
        payload={
            "recall": recall.id,
            "key": lot.chain_key,
            "reason_hash": recall.lift_reason_hash if lift else recall.reason_hash,
        },
        member_id=recall.lifted_by_member_id if lift else recall.member_id,
        dedupe_key=f"{kind}:{recall.id}",
    )
    if lift:
        recall.lift_op_id = op.public_id
    else:
        recall.op_id = op.public_id
    session.add(recall)
    session.commit()
    session.refresh(op)
    return op


def enqueue_pending(
    engine: Engine, *, limit: int = DEFAULT_LIMIT, retry_failed: bool = False
) -> list[ChainOp]:
    """Enqueues what is not on chain yet and has no operation (or, ``retry_failed``, a
    failed one); returns the operations enqueued."""
    out: list[ChainOp] = []
    # Not expired on commit: the operations are handed back after the session closes.
    with Session(engine, expire_on_commit=False) as s:
        heads = _enqueue_heads(s, limit)
        if heads is not None:
            out.append(heads)
        failed = _failed_ids(s) if retry_failed else set()
        # In id order: a lot recalled, lifted and recalled again goes on chain in that order.
        rows = s.exec(
            select(TraceRecall)
            .where(
                col(TraceRecall.tx_hash).is_(None)
                | (
                    col(TraceRecall.lift_reason_hash).is_not(None)
                    & col(TraceRecall.lift_tx_hash).is_(None)
                )
            )
            .order_by(col(TraceRecall.id))
        ).all()
        for r in rows:
            for lift, sent, op_id in (
                (False, r.tx_hash, r.op_id),
                (True, r.lift_tx_hash, r.lift_op_id),
            ):
                if lift and r.lift_reason_hash is None:
                    continue
                if sent is None and (op_id is None or op_id in failed):
                    try:
                        out.append(enqueue_recall(s, r, lift=lift))
                    except ConflictError:
                        continue  # one is live already (a crash between its two commits)
    return out


def live_ops(engine: Engine) -> list[ChainOp]:
    """Every trace operation not settled yet: what a "publish now" waits for."""
    with Session(engine) as s:
        return list(
            s.exec(
                select(ChainOp)
                .where(
                    col(ChainOp.kind).in_([SET_HEADS, RECALL, LIFT_RECALL]),
                    col(ChainOp.status).in_(LIVE),
                )
                .order_by(col(ChainOp.id))
            ).all()
        )


def _enqueue_heads(s: Session, limit: int) -> ChainOp | None:
    last = s.exec(
        select(ChainOp).where(ChainOp.kind == SET_HEADS).order_by(col(ChainOp.id).desc())
    ).first()
    if last is not None and last.status in LIVE:
        return None
    if (
        last is not None
        and last.status == OpStatus.FAILED.value
        and utcnow() - _aware(last.updated_at) < RETRY_FAILED_HEADS
    ):
        return None
    nodes = s.exec(
        select(TraceNode)
        .where(col(TraceNode.count) > col(TraceNode.published_count))
        .order_by(col(TraceNode.id))
        .limit(limit)
    ).all()
    heads = [
        {"node": n.id, "key": n.chain_key, "head": n.head, "count": n.count}
        for n in nodes
        if n.head
    ]
    if not heads:
        return None
    try:
        return enqueue(s, kind=SET_HEADS, payload={"heads": heads}, dedupe_key=HEADS_KEY)
    except ConflictError:
        return None  # another process enqueued the batch meanwhile


def _failed_ids(s: Session) -> set[str]:
    rows = s.exec(
        select(ChainOp.public_id).where(
            col(ChainOp.kind).in_([RECALL, LIFT_RECALL]), ChainOp.status == OpStatus.FAILED.value
        )
    ).all()
    return set(rows)


def _aware(when: datetime) -> datetime:
    # SQLite hands back naive datetimes; the tables hold UTC only (models.utcnow).
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)
