"""The lineage graph: edges lot → item, input → output (transformation), child → parent
(aggregation). Backward from an item reaches every input lot it came from; forward from a
lot reaches every item and downstream lot it went into."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from sqlmodel import Session, col, select

from chainproof.trace.models import TraceEdge, TraceNode


def _walk(session: Session, start: Iterable[int], *, forward: bool) -> list[TraceNode]:
    seen: set[int] = set(start)
    queue = deque(seen)
    order: list[int] = []
    while queue:
        nid = queue.popleft()
        if forward:
            rows = session.exec(select(TraceEdge.dst_id).where(TraceEdge.src_id == nid)).all()
        else:
            rows = session.exec(select(TraceEdge.src_id).where(TraceEdge.dst_id == nid)).all()
        for nxt in rows:
            if nxt not in seen:
                seen.add(nxt)
                order.append(nxt)
                queue.append(nxt)
    if not order:
        return []
    nodes = {n.id: n for n in session.exec(select(TraceNode).where(col(TraceNode.id).in_(order)))}
    return [nodes[i] for i in order]


def backward(session: Session, node: TraceNode) -> list[TraceNode]:
    """Everything ``node`` came from (its lot, inputs, their lots...), nearest first."""
    assert node.id is not None
    return _walk(session, [node.id], forward=False)


def forward(session: Session, node: TraceNode) -> list[TraceNode]:
    """Everything ``node`` went into (its items, outputs, cases...), nearest first."""
    assert node.id is not None
    return _walk(session, [node.id], forward=True)
