"""The EPCIS 2.0 REST binding at ``/epcis``, after GS1's OpenAPI (``trace/gs1/openapi.json``).

Same API keys as the rest of the API: capture needs a submitter (or admin) key of an org with
admitted GS1 company prefixes; queries answer the caller's org's events (an admin's: all).
Errors are ``application/problem+json`` with ``epcisException:`` types (``api/problems.py``).
docs/epcis.md lists each operation of GS1's OpenAPI as implemented or not.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from chainproof.api.routes.epcis import capture, query
from chainproof.trace.epcis_webhooks import WebhookRunner

# Two routers on the app itself (api/routes/__init__.py says why not nested).
ROUTERS: tuple[APIRouter, ...] = (capture.router, query.router)


def start_webhooks(runtime: Any) -> WebhookRunner:
    """This process's webhook runner (app lifespan): deliveries survive restarts in the
    database, so each process just picks up where the outbox is."""
    settings = runtime.settings
    return WebhookRunner(
        runtime.engine,
        parse=query.parse_params,
        document=query.query_document,
        allow_private=settings.epcis_webhook_allow_private,
        interval=settings.epcis_webhook_interval_seconds,
        lease=settings.epcis_webhook_lease_seconds,
    ).start()


__all__ = ["ROUTERS", "start_webhooks"]
