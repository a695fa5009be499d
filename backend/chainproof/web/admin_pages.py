"""The admin panel's network and audit pages (issue 25): server-rendered, for signed-in
admins and auditors (``page_gate``), from the same readings as ``GET /api/v1/chain/network``
and ``GET /api/v1/audit``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from chainproof.api.deps import SessionDep
from chainproof.api.routes.network import cached_status
from chainproof.audit import log
from chainproof.roles import Role
from chainproof.web.routes import page_gate, render

router = APIRouter(include_in_schema=False)
PAGE = 100


@router.get("/admin/network", name="web_admin_network", response_class=HTMLResponse)
def network_page(
    request: Request,
    session: SessionDep,
    gate: Annotated[Any, Depends(page_gate(Role.AUDITOR))],
) -> Response:
    if isinstance(gate, Response):
        return gate
    status = cached_status(request, session)
    return render(request, "admin_network.html", active="web_admin", net=status)


@router.get("/admin/audit", name="web_admin_audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    session: SessionDep,
    gate: Annotated[Any, Depends(page_gate(Role.AUDITOR))],
    offset: Annotated[int, Query(ge=0, le=2**31)] = 0,
    action: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    if isinstance(gate, Response):
        return gate
    rows = log.entries(session, action=action or None, offset=offset, limit=PAGE)
    return render(
        request,
        "admin_audit.html",
        active="web_admin",
        rows=rows,
        offset=offset,
        page=PAGE,
        action=action or "",
    )
