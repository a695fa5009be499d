"""The recording page (issue 20): a live recording's segments on a timeline.

Rendered on the server for the signed-in person of the recording's org (or an admin), from
the same service as ``GET /api/v1/recordings/{id}``; to anyone else signed in, the 404
page of an id nobody has. Nobody signed in is sent to sign in.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from chainproof.api.deps import SessionDep
from chainproof.errors import NotFoundError
from chainproof.evidence.verify import Viewer
from chainproof.recordings import service
from chainproof.roles import Role
from chainproof.web.routes import error_page, page_gate, render

router = APIRouter(include_in_schema=False)

Recorder = Annotated[Any, Depends(page_gate(Role.SUBMITTER))]


@router.get("/recordings/{recording_id}", name="web_recording", response_class=HTMLResponse)
def recording_page(
    request: Request, recording_id: str, session: SessionDep, gate: Recorder
) -> Response:
    if isinstance(gate, Response):
        return gate
    viewer = Viewer(member_id=gate.member.id, is_admin=gate.role is Role.ADMIN)
    try:
        rec = service.owned(session=session, recording_id=recording_id, viewer=viewer)
    except NotFoundError:
        return error_page(request, 404, "error.not_found", f"recording {recording_id[:80]!r}")
    return render(request, "recording.html", recording=service.detail(session=session, rec=rec))
