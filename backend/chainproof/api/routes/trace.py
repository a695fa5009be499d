"""Traceability (溯源): ``/api/v1/trace``. Thin over ``chainproof.trace`` (see docs/trace.md)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Path, Query
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import Field
from sqlmodel import select

from chainproof.api import audited
from chainproof.api.deps import (
    AdminDep,
    Caller,
    MemberDep,
    RuntimeDep,
    SessionDep,
    SettingsDep,
    SubmitterDep,
    published_rpc_url,
)
from chainproof.api.routes.operations import OperationOut
from chainproof.api.schemas import error_responses
from chainproof.chain.writer import operation_public
from chainproof.channels import service as channels
from chainproof.errors import NotFoundError
from chainproof.runtime import send_now
from chainproof.store.models import MAX_ID
from chainproof.store.ops import ChainOp
from chainproof.trace import (
    capture,
    codes,
    heads,
    lineage,
    ownership,
    qr,
    query,
    recall,
    roles,
    scan,
)
from chainproof.trace.models import TraceNode
from chainproof.trace.schemas import (
    EX_CODE,
    EX_DOCUMENT,
    EX_QR_SVG,
    EX_RECALL_CSV,
    EX_RECALL_REPORT,
    CaptureOut,
    EventsOut,
    HashOut,
    ItemHistoryOut,
    ItemOut,
    ItemsIn,
    ItemsOut,
    LineageOut,
    OrgIn,
    OrgOut,
    PrefixIn,
    PublishOut,
    RecallIn,
    RecallOut,
)

router = APIRouter(prefix="/api/v1/trace", tags=["trace"])
Document = Annotated[
    dict[str, Any],
    Body(
        description=(
            "An EPCIS 2.0 JSON-LD EPCISDocument or EPCISQueryDocument with one or more events, "
            "or one bare event with its @context."
        ),
        openapi_examples={"commissioning": {"summary": "金桔 commissioned", "value": EX_DOCUMENT}},
    ),
]
CodePath = Annotated[
    str, Path(description="Platform code or Digital Link path.", examples=[EX_CODE])
]


def _writer(caller: Caller) -> int | None:
    """The org a write is made for: the key's org, whatever the key's role (an admin key
    writes only what its org's trace role allows; the service refuses a key without one)."""
    return caller.member_id


@router.post(
    "/hash",
    summary="CBV 2.0 event hashes of a document (public, stores nothing)",
    response_model=HashOut,
    responses=error_responses(400, 422),
)
def hash_document(doc: Document) -> HashOut:
    from chainproof.trace import epcis

    events = [{"event_hash": h.event_hash, "prehash": h.prehash} for h in epcis.hash_events(doc)]
    return HashOut.model_validate({"events": events})


@router.post(
    "/capture",
    summary="Capture an EPCIS 2.0 document",
    response_model=CaptureOut,
    status_code=201,
    responses=error_responses(400, 401, 403, 409, 422),
)
def capture_document(
    doc: Document,
    session: SessionDep,
    caller: SubmitterDep,
    channel: Annotated[
        str | None,
        Query(
            max_length=100,
            description="A channel (通道) of the caller's org: its members read the events' "
            "evidence records (issue 25); the events stay on their items' public histories.",
        ),
    ] = None,
) -> CaptureOut:
    done = capture.capture_document(
        session=session,
        member_id=_writer(caller),
        doc=doc,
        channel_id=channels.named(session, channel, caller.member_id),
    )
    return CaptureOut.model_validate({"events": [d.__dict__ for d in done]})


@router.get(
    "/events",
    summary="Query events (EPCIS 2.0 query parameter names)",
    response_model=EventsOut,
    responses=error_responses(401, 403, 404, 422),
)
def query_events(
    session: SessionDep,
    caller: MemberDep,
    match_any_epc: Annotated[
        list[str] | None,
        Query(alias="MATCH_anyEPC", description="Item or lot codes.", examples=[[EX_CODE]]),
    ] = None,
    eq_biz_step: Annotated[
        list[str] | None, Query(alias="EQ_bizStep", examples=[["shipping"]])
    ] = None,
    eq_type: Annotated[list[str] | None, Query(alias="EQ_type", examples=[["ObjectEvent"]])] = None,
    ge_event_time: Annotated[
        str | None, Query(alias="GE_eventTime", examples=["2024-11-01T00:00:00+08:00"])
    ] = None,
    lt_event_time: Annotated[
        str | None, Query(alias="LT_eventTime", examples=["2024-12-01T00:00:00+08:00"])
    ] = None,
    per_page: Annotated[int, Query(alias="perPage", ge=1, le=query.MAX_PER_PAGE)] = 100,
) -> EventsOut:
    rows = query.events(
        session=session,
        match_any_epc=match_any_epc,
        eq_biz_step=eq_biz_step,
        eq_type=eq_type,
        ge_event_time=ge_event_time,
        lt_event_time=lt_event_time,
        per_page=per_page,
    )
    return EventsOut.model_validate({"events": scan.events_out(session, list(rows))})


@router.post(
    "/items",
    summary="Register items (GTIN + serials, or platform codes)",
    response_model=ItemsOut,
    status_code=201,
    responses=error_responses(401, 403, 422),
)
def register_items(
    body: ItemsIn, session: SessionDep, settings: SettingsDep, caller: SubmitterDep
) -> ItemsOut:
    nodes = capture.register_items(
        session=session,
        member_id=_writer(caller),
        product=body.product,
        gtin=body.gtin,
        lot=body.lot,
        serials=body.serials,
        count=body.count,
    )
    items = []
    for n in nodes:
        c = codes.parse_code(n.uri)
        items.append(
            ItemOut(
                kind=n.kind,
                code=n.code,
                uri=n.uri,
                digital_link=c.digital_link(settings.gs1_resolver),
                scan_url=f"{settings.public_url.rstrip('/')}/t/{n.code}",
                product=n.product,
                lot=n.lot,
            )
        )
    return ItemsOut(items=items)


@router.get(
    "/items/{code:path}",
    summary="An item's history with its on-chain head (public; what the scan page checks)",
    response_model=ItemHistoryOut,
    responses=error_responses(404, 422),
)
def item_history(code: CodePath, session: SessionDep, runtime: RuntimeDep) -> ItemHistoryOut:
    return ItemHistoryOut.model_validate(
        scan.scan_view(
            session=session,
            chain=runtime.chain,
            data_dir=_data_dir(runtime),
            code=code,
            public_rpc_url=published_rpc_url(runtime.settings, runtime.chain),
        )
    )


@router.get(
    "/qr/{code:path}",
    summary="The QR code of an item (PNG or SVG; public)",
    response_class=Response,
    responses={
        200: {
            "content": {
                "image/png": {"schema": {"type": "string", "format": "binary"}},
                "image/svg+xml": {"example": EX_QR_SVG},
            }
        },
        **error_responses(404, 422),
    },
)
def item_qr(
    code: CodePath,
    session: SessionDep,
    settings: SettingsDep,
    format: Annotated[Literal["png", "svg"], Query()] = "png",
) -> Response:
    node = recall.find_node(session, code)
    target = qr.qr_target(
        codes.parse_code(node.uri), resolver=settings.gs1_resolver, public_url=settings.public_url
    )
    if format == "svg":
        return Response(qr.qr_svg(target), media_type="image/svg+xml")
    return Response(qr.qr_png(target), media_type="image/png")


@router.get(
    "/lineage/{code:path}",
    summary="Where an item or lot came from, and where it went",
    response_model=LineageOut,
    responses=error_responses(401, 403, 404, 422),
)
def item_lineage(code: CodePath, session: SessionDep, caller: MemberDep) -> LineageOut:
    node = recall.find_node(session, code)

    def rows(nodes: list[Any]) -> list[dict[str, Any]]:
        return [{"kind": n.kind, "code": n.code, "uri": n.uri, "product": n.product} for n in nodes]

    return LineageOut.model_validate(
        {
            "code": node.code,
            "kind": node.kind,
            "backward": rows(lineage.backward(session, node)),
            "forward": rows(lineage.forward(session, node)),
        }
    )


class RecallOpOut(RecallOut):
    operation: OperationOut | None = Field(
        default=None,
        description=(
            "The chain operation that puts this recall (or its lift) on TraceRegistry "
            "(`GET /api/v1/operations/{id}` until `confirmed`); the recall is in force here "
            "at once."
        ),
    )


@router.post(
    "/recalls",
    summary="Recall a lot (a regulator, or the lot's producer)",
    response_model=RecallOpOut,
    status_code=201,
    responses=error_responses(401, 403, 404, 409, 422),
)
def recall_lot(
    body: RecallIn, session: SessionDep, caller: SubmitterDep, runtime: RuntimeDep
) -> RecallOpOut:
    r = recall.recall_lot(
        session=session, member_id=_writer(caller), lot=body.lot, reason=body.reason
    )
    return _recall_out(session, runtime, r, r.op_id)


@router.post(
    "/recalls/lift",
    summary="Lift a lot's recall (a regulator, or the owner when the owner recalled it)",
    response_model=RecallOpOut,
    responses=error_responses(401, 403, 404, 409, 422),
)
def lift_recall(
    body: RecallIn, session: SessionDep, caller: SubmitterDep, runtime: RuntimeDep
) -> RecallOpOut:
    r = recall.lift_recall(
        session=session, member_id=_writer(caller), lot=body.lot, reason=body.reason
    )
    return _recall_out(session, runtime, r, r.lift_op_id)


def _recall_out(session: Any, runtime: Any, r: Any, op_id: str | None) -> RecallOpOut:
    lot = session.get(TraceNode, r.lot_node_id)
    assert r.id is not None and lot is not None
    op = session.exec(select(ChainOp).where(ChainOp.public_id == op_id)).first()
    if op is not None and runtime.writer is not None:
        runtime.writer.wake()  # this process writes: no need to wait for its next poll
    return RecallOpOut(
        recall_id=r.id,
        lot=lot.code,
        reason_hash=r.reason_hash,
        lifted_at=r.lifted_at.isoformat() if r.lifted_at else None,
        lift_reason_hash=r.lift_reason_hash,
        operation=OperationOut.model_validate(operation_public(op)) if op is not None else None,
    )


@router.get(
    "/recalls/{recall_id}",
    summary="Recall report: affected items, downstream lots, inputs (JSON or CSV)",
    responses={
        200: {
            "content": {
                "application/json": {"example": EX_RECALL_REPORT},
                "text/csv": {"example": EX_RECALL_CSV},
            }
        },
        **error_responses(401, 403, 404, 422),
    },
)
def recall_report(
    recall_id: Annotated[int, Path(ge=1, le=MAX_ID, examples=[1])],
    session: SessionDep,
    caller: MemberDep,
    format: Annotated[Literal["json", "csv"], Query()] = "json",
) -> Response:
    data = recall.report(session=session, recall_id=recall_id)
    if format == "csv":
        return PlainTextResponse(
            recall.report_csv(data),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="recall-{recall_id}.csv"'},
        )
    return JSONResponse(data)


@router.post(
    "/orgs",
    summary="Give a member a trace role and locations (admin)",
    response_model=OrgOut,
    responses=error_responses(401, 403, 404, 422),
)
def register_org(body: OrgIn, session: SessionDep, caller: AdminDep) -> OrgOut:
    org = roles.register_org(
        session=session, member_id=body.member_id, role=body.role, glns=body.glns, names=body.names
    )
    for prefix in body.prefixes:
        ownership.admit_prefix(session=session, org=org, prefix=prefix)
    audited.record(
        session,
        caller,
        action="role.grant",
        target=f"member:{body.member_id}",
        detail={"trace_role": body.role, "glns": list(body.glns), "prefixes": list(body.prefixes)},
    )
    return _org_out(session, org)


@router.post(
    "/orgs/{member_id}/prefixes",
    summary="Admit a GS1 company prefix or platform-code namespace to an org (admin)",
    response_model=OrgOut,
    responses=error_responses(401, 403, 404, 409, 422),
)
def admit_prefix(
    member_id: Annotated[int, Path(ge=1, le=MAX_ID, examples=[2])],
    body: PrefixIn,
    session: SessionDep,
    caller: AdminDep,
) -> OrgOut:
    org = roles.org_of(session, member_id)
    if org is None:
        raise NotFoundError(f"member {member_id} has no trace role (POST /api/v1/trace/orgs)")
    held = {p.prefix for p in ownership.prefixes_of(session, org)}
    ownership.admit_prefix(session=session, org=org, prefix=body.prefix)
    if body.prefix not in held:  # admitting an admitted prefix again changes nothing
        audited.record(
            session,
            caller,
            action="prefix.admit",
            target=f"member:{member_id}",
            detail={"prefix": body.prefix},
        )
    return _org_out(session, org)


@router.get(
    "/orgs/{member_id}",
    summary="A member's trace role, locations and admitted prefixes (admin)",
    response_model=OrgOut,
    responses=error_responses(401, 403, 404, 422),
)
def read_org(
    member_id: Annotated[int, Path(ge=1, le=MAX_ID, examples=[2])],
    session: SessionDep,
    caller: AdminDep,
) -> OrgOut:
    org = roles.org_of(session, member_id)
    if org is None:
        raise NotFoundError(f"member {member_id} has no trace role (POST /api/v1/trace/orgs)")
    return _org_out(session, org)


def _org_out(session: Any, org: Any) -> OrgOut:
    return OrgOut(
        member_id=org.member_id,
        role=org.role,
        glns=sorted(roles.owned_glns(session, org)),
        prefixes=[p.prefix for p in ownership.prefixes_of(session, org)],
    )


class PublishOpOut(PublishOut):
    operations: list[OperationOut] = Field(
        default_factory=list,
        description=(
            "The chain operations enqueued (heads, recalls, lifts). 200: all settled, the "
            "counts say what landed; 202: another process leads the signing key and sends "
            "them (poll `GET /api/v1/operations/{id}`)."
        ),
    )


@router.post(
    "/publish",
    summary="Publish pending heads and recall flags on chain now (admin)",
    response_model=PublishOpOut,
    responses={
        202: {"description": "Enqueued; another process sends them.", "model": PublishOpOut},
        **error_responses(401, 403, 409, 503),
    },
)
def publish(runtime: RuntimeDep, caller: AdminDep) -> Any:
    runtime.chain.require_ok()
    enqueued, settled = heads.publish_now(
        runtime.engine,
        lambda ops: send_now(
            runtime.engine, runtime.chain, runtime.settings, ops, writer=runtime.writer
        ),
    )
    done = heads.summarize(runtime.engine, enqueued)
    with runtime.sessions() as s:
        ops = [s.get(ChainOp, op.id) for op in enqueued]
        body = PublishOpOut(
            heads=done.heads,
            recalls=done.recalls,
            lifts=done.lifts,
            tx_hashes=list(done.tx_hashes),
            operations=[
                OperationOut.model_validate(operation_public(op)) for op in ops if op is not None
            ],
        )
    return JSONResponse(body.model_dump(mode="json"), status_code=200 if settled else 202)


def _data_dir(runtime: Any) -> Any:
    return runtime.settings.data_dir
