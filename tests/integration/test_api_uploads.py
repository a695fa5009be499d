"""The HTTP API end to end, uploads: size limits, streaming, malformed bodies, file names.

One embedded chain (eth-tester + py-evm) serves the module; every test gets its own app,
data directory and SQLite database on it (``tests/apps.py``), so tests share nothing but
blocks (random salts keep their Merkle roots apart). The API section of issue 3 is a
contract: paths, field names and status codes are asserted exactly.
"""

from __future__ import annotations

import hashlib
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import select

from chainproof.store import db
from chainproof.store.models import Evidence

from ..apps import (
    BOUNDARY,
    MULTIPART,
    Api,
    StartApi,
    assert_error,
    multipart,
)

# --- upload limits and malformed bodies ------------------------------------------------------


def test_oversize_upload_is_413_with_and_without_content_length(start_api: StartApi) -> None:
    api = start_api(max_upload_bytes=1024)
    headers = api.key("示范企业甲", "submitter")
    big = b"x" * 4096

    with_length = api.upload(headers, ("big.bin", big))
    assert with_length.request.headers.get("content-length")
    assert_error(with_length, 413, "payload_too_large")

    def chunked() -> Iterator[bytes]:
        body = multipart(("file", "big.bin", big))
        for start in range(0, len(body), 500):
            yield body[start : start + 500]

    without_length = api.client.post(
        "/api/v1/evidence", headers={**headers, **MULTIPART}, content=chunked()
    )
    assert "content-length" not in without_length.request.headers
    assert_error(without_length, 413, "payload_too_large")

    verify = api.client.post("/api/v1/verify", files={"file": ("big.bin", big)})
    assert_error(verify, 413)
    assert api.count() == 0

    small = api.upload(headers, ("small.bin", b"fits"))
    assert small.status_code == 202


def test_json_bodies_are_bounded_too(api: Api, submitter: dict[str, str]) -> None:
    # 5 MiB of JSON: over the 4 MiB every non-upload body gets, whatever the upload limit.
    huge = {"digests": ["0x" + "ab" * 32] * 10_000, "label": "x" * (5 * 1024 * 1024)}
    declared = api.client.post("/api/v1/evidence/digests", json=huge, headers=submitter)
    assert_error(declared, 413, "payload_too_large")

    def chunked() -> Iterator[bytes]:
        yield b'{"digests": ["' + b"ab" * 32 + b'"], "label": "'
        for _ in range(5 * 16):
            yield b"x" * 65536
        yield b'"}'

    streamed = api.client.post(
        "/api/v1/evidence/digests",
        content=chunked(),
        headers={**submitter, "Content-Type": "application/json"},
    )
    assert_error(streamed, 413, "payload_too_large")
    as_multipart = api.client.post(
        "/api/v1/evidence/digests",
        headers=submitter,
        files={"file": ("big", b"x" * (5 * 1024 * 1024))},
    )
    assert_error(as_multipart, 413)
    assert_error(api.client.post("/api/v1/receipts/verify", json=huge), 413)
    assert api.count() == 0


@dataclass
class AsgiResult:
    status: int
    body: bytes
    chunks_read: int


def asgi_post(
    client: TestClient, path: str, headers: dict[str, str], chunks: Iterator[bytes]
) -> AsgiResult:
    """POSTs through the ASGI interface directly, counting the body chunks the app reads.

    TestClient hands the app the whole body in one message; a server streams it. This
    shows what the app does with a stream.
    """
    read = 0
    messages: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal read
        chunk = next(chunks, None)
        if chunk is None:
            return {"type": "http.request", "body": b"", "more_body": False}
        read += 1
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (k.lower().encode(), v.encode()) for k, v in {"host": "testserver", **headers}.items()
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }

    async def call() -> None:
        await client.app(scope, receive, send)

    assert client.portal is not None
    client.portal.call(call)
    start = next(m for m in messages if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    return AsgiResult(status=start["status"], body=body, chunks_read=read)


def streamed_file(size: int, chunk: int = 64 * 1024) -> tuple[Callable[[], Iterator[bytes]], str]:
    """A multipart body carrying a ``size``-byte file, as a chunk generator, and its sha256."""
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\n\r\n'
    )
    tail = f"\r\n--{BOUNDARY}--\r\n"
    block = bytes(range(256)) * (chunk // 256)
    hasher = hashlib.sha256()
    for _ in range(size // chunk):
        hasher.update(block)

    def chunks() -> Iterator[bytes]:
        yield head.encode()
        for _ in range(size // chunk):
            yield block
        yield tail.encode()

    return chunks, "0x" + hasher.hexdigest()


def test_upload_streams_in_flat_memory(api: Api, submitter: dict[str, str]) -> None:
    size = 32 * 1024 * 1024
    chunks, digest = streamed_file(size)
    tracemalloc.start()
    try:
        result = asgi_post(api.client, "/api/v1/evidence", {**submitter, **MULTIPART}, chunks())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.status == 202, result.body
    assert digest.encode() in result.body
    assert peak < 8 * 1024 * 1024, (
        f"peak {peak / 2**20:.1f} MiB for a {size / 2**20:.0f} MiB upload"
    )
    with db.open_session(api.url) as session:
        row = session.exec(select(Evidence)).one()
    assert row.size == size and row.filename == "big.bin"


def test_streaming_stops_reading_at_the_limit(start_api: StartApi) -> None:
    api = start_api(max_upload_bytes=256 * 1024)
    headers = {**api.key("示范企业甲", "submitter"), **MULTIPART}
    chunks, _ = streamed_file(4 * 1024 * 1024)

    chunked = asgi_post(api.client, "/api/v1/evidence", headers, chunks())
    assert chunked.status == 413
    assert chunked.chunks_read <= 6  # 256 KiB in 64 KiB chunks, not the 66 chunks sent

    declared = asgi_post(
        api.client,
        "/api/v1/evidence",
        {**headers, "Content-Length": str(4 * 1024 * 1024)},
        chunks(),
    )
    assert declared.status == 413
    assert declared.chunks_read == 0  # refused before reading the body
    assert api.count() == 0


def test_malformed_multipart_is_4xx_and_stores_nothing(api: Api, submitter: dict[str, str]) -> None:
    body = multipart(("file", "a.txt", b"some content"), ("label", None, b"x"))
    post = api.client.post

    truncated = post(
        "/api/v1/evidence", headers={**submitter, **MULTIPART}, content=body[: len(body) // 2]
    )
    assert "truncated" in assert_error(truncated, 400, "bad_request")["message"]
    no_boundary = post(
        "/api/v1/evidence",
        headers={**submitter, "Content-Type": "multipart/form-data"},
        content=body,
    )
    assert "boundary" in assert_error(no_boundary, 400)["message"]
    garbage = post("/api/v1/evidence", headers={**submitter, **MULTIPART}, content=b"\x00" * 100)
    assert_error(garbage, 400)
    assert_error(post("/api/v1/evidence", headers={**submitter, **MULTIPART}, content=b""), 400)
    wrong_type = post("/api/v1/evidence", headers=submitter, json={"file": "abc"})
    assert_error(wrong_type, 415, "unsupported_media_type")
    no_type = post("/api/v1/evidence", headers=submitter, content=b"abc")
    assert_error(no_type, 415)
    form_urlencoded = post("/api/v1/evidence", headers=submitter, data={"label": "only a label"})
    assert_error(form_urlencoded, 415)
    only_label = post(
        "/api/v1/evidence",
        headers={**submitter, **MULTIPART},
        content=multipart(("label", None, b"x")),
    )
    assert "no `file` part" in assert_error(only_label, 422)["message"]
    unknown = post(
        "/api/v1/evidence",
        headers={**submitter, **MULTIPART},
        content=multipart(("files", "a.txt", b"x")),
    )
    assert "unknown form field 'files'" in assert_error(unknown, 422)["message"]
    two_files_to_verify = post(
        "/api/v1/verify", files=[("file", ("a", b"1")), ("file", ("b", b"2"))]
    )
    assert_error(two_files_to_verify, 422)
    assert_error(
        post("/api/v1/verify", content=b"digest=00", headers={"Content-Type": "text/plain"}), 415
    )
    assert_error(
        post("/api/v1/verify", content=b"{", headers={"Content-Type": "application/json"}), 400
    )
    assert api.count() == 0


def test_filenames_are_cleaned_and_labels_capped(api: Api, submitter: dict[str, str]) -> None:
    cases = {
        "../../etc/passwd": "passwd",
        "C:\\Users\\张三\\申报书.pdf": "申报书.pdf",
        "evil\u202egpj.exe": "evilgpj.exe",  # a right-to-left override would show "exe.jpg"
        "tab\tand\x07bell.txt": "tab andbell.txt",
        "100%25 done.txt": "100%25 done.txt",  # only the WHATWG escapes are decoded
        "a%22quoted%22.txt": 'a"quoted".txt',
        "a" * 300 + ".pdf": "a" * 251 + ".pdf",
    }
    # Raw bytes, as a browser sends them (httpx would percent-escape the control characters).
    body = multipart(*[("file", name, name.encode()) for name in cases])
    response = api.client.post("/api/v1/evidence", headers={**submitter, **MULTIPART}, content=body)
    assert response.status_code == 202, response.text
    for item, expected in zip(response.json()["items"], cases.values(), strict=True):
        record = api.client.get(f"/api/v1/evidence/{item['id']}", headers=submitter).json()
        assert record["filename"] == expected

    too_long = api.upload(submitter, ("a.txt", b"label"), label="标" * 201)
    assert "label" in assert_error(too_long, 422)["message"]
    fits = api.upload(submitter, ("a.txt", b"label"), label="标" * 200)
    assert fits.status_code == 202
    assert api.count() == len(cases) + 1
