"""The pages: server-rendered HTML over the same services as the API: routes parse, call a service,
render (docs/architecture.md, Layers).

Every page is zh-CN by default and English one click away on the same URL (``?lang=en``,
remembered in a cookie; see ``web/i18n.py``). Pages read what anyone may read (public chain
data, verdicts); what needs a key (anchoring, admin, a member's own metadata) is done by
the page's script calling the JSON API with a key the user typed, kept in the tab's
``sessionStorage`` and never sent to these HTML routes.

None of these routes is in the OpenAPI schema: ``/docs`` documents the API.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Final
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from chainproof.accounts.service import SignedIn
from chainproof.api.deps import (
    ChainDep,
    RuntimeDep,
    SessionDep,
    SettingsDep,
    ViewerDep,
    published_rpc_url,
    signed_in,
)
from chainproof.chain.abi import receipt_page_constants
from chainproof.crosschain.proofs import recent_checkpoints
from chainproof.digests import ALGORITHMS
from chainproof.errors import ChainProofError, ConflictError, NotFoundError
from chainproof.evidence import service
from chainproof.evidence.verify import ANONYMOUS
from chainproof.merkle import EVIDENCE_LEAF_TYPES
from chainproof.receipts.metadata import METADATA_TEXT_MAX
from chainproof.roles import Role
from chainproof.store.models import MAX_ID
from chainproof.trust import WELL_KNOWN_PATH
from chainproof.web import explorer
from chainproof.web.certificate import (
    CertificateFontError,
    certificate_number,
    evidence_url,
    qr_svg,
)
from chainproof.web.court_facts import certificate_of, court_certificate_pdf, trust_anchor_of
from chainproof.web.formatting import cst_time, short_hex, utc_iso
from chainproof.web.i18n import (
    COOKIE,
    COOKIE_MAX_AGE,
    LANGS,
    js_messages,
    optional_translator,
    request_lang,
    translator,
)
from chainproof.web.vendor import integrity

TEMPLATE_DIR: Final = Path(__file__).parent / "templates"

# (route name, message key) of the header navigation, in order.
NAV: Final = (
    ("web_verify", "nav.verify"),
    ("web_anchor", "nav.anchor"),
    ("web_applications", "nav.applications"),
    ("web_review", "nav.review"),
    ("web_explorer", "nav.explorer"),
    ("web_admin", "nav.admin"),
)

templates = Jinja2Templates(directory=str(TEMPLATE_DIR))
templates.env.globals.update(
    cst_time=cst_time, utc_iso=utc_iso, short=short_hex, hash_algorithms=ALGORITHMS
)

router = APIRouter(include_in_schema=False)


# --- rendering ---------------------------------------------------------------------------


def _path(request: Request, name: str, **params: Any) -> str:
    return str(request.url_for(name, **params).path)


def render(
    request: Request,
    template: str,
    *,
    active: str | None = None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """A page in the request's language; remembers a ``?lang=`` choice in a cookie."""
    lang = request_lang(request)
    other = LANGS[1] if lang == LANGS[0] else LANGS[0]
    query = {k: v for k, v in request.query_params.items() if k != "lang"}
    switch = f"{request.url.path}?{urlencode({**query, 'lang': other})}"
    root = request.scope.get("root_path", "")

    def url(name: str, **params: Any) -> str:
        return _path(request, name, **params)

    def static(path: str) -> str:
        return _path(request, "static", path=path)

    me = _signed_in(request)
    response = templates.TemplateResponse(
        request,
        template,
        {
            "me": me,
            "csrf": me.row.csrf_token if me is not None else "",
            "lang": lang,
            "other_lang": other,
            "lang_switch_url": switch,
            "t": translator(lang),
            "t_opt": optional_translator(lang),
            "js_messages": js_messages(lang),
            "nav": NAV,
            "active": active,
            "url": url,
            "static": static,
            "integrity": integrity,
            "api_base": f"{root}/api/v1",
            "page_root": root,
            **context,
        },
        status_code=status_code,
    )
    if request.query_params.get("lang") in LANGS:
        response.set_cookie(COOKIE, lang, max_age=COOKIE_MAX_AGE, samesite="lax")
    return response


def _signed_in(request: Request) -> SignedIn | None:
    """The person signed in on this request (its cookie), for the header and the scripts'
    CSRF token; pages without a database session of their own open one."""
    runtime = getattr(request.app.state, "runtime", None)
    if runtime is None:
        return None
    with runtime.sessions() as session:  # no query when a dependency looked it up already
        return signed_in(request, session, runtime.settings)


def error_page(request: Request, status_code: int, title_key: str, message: str) -> HTMLResponse:
    return render(
        request, "error.html", status_code=status_code, title_key=title_key, message=message
    )


# --- pages -------------------------------------------------------------------------------


@router.get("/", name="web_home", response_class=HTMLResponse)
def home(request: Request, chain: ChainDep) -> HTMLResponse:
    status = chain.status()
    info = None
    if status.ok:
        info = {"chain_id": chain.chain_id, "contract": chain.contract, "kind": chain.node.kind}
    return render(request, "home.html", chain_ok=status.ok, chain_reason=status.reason, info=info)


@router.get("/verify", name="web_verify", response_class=HTMLResponse)
def verify_page(
    request: Request,
    digest: Annotated[str | None, Query(max_length=200)] = None,
    algorithm: Annotated[str | None, Query(max_length=20)] = None,
) -> HTMLResponse:
    chosen = algorithm if algorithm in ALGORITHMS else "sha256"
    return render(
        request,
        "verify.html",
        active="web_verify",
        digest=(digest or "").strip(),
        algorithm=chosen,
        algorithms=ALGORITHMS,
    )


# What receipt.js sends and checks, served in the page rather than copied into the script:
# the registry's topic and selectors (from the compiled interfaces), the algorithm ids and the
# leaf layout of a receipt.
RECEIPT_PAGE_CONSTANTS: Final = {
    **receipt_page_constants(),
    "ALGORITHMS": list(ALGORITHMS),
    "LEAF_TYPES": list(EVIDENCE_LEAF_TYPES),
    "METADATA_TEXT_MAX": METADATA_TEXT_MAX,
}


@router.get("/receipt", name="web_receipt", response_class=HTMLResponse)
def receipt_page(request: Request, chain: ChainDep, settings: SettingsDep) -> HTMLResponse:
    """Verifies a receipt in the browser (static/js/receipt.js): the server only renders.

    The RPC URL is prefilled with what ``GET /api/v1/chain`` answers as ``rpc_url`` (empty
    for an in-process chain); the script asks that node, never this server.
    """
    rpc_url = published_rpc_url(settings, chain) or ""
    return render(
        request,
        "receipt.html",
        active="web_verify",
        rpc_url=rpc_url,
        receipt_constants=RECEIPT_PAGE_CONSTANTS,
    )


@router.get("/anchor", name="web_anchor", response_class=HTMLResponse)
def anchor_page(
    request: Request,
    settings: SettingsDep,
    gate: Annotated[Any, Depends(page_gate(Role.SUBMITTER))],
) -> Response:
    if isinstance(gate, Response):
        return gate
    return render(
        request,
        "anchor.html",
        active="web_anchor",
        algorithms=ALGORITHMS,
        default_algorithm=settings.hash_algorithm,
    )


@router.get("/evidence/{evidence_id}", name="web_evidence", response_class=HTMLResponse)
def evidence_page(request: Request, evidence_id: str, session: SessionDep) -> HTMLResponse:
    """The record's id and status, as for an anonymous caller (keys never reach pages): the
    page's script asks the API with the tab's key for what that key may see (evidence.js)."""
    try:
        record = service.evidence_public(session=session, evidence_id=evidence_id, viewer=ANONYMOUS)
    except NotFoundError as exc:
        return error_page(request, 404, "error.not_found", exc.message)
    return render(request, "evidence.html", record=record)


@router.get(
    "/evidence/{evidence_id}/certificate", name="web_certificate", response_class=HTMLResponse
)
def certificate_page(
    request: Request, evidence_id: str, session: SessionDep, runtime: RuntimeDep
) -> HTMLResponse:
    """The certificate's frame: number, status and QR code (the record's public page). Its
    facts are private: the page's script fills them with the tab's key (certificate.js)."""
    try:
        record = service.evidence_public(session=session, evidence_id=evidence_id, viewer=ANONYMOUS)
    except NotFoundError as exc:
        return error_page(request, 404, "error.not_found", exc.message)
    if record["status"] not in ("anchored", "revoked"):
        return error_page(
            request, 409, "error.not_anchored", f"evidence {evidence_id} is {record['status']}"
        )
    t = translator(request_lang(request))
    page_url = evidence_url(runtime.settings.public_url, str(record["id"]))
    return render(
        request,
        "certificate.html",
        record=record,
        number=certificate_number(runtime.chain.chain_id, str(record["id"])),
        page_url=page_url,
        qr=qr_svg(page_url, title=t("cert.qr_title")),
        anchor=trust_anchor_of(runtime),  # public: the frame prints it for anyone
        anchor_url=runtime.settings.public_url.rstrip("/") + WELL_KNOWN_PATH,
    )


@router.get("/evidence/{evidence_id}/certificate.pdf", name="web_certificate_pdf")
async def certificate_pdf(
    request: Request, evidence_id: str, session: SessionDep, viewer: ViewerDep, runtime: RuntimeDep
) -> Response:
    """The PDF, for a caller who may see the record: the page's script fetches it with the
    tab's key (``Authorization``). Anyone else gets the 404 of a missing id."""
    try:
        anchor = await run_in_threadpool(trust_anchor_of, runtime)
        cert = certificate_of(
            session=session, runtime=runtime, evidence_id=evidence_id, viewer=viewer, anchor=anchor
        )
        # PAdES-signed, with the court's sections (issue 19, web/court_facts.py).
        pdf = await run_in_threadpool(
            lambda: court_certificate_pdf(
                session=session,
                runtime=runtime,
                cert=cert,
                viewer=viewer,
                anchor=anchor,
                tsa_state=request.app.state,
            )
        )
    except NotFoundError as exc:
        return error_page(request, 404, "error.not_found", exc.message)
    except ConflictError as exc:
        return error_page(request, 409, "error.not_anchored", exc.message)
    except CertificateFontError as exc:
        return error_page(request, 503, "error.no_font", exc.message)
    name = f"chainproof-certificate-{cert.evidence_id}.pdf"
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{name}"'},
    )


# --- explorer ----------------------------------------------------------------------------


def _explorer_error(request: Request, exc: ChainProofError) -> HTMLResponse:
    return render(
        request,
        "explorer_unavailable.html",
        active="web_explorer",
        status_code=503,
        reason=exc.message,
    )


def _explorer_page(
    request: Request,
    name: str,
    missing: str,
    find: Callable[[], Any],
    *,
    malformed: type[Exception] | tuple[type[Exception], ...] = (),
) -> HTMLResponse:
    """The page ``explorer_<name>.html`` of what ``find`` found; a 404 naming ``missing`` when
    it found nothing (or the key is ``malformed``), a 503 when the chain cannot answer."""
    try:
        found = find()
    except malformed:
        found = None
    except ChainProofError as exc:
        return _explorer_error(request, exc)
    if found is None:
        return error_page(request, 404, "error.not_found", missing)
    return render(request, f"explorer_{name}.html", active="web_explorer", **{name: found})


_SEARCH_ROUTES: Final = {
    "block": ("web_explorer_block", "number"),
    "tx": ("web_explorer_tx", "tx_hash"),
    "root": ("web_explorer_root", "root"),
    "digest": ("web_explorer_digest", "digest"),
    "address": ("web_explorer_address", "address"),
}


@router.get("/explorer", name="web_explorer", response_class=HTMLResponse)
def explorer_page(
    request: Request,
    chain: ChainDep,
    session: SessionDep,
    settings: SettingsDep,
    q: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    result = None
    if q is not None and q.strip():
        result = explorer.search(chain=chain, session=session, query=q)
        if len(result.matches) == 1:
            kind, value = result.matches[0]
            name, param = _SEARCH_ROUTES[kind]
            return RedirectResponse(_path(request, name, **{param: value}), status_code=303)
    try:
        summary = explorer.chain_summary(
            chain=chain, public_rpc_url=published_rpc_url(settings, chain)
        )
        blocks = explorer.latest_blocks(chain=chain)
        events = explorer.recent_events(chain=chain)
    except ChainProofError as exc:
        return _explorer_error(request, exc)
    checkpoints = recent_checkpoints(session, chain_id=summary.chain_id)  # issue 22
    return render(
        request,
        "explorer.html",
        active="web_explorer",
        summary=summary,
        blocks=blocks,
        events=events,
        checkpoints=checkpoints,
        result=result,
        routes=_SEARCH_ROUTES,
        q=q or "",
    )


@router.get("/explorer/block/{number}", name="web_explorer_block", response_class=HTMLResponse)
def explorer_block(request: Request, number: str, chain: ChainDep) -> HTMLResponse:
    if not number.isdigit() or int(number) > MAX_ID:
        return error_page(request, 404, "error.not_found", f"block {number!r}")
    return _explorer_page(
        request, "block", f"block {number}", lambda: explorer.block(chain=chain, number=int(number))
    )


@router.get("/explorer/tx/{tx_hash}", name="web_explorer_tx", response_class=HTMLResponse)
def explorer_tx(request: Request, tx_hash: str, chain: ChainDep) -> HTMLResponse:
    return _explorer_page(
        request,
        "tx",
        f"transaction {tx_hash[:80]}",
        lambda: explorer.transaction(chain=chain, tx_hash=tx_hash),
    )


@router.get("/explorer/root/{root}", name="web_explorer_root", response_class=HTMLResponse)
def explorer_root(
    request: Request, root: str, chain: ChainDep, session: SessionDep
) -> HTMLResponse:
    return _explorer_page(
        request,
        "root",
        f"root {root[:80]}",
        lambda: explorer.root_view(chain=chain, session=session, root=root),
        malformed=ValueError,
    )


@router.get("/explorer/digest/{digest}", name="web_explorer_digest", response_class=HTMLResponse)
def explorer_digest(request: Request, digest: str, session: SessionDep) -> HTMLResponse:
    try:
        matches = explorer.digest_matches(session=session, digest=digest)
    except ValueError:
        matches = []
    if not matches:
        return error_page(request, 404, "error.not_found", f"digest {digest[:80]}")
    return render(
        request,
        "explorer_digest.html",
        active="web_explorer",
        digest=explorer.normalise_hex32(digest),
        matches=matches,
    )


@router.get("/explorer/address/{address}", name="web_explorer_address", response_class=HTMLResponse)
def explorer_address(
    request: Request, address: str, chain: ChainDep, session: SessionDep
) -> HTMLResponse:
    try:
        found = explorer.address_view(chain=chain, session=session, address=address)
    except ValueError:
        return error_page(request, 404, "error.not_found", f"address {address[:80]}")
    except ChainProofError as exc:
        return _explorer_error(request, exc)
    return render(request, "explorer_address.html", active="web_explorer", info=found)


# --- admin -------------------------------------------------------------------------------


@router.get("/admin", name="web_admin", response_class=HTMLResponse)
def admin_page(request: Request, gate: Annotated[Any, Depends(page_gate())]) -> Response:
    if isinstance(gate, Response):
        return gate
    return render(request, "admin.html", active="web_admin", roles=[r.value for r in Role])


def page_gate(*roles: Role) -> Any:
    """``web/account_pages.page_role`` (imported late: that module renders with this one)."""
    from chainproof.web.account_pages import page_role

    return page_role(*roles)
