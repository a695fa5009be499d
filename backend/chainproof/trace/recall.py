"""Recalls: a regulator, or the producer that owns the lot, recalls a lot.

The recall is stored at once and flagged on chain by the publisher (``heads.py``). Its
report traces forward from the lot to every item and downstream lot it reached, and back
to every input it came from; it exports as JSON and CSV.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from sqlmodel import Session, select

from chainproof.errors import AuthError, ConflictError, InvalidInputError, NotFoundError
from chainproof.trace import codes, lineage, roles
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
    reason = reason.strip()
    if not 1 <= len(reason) <= 500:
        raise InvalidInputError("reason must be 1-500 characters")
    node = find_node(session, lot)
    if node.kind != NodeKind.LOT.value:
        raise InvalidInputError(f"{lot!r} is an item, not a lot; recall its lot")
    org = roles.writer_org(session, member_id)
    is_regulator = org.role == TraceRole.REGULATOR.value
    is_producer = org.role == TraceRole.PRODUCER.value and node.owner_member_id == member_id
    if not (is_regulator or is_producer):
        raise AuthError("only a regulator, or the producer of the lot, may recall it")
    if session.exec(select(TraceRecall).where(TraceRecall.lot_node_id == node.id)).first():
        raise ConflictError(f"lot {node.code} is recalled already")
    assert node.id is not None
    recall = TraceRecall(
        lot_node_id=node.id, member_id=member_id, reason=reason, reason_hash=reason_hash(reason)
    )
    session.add(recall)
    session.commit()
    session.refresh(recall)
    return recall


def recalled_lots(session: Session, node: TraceNode) -> list[TraceNode]:
    """The recalled lots among ``node`` and everything it came from."""
    candidates = [node, *lineage.backward(session, node)]
    ids = {n.id for n in candidates if n.kind == NodeKind.LOT.value}
    if not ids:
        return []
    rows = session.exec(select(TraceRecall.lot_node_id)).all()
    hit = ids & set(rows)
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
