"""Security headers on every response (issue 14, finding 10; docs/security.md F21).

Pages keep API keys in the tab's ``sessionStorage``, so a script injected into any page of
this origin could read them, and a page framed by another site could be clicked through.
Every response therefore gets:

- ``X-Content-Type-Options: nosniff``: a JSON answer or an uploaded name is never run as a
  script or a style by a browser that guesses types;
- ``X-Frame-Options: DENY`` and ``Referrer-Policy: no-referrer`` (no page's URL, which may
  name a digest or an item, leaks to the RPC node or a link's target);

and every HTML page a Content-Security-Policy with no inline script at all
(``script-src 'self'``: the pages' code is in ``/static/js``, their data in
``<script type="application/json">`` blocks that are never run), ``frame-ancestors 'none'``,
and ``connect-src`` open to any http(s) URL: the receipt and scan pages check the chain
through a JSON-RPC node of the reader's choosing, not through us.

Files are hashed on the reader's device with hash-wasm (WebAssembly; docs/pages.md), which
needs two additions and no more: ``'wasm-unsafe-eval'`` lets a page compile WebAssembly (the
receipt and scan pages hash keys, leaves and code on the page; it allows no JavaScript
``eval``), and ``worker-src 'self'`` names the one worker (``/static/js/hash-worker.js``) that
hashes files off the page's thread; no ``blob:`` or ``data:`` worker.

The interactive API docs (``/docs``, ``/redoc``) are FastAPI's, with one inline script and
their code on a CDN: their policy names that CDN and allows the inline script by its
SHA-256 hash, computed from the page as it goes out, rather than ``'unsafe-inline'``.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Final

from starlette.datastructures import MutableHeaders
from starlette.types import Message, Receive, Scope, Send

from chainproof.api.asgi import HTTPMiddleware

__all__ = ["PAGE_CSP", "SecurityHeadersMiddleware", "docs_csp", "inline_scripts"]

PAGE_CSP: Final = (
    "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; "
    "style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self' http: https:; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
_DOCS_CDN: Final = "https://cdn.jsdelivr.net"
DOCS_PATHS: Final = frozenset({"/docs", "/redoc", "/docs/oauth2-redirect"})
ALWAYS: Final = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
)


def inline_scripts(html: str) -> list[str]:
    """The text of every ``<script>`` without a ``src`` (a plain scan: no regex)."""
    found = []
    lower = html.lower()
    start = lower.find("<script")
    while start >= 0:
        open_end = lower.find(">", start)
        close = lower.find("</script", open_end)
        if open_end < 0 or close < 0:
            break
        if "src=" not in lower[start:open_end]:
            found.append(html[open_end + 1 : close])
        start = lower.find("<script", close)
    return found


def docs_csp(html: str) -> str:
    """The policy for FastAPI's docs pages: its CDN, and its inline script by hash."""
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() + "'"
        for s in inline_scripts(html)
    )
    return (
        f"default-src 'none'; script-src 'self' {_DOCS_CDN} {hashes}; "
        f"style-src 'self' 'unsafe-inline' {_DOCS_CDN} https://fonts.googleapis.com; "
        "img-src 'self' data: https:; font-src 'self' https://fonts.gstatic.com; "
        f"connect-src 'self'; worker-src blob:; base-uri 'none'; frame-ancestors 'none'"
    )


class SecurityHeadersMiddleware(HTTPMiddleware):
    """Adds the headers above; outermost, so refusals (413, 429) get them too."""

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        root: str = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :]
        if path in DOCS_PATHS:
            await self._docs(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in ALWAYS:
                    headers.setdefault(name.decode(), value.decode())
                if headers.get("content-type", "").startswith("text/html"):
                    headers["content-security-policy"] = PAGE_CSP
            await send(message)

        await self.app(scope, receive, with_headers)

    async def _docs(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Buffers the (small, server-made) docs page to hash its inline script."""
        start: Message | None = None
        body = bytearray()

        async def buffered(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] != "http.response.body":
                await send(message)
                return
            body.extend(message.get("body", b""))
            if message.get("more_body", False):
                return
            assert start is not None
            headers = MutableHeaders(scope=start)
            for name, value in ALWAYS:
                headers.setdefault(name.decode(), value.decode())
            headers["content-security-policy"] = docs_csp(body.decode("utf-8", "replace"))
            await send(start)
            await send({"type": "http.response.body", "body": bytes(body), "more_body": False})

        await self.app(scope, receive, buffered)
