"""The licence page ``/l/{id}`` (issue 20): checks an e-licence in the reader's browser.

The server renders a frame and the constants the script needs (the EIP-712 types, the claim
leaf layout, the status actions, the receipt page's registry constants), and prefills what
the reader may replace: the JSON-RPC node, the trust anchor (fetched by the script from
``/.well-known/chainproof.json``) and the issuer DIDs it knows. ``static/js/licence.js``
then does every check on the reader's device: the claims shown come from the URL's fragment
(or a file), which no browser sends to a server; from this server it reads only the licence's
public part, which it checks against the chain like everything else.
"""

from __future__ import annotations

from typing import Final

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from chainproof.api.deps import ChainDep, SessionDep, SettingsDep, published_rpc_url
from chainproof.licences import credential as vc
from chainproof.licences import service
from chainproof.licences.status import RECORD_KEYS, STATUS_OF_ACTION
from chainproof.public_ids import parse_public_id
from chainproof.web.routes import RECEIPT_PAGE_CONSTANTS, error_page, render

router = APIRouter(include_in_schema=False)

LICENCE_PAGE_CONSTANTS: Final = {
    "TYPES": vc.EIP712_TYPES,
    "DOMAIN": vc.EIP712_DOMAIN,
    "PRIMARY_TYPE": "Licence",
    "CLAIM_TYPES": list(vc.CLAIM_TYPES),
    "VC_TYPE": vc.VC_TYPE,
    "MAX_CLAIMS": vc.MAX_CLAIMS,
    "MAX_PROOF": vc.MAX_PROOF,
    "STATUS_OF_ACTION": STATUS_OF_ACTION,
    "RECORD_KEYS": list(RECORD_KEYS),
}


@router.get("/l/{licence_id}", name="web_licence", response_class=HTMLResponse)
def licence_page(
    request: Request, licence_id: str, session: SessionDep, chain: ChainDep, settings: SettingsDep
) -> HTMLResponse:
    public_id = parse_public_id(licence_id)
    if public_id is None:
        return error_page(request, 404, "error.not_found", f"licence {licence_id[:80]!r}")
    return render(
        request,
        "licence.html",
        active="web_verify",
        licence_id=public_id,
        rpc_url=published_rpc_url(settings, chain) or "",
        issuers=service.issuer_list(session, chain.chain_id),
        receipt_constants=RECEIPT_PAGE_CONSTANTS,
        licence_constants=LICENCE_PAGE_CONSTANTS,
    )
