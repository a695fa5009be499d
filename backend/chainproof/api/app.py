"""The FastAPI application factory.

``create_app()`` builds the app; its lifespan brings up what a request needs and tears it
down in reverse order:

1. migrate the database (the server migrates on start) and create the engine;
2. open the chain (start a managed node, find or deploy the registry). When the recorded
   deployment is not on that chain (reset, other genesis), the server still starts, in a
   degraded state: documents are accepted into the queue (nothing is lost), verification
   answers ``chain_mismatch``, ``/readyz`` is 503 with the reason (docs/architecture.md, promise 6);
3. start the batcher, the chain writer and the trace head publisher, if this process wins the
   one-batcher-per-key lock; otherwise it serves the API while another process anchors and
   writes (revocations it accepts wait in the ``chain_op`` outbox for that process).

The middleware stack (body limits, JSON shapes, rate limits, HEAD, timing, security
headers, request ids) is ``api/middleware.py``'s, installed in its order by
:func:`~chainproof.api.middleware.install_middleware`.

Tests inject a chain (and may inject an engine); what was injected is not stopped.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import structlog
from fastapi import FastAPI
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from chainproof import __version__
from chainproof.api.errors import install_error_handlers
from chainproof.api.middleware import install_middleware
from chainproof.api.routes import API_ROUTERS
from chainproof.api.schemas import ERROR_TEXT
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

TAGS = [
    {"name": "evidence", "description": "Anchor files or digests; read their records."},
    {
        "name": "business types",
        "description": "Business types (业务类型): a JSON Schema for the metadata typed evidence "
        "carries, committed in its salt.",
    },
    {
        "name": "data resources",
        "description": "Data resources (数据资源): a directory's manifest as one anchored Merkle "
        "root, its owner, licence and access grants.",
    },
    {
        "name": "licences",
        "description": "E-licences: W3C credentials, salted claims, anchored roots, status.",
    },
    {
        "name": "recordings",
        "description": "Live recordings: segment digests hash-chained and anchored as they come.",
    },
    {"name": "verify", "description": "Is this file or digest on chain? Public."},
    {"name": "receipts", "description": "Self-contained receipts: download and verify."},
    {"name": "chain", "description": "Where to verify: chain, contract, RPC, batches."},
    {"name": "admin", "description": "Members and API keys (admin key)."},
    {"name": "system", "description": "Liveness and readiness probes."},
    {"name": "subsidy", "description": "2023 subsidy applications: rules, packages, review."},
    {"name": "trace", "description": "Traceability (溯源): EPCIS 2.0 events, items, recalls."},
    {"name": "timestamps", "description": "RFC 3161 time stamps, bound to the anchor."},
    {"name": "draws", "description": "Verifiable random draws (随机数): commit, then reveal."},
    {"name": "tenders", "description": "Sealed bids (公共资源交易): commit, reveal, award."},
    {"name": "crosschain", "description": "Sub-chains' recall messages, proven (跨链消息)."},
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
    install_middleware(app, settings)
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
        from chainproof.api.routes.epcis import start_webhooks  # EPCIS subscriptions

        webhooks = start_webhooks(runtime)
        # What start-up built (modules, schemas, the web3 and SQLAlchemy machinery) lives as
        # long as the server: out of the collector's sight, a full collection no longer walks
        # it. Those pauses were the verify p99 (docs/performance.md has the figures).
        gc.freeze()
        try:
            yield
        finally:
            webhooks.stop()
            gc.unfreeze()  # back to the collector: an app in a test process is not forever
            await run_in_threadpool(runtime.close)

    return lifespan
