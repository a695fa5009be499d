"""The recording page (issue 20): a live recording's segments on a timeline.

Rendered on the server for the signed-in person of the recording's org (or an admin), from
the same service as ``GET /api/v1/recordings/{id}``; to anyone else signed in, the 404
page of an id nobody has. Nobody signed in is sent to sign in.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from chainproof.api.deps import RuntimeDep, SessionDep
from chainproof.errors import NotFoundError
from chainproof.evidence.verify import Viewer
from chainproof.recordings import service
from chainproof.roles import Role
from chainproof.store.models import Member
from chainproof.trust import WELL_KNOWN_PATH
from chainproof.web.certificate import certificate_number, qr_svg
from chainproof.web.court_facts import trust_anchor_of
from chainproof.web.routes import error_page, page_gate, render

router = APIRouter(include_in_schema=False)

Recorder = Annotated[Any, Depends(page_gate(Role.SUBMITTER))]


class RecordingPage(service.RecordingDetail):
    member: str | None  # the org's name, for the page's heading


def _recording(
    request: Request, recording_id: str, session: SessionDep, gate: Any
) -> RecordingPage | Response:
    """The recording's detail for the signed-in person of its org, else the page to show."""
    if isinstance(gate, Response):
        return gate
    viewer = Viewer(member_id=gate.member.id, is_admin=gate.role is Role.ADMIN)
    try:
        rec = service.readable(session=session, recording_id=recording_id, viewer=viewer)
    except NotFoundError:
        return error_page(request, 404, "error.not_found", f"recording {recording_id[:80]!r}")
    member = session.get(Member, rec.member_id) if rec.member_id is not None else None
    return {
        **service.detail(session=session, rec=rec),
        "member": member.name if member else None,
    }


@router.get("/recordings/{recording_id}", name="web_recording", response_class=HTMLResponse)
def recording_page(
    request: Request, recording_id: str, session: SessionDep, gate: Recorder
) -> Response:
    found = _recording(request, recording_id, session, gate)
    if isinstance(found, Response):
        return found
    return render(request, "recording.html", recording=found)


@router.get(
    "/recordings/{recording_id}/certificate",
    name="web_recording_certificate",
    response_class=HTMLResponse,
)
def recording_certificate(
    request: Request, recording_id: str, session: SessionDep, gate: Recorder, runtime: RuntimeDep
) -> Response:
    """A printable certificate (执法记录存证证书): the recording's facts, its first and last
    anchors, the trust anchor to pin and a QR code to the recording's page."""
    found = _recording(request, recording_id, session, gate)
    if isinstance(found, Response):
        return found
    anchored = [s for s in found["segment_list"] if s["anchor"]]
    page_url = runtime.settings.public_url.rstrip("/") + f"/recordings/{found['id']}"
    return render(
        request,
        "recording_certificate.html",
        recording=found,
        number=certificate_number(runtime.chain.chain_id, str(found["id"])),
        first=anchored[0] if anchored else None,
        last=anchored[-1] if anchored else None,
        page_url=page_url,
        qr=qr_svg(page_url, title=found["id"]),
        anchor=trust_anchor_of(runtime),
        anchor_url=runtime.settings.public_url.rstrip("/") + WELL_KNOWN_PATH,
    )
