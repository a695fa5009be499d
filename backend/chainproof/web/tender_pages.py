"""The public tender page ``/tenders/{reference}`` (issue #21): commitments and openings with
their block times, flagged reveals and the award, as the API shows them; ``static/js/
tender.js`` then asks the chain's public node for the registry's ``BidCommitted`` and
``BidRevealed`` logs and says whether the page shows exactly those. Messages:
``web/i18n_draws.py`` (the issue's two pages share it).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse

from chainproof.api.deps import RuntimeDep, SessionDep, published_rpc_url
from chainproof.errors import ChainProofError, NotFoundError
from chainproof.tenders import service
from chainproof.web.i18n import message, request_lang
from chainproof.web.routes import error_page, render

router = APIRouter(include_in_schema=False)


@router.get("/tenders/{reference}", name="web_tender", response_class=HTMLResponse)
def tender_page(
    request: Request,
    reference: Annotated[str, Path(max_length=64)],
    session: SessionDep,
    runtime: RuntimeDep,
) -> HTMLResponse:
    lang = request_lang(request)
    try:
        view = service.tender_public(
            session=session,
            chain=runtime.chain,
            reference=reference,
        )
    except NotFoundError:
        return error_page(request, 404, "error.not_found", message(lang, "tender.not_found"))
    except ChainProofError as exc:
        return error_page(request, 503, "error.not_found", exc.message)
    return render(
        request,
        "tender.html",
        tender=view,
        rpc_url=published_rpc_url(runtime.settings, runtime.chain),
    )
