"""The base of the API's pure-ASGI middleware that acts on HTTP requests only."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send


class HTTPMiddleware:
    """Hands everything but HTTP (lifespan, websockets) straight to the app; subclasses
    write :meth:`http`. Pure ASGI rather than Starlette's ``BaseHTTPMiddleware``, which
    would buffer streamed responses and run the app in another task."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.http(scope, receive, send)

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        raise NotImplementedError
