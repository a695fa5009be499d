"""The public scan page ``/t/{code}`` (issue #5): phone-first, no login.

The server renders the item and its timeline with the data the API gives
(``GET /api/v1/trace/items/{code}``, embedded as JSON); ``static/js/trace.js`` then checks
it in the browser with Web Crypto: each event hash recomputed from its pre-hash string, the
hash chain recomputed, and its end compared with the head read from the chain. Each view
counts as one scan. Messages live in ``web/i18n_trace.py`` (zh-CN default, en), merged into
the catalogs of every other page, with the same language switch; badge reasons are rendered
from the API's ``badge_reason_code`` in the page's language.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse

from chainproof.api.deps import RuntimeDep, SessionDep, published_rpc_url
from chainproof.errors import InvalidInputError, NotFoundError
from chainproof.trace import scan
from chainproof.web.i18n import message, request_lang
from chainproof.web.routes import error_page, render

router = APIRouter(include_in_schema=False)


@router.get("/t/{code:path}", name="web_trace_scan", response_class=HTMLResponse)
def scan_page(
    request: Request,
    code: Annotated[str, Path()],
    session: SessionDep,
    runtime: RuntimeDep,
) -> HTMLResponse:
    lang = request_lang(request)
    try:
        view = scan.scan_view(
            session=session,
            chain=runtime.chain,
            data_dir=runtime.settings.data_dir,
            code=code,
            count=True,
            public_rpc_url=published_rpc_url(runtime.settings, runtime.chain),
        )
    except (NotFoundError, InvalidInputError) as exc:
        status = 404 if isinstance(exc, NotFoundError) else 422
        text = message(lang, "trace.not_found")
        return error_page(request, status, "error.not_found", f"{text}: {code}")
    return render(request, "trace_scan.html", view=view)
