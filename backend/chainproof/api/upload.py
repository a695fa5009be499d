"""Streaming request bodies: multipart files hashed as they arrive, small JSON bodies bounded.

``await request.form()`` would spool every file to a temporary file before the route sees
it. Here the body is fed chunk by chunk from ``request.stream()`` into python-multipart's
push parser, and each ``file`` part's bytes go straight into a hasher: memory stays flat
whatever the size, nothing touches the disk, and the only thing kept per file is its
digest, size and (cleaned) name.

The size limit is enforced twice: a declared ``Content-Length`` over the limit is refused
with 413 before a byte is read, and a chunked body is counted as it streams and cut off at
the limit. Parsing errors are 400, a wrong content type 415; the caller stores nothing
unless the whole body parsed.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from python_multipart import MultipartParser
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import parse_options_header
from starlette.requests import ClientDisconnect, Request

from chainproof.api import json_guard
from chainproof.api.errors import (
    BadRequestError,
    PayloadTooLargeError,
    UnsupportedMediaTypeError,
)
from chainproof.digests import Algorithm, Hasher, check_algorithm, new_hasher
from chainproof.errors import InvalidInputError
from chainproof.store.models import FILENAME_LEN, LABEL_LEN

if TYPE_CHECKING:  # the TypedDict exists for type checkers only
    from python_multipart.multipart import MultipartCallbacks

    from chainproof.config import Settings

FILE_FIELD: Final = "file"
# A text field is a label or an algorithm name: a few hundred bytes. Anything far larger is
# a client sending the wrong thing, and buffering it would defeat the flat-memory promise.
MAX_FIELD_BYTES: Final = 4 * LABEL_LEN + 64
MAX_JSON_BYTES: Final = 4 * 1024 * 1024  # 10,000 digests of 66 characters, with room
# The characters that make a name lie about itself: controls, and the invisible format
# characters (RLO U+202E turns "gpj.exe" into "exe.jpg" on screen).
_STRIPPED_CATEGORIES: Final = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})


@dataclass(frozen=True)
class HashedFile:
    """One ``file`` part, hashed: what remains of it once the request is over."""

    filename: str | None
    digest: bytes
    size: int
    content_type: str | None = None  # as the client declared the part (issue 19)


@dataclass
class HashedForm:
    """A multipart body: the files (in order), the text fields, the algorithm used."""

    algorithm: Algorithm
    files: list[HashedFile] = field(default_factory=list)
    fields: dict[str, str] = field(default_factory=dict)


def clean_text(value: str) -> str:
    """NFC, without control/format characters, without surrounding whitespace."""
    normalised = unicodedata.normalize("NFC", value)
    kept = "".join(
        " " if ch in "\t\r\n" else ch
        for ch in normalised
        if ch in "\t\r\n" or unicodedata.category(ch) not in _STRIPPED_CATEGORIES
    )
    return kept.strip()


def clean_filename(raw: str | None) -> str | None:
    """The file name a client sent, made safe to store and show.

    Drops any directory part (``C:\\Users\\me\\a.pdf`` and ``../../etc/passwd`` alike),
    control and bidi characters; keeps Chinese and every other script; caps the length at
    :data:`FILENAME_LEN` characters, keeping the extension. ``None`` when nothing is left.
    """
    if raw is None:
        return None
    # Browsers escape exactly these three in a multipart file name (WHATWG form encoding);
    # any other %XX is part of the name itself.
    name = raw.replace("%22", '"').replace("%0D", "\r").replace("%0A", "\n")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = clean_text(name)
    if name in ("", ".", ".."):
        return None
    if len(name) > FILENAME_LEN:
        stem, dot, ext = name.rpartition(".")
        if dot and 0 < len(ext) <= 16:
            name = stem[: FILENAME_LEN - len(ext) - 1] + "." + ext
        else:
            name = name[:FILENAME_LEN]
    return name


def clean_label(raw: str | None) -> str | None:
    """A label as stored: cleaned like a name; 422 beyond :data:`LABEL_LEN` characters."""
    if raw is None:
        return None
    label = clean_text(raw)
    if len(label) > LABEL_LEN:
        raise InvalidInputError(
            f"label: at most {LABEL_LEN} characters, got {len(label)}", field="label"
        )
    return label or None


def check_declared_length(request: Request, max_bytes: int) -> None:
    """413 when the declared ``Content-Length`` is over ``max_bytes``: before any read."""
    declared = request.headers.get("content-length")
    if declared is None:
        return
    try:
        length = int(declared)
    except ValueError:
        raise BadRequestError(f"Content-Length is not a number: {declared[:40]!r}") from None
    if length < 0:
        raise BadRequestError("Content-Length cannot be negative")
    if length > max_bytes:
        raise PayloadTooLargeError(
            f"the request body is {length} bytes; this server accepts at most {max_bytes}",
            limit=max_bytes,
        )


def _too_large(max_bytes: int) -> PayloadTooLargeError:
    return PayloadTooLargeError(
        f"the request body is over the limit of {max_bytes} bytes", limit=max_bytes
    )


def multipart_boundary(request: Request) -> bytes:
    """The boundary of a ``multipart/form-data`` request; 415 for other content types."""
    content_type, params = parse_options_header(request.headers.get("content-type"))
    if content_type != b"multipart/form-data":
        shown = content_type.decode("latin-1") or "none"
        raise UnsupportedMediaTypeError(
            f"expected multipart/form-data with one or more `{FILE_FIELD}` parts, "
            f"got Content-Type {shown}"
        )
    boundary = params.get(b"boundary")
    if not boundary:
        raise BadRequestError("the multipart/form-data Content-Type has no boundary parameter")
    return boundary


class _FormHasher:
    """python-multipart callbacks that hash ``file`` parts and collect small text fields.

    The algorithm must be known when the first file part starts: it comes from the query,
    or from an ``algorithm`` field sent before the files, or is the server's default. An
    ``algorithm`` field arriving after the files must agree with what they were hashed with.
    """

    def __init__(
        self,
        *,
        algorithm: Algorithm | None,
        default_algorithm: Algorithm,
        text_fields: frozenset[str],
        max_files: int,
        field_bytes: Mapping[str, int] | None = None,
    ) -> None:
        self.field_bytes = field_bytes or {}
        self.requested = algorithm
        self.default = default_algorithm
        self.text_fields = text_fields
        self.max_files = max_files
        self.form = HashedForm(algorithm=algorithm or default_algorithm)
        self.hashing_started = False
        self.ended = False
        self._headers: dict[str, str] = {}
        self._header_field = bytearray()
        self._header_value = bytearray()
        self._name: str | None = None
        self._filename: str | None = None
        self._hasher: Hasher | None = None
        self._size = 0
        self._text = bytearray()

    def callbacks(self) -> MultipartCallbacks:
        return {
            "on_part_begin": self.on_part_begin,
            "on_header_field": self.on_header_field,
            "on_header_value": self.on_header_value,
            "on_header_end": self.on_header_end,
            "on_headers_finished": self.on_headers_finished,
            "on_part_data": self.on_part_data,
            "on_part_end": self.on_part_end,
            "on_end": self.on_end,
        }

    def on_part_begin(self) -> None:
        self._headers = {}
        self._name = self._filename = None
        self._hasher = None
        self._size = 0
        self._text = bytearray()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        # Latin-1 round-trips the raw bytes; names are decoded as UTF-8 further down.
        name = self._header_field.decode("latin-1").strip().lower()
        self._headers[name] = self._header_value.decode("latin-1")
        self._header_field = bytearray()
        self._header_value = bytearray()

    def on_headers_finished(self) -> None:
        disposition, params = parse_options_header(self._headers.get("content-disposition"))
        if disposition != b"form-data" or b"name" not in params:
            raise BadRequestError(
                "every multipart part needs `Content-Disposition: form-data; name=...`"
            )
        self._name = params[b"name"].decode("utf-8", "replace")
        if self._name == FILE_FIELD:
            if len(self.form.files) >= self.max_files:
                raise InvalidInputError(
                    f"at most {self.max_files} files per request", limit=self.max_files
                )
            raw_filename = params.get(b"filename")
            self._filename = (
                clean_filename(raw_filename.decode("utf-8", "replace"))
                if raw_filename is not None
                else None
            )
            self.hashing_started = True
            self._hasher = new_hasher(self.form.algorithm)
        elif self._name not in self.text_fields:
            expected = ", ".join([FILE_FIELD, *sorted(self.text_fields)])
            raise InvalidInputError(
                f"unknown form field {self._name[:64]!r}: expected {expected}",
                field=self._name[:64],
            )

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._hasher is not None:
            # A memoryview: no copy of the chunk, hashlib reads the parser's buffer.
            self._hasher.update(memoryview(data)[start:end])
            self._size += end - start
            return
        self._text += data[start:end]
        limit = self.field_bytes.get(self._name or "", MAX_FIELD_BYTES)
        if len(self._text) > limit:
            raise InvalidInputError(
                f"form field {self._name!r} is too long (over {limit} bytes)",
                field=self._name,
            )

    def on_part_end(self) -> None:
        if self._hasher is not None:
            self.form.files.append(
                HashedFile(
                    filename=self._filename,
                    digest=self._hasher.digest(),
                    size=self._size,
                    content_type=self._headers.get("content-type"),
                )
            )
            self._hasher = None
            return
        if self._name is None:
            return
        try:
            value = self._text.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidInputError(f"form field {self._name!r} is not UTF-8 text") from None
        if self._name in self.form.fields:
            raise InvalidInputError(f"form field {self._name!r} is given twice")
        self.form.fields[self._name] = value
        if self._name == "algorithm":
            self._take_algorithm(value.strip())

    def _take_algorithm(self, value: str) -> None:
        algorithm = check_algorithm(value)
        if self.requested is not None and algorithm != self.requested:
            raise InvalidInputError(
                f"the algorithm field says {algorithm} but the query says {self.requested}"
            )
        if self.hashing_started and algorithm != self.form.algorithm:
            raise InvalidInputError(
                f"the algorithm field ({algorithm}) came after the files, which were hashed "
                f"with {self.form.algorithm}: send it before the file parts, or as "
                f"?algorithm={algorithm}"
            )
        self.form.algorithm = algorithm

    def on_end(self) -> None:
        self.ended = True


async def hash_upload(
    request: Request,
    settings: Settings,
    *,
    algorithm: Algorithm | None,
    max_files: int,
    fields: Iterable[str] = (),
    field_bytes: Mapping[str, int] | None = None,
) -> HashedForm:
    """:func:`hash_multipart` within the server's own limits (``max_upload_bytes``, the
    default ``hash_algorithm``): the upload routes' one way in. Besides the files, the form
    may hold ``algorithm`` and the text ``fields`` named (``field_bytes``: a field's own
    bound where it may be longer than the default)."""
    return await hash_multipart(
        request,
        max_bytes=settings.max_upload_bytes,
        algorithm=algorithm,
        default_algorithm=settings.hash_algorithm,
        text_fields=frozenset({"algorithm", *fields}),
        max_files=max_files,
        field_bytes=field_bytes,
    )


async def hash_multipart(
    request: Request,
    *,
    max_bytes: int,
    algorithm: Algorithm | None,
    default_algorithm: Algorithm,
    text_fields: frozenset[str],
    max_files: int,
    field_bytes: Mapping[str, int] | None = None,
) -> HashedForm:
    """Streams a multipart body through hashers; see the module docstring for the rules.

    Raises 415 for another content type, 400 for a body that does not parse (or ends
    early), 413 over ``max_bytes``, 422 for bad fields or no ``file`` part at all.
    ``field_bytes``: a larger bound for named text fields (typed evidence's ``metadata``).
    """
    boundary = multipart_boundary(request)
    check_declared_length(request, max_bytes)
    state = _FormHasher(
        algorithm=algorithm,
        default_algorithm=default_algorithm,
        text_fields=text_fields,
        max_files=max_files,
        field_bytes=field_bytes,
    )
    try:
        parser = MultipartParser(boundary, state.callbacks())
    except MultipartParseError as exc:
        raise BadRequestError(f"bad multipart boundary: {exc}") from None
    received = 0
    try:
        async for chunk in request.stream():
            received += len(chunk)
            if received > max_bytes:
                raise _too_large(max_bytes)
            # Hashing runs on the event loop, one chunk (tens of KiB) at a time: a few
            # microseconds each, cheaper than a thread hop per chunk.
            parser.write(chunk)
    except MultipartParseError as exc:
        raise BadRequestError(f"malformed multipart body: {exc}") from None
    except ClientDisconnect:
        raise BadRequestError("the client disconnected before the body was complete") from None
    if not state.ended:
        raise BadRequestError(
            "the multipart body ended before its closing boundary (truncated upload?)"
        )
    if not state.form.files:
        raise InvalidInputError(f"no `{FILE_FIELD}` part in the multipart body")
    return state.form


async def read_json(request: Request, *, max_bytes: int = MAX_JSON_BYTES) -> Any:
    """A JSON body of at most ``max_bytes``, parsed; 400 when it is not JSON."""
    check_declared_length(request, max_bytes)
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > max_bytes:
                raise _too_large(max_bytes)
    except ClientDisconnect:
        raise BadRequestError("the client disconnected before the body was complete") from None
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadRequestError(f"the body is not valid JSON: {exc}") from None


def is_json(request: Request) -> bool:
    """The JSON guard's rule (``json_guard.is_json``): what it checks is what we parse."""
    return json_guard.is_json(request.headers.get("content-type"))


def is_multipart(request: Request) -> bool:
    return json_guard.is_multipart(request.headers.get("content-type"))
