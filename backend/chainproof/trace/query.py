"""Event queries, named after the EPCIS 2.0 REST query parameters where they fit:
``MATCH_anyEPC`` (item or lot), ``EQ_bizStep``, ``GE_eventTime`` / ``LT_eventTime``,
``EQ_type`` (eventType), ``perPage``."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from chainproof.errors import InvalidInputError
from chainproof.trace import epcis, recall
from chainproof.trace.models import TraceEvent, TraceLink

MAX_PER_PAGE = 500


def events(
    *,
    session: Session,
    match_any_epc: list[str] | None = None,
    eq_biz_step: list[str] | None = None,
    eq_type: list[str] | None = None,
    ge_event_time: str | None = None,
    lt_event_time: str | None = None,
    per_page: int = 100,
) -> list[TraceEvent]:
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise InvalidInputError(f"perPage must be 1-{MAX_PER_PAGE}")
    stmt = select(TraceEvent)
    if match_any_epc:
        ids = [recall.find_node(session, c).id for c in match_any_epc]
        sub = select(TraceLink.event_id).where(col(TraceLink.node_id).in_(ids))
        stmt = stmt.where(col(TraceEvent.id).in_(sub))
    if eq_biz_step:
        steps = [epcis.biz_step_of({"bizStep": s}) for s in eq_biz_step]  # spelled any CBV way
        stmt = stmt.where(col(TraceEvent.biz_step).in_(steps))
    if eq_type:
        bad = [t for t in eq_type if t not in epcis.EVENT_TYPES]
        if bad:
            raise InvalidInputError(f"EQ_type {bad[0]!r} is not an EPCIS 2.0 event type")
        stmt = stmt.where(col(TraceEvent.event_type).in_(eq_type))
    if ge_event_time:
        stmt = stmt.where(col(TraceEvent.event_time) >= _time(ge_event_time, "GE_eventTime"))
    if lt_event_time:
        stmt = stmt.where(col(TraceEvent.event_time) < _time(lt_event_time, "LT_eventTime"))
    stmt = stmt.order_by(col(TraceEvent.event_time), col(TraceEvent.id)).limit(per_page)
    return list(session.exec(stmt).all())


def _time(value: str, name: str) -> datetime:
    return epcis.parse_time(value, name)
