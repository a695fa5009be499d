"""The public draw page ``/draws/{id}`` (issue #21): the draw as the API publishes it, and
``static/js/draw.js`` recomputing it in the browser (commitments, record, seed, shuffle) and
asking the chain's public node for the target block's hash. Messages: ``web/i18n_draws.py``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse

from chainproof.api.deps import RuntimeDep, SessionDep, published_rpc_url
from chainproof.draws import service
from chainproof.errors import NotFoundError
from chainproof.web.i18n import message, request_lang
from chainproof.web.routes import error_page, render

router = APIRouter(include_in_schema=False)


@router.get("/draws/{draw_id}", name="web_draw", response_class=HTMLResponse)
def draw_page(
    request: Request,
    draw_id: Annotated[str, Path(max_length=64)],
    session: SessionDep,
    runtime: RuntimeDep,
) -> HTMLResponse:
    try:
        draw = service.get_draw(session=session, draw_id=draw_id)
    except NotFoundError:
        lang = request_lang(request)
        return error_page(request, 404, "error.not_found", message(lang, "draw.not_found"))
    published = service.draw_public(session=session, draw=draw)
    return render(
        request,
        "draw.html",
        draw=published,
        rpc_url=published_rpc_url(runtime.settings, runtime.chain),
    )
