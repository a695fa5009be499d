"""Sign-in, sign-out, invitation and account pages (issue 17), and the role gate of pages.

Forms post here as ``application/x-www-form-urlencoded``. Anonymous forms (sign in, accept
an invitation) are refused when the browser says another site sent them; forms of a
signed-in person also carry the session's CSRF token (``accounts/cookies.py``). Sign-in is
rate-limited per address (``CHAINPROOF_RATE_LIMIT_SIGNIN``, ``api/ratelimit.py``) and locked
out after repeated failures per account and per address (``accounts/lockout.py``); every
failure costs one argon2 verification and reads the same (no user enumeration).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Annotated, Final

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from chainproof.accounts import cookies, service
from chainproof.accounts.lockout import ACCOUNT, Locked, Lockout
from chainproof.accounts.passwords import MAX_LENGTH
from chainproof.accounts.service import SignedIn
from chainproof.api.deps import RuntimeDep, SessionDep, SettingsDep, check_csrf, signed_in
from chainproof.api.ratelimit import address_of
from chainproof.errors import AuthError, InvalidInputError, NotFoundError
from chainproof.roles import Role
from chainproof.web.certificate import qr_svg
from chainproof.web.i18n import request_lang, translator
from chainproof.web.routes import error_page, render

router = APIRouter(include_in_schema=False)

_FIELD: Final = 300  # longest form field accepted (emails, codes; passwords MAX_LENGTH)
Field = Annotated[str, Form(max_length=_FIELD)]
Password = Annotated[str, Form(max_length=MAX_LENGTH + 1)]


def _t(request: Request) -> Callable[..., str]:
    return translator(request_lang(request))


def _lockout(request: Request, runtime: RuntimeDep) -> Lockout:
    state = request.app.state
    if getattr(state, "signin_lockout", None) is None:
        s = runtime.settings
        state.signin_lockout = Lockout(
            per_account=s.signin_lockout_account,
            per_address=s.signin_lockout_address,
            storage_uri=s.rate_limit_storage,
        )
    lockout: Lockout = state.signin_lockout
    return lockout


LockoutDep = Annotated[Lockout, Depends(_lockout)]


def _next(raw: str | None) -> str:
    """A local path to go to after signing in (never another site: no open redirect)."""
    if raw and raw.startswith("/") and not raw.startswith("//") and "\\" not in raw:
        return raw[:500]
    return "/"


def _signin_form(
    request: Request, *, status_code: int = 200, error: str = "", email: str = "", nxt: str = "/"
) -> HTMLResponse:
    return render(
        request, "signin.html", status_code=status_code, error=error, email=email, next=nxt
    )


def _locked_text(request: Request, locked: Locked) -> str:
    minutes = max(1, -(-locked.wait_s // 60))
    until = locked.until.strftime("%H:%M UTC")
    key = "acct.locked_account" if locked.scope == ACCOUNT else "acct.locked_address"
    return _t(request)(key, minutes=minutes, until=until)


def _signed_in_response(
    request: Request, runtime: RuntimeDep, user_signed: SignedIn, to: str
) -> Response:
    response = RedirectResponse(to, status_code=303)
    cookies.set_session_cookie(
        response,
        request,
        runtime.settings,
        user_signed.token,
        max_age=runtime.settings.session_hours * 3600,
    )
    return response


@router.get("/signin", name="web_signin", response_class=HTMLResponse)
def signin_page(request: Request, next: str | None = None) -> HTMLResponse:
    return _signin_form(request, nxt=_next(next))


@router.post("/signin", name="web_signin_post", response_class=HTMLResponse)
def signin(
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    lockout: LockoutDep,
    email: Field = "",
    password: Password = "",
    code: Field = "",
    next: Field = "/",
) -> Response:
    nxt = _next(next)
    if not cookies.same_site_request(request, runtime.settings):
        return error_page(request, 403, "error.forbidden", _t(request)("acct.cross_site"))
    address = address_of(request.scope)
    key = email.strip().lower()
    locked = lockout.locked(email=key, address=address)
    if locked is not None:
        response = _signin_form(
            request, status_code=429, error=_locked_text(request, locked), email=email, nxt=nxt
        )
        response.headers["Retry-After"] = str(locked.wait_s)
        return response
    user = service.check_credentials(
        session=session,
        email=email,
        password=password,
        code=code,
        secret=runtime.settings.secret_key.get_secret_value(),
    )
    if user is None:
        lockout.failed(email=key, address=address)
        return _signin_form(request, error=_t(request)("acct.failed"), email=email, nxt=nxt)
    lockout.succeeded(email=key)
    earlier = signed_in(request, session, runtime.settings)
    if earlier is not None:  # a new id on every sign-in (no fixation), the old one ends
        service.end_session(session=session, row_id=earlier.row.id or 0)
    started = service.start_session(
        session=session, user=user, lifetime=timedelta(hours=runtime.settings.session_hours)
    )
    return _signed_in_response(request, runtime, started, nxt)


@router.post("/signout", name="web_signout")
def signout(
    request: Request, session: SessionDep, settings: SettingsDep, csrf_token: Field = ""
) -> Response:
    signed = signed_in(request, session, settings)
    if signed is not None:
        try:
            check_csrf(request, signed, form_token=csrf_token)
        except AuthError as exc:
            return error_page(request, 403, "error.forbidden", exc.message)
        service.end_session(session=session, row_id=signed.row.id or 0)
    response = RedirectResponse("/", status_code=303)
    cookies.clear_session_cookie(response, request, settings)
    return response


# --- invitations -------------------------------------------------------------------------


def _invite_form(
    request: Request, session: SessionDep, token: str, *, status_code: int = 200, error: str = ""
) -> HTMLResponse:
    try:
        user = service.invited_user(session=session, token=token)
    except NotFoundError:
        return error_page(request, 404, "error.not_found", _t(request)("acct.invite_bad"))
    from chainproof.store.models import Member

    member = session.get(Member, user.member_id)
    return render(
        request,
        "invite.html",
        status_code=status_code,
        token=token,
        invitee=user.email,
        org=member.name if member else "",
        role=user.role,
        error=error,
    )


@router.get("/invite", name="web_invite", response_class=HTMLResponse)
def invite_page(request: Request, session: SessionDep, token: str = "") -> HTMLResponse:
    return _invite_form(request, session, token[:_FIELD])


@router.post("/invite", name="web_invite_post", response_class=HTMLResponse)
def accept_invite(
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    token: Field = "",
    password: Password = "",
    password2: Password = "",
) -> Response:
    if not cookies.same_site_request(request, runtime.settings):
        return error_page(request, 403, "error.forbidden", _t(request)("acct.cross_site"))
    if password != password2:
        return _invite_form(
            request, session, token, status_code=422, error=_t(request)("acct.mismatch")
        )
    try:
        user = service.accept_invite(session=session, token=token, password=password)
    except NotFoundError:
        return error_page(request, 404, "error.not_found", _t(request)("acct.invite_bad"))
    except InvalidInputError as exc:
        return _invite_form(request, session, token, status_code=422, error=exc.message)
    started = service.start_session(
        session=session, user=user, lifetime=timedelta(hours=runtime.settings.session_hours)
    )
    return _signed_in_response(request, runtime, started, "/account")


# --- the account -------------------------------------------------------------------------


def _account_page(
    request: Request,
    runtime: RuntimeDep,
    signed: SignedIn,
    *,
    status_code: int = 200,
    notice: str = "",
    error: str = "",
) -> HTMLResponse:
    uri = service.pending_totp_uri(
        user=signed.user, secret=runtime.settings.secret_key.get_secret_value()
    )
    return render(
        request,
        "account.html",
        status_code=status_code,
        totp_on=signed.user.totp_secret_encrypted is not None,
        totp_uri=uri,
        totp_qr=qr_svg(uri, title="TOTP") if uri else None,
        notice=notice,
        error=error,
    )


@router.get("/account", name="web_account", response_class=HTMLResponse)
def account_page(
    request: Request, session: SessionDep, runtime: RuntimeDep, settings: SettingsDep
) -> Response:
    signed = signed_in(request, session, settings)
    if signed is None:
        return RedirectResponse("/signin?next=/account", status_code=303)
    return _account_page(request, runtime, signed)


def _form_guard(
    request: Request, session: SessionDep, settings: SettingsDep, csrf_token: str
) -> SignedIn | Response:
    signed = signed_in(request, session, settings)
    if signed is None:
        return RedirectResponse("/signin?next=/account", status_code=303)
    try:
        check_csrf(request, signed, form_token=csrf_token)
    except AuthError as exc:
        return error_page(request, 403, "error.forbidden", exc.message)
    return signed


@router.post("/account/password", name="web_account_password", response_class=HTMLResponse)
def change_password(
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    settings: SettingsDep,
    csrf_token: Field = "",
    current: Password = "",
    new: Password = "",
) -> Response:
    signed = _form_guard(request, session, settings, csrf_token)
    if isinstance(signed, Response):
        return signed
    try:
        changed = service.change_password(
            session=session, user=signed.user, current=current, new=new
        )
    except InvalidInputError as exc:
        return _account_page(request, runtime, signed, status_code=422, error=exc.message)
    if not changed:
        t = _t(request)
        return _account_page(
            request, runtime, signed, status_code=403, error=t("acct.wrong_password")
        )
    # Every session ended, this one too: this browser gets a fresh one.
    started = service.start_session(
        session=session, user=signed.user, lifetime=timedelta(hours=settings.session_hours)
    )
    return _signed_in_response(request, runtime, started, "/account?changed=1")


@router.post("/account/totp", name="web_account_totp", response_class=HTMLResponse)
def begin_totp(
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    settings: SettingsDep,
    csrf_token: Field = "",
) -> Response:
    signed = _form_guard(request, session, settings, csrf_token)
    if isinstance(signed, Response):
        return signed
    service.begin_totp(
        session=session, user=signed.user, secret=settings.secret_key.get_secret_value()
    )
    return RedirectResponse("/account", status_code=303)


@router.post("/account/totp/confirm", name="web_account_totp_confirm", response_class=HTMLResponse)
def confirm_totp(
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    settings: SettingsDep,
    csrf_token: Field = "",
    code: Field = "",
) -> Response:
    signed = _form_guard(request, session, settings, csrf_token)
    if isinstance(signed, Response):
        return signed
    ok = service.confirm_totp(
        session=session, user=signed.user, code=code, secret=settings.secret_key.get_secret_value()
    )
    t = _t(request)
    if not ok:
        return _account_page(request, runtime, signed, status_code=422, error=t("acct.totp_bad"))
    return _account_page(request, runtime, signed, notice=t("acct.totp_enabled"))


# --- the role gate of pages --------------------------------------------------------------


def page_role(*roles: Role) -> Callable[..., SignedIn | Response]:
    """A page dependency: the signed-in person when their role is one of ``roles`` (admin
    always), a redirect to sign in for nobody, a 403 page for another role."""

    def dependency(
        request: Request, session: SessionDep, settings: SettingsDep
    ) -> SignedIn | Response:
        signed = signed_in(request, session, settings)
        if signed is None:
            return RedirectResponse(f"/signin?next={request.url.path}", status_code=303)
        if signed.role is Role.ADMIN or signed.role in roles:
            return signed
        wanted = " / ".join(r.value for r in roles) or "admin"
        message = _t(request)("acct.forbidden", role=signed.role.value, wanted=wanted)
        return error_page(request, 403, "error.forbidden", message)

    return dependency
