"""What a scan shows: an item's history, checked against its on-chain head.

The answer carries everything a browser needs to check the server: each event's canonical
pre-hash string (hash it with SHA-256 to get the event hash), the chain links, the item's
salted key, and the head and count read from TraceRegistry with the chain id and contract
address, so the scanner can ask any node for ``headOf(key)`` itself.

Badge (for API clients; the scan page takes no "verified" from it, see ``static/js/trace.js``):
``recalled`` (the item or an input lot is under a recall not lifted), ``incomplete`` (the
chain on chain covers more events than shown, or the shown events end in another head),
``unverifiable`` (no chain, or no head published yet), ``verified``. Each comes with a
machine ``badge_reason_code`` (and its ``badge_reason_params``) that pages translate, and
the English ``badge_reason``.

``recalls`` is the recall history of the item's lots, lifted ones too (when, why, when
lifted and why), with each lot's ``recallOf`` state read from TraceRegistry v2.

Scan counting: each public page view adds one; more than :data:`SUSPICIOUS_PER_HOUR`
scans within an hour flags possible cloned codes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import structlog
from sqlmodel import Session, col, select

from chainproof.chain.context import ChainContext
from chainproof.chain.trace_registry import trace_chain
from chainproof.crosschain.recalls import crosschain_recalls
from chainproof.store.models import Evidence, utcnow
from chainproof.trace import codes, epcis, recall, roles
from chainproof.trace.chains import GENESIS, next_link
from chainproof.trace.models import TraceEvent, TraceLink, TraceNode, TraceScan

SUSPICIOUS_PER_HOUR = 20
WINDOW = timedelta(hours=1)

log = structlog.get_logger("chainproof.trace")


def count_scan(session: Session, node: TraceNode) -> TraceScan:
    assert node.id is not None
    now = utcnow()
    stat = session.get(TraceScan, node.id)
    if stat is None:
        stat = TraceScan(node_id=node.id, first_at=now, last_at=now, window_start=now)
    if now - stat.window_start > WINDOW:
        stat.window_start, stat.window_count = now, 0
    stat.count += 1
    stat.window_count += 1
    stat.last_at = now
    session.add(stat)
    session.commit()
    session.refresh(stat)
    return stat


def history(session: Session, node: TraceNode) -> list[tuple[TraceLink, TraceEvent]]:
    rows = session.exec(
        select(TraceLink, TraceEvent)
        .join(TraceEvent, col(TraceEvent.id) == col(TraceLink.event_id))
        .where(TraceLink.node_id == node.id)
        .order_by(col(TraceLink.seq))
    ).all()
    return [(link, ev) for link, ev in rows]


def event_out(
    ev: TraceEvent,
    link: TraceLink | None = None,
    places: dict[str, str] | None = None,
    public_ids: dict[int, str] | None = None,
) -> dict[str, Any]:
    body = ev.body
    gln = codes.location_gln(ev.location) if ev.location else None
    out: dict[str, Any] = {
        "event_hash": ev.event_hash,
        "type": ev.event_type,
        "biz_step": ev.biz_step,
        "event_time": body.get("eventTime"),
        "event_time_local": _local_time(body.get("eventTime"), ev.event_time_zone_offset),
        "event_time_zone_offset": ev.event_time_zone_offset,
        "location": ev.location,
        "location_gln": gln,
        "location_name": (places or {}).get(gln) if gln else None,
        "disposition": body.get("disposition"),
        "prehash": ev.prehash,
        # The evidence record's public id: the integer key never leaves the server.
        "evidence_id": (public_ids or {}).get(ev.evidence_id) if ev.evidence_id else None,
    }
    if link is not None:
        out.update(seq=link.seq, prev=link.prev, link=link.link, part=link.role)
    return out


def events_out(session: Session, events: list[TraceEvent]) -> list[dict[str, Any]]:
    """Query answers: each event with its place name and the EPCIS body as captured."""
    places = _places_of(session, events)
    ids = _public_ids_of(session, events)
    return [event_out(ev, places=places, public_ids=ids) | {"event": ev.body} for ev in events]


def _places_of(session: Session, events: list[TraceEvent]) -> dict[str, str]:
    """GLN → place name for the locations of ``events`` (one query)."""
    glns = {g for ev in events if ev.location and (g := codes.location_gln(ev.location))}
    return roles.place_names(session, glns)


def _public_ids_of(session: Session, events: list[TraceEvent]) -> dict[int, str]:
    """Evidence key → public id for the evidence rows anchoring ``events`` (one query)."""
    keys = {ev.evidence_id for ev in events if ev.evidence_id}
    if not keys:
        return {}
    rows = session.exec(
        select(Evidence.id, Evidence.public_id).where(col(Evidence.id).in_(keys))
    ).all()
    return {key: public for key, public in rows if key is not None}


def _local_time(event_time: Any, offset: str) -> str | None:
    """``2024-11-18 14:00 (UTC+08:00)``: the time as it was on the clock where it happened
    (EPCIS keeps the offset apart from the instant, which may be written in UTC)."""
    try:
        at = datetime.fromisoformat(str(event_time))
        sign = -1 if offset.startswith("-") else 1
        hours, minutes = offset.lstrip("+-").split(":")
        tz = timezone(sign * timedelta(hours=int(hours), minutes=int(minutes)))
    except (TypeError, ValueError):
        return None
    return f"{at.astimezone(tz):%Y-%m-%d %H:%M} (UTC{offset})"


def scan_view(
    *,
    session: Session,
    chain: ChainContext,
    data_dir: Path | None,
    code: str,
    count: bool = False,
    public_rpc_url: str | None = None,
) -> dict[str, Any]:
    node = recall.find_node(session, code)
    stat = count_scan(session, node) if count else session.get(TraceScan, node.id)
    rows = history(session, node)
    places = _places_of(session, [ev for _, ev in rows])
    ids = _public_ids_of(session, [ev for _, ev in rows])
    events = [event_out(ev, link, places, ids) for link, ev in rows]
    # Check the server's own story: each link follows from the previous and the event hash.
    shown_head = GENESIS
    consistent = True
    for link, ev in rows:
        expected = next_link(shown_head, bytes.fromhex(epcis.hash_hex(ev.event_hash)))
        consistent = consistent and link.prev == shown_head and link.link == expected
        shown_head = expected
    onchain: dict[str, Any] = {"available": False}
    reason = None
    recalled_lots = recall.recalled_lots(session, node)
    past = recall.history(session, node)
    on_chain_recalls: dict[str, Any] = {}
    status = chain.status()
    if not status.ok:
        reason = status.reason
    else:
        try:
            tc = trace_chain(chain, data_dir=data_dir)
            head = tc.client.head_of(node.chain_key)
            onchain = {
                "available": True,
                "chain_id": tc.chain_id,
                "contract": tc.contract,
                "item_key": node.chain_key,
                "head": head.head,
                "count": head.count,
                "updated_at": head.updated_at,
                # Where a scanner asks the chain itself (the page does, from the browser).
                "rpc_url": public_rpc_url,  # only what the settings publish
            }
            for lot, _ in past:
                if lot.chain_key not in on_chain_recalls:
                    on_chain_recalls[lot.chain_key] = tc.client.recall_of(lot.chain_key)
        except Exception as exc:  # the node went away between status() and the call
            # Its text may name the node's private URL: logged, not shown (F21).
            log.warning("scan: chain call failed", error=f"{type(exc).__name__}: {exc}")
            reason = "chain unavailable"
    verdict = _badge(rows, onchain, consistent, bool(recalled_lots), reason)
    recalls = []
    for lot, r in past:
        state = on_chain_recalls.get(lot.chain_key)
        recalls.append(
            {
                "lot": lot.code,
                "reason": r.reason,
                "recalled_at": r.created_at.isoformat(),
                "on_chain": r.tx_hash is not None,
                "lifted_at": r.lifted_at.isoformat() if r.lifted_at else None,
                "lift_reason": r.lift_reason,
                "lift_on_chain": r.lift_tx_hash is not None,
                "chain_recalled_at": state.recalled_at if state else None,
                "chain_lifted_at": state.lifted_at if state else None,
            }
        )
    lot_node = session.get(TraceNode, node.lot_node_id) if node.lot_node_id else None
    # Recalls of the same lot raised on a sub-chain, proven through its checkpoint (issue 22).
    uris = [node.uri] + ([lot_node.uri] if lot_node else [])
    crossed = crosschain_recalls(session, uris)
    recalls += crossed
    if any(r["lifted_at"] is None for r in crossed) and verdict.badge != "recalled":
        verdict = Badge("recalled", "recalled", {}, "a sub-chain recalled the item's lot")
    return {
        "code": node.code,
        "uri": node.uri,
        "kind": node.kind,
        "product": node.product,
        "gtin": node.gtin,
        "serial": node.serial,
        "lot": lot_node.code if lot_node else node.lot,
        "salt": node.salt,
        "item_key": node.chain_key,
        "events": events,
        "head": node.head,
        "count": node.count,
        "onchain": onchain,
        "badge": verdict.badge,
        "badge_reason": verdict.reason,  # English, for API clients and logs
        "badge_reason_code": verdict.code,  # what pages translate
        "badge_reason_params": verdict.params,
        "recalls": recalls,
        "scans": {
            "count": stat.count if stat else 0,
            "first_at": stat.first_at.isoformat() if stat else None,
            "last_hour": stat.window_count if stat else 0,
            "suspicious": bool(stat and stat.window_count > SUSPICIOUS_PER_HOUR),
        },
    }


@dataclass(frozen=True)
class Badge:
    """A verdict, why (a machine code, its fields, and the English sentence)."""

    badge: str
    code: str
    params: dict[str, Any]
    reason: str


def _badge(
    rows: list[tuple[TraceLink, TraceEvent]],
    onchain: dict[str, Any],
    consistent: bool,
    recalled: bool,
    reason: str | None,
) -> Badge:
    # The codes are translated by the page (web/i18n_trace.py, ``js.trace.reason.<code>``).
    if recalled:
        return Badge("recalled", "recalled", {}, "the item or one of its input lots is recalled")
    if not consistent:
        return Badge(
            "incomplete",
            "broken_chain",
            {},
            "the events shown do not form an unbroken hash chain",
        )
    if not onchain.get("available"):
        return Badge(
            "unverifiable", "chain_unavailable", {}, reason or "the chain is not available"
        )
    n = int(onchain["count"])
    if n == 0:
        return Badge("unverifiable", "no_head", {}, "no head is on chain yet for this item")
    if n > len(rows):
        return Badge(
            "incomplete",
            "missing_events",
            {"n": n, "shown": len(rows)},
            f"the chain holds {n} events for this item; {len(rows)} are shown",
        )
    if rows[n - 1][0].link != onchain["head"]:
        return Badge(
            "incomplete", "other_head", {}, "the events shown do not end in the head on chain"
        )
    if n < len(rows):
        pending = len(rows) - n
        return Badge(
            "verified",
            "pending",
            {"pending": pending},
            f"{pending} newer events are not on chain yet",
        )
    return Badge("verified", "covered", {}, "every event is covered by the head on chain")
