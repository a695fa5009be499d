"""``HEAD`` on every ``GET`` route: the same answer without its body (RFC 9110, 9.3.2).

FastAPI routes answer only the methods they declare, so ``HEAD /`` was a 405, and uptime
monitors (many send ``HEAD`` by default) and ``curl -I`` saw a broken site. This runs the
request as a ``GET`` and drops the body: the status and headers, ``Content-Length``
included, are the ones a ``GET`` gets. A ``HEAD`` on a route without ``GET`` is still 405.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class HeadAsGetMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def without_body(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        # A copy: the server keeps its own scope, which still says HEAD, and sends no body.
        await self.app({**scope, "method": "GET"}, receive, without_body)
