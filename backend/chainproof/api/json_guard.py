"""Refuses JSON bodies whose *shape* would be expensive, before anything parses them.

The byte limit (``BodyLimitMiddleware``) is not enough on its own:

- **depth**: py-evm and py_ecc raise ``sys.setrecursionlimit`` to 100,000 when imported, so
  ``json.loads`` of a few hundred KB of ``[[[[...`` recurses until the C stack overflows and
  the whole process dies (SIGSEGV), taking every request in flight with it;
- **width**: a 1 MB object of 60,000 unknown keys costs pydantic and FastAPI's error
  formatting seconds of CPU (one validation error per key, each turned into dicts twice),
  on public endpoints that need no key.

No route takes anything close to these limits: the largest legitimate body is a list of
10,000 digests (one array, no keys). The scan works on the raw bytes with C-speed regular
expressions: strings are blanked first (a bracket or colon inside a string is data), then
only the structural characters are walked, so its cost does not depend on string content.
"""

from __future__ import annotations

import re
from typing import Final

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chainproof.api.errors import error_body

__all__ = [
    "MAX_JSON_CONTAINERS",
    "MAX_JSON_DEPTH",
    "MAX_JSON_KEYS",
    "JsonShapeMiddleware",
    "shape_problem",
]

MAX_JSON_DEPTH: Final = 32  # a receipt or an application form nests 4 or 5 levels
MAX_JSON_KEYS: Final = 5_000  # object keys in the whole body
MAX_JSON_CONTAINERS: Final = 20_000  # objects and arrays in the whole body

# A JSON string, escapes included (RFC 8259: no raw control characters, but be lenient).
# Unrolled (a run of plain characters, then escapes): the same strings as "(?:[^"\\]|\\.)*", about
# 4x faster on a 10,000-digest body, where this scan was 13 % of the request's CPU.
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_STRUCTURE = re.compile(rb"[\[\]{}:]")


def shape_problem(body: bytes) -> str | None:
    """Why ``body`` is refused (too deep, too many keys or containers), or ``None``.

    Malformed JSON is left for the parser to reject with its own message: this only
    bounds the work the parser and the validation would do.
    """
    if not body:
        return None
    bare = _STRING.sub(b'""', body)
    keys = bare.count(b":")
    if keys > MAX_JSON_KEYS:
        return f"the JSON body has {keys} object keys; at most {MAX_JSON_KEYS} are accepted"
    opened = bare.count(b"[") + bare.count(b"{")
    if opened > MAX_JSON_CONTAINERS:
        return (
            f"the JSON body has {opened} arrays and objects; "
            f"at most {MAX_JSON_CONTAINERS} are accepted"
        )
    depth = 0
    for match in _STRUCTURE.finditer(bare):
        char = match.group()
        if char in (b"[", b"{"):
            depth += 1
            if depth > MAX_JSON_DEPTH:
                return f"the JSON body nests deeper than {MAX_JSON_DEPTH} levels"
        elif char in (b"]", b"}"):
            depth -= 1
    return None


def _is_json(scope: Scope) -> bool:
    """Whether FastAPI would parse this body as JSON: no content type, or a JSON one."""
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            media = value.split(b";", 1)[0].strip().lower()
            return media == b"application/json" or (
                media.startswith(b"application/") and media.endswith(b"+json")
            )
    return True


class JsonShapeMiddleware:
    """400 ``json_too_complex`` for a JSON body past the shape limits above.

    Installed inside ``BodyLimitMiddleware``, so the body it buffers is already bounded by
    the JSON byte limit; multipart uploads (other content types) pass through unread.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope.get("method") in ("GET", "HEAD", "OPTIONS", "DELETE")
            or not _is_json(scope)
        ):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        tail: Message | None = None
        while True:
            try:
                message = await receive()
            except HTTPException as exc:  # BodyLimitMiddleware cut a chunked body off
                detail = exc.detail if isinstance(exc.detail, str) else "body too large"
                over = JSONResponse(error_body("payload_too_large", detail), status_code=413)
                await over(scope, receive, send)
                return
            if message["type"] != "http.request":
                tail = message  # the client left: let the app see it
                break
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        problem = shape_problem(body)
        if problem is not None:
            response = JSONResponse(error_body("json_too_complex", problem), status_code=400)
            await response(scope, receive, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                if tail is not None:
                    return tail
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
