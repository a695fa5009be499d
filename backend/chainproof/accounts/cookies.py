"""The session cookie and the CSRF rules of cookie-authenticated requests.

The cookie is ``HttpOnly`` (no script reads it), ``SameSite=Lax`` (a cross-site POST does
not carry it) and, when the page is served over HTTPS, ``Secure`` with the ``__Host-``
prefix (only this exact host, path ``/``, never set over plain HTTP). HTTPS is either the
request's scheme (uvicorn takes ``X-Forwarded-Proto`` from the proxies its
``FORWARDED_ALLOW_IPS`` environment variable names, 127.0.0.1 by default) or
``CHAINPROOF_PUBLIC_URL`` being ``https://``.

Every state-changing request a cookie authenticates must also carry the session's
synchronizer token (``X-CSRF-Token`` header from scripts, ``csrf_token`` field from forms)
and, when the browser says where it comes from (``Origin``, ``Sec-Fetch-Site``), come from
this site: a form another site posts is refused even if the browser sent the cookie.
"""

from __future__ import annotations

import hmac
from typing import Final
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

from chainproof.config import Settings

COOKIE: Final = "chainproof_session"
SECURE_COOKIE: Final = "__Host-chainproof_session"
CSRF_HEADER: Final = "x-csrf-token"
CSRF_FIELD: Final = "csrf_token"
SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})


def is_https(request: Request, settings: Settings) -> bool:
    return request.url.scheme == "https" or settings.public_url.startswith("https://")


def cookie_name(request: Request, settings: Settings) -> str:
    return SECURE_COOKIE if is_https(request, settings) else COOKIE


def session_token(request: Request, settings: Settings) -> str | None:
    """The cookie's value: over HTTPS only the ``__Host-`` one (a plain-HTTP neighbour
    cannot plant it)."""
    return request.cookies.get(cookie_name(request, settings)) or None


def has_session_cookie(request: Request) -> bool:
    """Whether the request carries a session cookie at all (cheap: no database)."""
    return COOKIE in request.cookies or SECURE_COOKIE in request.cookies


def set_session_cookie(
    response: Response, request: Request, settings: Settings, token: str, max_age: int
) -> None:
    secure = is_https(request, settings)
    response.set_cookie(
        SECURE_COOKIE if secure else COOKIE,
        token,
        max_age=max_age,
        path="/",
        secure=secure,
        httponly=True,
        samesite="lax",
    )


def clear_session_cookie(response: Response, request: Request, settings: Settings) -> None:
    secure = is_https(request, settings)
    response.delete_cookie(
        SECURE_COOKIE if secure else COOKIE, path="/", secure=secure, httponly=True, samesite="lax"
    )


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def same_site_request(request: Request, settings: Settings) -> bool:
    """False when the browser says the request comes from another site."""
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        # No Origin: not a browser's cross-origin request (or a very old browser). "null":
        # what a browser sends for its own form posts under our Referrer-Policy no-referrer;
        # Sec-Fetch-Site above already said where it came from.
        return True
    own = {_origin(settings.public_url), _origin(str(request.base_url))}
    return origin.lower() in own


def token_matches(expected: str, given: str | None) -> bool:
    return given is not None and hmac.compare_digest(expected.encode(), given.encode())
