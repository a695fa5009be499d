"""Per-request observability: a request id on every request, the verify routes timed.

:class:`RequestIdMiddleware` takes the caller's ``X-Request-ID`` when it is a sane token
(1-128 characters of ``A-Z a-z 0-9 . _ : -``, checked character by character: no regex on
the caller's text) or makes one, binds it into structlog's context for everything logged
while the request runs (uvicorn's access line included: ``logs.py`` routes it through
structlog, and uvicorn logs it from inside the request's task) and echoes it in the
response's ``X-Request-ID``.

:class:`VerifyTimingMiddleware` times ``POST /api/v1/verify`` and ``POST
/api/v1/receipts/verify`` into ``chainproof_verify_seconds`` (route, status): the verify
rate is its count. A clock read and a histogram observation per request; no database.
"""

from __future__ import annotations

import time
import uuid
from typing import Final

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chainproof.api.asgi import HTTPMiddleware
from chainproof.metrics import VERIFY_SECONDS

HEADER: Final = "x-request-id"
_ALLOWED: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-")
MAX_LENGTH: Final = 128
VERIFY_ROUTES: Final = frozenset({"/api/v1/verify", "/api/v1/receipts/verify"})


def request_id_of(scope: Scope) -> str:
    """The caller's id when it is acceptable, else a new one."""
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            if 0 < len(value) <= MAX_LENGTH:
                text = value.decode("latin-1")
                if all(c in _ALLOWED for c in text):
                    return text
            break
    return uuid.uuid4().hex


class RequestIdMiddleware(HTTPMiddleware):
    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        request_id = request_id_of(scope)
        echoed = request_id.encode("latin-1")

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", ()) if k != b"x-request-id"]
                message["headers"] = [*headers, (b"x-request-id", echoed)]
            await send(message)

        # Each request runs in its own task (its own context copy): bound here, seen by
        # every log line of this request and by no other request's.
        with structlog.contextvars.bound_contextvars(request_id=request_id):
            await self.app(scope, receive, send_with_id)


class VerifyTimingMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if path not in VERIFY_ROUTES:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what an exception that escapes the app becomes

        async def timed_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, timed_send)
        finally:
            VERIFY_SECONDS.labels(route=path, status=str(status)).observe(
                time.perf_counter() - started
            )
