"""``/epcis/capture`` (jobs) and ``POST /epcis/events`` (one event), and discovery."""

from __future__ import annotations

import json
from functools import cache
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, BackgroundTasks, Header, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from chainproof.api.deps import CallerDep, RuntimeDep, SessionDep, SubmitterDep
from chainproof.api.routes.epcis.common import (
    discovery_headers,
    read_json_ld,
    require_key,
    version_headers,
)
from chainproof.errors import InvalidInputError
from chainproof.trace import epcis, epcis_conformance, epcis_jobs, epcis_store

# GS1's OpenAPI describes these routes (served at /epcis/openapi.json), not ChainProof's.
router = APIRouter(prefix="/epcis", tags=["epcis"], include_in_schema=False)

Behaviour = Annotated[
    str,
    Header(
        alias="GS1-Capture-Error-Behaviour",
        description="rollback (the default: all or nothing) or proceed (store what is valid).",
    ),
]


@router.options("/", status_code=204, summary="Discovery: what this EPCIS repository offers")
@router.options("", status_code=204, include_in_schema=False)
def discover_root() -> Response:
    return Response(status_code=204, headers=discovery_headers("OPTIONS, GET"))


@cache
def _openapi_bytes() -> bytes:
    spec = dict(epcis_conformance.gs1_openapi())
    spec["servers"] = [{"url": "/epcis", "description": "ChainProof's EPCIS 2.0 binding"}]
    return json.dumps(spec, ensure_ascii=False).encode()


@router.get("/openapi.json", summary="GS1's EPCIS 2.0 OpenAPI, as this binding serves it")
def openapi() -> Response:
    """The vendored document (trace/gs1), its server set to this binding's root; serialised
    once (it is public and 350 kB)."""
    return Response(_openapi_bytes(), media_type="application/json")


@router.get("/", summary="The top-level resources of this EPCIS repository")
def top_level(caller: CallerDep) -> JSONResponse:
    require_key(caller)
    members = ["events", "eventTypes", "epcs", "bizSteps", "bizLocations", "readPoints"]
    members += ["dispositions", "capture", "queries"]
    body = {"@context": [epcis_store.STANDARD_CONTEXT], "type": "Collection", "member": members}
    return JSONResponse(body, headers=version_headers())


@router.options("/capture", status_code=204, summary="Discovery for capture")
def discover_capture() -> Response:
    return Response(status_code=204, headers=discovery_headers("OPTIONS, GET, POST"))


@router.post(
    "/capture",
    status_code=202,
    summary="Capture an EPCISDocument or EPCISQueryDocument as a job",
    description=(
        "Checks the body now (400 with where and why if GS1's schema or JSON-LD refuses it, "
        "415 for XML), answers 202 with the job's Location, and stores the events after the "
        "answer. `GS1-Capture-Error-Behaviour: rollback` (default) stores all or nothing; "
        "`proceed` stores the valid events and lists the others in the job's errors."
    ),
)
async def capture(
    request: Request,
    session: SessionDep,
    caller: SubmitterDep,
    runtime: RuntimeDep,
    tasks: BackgroundTasks,
    behaviour: Behaviour = "rollback",
) -> Response:
    body = await read_json_ld(request)
    kind = body.get("type") if isinstance(body, dict) else None
    if kind not in epcis_conformance.DOCUMENT_TYPES:
        raise InvalidInputError(
            "POST /epcis/capture takes an EPCISDocument or an EPCISQueryDocument; "
            "capture one event with POST /epcis/events"
        )

    def accept() -> Any:
        hashed = epcis.hash_events(body)  # what the job will store; refused now if bad (400)
        job = epcis_jobs.create_job(
            session=session,
            member_id=caller.member_id,
            document=body,
            behaviour=behaviour.strip().lower(),
            hashed=hashed,
            lease=runtime.settings.epcis_job_lease_seconds,  # claimed: this process runs it
        )
        return job, hashed

    job, hashed = await run_in_threadpool(accept)
    tasks.add_task(
        epcis_jobs.run_job,
        runtime.engine,
        job.capture_id,
        lease=runtime.settings.epcis_job_lease_seconds,
        taken=(body, hashed),
        claimed=True,
    )
    headers = {**version_headers(), "Location": f"/epcis/capture/{job.capture_id}"}
    return Response(status_code=202, headers=headers)


@router.get("/capture", summary="Your capture jobs, newest first")
def list_jobs(
    session: SessionDep, caller: CallerDep, runtime: RuntimeDep, tasks: BackgroundTasks
) -> JSONResponse:
    require_key(caller)
    tasks.add_task(
        epcis_jobs.resume_stale, runtime.engine, lease=runtime.settings.epcis_job_lease_seconds
    )
    jobs = epcis_jobs.list_jobs(
        session=session, member_id=caller.member_id, is_admin=caller.viewer.is_admin
    )
    return JSONResponse([epcis_jobs.job_json(j) for j in jobs], headers=version_headers())


@router.options("/capture/{captureID}", status_code=204, include_in_schema=False)
def discover_job(captureID: str) -> Response:
    return Response(status_code=204, headers=discovery_headers("OPTIONS, GET"))


@router.get("/capture/{captureID}", summary="One capture job")
def read_job(
    captureID: str,
    session: SessionDep,
    caller: CallerDep,
    runtime: RuntimeDep,
    tasks: BackgroundTasks,
) -> JSONResponse:
    require_key(caller)
    job = epcis_jobs.get_job(
        session=session,
        member_id=caller.member_id,
        is_admin=caller.viewer.is_admin,
        capture_id=captureID,
    )
    if job.running:
        tasks.add_task(
            epcis_jobs.resume_stale, runtime.engine, lease=runtime.settings.epcis_job_lease_seconds
        )
    return JSONResponse(epcis_jobs.job_json(job), headers=version_headers())


@router.post(
    "/events",
    status_code=201,
    summary="Capture one event",
    description=(
        "Stores one event (with its @context) at once; 201 with the event's Location. An "
        "event without an eventID gets its CBV 2.0 hash as eventID."
    ),
)
async def capture_event(request: Request, session: SessionDep, caller: SubmitterDep) -> Response:
    body = await read_json_ld(request)
    if not isinstance(body, dict) or body.get("type") not in epcis.EVENT_TYPES:
        raise InvalidInputError(
            "POST /epcis/events takes one event (ObjectEvent, AggregationEvent, "
            "TransformationEvent, TransactionEvent or AssociationEvent) with its @context"
        )

    def store() -> Any:
        return epcis_store.capture(session=session, member_id=caller.member_id, body=body)

    outcome = await run_in_threadpool(store)
    (row,) = outcome.events
    location = f"/epcis/events/{quote(row.event_id, safe='')}"
    headers = {**version_headers(), "Location": location}
    return JSONResponse(epcis_store.as_json(row), status_code=201, headers=headers)
