"""The licence pages (issue 20): ``/l/{id}`` checks an e-licence in the reader's browser;
``/licences`` is an org's issued and held licences; ``/licences/{id}/licence.pdf`` prints one.

The server renders a frame and the constants the script needs (the EIP-712 types, the claim
leaf layout, the status actions, the receipt page's registry constants), and prefills what
the reader may replace: the JSON-RPC node, the trust anchor (fetched by the script from
``/.well-known/chainproof.json``) and the issuer DIDs it knows. ``static/js/licence.js``
then does every check on the reader's device: the claims shown come from the URL's fragment
(or a file), which no browser sends to a server; from this server it reads only the licence's
public part, which it checks against the chain like everything else.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import col, select
from starlette.concurrency import run_in_threadpool

from chainproof.api.deps import (
    ChainDep,
    RuntimeDep,
    SessionDep,
    SettingsDep,
    ViewerDep,
    published_rpc_url,
)
from chainproof.errors import NotFoundError
from chainproof.licences import credential as vc
from chainproof.licences import holders, service
from chainproof.licences.links import presentation_url
from chainproof.licences.models import LicenceIssuer, LicenceType
from chainproof.licences.status import RECORD_KEYS, STATUS_OF_ACTION
from chainproof.public_ids import parse_public_id
from chainproof.roles import Role
from chainproof.web.certificate import CertificateFontError
from chainproof.web.court_facts import trust_anchor_of
from chainproof.web.licence_pdf import render_licence_pdf
from chainproof.web.routes import RECEIPT_PAGE_CONSTANTS, error_page, page_gate, render

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


Person = Annotated[Any, Depends(page_gate(Role.SUBMITTER))]


@router.get("/licences", name="web_licences", response_class=HTMLResponse)
def licences_page(request: Request, session: SessionDep, gate: Person) -> Response:
    """The signed-in person's org's licences: those it issued (issue, suspend, reinstate,
    revoke, renew: ``static/js/licences.js`` over ``/api/v1/licences`` with the session's
    cookie and CSRF token) and those it holds (print; choose fields, show a QR code)."""
    if isinstance(gate, Response):
        return gate
    member_id = gate.member.id
    types = session.exec(
        select(LicenceType)
        .where(LicenceType.issuer_member_id == member_id)
        .order_by(col(LicenceType.id))
    ).all()
    return render(
        request,
        "licences.html",
        is_issuer=member_id is not None and session.get(LicenceIssuer, member_id) is not None,
        types=[{"code": t.code, "name": t.name, "fields": t.fields} for t in types],
        mine=holders.listed(session=session, member_id=member_id),
    )


@router.get("/licences/{licence_id}/licence.pdf", name="web_licence_pdf")
async def licence_pdf(
    request: Request, licence_id: str, session: SessionDep, viewer: ViewerDep, runtime: RuntimeDep
) -> Response:
    """The licence as a PDF, for its issuer org, its holder org and admins (a key or a
    signed-in person); anyone else gets the 404 of an id nobody has."""
    try:
        row = holders.held_or_issued(session=session, licence_id=licence_id, viewer=viewer)
    except NotFoundError as exc:
        return error_page(request, 404, "error.not_found", exc.message)
    card = holders.card(session, row)
    claims = row.credential["credentialSubject"]["claims"]
    base = runtime.settings.public_url
    try:
        pdf = await run_in_threadpool(
            lambda: render_licence_pdf(
                card,
                verify_url=presentation_url(base, row.public_id, claims, claims),
                base_url=base,
                anchor=trust_anchor_of(runtime),
            )
        )
    except CertificateFontError as exc:
        return error_page(request, 503, "error.no_font", exc.message)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="licence-{row.public_id}.pdf"'},
    )
