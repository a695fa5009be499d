"""Recalls: a regulator, or the org that owns the lot, recalls a lot, and may lift it.

The owner (whatever its role: a processor owns what it transforms) or a regulator recalls;
a recall is lifted by a regulator, or by the owner when the owner made it (a regulator's
recall stays until a regulator lifts it). A lifted lot may be recalled again: each recall
is a row with its lift. Both are stored at once, each with its chain operation
(``ops.py``: ``recall`` and ``liftRecall`` of TraceRegistry v2, sent by the chain writer;
a crash between the two commits leaves it to the head publisher's next round). Its
report traces forward from the lot to every item and downstream lot it reached, and back
to every input it came from; it exports as JSON and CSV.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from sqlmodel import Session, col, select

from chainproof.errors import AuthError, ConflictError, InvalidInputError, NotFoundError
from chainproof.store.models import utcnow
from chainproof.trace import codes, lineage, ops, roles
from chainproof.trace.heads import reason_hash
from chainproof.trace.models import NodeKind, TraceNode, TraceRecall, TraceRole


def find_node(session: Session, code: str) -> TraceNode:
    c = codes.parse_code(code)
    node = session.exec(select(TraceNode).where(TraceNode.uri == c.uri)).first()
    if node is None:
        # A platform code may name a lot though it parsed as an item (same alphabet).
        if c.gtin is None:
            lot = codes.platform_code("lot", c.code)
            node = session.exec(select(TraceNode).where(TraceNode.uri == lot.uri)).first()
        if node is None:
            raise NotFoundError(f"no item or lot {code!r} is traced here")
    return node


def recall_lot(*, session: Session, member_id: int | None, lot: str, reason: str) -> TraceRecall:
    reason = _reason(reason)
    node = _lot(session, lot)
    org = roles.writer_org(session, member_id)
    is_regulator = org.role == TraceRole.REGULATOR.value
    if not (is_regulator or node.owner_member_id == member_id):
        raise AuthError("only a regulator, or the org that owns the lot, may recall it")
    if active_recall(session, node) is not None:
        raise ConflictError(f"lot {node.code} is recalled already")
    assert node.id is not None
    recall = TraceRecall(
        lot_node_id=node.id,
        member_id=member_id,
        reason=reason,
        reason_hash=reason_hash(reason),
        by_regulator=is_regulator,
    )
    session.add(recall)
    session.commit()
    session.refresh(recall)
    ops.enqueue_recall(session, recall, lift=False)
    return recall


def lift_recall(*, session: Session, member_id: int | None, lot: str, reason: str) -> TraceRecall:
    """Lifts the lot's recall; the lift goes on chain (``liftRecall``) through the writer."""
    reason = _reason(reason)
    node = _lot(session, lot)
    org = roles.writer_org(session, member_id)
    recall = active_recall(session, node)
    is_regulator = org.role == TraceRole.REGULATOR.value
    is_owner = node.owner_member_id == member_id
    if not (is_regulator or is_owner):
        raise AuthError("only a regulator, or the org that owns the lot, may lift its recall")
    if recall is None:
        raise ConflictError(f"lot {node.code} is not recalled")
    if recall.by_regulator and not is_regulator:
        raise AuthError("a regulator recalled this lot: only a regulator lifts the recall")
    recall.lifted_at = utcnow()
    recall.lifted_by_member_id = member_id
    recall.lift_reason = reason
    recall.lift_reason_hash = reason_hash(reason)
    session.add(recall)
    session.commit()
    session.refresh(recall)
    ops.enqueue_recall(session, recall, lift=True)
    return recall


def _reason(reason: str) -> str:
    reason = reason.strip()
    if not 1 <= len(reason) <= 500:
        raise InvalidInputError("reason must be 1-500 characters")
    return reason


def _lot(session: Session, lot: str) -> TraceNode:
    node = find_node(session, lot)
    if node.kind != NodeKind.LOT.value:
        raise InvalidInputError(f"{lot!r} is an item, not a lot; recall its lot")
    return node


def active_recall(session: Session, lot: TraceNode) -> TraceRecall | None:
    return session.exec(
        select(TraceRecall).where(
            TraceRecall.lot_node_id == lot.id, col(TraceRecall.lifted_at).is_(None)
        )
    ).first()


def history(session: Session, node: TraceNode) -> list[tuple[TraceNode, TraceRecall]]:
    """Every recall, lifted or not, of ``node`` and the lots it came from, oldest first."""
    by_id = {
        n.id: n for n in [node, *lineage.backward(session, node)] if n.kind == NodeKind.LOT.value
    }
    if not by_id:
        return []
    rows = session.exec(
        select(TraceRecall)
        .where(col(TraceRecall.lot_node_id).in_(list(by_id)))
        .order_by(col(TraceRecall.id))
    ).all()
    return [(by_id[r.lot_node_id], r) for r in rows]


def recalled_lots(session: Session, node: TraceNode) -> list[TraceNode]:
    """The lots under a recall (not lifted) among ``node`` and everything it came from."""
    candidates = [node, *lineage.backward(session, node)]
    ids = {n.id for n in candidates if n.kind == NodeKind.LOT.value}
    if not ids:
        return []
    rows = session.exec(
        select(TraceRecall.lot_node_id).where(
            col(TraceRecall.lot_node_id).in_(ids), col(TraceRecall.lifted_at).is_(None)
        )
    ).all()
    hit = set(rows)
    return [n for n in candidates if n.id in hit]


def _row(n: TraceNode, relation: str) -> dict[str, Any]:
    return {
        "relation": relation,
        "kind": n.kind,
        "code": n.code,
        "uri": n.uri,
        "product": n.product,
        "gtin": n.gtin,
        "serial": n.serial,
        "lot": n.lot,
    }


def report(*, session: Session, recall_id: int) -> dict[str, Any]:
    recall = session.get(TraceRecall, recall_id)
    if recall is None:
        raise NotFoundError(f"no recall {recall_id}")
    lot = session.get(TraceNode, recall.lot_node_id)
    assert lot is not None
    down = lineage.forward(session, lot)
    up = lineage.backward(session, lot)
    return {
        "recall_id": recall.id,
        "lot": _row(lot, "recalled"),
        "reason": recall.reason,
        "reason_hash": recall.reason_hash,
        "recalled_at": recall.created_at.isoformat(),
        "on_chain_tx": recall.tx_hash,
        "lifted_at": recall.lifted_at.isoformat() if recall.lifted_at else None,
        "lift_reason": recall.lift_reason,
        "lift_on_chain_tx": recall.lift_tx_hash,
        "affected_items": [_row(n, "downstream") for n in down if n.kind == "item"],
        "downstream_lots": [_row(n, "downstream") for n in down if n.kind == "lot"],
        "inputs": [_row(n, "upstream") for n in up],
    }


CSV_FIELDS = ("relation", "kind", "code", "uri", "product", "gtin", "serial", "lot")


def report_csv(data: dict[str, Any]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=CSV_FIELDS, lineterminator="\n")
    w.writeheader()
    for row in [data["lot"], *data["affected_items"], *data["downstream_lots"], *data["inputs"]]:
        w.writerow(row)
    return buf.getvalue()
