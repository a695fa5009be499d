"""``GET /api/v1/audit``: the audit side chain, for admins and auditors (docs/audit.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict

from chainproof.api import audited
from chainproof.api.deps import AuditorDep, SessionDep
from chainproof.api.schemas import error_responses
from chainproof.audit import log
from chainproof.audit.export import write_csv

router = APIRouter(prefix="/api/v1", tags=["admin"])
MAX_PAGE = 1000


_EXAMPLE_RECORD = (
    '{"action":"key.create","at":"2026-12-07T16:49:13.531134+00:00","by":{"actor":"key:1",'
    '"key_id":1,"org":"运营方","user_id":null},"detail":{"org":"示范企业甲","prefix":"cpk_AbCd",'
    '"role":"submitter"},"kind":"chainproof-audit","prev":null,"request_id":"req-1","seq":1,'
    '"target":"key:2","version":1}'
)


class AuditEntryOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "seq": 1,
                    "at": "2026-12-07T16:49:13.531134Z",
                    "action": "key.create",
                    "target": "key:2",
                    "actor": "key:1",
                    "actor_org": "运营方",
                    "actor_key_id": 1,
                    "actor_user_id": None,
                    "request_id": "req-1",
                    "record_hash": "0x" + "ab" * 32,
                    "record": _EXAMPLE_RECORD,
                }
            ]
        }
    )

    seq: int
    at: datetime
    action: str
    target: str
    actor: str
    actor_org: str | None
    actor_key_id: int | None
    actor_user_id: int | None
    request_id: str | None
    record_hash: str
    record: str


@router.get(
    "/audit",
    summary="The audit log",
    description=(
        "What the platform itself did (keys, roles, prefixes, members, revocations, exports), "
        "oldest first, each entry hash-chained to the previous one and anchored. Admins and "
        "auditors. Filters are exact; `format=csv` exports the page (with each record, so "
        "`chainproof audit verify --file` can check it) and is itself audited."
    ),
    response_model=list[AuditEntryOut],
    responses=error_responses(401, 403, 422),
)
def list_audit(
    caller: AuditorDep,
    session: SessionDep,
    action: Annotated[str | None, Query(max_length=64)] = None,
    org: Annotated[str | None, Query(max_length=200, description="The actor's org.")] = None,
    target: Annotated[str | None, Query(max_length=200)] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    offset: Annotated[int, Query(ge=0, le=2**31)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    format: Annotated[Literal["json", "csv"], Query()] = "json",
) -> Any:
    rows = log.entries(
        session,
        action=action,
        org=org,
        target=target,
        since=since,
        until=until,
        offset=offset,
        limit=limit,
    )
    if format == "csv":
        body = write_csv(rows)
        audited.record(
            session,
            caller,
            action="export.audit",
            target="audit",
            detail={"rows": len(rows), "offset": offset, "action": action, "org": org},
        )
        return Response(
            body,
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="audit.csv"'},
        )
    return [AuditEntryOut.model_validate(r, from_attributes=True) for r in rows]
