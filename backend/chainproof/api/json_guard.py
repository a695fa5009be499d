"""Refuses JSON bodies whose *shape* would be expensive, before anything parses them.

The byte limit (``BodyLimitMiddleware``) is not enough on its own:

- **depth**: py-evm and py_ecc raise ``sys.setrecursionlimit`` to 100,000 when imported, so
  ``json.loads`` of a few hundred KB of ``[[[[...`` recurses until the C stack overflows and
  the whole process dies (SIGSEGV), taking every request in flight with it;
- **width**: a 1 MB object of 60,000 unknown keys costs pydantic and FastAPI's error
  formatting seconds of CPU (one validation error per key, each turned into dicts twice),
  on public endpoints that need no key;
- **encoding**: ``json.loads`` of bytes guesses UTF-16 or UTF-32 from the first bytes, and
  in UTF-16 a byte ``0x22`` can be half of some other character: the byte scan below would
  see a quote the parser does not, and miss brackets the parser recurses into. RFC 8259
  requires UTF-8 between systems; anything else is refused.

No route takes anything close to these limits: the largest legitimate body is a list of
10,000 digests (one array, no keys).

**Linear time, flat memory, whatever the bytes.** The scan never backtracks: escape pairs
are blanked with two ``bytes.replace`` (a run of backslashes pairs up left to right, exactly
as a JSON string reads it), after which a string is simply ``"[^"]*"`` (one character class,
one repeat, nothing to try twice) and whether a byte is inside a string is the parity of the
quotes before it. Strings are then cut out window by window (the parity carried across
windows), so even a body of two million empty strings never builds more than one window's
worth of pieces. The earlier unrolled pattern ``"[^"\\]*(?:\\.[^"\\]*)*"`` was retried from
every quote of an unterminated ``"\\"\\"\\"…`` body: quadratic, 16 KB held the event loop
for 4 s (docs/security.md, F13).

**One rule for "is this JSON".** :func:`is_json` is what the routes parse as JSON (they call
it, see ``api/upload.py``) and what this guard checks, and it accepts every type FastAPI's
declared bodies parse (``application/json``, ``application/*+json``) and more (``*/*+json``):
no content type reaches ``json.loads`` unchecked (F14).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
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
    "content_type_of",
    "is_json",
    "is_multipart",
    "media_type",
    "outside_strings",
    "shape_problem",
]

MAX_JSON_DEPTH: Final = 32  # a receipt or an application form nests 4 or 5 levels
MAX_JSON_KEYS: Final = 5_000  # object keys in the whole body
MAX_JSON_CONTAINERS: Final = 20_000  # objects and arrays in the whole body (opened or closed)
# EPCIS capture takes up to 1,000 events (GS1-EPCIS-Capture-Limit) of ~10-40 keys each, in
# the same byte limit: its bodies may have more keys and containers (still linear to check).
WIDE_PATHS: Final = frozenset({"/epcis/capture"})
WIDE_FACTOR: Final = 10

WINDOW: Final = 64 * 1024  # bytes cut out of strings at a time: bounds the pieces in memory
_UTF8: Final = frozenset({"utf-8", "utf-8-sig"})
# Everything but brackets, deleted by bytes.translate to walk the depth at C speed.
_NOT_BRACKETS: Final = bytes(b for b in range(256) if b not in b"[]{}")


def media_type(content_type: str | bytes | None) -> str | None:
    """``type/subtype`` of a Content-Type, lower-cased, parameters dropped; None when absent.

    Split and stripped as ``email.message.Message`` (FastAPI's parser) does, with ``str``
    semantics: a trailing ``\\x85`` or ``\\xa0`` is whitespace to it, so it is here too.
    """
    if content_type is None:
        return None
    text = content_type.decode("latin-1") if isinstance(content_type, bytes) else content_type
    return text.partition(";")[0].strip().lower()


def is_json(content_type: str | bytes | None) -> bool:
    """Whether a body of this Content-Type is parsed as JSON: ``*/json`` or ``*/*+json``."""
    media = media_type(content_type)
    return media is not None and media.endswith(("/json", "+json"))


def is_multipart(content_type: str | bytes | None) -> bool:
    """Whether a body is ``multipart/form-data``: the only kind the upload limit applies to."""
    return media_type(content_type) == "multipart/form-data"


def content_type_of(scope: Scope) -> bytes | None:
    """The first ``Content-Type`` header, as Starlette's ``request.headers.get`` reads it."""
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            return bytes(value)
    return None


def outside_strings(body: bytes, *, window: int = WINDOW) -> Iterator[bytes]:
    """The body with every JSON string cut out, a window at a time (see the module docstring).

    Escapes are paired the way a JSON string reads them; an unterminated string runs to the
    end of the body, as the parser would read it (and then refuse it).
    """
    bare = body.replace(b"\\\\", b"__").replace(b'\\"', b"__") if b"\\" in body else body
    inside = False
    for start in range(0, len(bare), window):
        chunk = bare[start : start + window]
        if inside:
            end = chunk.find(b'"')
            if end < 0:
                continue  # the whole window is the inside of one string
            chunk = chunk[end + 1 :]
            inside = False
        if chunk.count(b'"') % 2:
            inside = True  # the window's last string goes on into the next window
        yield _cut_strings(chunk)


def _cut_strings(chunk: bytes) -> bytes:
    """``chunk`` (starting outside a string, no escapes left) without its strings."""
    pieces = chunk.split(b'"')
    # Even pieces are outside strings; a window holds at most ``window`` pieces.
    return b"".join(pieces[0::2])


def shape_problem(body: bytes, *, window: int = WINDOW, wide: bool = False) -> str | None:
    """Why ``body`` is refused (not UTF-8, too deep, too many keys or containers), or None.

    Malformed JSON is left for the parser to reject with its own message: this only
    bounds the work the parser and the validation would do. Linear in ``len(body)``.
    """
    if not body:
        return None
    encoding = json.detect_encoding(body)
    if encoding not in _UTF8:
        return f"JSON bodies must be UTF-8 (RFC 8259); this one reads as {encoding}"
    max_keys = MAX_JSON_KEYS * (WIDE_FACTOR if wide else 1)
    max_containers = MAX_JSON_CONTAINERS * (WIDE_FACTOR if wide else 1)
    keys = opened = closed = depth = 0
    too_deep = False
    for bare in outside_strings(body, window=window):
        keys += bare.count(b":")
        opened += bare.count(b"[") + bare.count(b"{")
        closed += bare.count(b"]") + bare.count(b"}")
        if too_deep or max(opened, closed) > max_containers:
            continue  # refused below; the counts go on so that the message is exact
        # Walked only while the body holds at most MAX_JSON_CONTAINERS of each bracket.
        for char in bare.translate(None, _NOT_BRACKETS):
            depth += 1 if char in b"[{" else -1
            if depth > MAX_JSON_DEPTH:
                too_deep = True
                break
    if keys > max_keys:
        return f"the JSON body has {keys} object keys; at most {max_keys} are accepted"
    if max(opened, closed) > max_containers:
        return (
            f"the JSON body has {max(opened, closed)} arrays and objects; "
            f"at most {max_containers} are accepted"
        )
    if too_deep:
        return f"the JSON body nests deeper than {MAX_JSON_DEPTH} levels"
    return None


def guarded(content_type: bytes | None) -> bool:
    """Bodies the guard reads: JSON ones, and those with no type (nothing names them)."""
    return content_type is None or is_json(content_type)


class JsonShapeMiddleware:
    """400 ``json_too_complex`` for a JSON body past the shape limits above.

    Installed inside ``BodyLimitMiddleware``, so the body it buffers is already bounded by
    the JSON byte limit (the upload limit applies to multipart bodies only, which pass
    through here unread).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope.get("method") in ("GET", "HEAD", "OPTIONS", "DELETE")
            or not guarded(content_type_of(scope))
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
        del chunks
        problem = shape_problem(body, wide=scope.get("path") in WIDE_PATHS)
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
