"""The API's middleware, outermost last as Starlette adds them: what every request passes
through before a route runs.

Every request body is bounded by :class:`BodyLimitMiddleware` (the upload limit for a
multipart body on the streaming routes, a few MiB for every other body) before any route
can buffer it; JSON bodies are then shape-checked (``api/json_guard.py``), callers counted
(``api/ratelimit.py``) and every response given its security headers (``api/headers.py``),
its request id and, on the verify routes, its timing (``api/observe.py``).
"""

from __future__ import annotations

import re

from fastapi import FastAPI
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chainproof.api.errors import error_body
from chainproof.api.head import HeadAsGetMiddleware
from chainproof.api.headers import SecurityHeadersMiddleware
from chainproof.api.json_guard import JsonShapeMiddleware, content_type_of, is_multipart
from chainproof.api.observe import RequestIdMiddleware, VerifyTimingMiddleware
from chainproof.api.ratelimit import RateLimitMiddleware, default_rules
from chainproof.api.routes import subsidy as subsidy_routes
from chainproof.api.upload import MAX_JSON_BYTES
from chainproof.config import Settings

# The routes that stream multipart files; every other body is small JSON.
STREAMING_PATHS = frozenset({"/api/v1/evidence", "/api/v1/verify"})
STREAMING_PATTERNS: tuple[re.Pattern[str], ...] = (*subsidy_routes.STREAMING_PATTERNS,)


def install_middleware(app: FastAPI, settings: Settings) -> None:
    """Adds the stack to ``app`` with ``settings``' limits, innermost first."""
    # Innermost first: the JSON shape check sees a body BodyLimitMiddleware already bounds;
    # the rate limit runs before both, so a flood costs no body reading at all.
    app.add_middleware(JsonShapeMiddleware)
    app.add_middleware(
        BodyLimitMiddleware,
        default_limit=MAX_JSON_BYTES,
        streaming_limit=settings.max_upload_bytes,
        streaming_paths=STREAMING_PATHS,
        streaming_patterns=STREAMING_PATTERNS,
    )
    app.add_middleware(
        RateLimitMiddleware,
        rules=default_rules(
            anchor=settings.rate_limit_anchor,
            keys=settings.rate_limit_keys,
            verify=settings.rate_limit_verify,
            trace_hash=settings.rate_limit_trace_hash,
            explorer=settings.rate_limit_explorer,
            render=settings.rate_limit_render,
            scan=settings.rate_limit_scan,
            signin=settings.rate_limit_signin,
            tsa=settings.rate_limit_tsa,
        ),
        auth_failures=settings.rate_limit_auth_failures,
        storage_uri=settings.rate_limit_storage,
    )
    app.add_middleware(HeadAsGetMiddleware)  # everything inside sees a GET
    app.add_middleware(VerifyTimingMiddleware)  # refusals (429, 413) are timed too
    app.add_middleware(SecurityHeadersMiddleware)  # refusals get the headers too
    app.add_middleware(RequestIdMiddleware)  # outermost: every log line of a request has its id


class BodyLimitMiddleware:
    """413 for any request body over its limit, before a route buffers it.

    FastAPI reads a declared JSON body whole before the route runs, so a route cannot
    refuse a 2 GB JSON body itself. A ``multipart/form-data`` body on a streaming upload
    path gets ``streaming_limit`` (the server's upload limit); every other body, whatever
    its path or type, gets ``default_limit`` (the JSON limit). A declared
    ``Content-Length`` over the limit is answered at once without reading; a chunked body
    is counted as the app reads it and cut off at the limit. Answers use the error
    envelope (unlike Starlette's RequestBodyLimitMiddleware, which answers in plain text).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        default_limit: int,
        streaming_limit: int,
        streaming_paths: frozenset[str],
        streaming_patterns: tuple[re.Pattern[str], ...] = (),
    ) -> None:
        self.app = app
        self.default_limit = default_limit
        self.streaming_limit = streaming_limit
        self.streaming_paths = streaming_paths
        self.streaming_patterns = streaming_patterns

    def _limit(self, scope: Scope) -> int:
        path: str = scope.get("path", "")
        root: str = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :]
        # Only a multipart body is streamed through hashers: any other body on these paths
        # (JSON digests) is buffered like every JSON body, so it gets the JSON limit.
        streaming = is_multipart(content_type_of(scope)) and (
            path in self.streaming_paths or any(p.fullmatch(path) for p in self.streaming_patterns)
        )
        return self.streaming_limit if streaming else self.default_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit(scope)
        declared = _declared_length(scope)
        if declared is not None and declared > limit:
            message = f"the request body is {declared} bytes; this endpoint accepts at most {limit}"
            response = JSONResponse(error_body("payload_too_large", message), status_code=413)
            await response(scope, receive, send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # An HTTPException: FastAPI re-raises it from its body reading (other
                    # errors there become a 400), and the handler answers 413.
                    raise HTTPException(413, f"the request body is over the limit of {limit} bytes")
            return message

        await self.app(scope, limited_receive, send)


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the route answers 400 for a malformed length
    return None
