"""Capturing EPCIS 2.0 events into the repository behind ``/epcis``, and reading them back.

Capture validates (``epcis_conformance``), hashes (CBV 2.0), gives an event without an
``eventID`` its hash as ``eventID``, checks that every EPC the event names falls under a GS1
company prefix admitted to the capturing org (``trace/ownership.py``; an admin admits them:
``chainproof prefixes add --org ORG PREFIX…``), and stores the evidence rows of their hashes,
the events (each naming its evidence row) and their EPCs in one transaction, with Core bulk
inserts (a job's 1,000 events are a handful of statements), so each event's hash is anchored
like any evidence and a receipt proves it.

An event whose ``eventID`` is already stored with the same hash is not stored again (a
retried capture answers the same events); the same ``eventID`` with another hash is refused.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Update, and_, func, insert, or_, update
from sqlmodel import Session, col, select

from chainproof.errors import AuthError, ConflictError, InvalidInputError, NotFoundError
from chainproof.evidence import intake
from chainproof.store.models import Evidence
from chainproof.trace import epcis, epcis_conformance, epcis_filters, ownership, roles
from chainproof.trace.epcis_models import ID_LEN, EpcisCapture, EpcisEvent, EpcisEventEpc
from chainproof.trace.models import PrefixKind

STANDARD_CONTEXT: Final = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
_EPC_FIELDS: Final = (
    ("epcList", "epc"),
    ("childEPCs", "child"),
    ("inputEPCList", "input"),
    ("outputEPCList", "output"),
)
_QUANTITY_FIELDS: Final = (
    "quantityList",
    "childQuantityList",
    "inputQuantityList",
    "outputQuantityList",
)
MAX_PER_PAGE: Final = 1000
MAX_EXAMINED: Final = 10_000  # events read per page for the filters inside bodies


@dataclass
class Outcome:
    """What a capture stored (or found stored) and, under ``proceed``, what it refused."""

    events: list[EpcisEvent] = field(default_factory=list)  # read back when not a job's
    errors: list[dict[str, Any]] = field(default_factory=list)
    stored: int = 0  # events new to the repository


def epcs_of(event: dict[str, Any]) -> list[tuple[str, str]]:
    """Every EPC or EPC class the event names, with its part, in order, once each."""
    found: list[tuple[str, str]] = []
    if isinstance(event.get("parentID"), str):
        found.append((event["parentID"], "parent"))
    for key, part in _EPC_FIELDS:
        for epc in event.get(key) or []:
            if isinstance(epc, str):
                found.append((epc, part))
    for key in _QUANTITY_FIELDS:
        for q in event.get(key) or []:
            if isinstance(q, dict) and isinstance(q.get("epcClass"), str):
                found.append((q["epcClass"], "class"))
    seen: set[tuple[str, str]] = set()
    return [x for x in found if not (x in seen or seen.add(x))]  # type: ignore[func-returns-value]


def company_key(epc: str) -> str | None:
    """The digits a GS1 company prefix heads, for an EPC URN or a GS1 Digital Link URI."""
    if epc.startswith("urn:epc:"):
        parts = epc.split(":")
        if len(parts) >= 5:
            head = parts[4].split(".", 1)[0]
            return head if head.isdigit() else None
        return None
    if epc.startswith(("https://", "http://")):
        segments = epc.split("?", 1)[0].split("/")[3:]
        if len(segments) >= 2 and segments[0].isdigit():
            ai, key = segments[0], segments[1]
            # A GTIN's indicator digit and an SSCC's extension digit come before the prefix.
            return key[1:] if ai in ("01", "00") else key
    return None


def _check_prefixes(owned: Sequence[str], event: dict[str, Any], where: str) -> None:
    for epc, _part in epcs_of(event):
        key = company_key(epc)
        if key is None:
            continue  # not a GS1 key: no company prefix makes it anyone's
        if not any(key.startswith(p) for p in owned):
            raise AuthError(
                f"{where}: {epc} is not under a GS1 company prefix admitted to your org "
                "(an admin admits them: `chainproof prefixes add --org ORG PREFIX`)"
            )


def owned_prefixes(session: Session, member_id: int | None) -> list[str]:
    org = roles.writer_org(session, member_id)
    return [p.prefix for p in ownership.prefixes_of(session, org) if p.kind == PrefixKind.GS1.value]


def capture(
    *,
    session: Session,
    member_id: int | None,
    body: Any,
    behaviour: str = "rollback",
    capture_id: str | None = None,
    job: EpcisCapture | None = None,
    hashes: list[list[str]] | None = None,
) -> Outcome:
    """Stores the events of ``body`` (a document, a query document or one event).

    ``rollback``: all or nothing, the first problem raised. ``proceed``: each event on its
    own; the refused ones come back in ``Outcome.errors``. ``job``, when given, is updated
    (finished, success, errors) in the same transaction as the events.
    """
    owned = owned_prefixes(session, member_id)
    # A job's document was checked and hashed when it was taken (epcis_jobs.create_job).
    checked = behaviour == "rollback" and hashes is not None
    read = epcis_conformance.split_body(body) if checked else epcis_conformance.read_body(body)
    context = read.context
    outcome = Outcome()
    if behaviour == "rollback":
        if hashes is not None and len(hashes) == len(read.events):
            # Computed from this very document when it was taken (epcis_jobs.create_job).
            hashed = [
                epcis.HashedEvent(i, event, pre, digest)
                for i, (event, (pre, digest)) in enumerate(zip(read.events, hashes, strict=True))
            ]
        else:
            hashed = epcis.hash_events(body)
        for h in hashed:
            _check_prefixes(owned, h.event, f"event {h.index}")
        accepted = list(hashed)
    else:
        accepted = []
        for i, event in enumerate(read.events):
            alone = {"@context": context, **event} if "@context" not in event else event
            try:
                (h,) = epcis.hash_events(alone)
                _check_prefixes(owned, h.event, f"event {i}")
            except (InvalidInputError, AuthError) as exc:
                outcome.errors.append(problem_of(exc, f"{read.event_pointer}/{i}"))
                continue
            accepted.append(epcis.HashedEvent(i, event, h.prehash, h.event_hash))
    ids = [str(h.event.get("eventID") or h.event_hash) for h in accepted]
    stored = {
        row.event_id: row.event_hash
        for chunk in range(0, len(ids), 500)  # one query per 500 ids, not one per event
        for row in session.exec(
            select(EpcisEvent).where(col(EpcisEvent.event_id).in_(ids[chunk : chunk + 500]))
        ).all()
    }
    new: list[dict[str, Any]] = []
    kept: list[str] = []  # the eventIDs of the outcome, stored before or now
    for h, event_id in zip(accepted, ids, strict=True):
        if len(event_id) > ID_LEN:
            raise InvalidInputError(f"event {h.index}: eventID longer than {ID_LEN} characters")
        found = stored.get(event_id)
        if found is not None:
            if found != h.event_hash:
                error = ConflictError(
                    f"event {h.index}: eventID {event_id} is already stored for another event"
                )
                if behaviour == "rollback":
                    raise error
                outcome.errors.append(problem_of(error, f"{read.event_pointer}/{h.index}"))
                continue
            kept.append(event_id)
            continue
        stored[event_id] = h.event_hash  # the same event twice in one document is stored once
        new.append(_values(h, event_id, context, member_id, capture_id))
        kept.append(event_id)
    _insert(session, member_id, new)
    if job is not None:
        finish_job(
            session,
            capture_id=job.capture_id,
            token=job.attempts,
            success=not outcome.errors,
            errors=outcome.errors,
        )
    session.commit()  # the evidence rows, the events, their EPCs and the job's end: together
    outcome.stored = len(new)
    if job is None:  # a single event's answer shows it; a job's runner reads nothing back
        rows = {
            row.event_id: row
            for row in session.exec(select(EpcisEvent).where(col(EpcisEvent.event_id).in_(kept)))
        }
        outcome.events = [rows[event_id] for event_id in kept]
    return outcome


class JobTakenError(Exception):
    """The job's lease was taken by another runner: this one must not commit it."""


def claimed(capture_id: str, token: int) -> Update:
    """An UPDATE of the capture job while claim ``token`` still holds it: the fence that
    makes a runner whose lease was taken since change nothing."""
    return update(EpcisCapture).where(
        col(EpcisCapture.capture_id) == capture_id,
        col(EpcisCapture.attempts) == token,
        col(EpcisCapture.running).is_(True),
    )


def finish_job(
    session: Session, *, capture_id: str, token: int, success: bool, errors: list[dict[str, Any]]
) -> None:
    """Marks the job finished in the session's transaction, fenced by the claim's token
    (``epcis_jobs``): JobTakenError when another runner has claimed it since."""
    result = session.execute(
        claimed(capture_id, token).values(
            running=False,
            finished_at=epcis_now(),
            success=success,
            errors=errors,
            document="",  # done with: the events are stored
            hashes=None,
        )
    )
    if getattr(result, "rowcount", 0) != 1:
        raise JobTakenError(capture_id)


_EVENTS: Final = EpcisEvent.__table__  # type: ignore[attr-defined]
_EPCS: Final = EpcisEventEpc.__table__  # type: ignore[attr-defined]


def _insert(session: Session, member_id: int | None, new: list[dict[str, Any]]) -> None:
    """The events' evidence rows (queued for anchoring), the events and their EPCs, in the
    session's transaction: Core executemany, not the ORM's unit of work (which loaded each
    row back to set its evidence id, a query per event)."""
    if not new:
        return
    accepted = intake.submit_digests(
        session=session,
        algorithm="sha256",
        digests=[bytes.fromhex(epcis.hash_hex(v["event_hash"])) for v in new],
        member_id=member_id,
        label="EPCIS event",
        commit=False,
    )
    record_time = epcis_now()
    for values, acc in zip(new, accepted, strict=True):
        values["evidence_id"] = acc.id
        values["record_time"] = record_time
    conn = session.connection()
    conn.execute(_EVENTS.insert(), new)
    # Read back by eventID (unique), 500 to a query: RETURNING in parameter order is one
    # statement per row on SQLite.
    event_ids = [v["event_id"] for v in new]
    pks = {
        event_id: pk
        for chunk in range(0, len(event_ids), 500)
        for pk, event_id in conn.execute(
            select(_EVENTS.c.id, _EVENTS.c.event_id).where(
                _EVENTS.c.event_id.in_(event_ids[chunk : chunk + 500])
            )
        )
    }
    epc_rows = [
        {"event_pk": pks[values["event_id"]], "epc": epc[:ID_LEN], "part": part}
        for values in new
        for epc, part in epcs_of(values["body"])
    ]
    if epc_rows:
        conn.execute(insert(_EPCS), epc_rows)


def epcis_now() -> datetime:
    from chainproof.store.models import utcnow

    return utcnow()


def _values(
    h: epcis.HashedEvent,
    event_id: str,
    context: Any,
    member_id: int | None,
    capture_id: str | None,
) -> dict[str, Any]:
    """The ``epcis_event`` columns of one event."""
    ev = dict(h.event)
    ev.pop("@context", None)
    ev["eventID"] = event_id
    ev.pop("recordTime", None)  # the repository's to set (EPCIS 2.0 section 7.4.1)
    place = {
        k: ev[k].get("id") for k in ("readPoint", "bizLocation") if isinstance(ev.get(k), dict)
    }
    return {
        "event_id": event_id,
        "event_hash": h.event_hash,
        "prehash": h.prehash,
        "event_type": str(ev["type"]),
        "event_time": epcis.parse_time(ev["eventTime"], "eventTime"),
        "action": ev.get("action") if isinstance(ev.get("action"), str) else None,
        "biz_step": _cbv(ev.get("bizStep"), "BizStep"),
        "disposition": _cbv(ev.get("disposition"), "Disp"),
        "read_point": place.get("readPoint"),
        "biz_location": place.get("bizLocation"),
        "body": ev,
        "context": context,
        "member_id": member_id,
        "capture_id": capture_id,
    }


def _cbv(value: Any, kind: str) -> str | None:
    """A CBV value in its bare form (``shipping``) however spelled; a user URI as written."""
    if not isinstance(value, str):
        return None
    for prefix in (f"https://ref.gs1.org/cbv/{kind}-", f"urn:epcglobal:cbv:{kind.lower()}:"):
        if value.startswith(prefix):
            return value[len(prefix) :]
    return value[:300]


def problem_of(exc: Exception, where: str | None = None) -> dict[str, Any]:
    """An RFC 7807 problem for a refused event, typed as EPCIS 2.0 names its exceptions."""
    kind, status = "ValidationException", 400
    if isinstance(exc, AuthError):
        kind, status = "SecurityException", 403
    elif isinstance(exc, ConflictError):
        kind, status = "ResourceAlreadyExistsException", 409
    message = getattr(exc, "message", str(exc))
    out = {"type": f"epcisException:{kind}", "title": message, "status": status}
    if where is not None:
        out["instance"] = where
    return out


# Queries ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Query:
    """The standard query parameters ChainProof answers (EPCIS 2.0 section 8.2.7.1)."""

    event_types: tuple[str, ...] = ()
    ge_event_time: datetime | None = None
    lt_event_time: datetime | None = None
    ge_record_time: datetime | None = None
    lt_record_time: datetime | None = None
    actions: tuple[str, ...] = ()
    biz_steps: tuple[str, ...] = ()
    dispositions: tuple[str, ...] = ()
    read_points: tuple[str, ...] = ()
    biz_locations: tuple[str, ...] = ()
    event_ids: tuple[str, ...] = ()
    match: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = ()  # (parts, epcs)
    # WD_readPoint / WD_bizLocation: the place or a descendant of it by master data, which
    # holds no hierarchy of places here, so each place is its own only descendant.
    wd_read_points: tuple[str, ...] = ()
    wd_biz_locations: tuple[str, ...] = ()
    body: tuple[epcis_filters.Filter, ...] = ()  # read inside the stored event
    order_by: str | None = None  # "eventTime" or "recordTime"; None: capture order
    descending: bool = True  # orderDirection (EPCIS: DESC unless ASC is asked)
    event_count_limit: int | None = None  # at most this many events over all pages
    max_event_count: int | None = None  # more matches than this: QueryTooLargeException


_ORDER_COLUMNS: Final = {"eventTime": "event_time", "recordTime": "record_time"}
ORDER_BY: Final = tuple(_ORDER_COLUMNS)


@dataclass(frozen=True)
class Position:
    """Where a page ends: the id of the last event read and, when ordered by a time, its
    time (keyset paging: stable under new captures; a page never repeats or skips one)."""

    after: int = 0
    key: datetime | None = None
    left: int | None = None  # eventCountLimit still to answer


def position_of(session: Session, query: Query, last: int, left: int | None = None) -> Position:
    """The position after event ``last`` in ``query``'s order (its time read back by id)."""
    column = _ORDER_COLUMNS.get(query.order_by or "")
    row = session.get(EpcisEvent, last) if column else None
    return Position(last, getattr(row, column) if row is not None and column else None, left)


def _ordered(stmt: Any, query: Query, start: Position) -> Any:
    """``stmt`` from ``start`` on, in the query's order (ties broken by id, as captured)."""
    name = _ORDER_COLUMNS.get(query.order_by or "")
    pk = col(EpcisEvent.id)
    if name is None:
        return stmt.where(pk > start.after).order_by(pk)
    column = col(getattr(EpcisEvent, name))
    if query.descending:
        if start.after and start.key is not None:
            stmt = stmt.where(or_(column < start.key, and_(column == start.key, pk < start.after)))
        return stmt.order_by(column.desc(), pk.desc())
    if start.after and start.key is not None:
        stmt = stmt.where(or_(column > start.key, and_(column == start.key, pk > start.after)))
    return stmt.order_by(column, pk)


def encode_token(last_id: int, query: Query | None = None, position: Position | None = None) -> str:
    """A page token: ``after:ID`` in capture order; with an order or a count limit, the
    order it was made for, the last event's time and the events still to answer."""
    if query is None or position is None or (query.order_by is None and position.left is None):
        text = f"after:{last_id}"
    else:
        key = position.key.isoformat() if position.key is not None else ""
        left = "" if position.left is None else str(position.left)
        direction = "d" if query.descending else "a"
        text = f"at:{query.order_by or ''}:{direction}:{last_id}:{left}:{key}"
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_token(token: str, query: Query | None = None) -> Position:
    """The position a token of :func:`encode_token` names, for the same ``query`` order."""
    refused = InvalidInputError("nextPageToken is not one this server gave")
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        raise refused from None
    kind, _, rest = text.partition(":")
    if kind == "after" and rest.isdigit() and len(rest) <= 18:
        if query is not None and (query.order_by or query.event_count_limit):
            raise refused  # made for capture order without a limit
        return Position(int(rest))
    parts = rest.split(":", 4)
    if kind != "at" or len(parts) != 5 or query is None:
        raise refused
    order, direction, last, left, key = parts
    if (
        order != (query.order_by or "")
        or direction != ("d" if query.descending else "a")
        or not last.isdigit()
        or len(last) > 18
        or (left and (not left.isdigit() or len(left) > 9))
    ):
        raise refused
    try:
        moment = datetime.fromisoformat(key) if key else None
    except ValueError:
        raise refused from None
    return Position(int(last), moment, int(left) if left else None)


def _candidates(member_id: int | None, is_admin: bool, query: Query) -> Any:
    """The caller's events (an admin's: everyone's) meeting the query's indexed filters."""
    stmt = select(EpcisEvent)
    if not is_admin:
        stmt = stmt.where(EpcisEvent.member_id == member_id)
    filters: list[tuple[tuple[str, ...], Any]] = [
        (query.event_types, EpcisEvent.event_type),
        (query.actions, EpcisEvent.action),
        (tuple(_cbv(s, "BizStep") or s for s in query.biz_steps), EpcisEvent.biz_step),
        (tuple(_cbv(s, "Disp") or s for s in query.dispositions), EpcisEvent.disposition),
        (query.read_points, EpcisEvent.read_point),
        (query.biz_locations, EpcisEvent.biz_location),
        (query.event_ids, EpcisEvent.event_id),
        (query.wd_read_points, EpcisEvent.read_point),
        (query.wd_biz_locations, EpcisEvent.biz_location),
    ]
    for values, column in filters:
        if values:
            stmt = stmt.where(col(column).in_(values))
    for bound, column, op in (
        (query.ge_event_time, EpcisEvent.event_time, "ge"),
        (query.lt_event_time, EpcisEvent.event_time, "lt"),
        (query.ge_record_time, EpcisEvent.record_time, "ge"),
        (query.lt_record_time, EpcisEvent.record_time, "lt"),
    ):
        if bound is not None:
            stmt = stmt.where(col(column) >= bound if op == "ge" else col(column) < bound)
    for parts, epcs in query.match:
        sub = select(EpcisEventEpc.event_pk).where(col(EpcisEventEpc.epc).in_(epcs))
        if parts:
            sub = sub.where(col(EpcisEventEpc.part).in_(parts))
        stmt = stmt.where(col(EpcisEvent.id).in_(sub))
    return stmt


def find_events(
    *,
    session: Session,
    member_id: int | None,
    is_admin: bool,
    query: Query,
    per_page: int,
    after: int = 0,
    report_read: bool = False,
    start: Position | None = None,
) -> tuple[list[EpcisEvent], int | None]:
    """One page of the caller's events (an admin's: everyone's) matching ``query``, in its
    order (oldest capture first unless ``orderBy``), and the id of the event to continue
    after (None on the last page).

    ``report_read=True`` (a subscription's cursor): the second value is the last event read
    instead, None when none was (events a filter inside their bodies refused are read too).
    ``start``: where an ordered query's page begins (its token); ``after`` is capture order's.
    """
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise InvalidInputError(f"perPage must be 1-{MAX_PER_PAGE}")
    if report_read:  # a subscription's cursor is an id: deliveries go in capture order
        query = replace(query, order_by=None)
    start = start or Position(after)
    stmt = _candidates(member_id, is_admin, query)
    if not query.body:
        rows = list(session.exec(_ordered(stmt, query, start).limit(per_page + 1)).all())
        more = len(rows) > per_page
        rows = rows[:per_page]
        return rows, (rows[-1].id if (more or report_read) and rows else None)
    # Filters inside the body: read candidates in order until the page is full, at most
    # MAX_EXAMINED of them (a short page then, with the id to go on from).
    rows, cursor, examined = [], start, 0
    column = _ORDER_COLUMNS.get(query.order_by or "")
    while True:
        chunk = min(MAX_PER_PAGE, MAX_EXAMINED - examined)
        batch = session.exec(_ordered(stmt, query, cursor).limit(chunk)).all()
        for row in batch:
            assert row.id is not None
            cursor = Position(row.id, getattr(row, column) if column else None)
            examined += 1
            if epcis_filters.matches(row.body, query.body, row.context):
                rows.append(row)
                if len(rows) > per_page:
                    return rows[:per_page], rows[per_page - 1].id
        if len(batch) < chunk:  # read to the end
            return rows, (cursor.after if report_read and examined else None)
        if examined >= MAX_EXAMINED:
            return rows, cursor.after


def count_over(
    *, session: Session, member_id: int | None, is_admin: bool, query: Query, most: int
) -> bool:
    """True when more than ``most`` events match ``query``: SQL counts at most ``most + 1``
    rows; a filter inside the body reads at most MAX_EXAMINED candidates in all (undecided
    then: too large to answer here, also True)."""
    stmt = _candidates(member_id, is_admin, query)
    if not query.body:
        capped = stmt.with_only_columns(col(EpcisEvent.id)).limit(most + 1).subquery()
        return int(session.exec(select(func.count()).select_from(capped)).one()) > most
    found, examined, cursor = 0, 0, 0
    while examined < MAX_EXAMINED:
        chunk = min(MAX_PER_PAGE, MAX_EXAMINED - examined)
        batch = session.exec(
            stmt.where(col(EpcisEvent.id) > cursor).order_by(col(EpcisEvent.id)).limit(chunk)
        ).all()
        for row in batch:
            assert row.id is not None
            cursor, examined = row.id, examined + 1
            found += epcis_filters.matches(row.body, query.body, row.context)
            if found > most:
                return True
        if len(batch) < chunk:
            return False
    return True


def get_event(
    *, session: Session, member_id: int | None, is_admin: bool, event_id: str
) -> EpcisEvent:
    row = session.exec(select(EpcisEvent).where(EpcisEvent.event_id == event_id)).first()
    if row is None or not (is_admin or row.member_id == member_id):
        raise NotFoundError(f"no event {event_id} in your repository")
    return row


def evidence_for(session: Session, row: EpcisEvent) -> Evidence | None:
    if row.evidence_id is not None:
        return session.get(Evidence, row.evidence_id)
    return None


def distinct_values(
    *, session: Session, member_id: int | None, is_admin: bool, column: str, limit: int
) -> list[str]:
    """The distinct values of one field over the caller's events (the browse endpoints)."""
    if column == "epc":
        stmt = select(EpcisEventEpc.epc).join(
            EpcisEvent, col(EpcisEvent.id) == col(EpcisEventEpc.event_pk)
        )
        target: Any = EpcisEventEpc.epc
    else:
        target = getattr(EpcisEvent, column)
        stmt = select(target)
    if not is_admin:
        stmt = stmt.where(EpcisEvent.member_id == member_id)
    stmt = stmt.where(col(target).is_not(None)).group_by(target).order_by(target).limit(limit)
    return [str(v) for v in session.exec(stmt).all()]


def count_events(session: Session) -> int:
    return int(session.exec(select(func.count()).select_from(EpcisEvent)).one())


def as_json(row: EpcisEvent) -> dict[str, Any]:
    """The event as a query returns it: as captured, with ``eventID`` and ``recordTime``."""
    event = dict(row.body)
    event["recordTime"] = row.record_time.isoformat().replace("+00:00", "Z")
    return event


def page_context(rows: Sequence[EpcisEvent]) -> list[Any]:
    """The standard context and the inline prefix maps the page's events were captured
    under (the first wins where two map one prefix differently)."""
    merged: dict[str, Any] = {}
    for row in rows:
        items = row.context if isinstance(row.context, list) else [row.context]
        for item in items:
            if isinstance(item, dict):
                for key, value in item.items():
                    merged.setdefault(key, value)
    return [STANDARD_CONTEXT, merged] if merged else [STANDARD_CONTEXT]
