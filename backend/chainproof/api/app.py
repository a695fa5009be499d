"""The FastAPI application factory.

``create_app()`` builds the app; its lifespan brings up what a request needs and tears it
down in reverse order:

1. migrate the database (the server migrates on start) and create the engine;
2. open the chain (start a managed node, find or deploy the registry). When the recorded
   deployment is not on that chain (reset, other genesis), the server still starts, in a
   degraded state: documents are accepted into the queue (nothing is lost), verification
   answers ``chain_mismatch``, ``/readyz`` is 503 with the reason (invariant 6);
3. start the batcher, the chain writer and the trace head publisher, if this process wins the
   one-batcher-per-key lock; otherwise it serves the API while another process anchors and
   writes (revocations it accepts wait in the ``chain_op`` outbox for that process).

Every request body is bounded by :class:`BodyLimitMiddleware` (the upload limit for a
multipart body on the streaming routes, a few MiB for every other body) before any route
can buffer it; JSON bodies are then shape-checked (``api/json_guard.py``), callers counted
(``api/ratelimit.py``) and every response given its security headers (``api/headers.py``),
its request id and, on the verify routes, its timing (``api/observe.py``).

Tests inject a chain (and may inject an engine); what was injected is not stopped.
"""

from __future__ import annotations

import gc
import re
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import structlog
from fastapi import FastAPI
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chainproof import __version__
from chainproof.api.errors import error_body, install_error_handlers
from chainproof.api.head import HeadAsGetMiddleware
from chainproof.api.headers import SecurityHeadersMiddleware
from chainproof.api.json_guard import JsonShapeMiddleware, content_type_of, is_multipart
from chainproof.api.observe import RequestIdMiddleware, VerifyTimingMiddleware
from chainproof.api.ratelimit import RateLimitMiddleware, default_rules
from chainproof.api.routes import API_ROUTERS
from chainproof.api.routes import subsidy as subsidy_routes
from chainproof.api.schemas import ERROR_TEXT
from chainproof.api.upload import MAX_JSON_BYTES
from chainproof.chain.context import ChainContext
from chainproof.config import Settings, get_settings
from chainproof.logs import configure_logging
from chainproof.runtime import start_runtime

log = structlog.get_logger("chainproof.api")

DESCRIPTION = """\
Anchor document hashes on an EVM chain in Merkle batches, get self-contained receipts, and
verify files, digests and receipts, with or without trusting this server.

**Keys.** Send `Authorization: Bearer <key>` (`chainproof keys create --org NAME --role
ROLE`). Anchoring needs a `submitter` key, admin routes an `admin` key; verification is
public, and a key only adds its own records' metadata to the answers.

**Errors** are always `{"error": {"code": "...", "message": "..."}}` with a 4xx for bad
input, 503 when the chain is unavailable or not the one anchored on.
"""

# The routes that stream multipart files; every other body is small JSON.
STREAMING_PATHS = frozenset({"/api/v1/evidence", "/api/v1/verify"})
STREAMING_PATTERNS: tuple[re.Pattern[str], ...] = (*subsidy_routes.STREAMING_PATTERNS,)

TAGS = [
    {"name": "evidence", "description": "Anchor files or digests; read their records."},
    {"name": "verify", "description": "Is this file or digest on chain? Public."},
    {"name": "receipts", "description": "Self-contained receipts: download and verify."},
    {"name": "chain", "description": "Where to verify: chain, contract, RPC, batches."},
    {"name": "admin", "description": "Members and API keys (admin key)."},
    {"name": "system", "description": "Liveness and readiness probes."},
    {"name": "subsidy", "description": "2023 subsidy applications: rules, packages, review."},
    {"name": "trace", "description": "Traceability (溯源): EPCIS 2.0 events, items, recalls."},
    {"name": "draws", "description": "Verifiable random draws (随机数): commit, then reveal."},
    {"name": "tenders", "description": "Sealed bids (公共资源交易): commit, reveal, award."},
]


def create_app(
    settings: Settings | None = None,
    *,
    chain: ChainContext | None = None,
    engine: Engine | None = None,
    run_batcher: bool = True,
) -> FastAPI:
    """The ChainProof API. ``settings`` default to the environment's (``get_settings()``)."""
    settings = settings or get_settings()
    configure_logging()  # plain tracebacks, no locals, secrets redacted (logs.py)
    app = FastAPI(
        title="ChainProof",
        version=__version__,
        summary="Blockchain evidence (存证): anchor, receipt, verify.",
        description=DESCRIPTION,
        openapi_tags=TAGS,
        lifespan=_lifespan(settings, chain=chain, engine=engine, run_batcher=run_batcher),
    )
    install_error_handlers(app)
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
        ),
        auth_failures=settings.rate_limit_auth_failures,
        storage_uri=settings.rate_limit_storage,
    )
    app.add_middleware(HeadAsGetMiddleware)  # everything inside sees a GET
    app.add_middleware(VerifyTimingMiddleware)  # refusals (429, 413) are timed too
    app.add_middleware(SecurityHeadersMiddleware)  # refusals get the headers too
    app.add_middleware(RequestIdMiddleware)  # outermost: every log line of a request has its id
    for router in API_ROUTERS:
        app.include_router(router)
    from chainproof import web  # the pages: thin over the same services as the API

    web.install(app)
    _document_unparseable_bodies(app)
    return app


def _document_unparseable_bodies(app: FastAPI) -> None:
    """Answers the middleware gives before any route runs, said once here for the OpenAPI
    document rather than on each route: 400 on every operation that reads a body (not JSON,
    or not UTF-8: json_guard, FastAPI's parser), and 429 on every operation (the rate limits,
    which also count a client's failed keys, api/ratelimit.py)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = build()
            for operations in spec.get("paths", {}).values():
                for operation in operations.values():
                    if not isinstance(operation, dict):
                        continue
                    responses = operation.setdefault("responses", {})
                    if "requestBody" in operation:
                        responses.setdefault("400", _error_doc(400))
                    responses.setdefault("429", _error_doc(429))
        return app.openapi_schema or build()

    app.openapi = openapi  # type: ignore[method-assign]


def _error_doc(code: int) -> dict[str, Any]:
    return {
        "description": ERROR_TEXT[code],
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}},
    }


def _lifespan(
    settings: Settings,
    *,
    chain: ChainContext | None,
    engine: Engine | None,
    run_batcher: bool,
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Start-up blocks (migrations, a node starting, a deployment): off the event loop.
        runtime = await run_in_threadpool(
            lambda: start_runtime(settings, chain=chain, engine=engine, run_batcher=run_batcher)
        )
        app.state.runtime = runtime
        # What start-up built (modules, schemas, the web3 and SQLAlchemy machinery: 200,000
        # objects) lives as long as the server: out of the collector's sight, a full
        # collection no longer walks it. Measured on the bench machine: 147 ms a full
        # collection before, under 1 ms after; those pauses were the verify p99.
        gc.freeze()
        try:
            yield
        finally:
            gc.unfreeze()  # back to the collector: an app in a test process is not forever
            await run_in_threadpool(runtime.close)

    return lifespan


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
