"""Queries: ``GET /epcis/events`` with the standard parameters and paging, one event with its
proof link, and the browse endpoints (``/eventTypes``, ``/epcs``, ``/bizSteps``, …)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any, Final
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from sqlmodel import select
from starlette.concurrency import run_in_threadpool

from chainproof.api.deps import Caller, CallerDep, RuntimeDep, SessionDep
from chainproof.api.errors import QueryTooLargeError
from chainproof.api.routes.epcis.common import (
    discovery_headers,
    read_json_ld,
    require_key,
    version_headers,
)
from chainproof.errors import InvalidInputError, NotFoundError
from chainproof.store.models import utcnow
from chainproof.trace import epcis, epcis_filters, epcis_queries, epcis_store, epcis_webhooks
from chainproof.trace.epcis_models import EpcisDelivery, EpcisEvent, EpcisSubscription

# GS1's OpenAPI describes these routes (served at /epcis/openapi.json), not ChainProof's.
router = APIRouter(prefix="/epcis", tags=["epcis"], include_in_schema=False)

# GS1: perPage is the most a page may hold, not what it must: out-of-range values are clamped.
PerPage = Annotated[int, Query(alias="perPage")]
Token = Annotated[str | None, Query(alias="nextPageToken", max_length=200)]
Many = Annotated[list[str] | None, Query(max_length=100)]
# parameter → the EPC parts it matches (EPCIS 2.0 section 8.2.7.1)
_MATCH: Final = {
    "MATCH_epc": ("epc", "child"),
    "MATCH_parentID": ("parent",),
    "MATCH_inputEPC": ("input",),
    "MATCH_outputEPC": ("output",),
    "MATCH_anyEPC": ("epc", "child", "parent", "input", "output"),
    "MATCH_epcClass": ("class",),
    "MATCH_inputEPCClass": ("class",),
    "MATCH_outputEPCClass": ("class",),
    "MATCH_anyEPCClass": ("class",),
}
_SIMPLE: Final = {
    "eventType": "event_types",
    "EQ_action": "actions",
    "EQ_bizStep": "biz_steps",
    "EQ_disposition": "dispositions",
    "EQ_readPoint": "read_points",
    "EQ_bizLocation": "biz_locations",
    "EQ_eventID": "event_ids",
    "WD_readPoint": "wd_read_points",
    "WD_bizLocation": "wd_biz_locations",
}
_TIMES: Final = {
    "GE_eventTime": "ge_event_time",
    "LT_eventTime": "lt_event_time",
    "GE_recordTime": "ge_record_time",
    "LT_recordTime": "lt_record_time",
}
_PAGING: Final = ("perPage", "nextPageToken")
_RESULT: Final = ("orderBy", "orderDirection", "eventCountLimit", "maxEventCount")


def _count(params: dict[str, list[str]], name: str, most: int) -> int | None:
    """``eventCountLimit`` / ``maxEventCount``: a whole number ChainProof can honour."""
    raw = (params.get(name) or [""])[0]
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 9 or not 0 <= int(raw) <= most:
        raise InvalidInputError(f"{name}={raw[:40]} is not supported here: 0-{most}")
    return int(raw)


def _result_options(params: dict[str, list[str]]) -> dict[str, Any]:
    """orderBy, orderDirection, eventCountLimit, maxEventCount (EPCIS 2.0 section 8.2.7.1)."""
    out: dict[str, Any] = {}
    order = (params.get("orderBy") or [""])[0]
    if order:
        if order not in epcis_store.ORDER_BY:
            raise InvalidInputError(
                f"orderBy={order[:60]} is not supported here: eventTime or recordTime "
                "(ordering by another field would sort bodies, not an index)"
            )
        out["order_by"] = order
    direction = (params.get("orderDirection") or ["DESC"])[0]
    if direction not in ("ASC", "DESC"):
        raise InvalidInputError(f"orderDirection={direction[:40]} is not supported here")
    out["descending"] = direction == "DESC"
    out["event_count_limit"] = _count(params, "eventCountLimit", 10**9)
    out["max_event_count"] = _count(params, "maxEventCount", epcis_store.MAX_EXAMINED)
    if out["event_count_limit"] is not None and out["max_event_count"] is not None:
        raise InvalidInputError(
            "eventCountLimit with maxEventCount is not supported here: EPCIS makes them "
            "mutually exclusive (QueryParameterException)"
        )
    return out


def _values(params: dict[str, list[str]], name: str) -> tuple[str, ...]:
    """A parameter's values: repeated (``?x=a&x=b``) or pipe-separated (``?x=a|b``)."""
    out: list[str] = []
    for raw in params.get(name, []):
        out.extend(v for v in raw.split("|") if v)
    if len(out) > 100:
        raise InvalidInputError(f"{name}: at most 100 values")
    return tuple(out)


def _time(value: str, name: str) -> datetime:
    return epcis.parse_time(value, name)


def parse_query(request: Request, **fixed: tuple[str, ...]) -> epcis_store.Query:
    """The standard query parameters of the request."""
    params: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        params.setdefault(key, []).append(value)
    return parse_params(params, **fixed)


def parse_params(params: dict[str, list[str]], **fixed: tuple[str, ...]) -> epcis_store.Query:
    """Standard query parameters (unknown ones are refused, so a client never reads a
    filter as applied that was not)."""
    known = set(_MATCH) | set(_SIMPLE) | set(_TIMES) | set(_PAGING) | set(_RESULT)
    unknown = sorted(n for n in set(params) - known if not epcis_filters.is_parameter(n))
    if unknown:
        raise InvalidInputError(
            f"query parameter {unknown[0]} is not supported here (docs/epcis.md lists the "
            "ones ChainProof answers)"
        )
    args: dict[str, Any] = {field: _values(params, name) for name, field in _SIMPLE.items()}
    for name, field in _TIMES.items():
        value = (params.get(name) or [""])[0]
        if value:
            args[field] = _time(value, name)
    match = [(parts, _values(params, name)) for name, parts in _MATCH.items()]
    for field, values in fixed.items():
        if field in args:
            args[field] = tuple(args[field]) + values
        else:
            match.append((() if field == "any" else (field,), values))
    args["match"] = tuple((parts, vals) for parts, vals in match if vals)
    args["body"] = tuple(
        epcis_filters.parse(name, values, _time)
        for name in sorted(params)
        if epcis_filters.is_parameter(name) and (values := _values(params, name))
    )
    return epcis_store.Query(**args, **_result_options(params))


def query_document(rows: Sequence[EpcisEvent], name: str = "SimpleEventQuery") -> dict[str, Any]:
    return {
        "@context": epcis_store.page_context(rows),
        "type": "EPCISQueryDocument",
        "schemaVersion": "2.0",
        "creationDate": utcnow().isoformat().replace("+00:00", "Z"),
        "epcisBody": {
            "queryResults": {
                "queryName": name,
                "resultsBody": {"eventList": [epcis_store.as_json(r) for r in rows]},
            }
        },
    }


def _page(
    request: Request,
    session: Any,
    caller: Caller,
    query: epcis_store.Query,
    per_page: int,
    token: str | None,
    name: str = "SimpleEventQuery",
) -> JSONResponse:
    require_key(caller)
    per_page = min(max(per_page, 1), epcis_store.MAX_PER_PAGE)
    start = epcis_store.decode_token(token, query) if token else epcis_store.Position()
    left = start.left if token else query.event_count_limit
    if (
        not token
        and query.max_event_count is not None
        and epcis_store.count_over(
            session=session,
            member_id=caller.member_id,
            is_admin=caller.viewer.is_admin,
            query=query,
            most=query.max_event_count,
        )
    ):
        raise QueryTooLargeError(
            f"more than maxEventCount={query.max_event_count} events match (or more than "
            f"{epcis_store.MAX_EXAMINED} had to be read to count them)"
        )
    rows: list[EpcisEvent] = []
    last: int | None = None
    if left is None or left > 0:
        rows, last = epcis_store.find_events(
            session=session,
            member_id=caller.member_id,
            is_admin=caller.viewer.is_admin,
            query=query,
            per_page=per_page if left is None else min(per_page, left),
            start=start,
        )
    if left is not None:
        left -= len(rows)
        last = last if left > 0 else None  # eventCountLimit answered: no next page
    headers = version_headers()
    if last is not None:
        params = [(k, v) for k, v in request.query_params.multi_items() if k != "nextPageToken"]
        position = epcis_store.position_of(session, query, last, left)
        params.append(("nextPageToken", epcis_store.encode_token(last, query, position)))
        headers["Link"] = f'<{request.url.path}?{urlencode(params)}>; rel="next"'
        headers["GS1-Next-Page-Token-Expires"] = "2100-01-01T00:00:00Z"  # tokens do not expire
    return JSONResponse(query_document(rows, name), headers=headers)


@router.options("/events", status_code=204, summary="Discovery for events")
def discover_events() -> Response:
    return Response(status_code=204, headers=discovery_headers("OPTIONS, GET, POST"))


@router.get(
    "/events",
    summary="Query events (EPCISQueryDocument, paged)",
    description=(
        "The standard query parameters docs/epcis.md lists; `perPage` (default 30) and "
        '`nextPageToken`, with a `Link: <…>; rel="next"` header while there are more.'
    ),
)
def list_events(
    request: Request,
    session: SessionDep,
    caller: CallerDep,
    per_page: PerPage = 30,
    token: Token = None,
) -> JSONResponse:
    return _page(request, session, caller, parse_query(request), per_page, token)


@router.get(
    "/events/{eventID:path}",
    summary="One event, with a Link to its anchor receipt (rel=proof)",
)
def read_event(eventID: str, session: SessionDep, caller: CallerDep) -> JSONResponse:
    require_key(caller)
    row = epcis_store.get_event(
        session=session,
        member_id=caller.member_id,
        is_admin=caller.viewer.is_admin,
        event_id=eventID,
    )
    headers = version_headers()
    evidence = epcis_store.evidence_for(session, row)
    if evidence is not None:
        headers["Link"] = f'</api/v1/evidence/{evidence.public_id}/receipt>; rel="proof"'
    return JSONResponse(query_document([row]), headers=headers)


# Browse: /eventTypes, /epcs, /bizSteps, /bizLocations, /readPoints, /dispositions -----------

_BROWSE: Final = {
    "eventTypes": ("event_type", "event_types"),
    "epcs": ("epc", "any"),
    "bizSteps": ("biz_step", "biz_steps"),
    "bizLocations": ("biz_location", "biz_locations"),
    "readPoints": ("read_point", "read_points"),
    "dispositions": ("disposition", "dispositions"),
}


def _collection(resource: str) -> Any:
    column, _ = _BROWSE[resource]

    def browse(session: SessionDep, caller: CallerDep) -> JSONResponse:
        require_key(caller)
        members = epcis_store.distinct_values(
            session=session,
            member_id=caller.member_id,
            is_admin=caller.viewer.is_admin,
            column=column,
            limit=epcis_store.MAX_PER_PAGE,
        )
        if resource == "eventTypes":
            members = sorted(set(members) | set(epcis.EVENT_TYPES))
        body = {
            "@context": [epcis_store.STANDARD_CONTEXT],
            "type": "Collection",
            "member": members,
        }
        return JSONResponse(body, headers=version_headers())

    browse.__name__ = f"browse_{resource}"
    return browse


def _events_of(resource: str) -> Any:
    _, field = _BROWSE[resource]

    def events(
        value: str,
        request: Request,
        session: SessionDep,
        caller: CallerDep,
        per_page: PerPage = 30,
        token: Token = None,
    ) -> JSONResponse:
        query = parse_query(request, **{field: (value,)})
        return _page(request, session, caller, query, per_page, token)

    events.__name__ = f"{resource}_events"
    return events


for _resource in _BROWSE:
    router.add_api_route(
        f"/{_resource}",
        _collection(_resource),
        methods=["GET"],
        summary=f"The {_resource} your events name",
    )
    router.add_api_route(
        f"/{_resource}/{{value:path}}/events",
        _events_of(_resource),
        methods=["GET"],
        summary=f"Events of one of the {_resource} (paged)",
    )


def quote_id(event_id: str) -> str:
    return quote(event_id, safe="")


# Named queries -------------------------------------------------------------------------------


@router.options("/queries", status_code=204, include_in_schema=False)
def discover_queries() -> Response:
    return Response(status_code=204, headers=discovery_headers("OPTIONS, GET, POST"))


@router.post("/queries", status_code=201, summary="Name a query")
async def create_query(request: Request, session: SessionDep, caller: CallerDep) -> Response:
    require_key(caller)
    body = await read_json_ld(request)
    if not isinstance(body, dict):
        raise InvalidInputError('the body must be {"name": …, "query": {…}}')
    parse_params(epcis_queries.normalise(body.get("query")))  # refused now if not answerable
    row = epcis_queries.create(
        session=session, member_id=caller.member_id, name=body.get("name"), query=body.get("query")
    )
    headers = {**version_headers(), "Location": f"/epcis/queries/{quote(row.name, safe='')}"}
    return Response(status_code=201, headers=headers)


@router.get("/queries", summary="Your named queries")
def list_queries(session: SessionDep, caller: CallerDep) -> JSONResponse:
    require_key(caller)
    rows = epcis_queries.list_(session=session, member_id=caller.member_id)
    return JSONResponse([epcis_queries.as_json(r) for r in rows], headers=version_headers())


@router.get("/queries/{queryName}", summary="One named query")
def read_query(queryName: str, session: SessionDep, caller: CallerDep) -> JSONResponse:
    require_key(caller)
    row = epcis_queries.get(session=session, member_id=caller.member_id, name=queryName)
    return JSONResponse(epcis_queries.as_json(row), headers=version_headers())


@router.delete("/queries/{queryName}", status_code=204, summary="Delete a named query")
def delete_query(queryName: str, session: SessionDep, caller: CallerDep) -> Response:
    require_key(caller)
    epcis_queries.delete(session=session, member_id=caller.member_id, name=queryName)
    return Response(status_code=204, headers=version_headers())


@router.get("/queries/{queryName}/events", summary="Run a named query (paged)")
def run_query(
    queryName: str,
    request: Request,
    session: SessionDep,
    caller: CallerDep,
    per_page: PerPage = 30,
    token: Token = None,
) -> JSONResponse:
    require_key(caller)
    row = epcis_queries.get(session=session, member_id=caller.member_id, name=queryName)
    extra = set(request.query_params) - set(_PAGING)
    if extra:
        raise InvalidInputError(
            f"{sorted(extra)[0]}: a named query takes only perPage and nextPageToken"
        )
    query = parse_params(row.query)
    return _page(request, session, caller, query, per_page, token, name=row.name)


# Webhook subscriptions -----------------------------------------------------------------------


@router.post("/queries/{queryName}/subscriptions", status_code=201, summary="Subscribe by webhook")
async def subscribe(
    queryName: str,
    request: Request,
    session: SessionDep,
    caller: CallerDep,
    runtime: RuntimeDep,
) -> JSONResponse:
    require_key(caller)
    body = await read_json_ld(request)
    row = epcis_queries.get(session=session, member_id=caller.member_id, name=queryName)
    sub = await run_in_threadpool(
        lambda: epcis_webhooks.subscribe(
            session=session,
            member_id=caller.member_id,
            query_name=row.name,
            query=row.query,
            body=body,
            allow_private=runtime.settings.epcis_webhook_allow_private,
        )
    )
    location = f"/epcis/queries/{quote(row.name, safe='')}/subscriptions/{sub.subscription_id}"
    headers = {**version_headers(), "Location": location}
    return JSONResponse(epcis_webhooks.as_json(sub), status_code=201, headers=headers)


def _subscription(session: Any, caller: Caller, name: str, sub_id: str) -> Any:
    row = session.get(EpcisSubscription, sub_id)
    if row is None or row.member_id != caller.member_id or row.query_name != name:
        raise NotFoundError(f"no subscription {sub_id} of query {name!r}")
    return row


@router.get("/queries/{queryName}/subscriptions", summary="The query's subscriptions")
def list_subscriptions(queryName: str, session: SessionDep, caller: CallerDep) -> JSONResponse:
    require_key(caller)
    epcis_queries.get(session=session, member_id=caller.member_id, name=queryName)
    rows = session.exec(
        select(EpcisSubscription).where(
            EpcisSubscription.member_id == caller.member_id,
            EpcisSubscription.query_name == queryName,
        )
    ).all()
    return JSONResponse([epcis_webhooks.as_json(r) for r in rows], headers=version_headers())


@router.get("/queries/{queryName}/subscriptions/{subscriptionID}", summary="One subscription")
def read_subscription(
    queryName: str,
    subscriptionID: str,
    session: SessionDep,
    caller: CallerDep,
) -> JSONResponse:
    require_key(caller)
    row = _subscription(session, caller, queryName, subscriptionID)
    return JSONResponse(epcis_webhooks.as_json(row), headers=version_headers())


@router.delete(
    "/queries/{queryName}/subscriptions/{subscriptionID}", status_code=204, summary="Unsubscribe"
)
def unsubscribe(
    queryName: str,
    subscriptionID: str,
    session: SessionDep,
    caller: CallerDep,
) -> Response:
    require_key(caller)
    row = _subscription(session, caller, queryName, subscriptionID)
    for delivery in session.exec(
        select(EpcisDelivery).where(EpcisDelivery.subscription_id == row.subscription_id)
    ).all():
        session.delete(delivery)
    session.delete(row)
    session.commit()
    return Response(status_code=204, headers=version_headers())
