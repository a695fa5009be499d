"""The JSON guard (``api/json_guard.py``): the string scan reads strings as a JSON parser does,
in linear time; ``is_json`` covers every type FastAPI parses as JSON."""

from __future__ import annotations

import email.message
import time

from hypothesis import given
from hypothesis import strategies as st

from chainproof.api.json_guard import (
    MAX_JSON_DEPTH,
    is_json,
    is_multipart,
    outside_strings,
    shape_problem,
)


def reference_outside(body: bytes) -> bytes:
    """A JSON string reader one byte at a time: the bytes outside strings, strings cut out."""
    out = bytearray()
    inside = escaped = False
    for byte in body:
        if inside:
            if escaped:
                escaped = False
            elif byte == ord("\\"):
                escaped = True
            elif byte == ord('"'):
                inside = False
        elif byte == ord('"'):
            inside = True
        else:
            out.append(byte)
    return bytes(out)


def _structure(data: bytes) -> bytes:
    return bytes(b for b in data if b in b"[]{}:")


@given(
    st.lists(st.sampled_from(list(b'ab"\\\n{}[]:x')), max_size=80).map(bytes),
    st.integers(min_value=1, max_value=9),
)
def test_outside_strings_reads_strings_as_a_parser_does(body: bytes, window: int) -> None:
    # Backslashes outside strings are a syntax error to the parser (it stops there): the
    # guard may read them either way, so the comparison is on bodies without them.
    cut = b"".join(outside_strings(body, window=window))
    if b"\\" not in reference_outside(body):
        assert _structure(cut) == _structure(reference_outside(body))


def test_the_unterminated_escape_body_is_linear() -> None:
    """The body that held the old regex for 4 s at 16 KB: 4 MiB of it now takes a blink.
    Generous bound (the machine is shared); the old scan took hours at this size."""
    body = b'"' + b'\\"' * (2 * 1024 * 1024)
    started = time.perf_counter()
    assert shape_problem(body) is None  # an unterminated string: the parser refuses it
    assert time.perf_counter() - started < 2.0


def test_depth_is_found_across_windows_and_strings_hide_nothing_outside() -> None:
    deep = b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1)
    assert shape_problem(deep, window=3) is not None
    assert shape_problem(b'["' + b"[" * 100 + b'"]', window=7) is None
    assert shape_problem(b'["\\"' + b"[" * 100 + b'"]', window=2) is None
    assert shape_problem(b'["\\\\"' + b",[" * 40 + b"]" * 40 + b"]", window=5) is not None


def test_utf16_and_utf32_bodies_are_refused() -> None:
    """In UTF-16 a 0x22 byte can be half of another character: refused, not misread."""
    for encoding in ("utf-16", "utf-16-le", "utf-16-be", "utf-32"):
        problem = shape_problem('{"a": 1}'.encode(encoding))
        assert problem is not None and "UTF-8" in problem, encoding
    assert shape_problem('\ufeff{"a": 1}'.encode()) is None  # UTF-8 with a BOM: still UTF-8


def _fastapi_parses_as_json(content_type: str) -> bool:
    """FastAPI 0.165's rule for a declared body (fastapi/routing.py)."""
    message = email.message.Message()
    message["content-type"] = content_type
    if message.get_content_maintype() != "application":
        return False
    subtype = message.get_content_subtype()
    return subtype == "json" or subtype.endswith("+json")


_MEDIA_CHARS = st.sampled_from(
    ["application", "text", "x", "/", "json", "+", "JSON", ";", " ", "\t", "\x85", "\xa0", "a=b"]
)


@given(st.lists(_MEDIA_CHARS, max_size=8).map("".join))
def test_is_json_covers_everything_fastapi_parses(content_type: str) -> None:
    if _fastapi_parses_as_json(content_type):
        assert is_json(content_type)
        assert is_json(content_type.encode("latin-1"))


def test_is_json_names() -> None:
    for yes in (
        "application/json",
        "Application/JSON; charset=utf-8",
        "text/x+json",
        "application/ld+json",
        "application/json\x85",
    ):
        assert is_json(yes), yes
    for no in (None, "", "text/plain", "multipart/form-data; boundary=b", "application/jsonx"):
        assert not is_json(no), no
    assert is_multipart("Multipart/Form-Data; boundary=x")
    assert not is_multipart("application/json")
