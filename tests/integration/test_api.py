"""The HTTP API end to end: FastAPI app, SQLite, batcher thread and an embedded chain.

One embedded chain (eth-tester + py-evm) serves the module; every test gets its own app,
data directory and SQLite database, so tests share nothing but blocks (random salts keep
their Merkle roots apart). The API section of issue 3 is a contract: paths, field names and
status codes are asserted exactly.
"""

from __future__ import annotations

import hashlib
import time
import tracemalloc
import warnings
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func
from sqlmodel import select
from starlette.exceptions import StarletteDeprecationWarning

from chainproof import identity
from chainproof.api.app import create_app
from chainproof.chain.context import ChainContext, open_chain
from chainproof.config import DEV_OPERATOR_KEY, Settings
from chainproof.digests import hash_bytes
from chainproof.store import db
from chainproof.store.models import Batch, Evidence

from ..conftest import node_binary_present, require

with warnings.catch_warnings():
    # Starlette 1.x wants httpx2 for its TestClient; the project pins httpx 0.28, which
    # still works. Only this import warns, so only this import is excused.
    warnings.filterwarnings(
        "ignore",
        message="Using `httpx` with `starlette.testclient`",
        category=StarletteDeprecationWarning,
    )
    from fastapi.testclient import TestClient

RECEIPT_KEYS = {
    "version",
    "algorithm",
    "digest",
    "salt",
    "leaf_types",
    "leaf_values",
    "proof",
    "root",
    "chain_id",
    "contract",
    "tx_hash",
    "block_number",
    "block_hash",
    "block_timestamp",
    "submitter",
}
ANCHOR_KEYS = {
    "root",
    "tx_hash",
    "block_number",
    "block_hash",
    "block_timestamp",
    "chain_id",
    "contract",
}
BOUNDARY = "chainproof-test-boundary"
MISSING = "01943b2e-7c00-7a3f-9d21-000000000000"  # a well-formed public id never issued
WAIT_SECONDS = 180.0  # liveness, not speed (make bench measures that): room for a busy machine


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChainContext]:
    """An embedded chain with EvidenceRegistry deployed, shared by the module's apps."""
    context = open_chain(
        chain="embedded", data_dir=tmp_path_factory.mktemp("chain"), operator_key=DEV_OPERATOR_KEY
    )
    try:
        yield context
    finally:
        context.stop()


@dataclass
class Api:
    """A running app and what tests need around it: keys, row counts, waiting."""

    client: TestClient
    settings: Settings

    @property
    def url(self) -> str:
        return self.settings.resolved_database_url

    def key(self, org: str, role: str) -> dict[str, str]:
        """Headers with a new API key of ``role`` for ``org``."""
        with db.open_session(self.url) as session:
            _, key = identity.create_api_key(session=session, org=org, role=role)
        return {"Authorization": f"Bearer {key}"}

    def wait_operation(
        self, op_id: str, headers: dict[str, str], timeout: float = 60.0
    ) -> dict[str, Any]:
        """Polls ``GET /api/v1/operations/{op_id}`` until it is confirmed or failed."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            op = self.client.get(f"/api/v1/operations/{op_id}", headers=headers).json()
            if op["status"] in ("confirmed", "failed"):
                return dict(op)
            time.sleep(0.05)
        raise AssertionError(f"operation {op_id} not settled in {timeout}s: {op}")

    def count(self, table: type[Evidence] | type[Batch] = Evidence) -> int:
        with db.open_session(self.url) as session:
            return int(session.exec(select(func.count()).select_from(table)).one())

    def anchored_count(self) -> int:
        with db.open_session(self.url) as session:
            statement = (
                select(func.count()).select_from(Evidence).where(Evidence.status == "anchored")
            )
            return int(session.exec(statement).one())

    def upload(self, headers: dict[str, str], *files: tuple[str, bytes], **fields: str) -> Any:
        return self.client.post(
            "/api/v1/evidence",
            headers=headers,
            files=[("file", (name, content)) for name, content in files],
            data=fields,
        )

    def wait_anchored(
        self, evidence_id: int, headers: dict[str, str] | None = None
    ) -> dict[str, Any]:
        """Polls ``GET /api/v1/evidence/{id}`` until it is anchored (bounded)."""
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            body: dict[str, Any] = self.client.get(
                f"/api/v1/evidence/{evidence_id}", headers=headers
            ).json()
            if body["status"] == "anchored":
                return body
            assert time.monotonic() < deadline, f"evidence {evidence_id} not anchored: {body}"
            time.sleep(0.05)


StartApi = Callable[..., Api]


@pytest.fixture
def start_api(chain: ChainContext, tmp_path: Path) -> Iterator[StartApi]:
    """Starts apps on the module's chain, each on its own data dir and SQLite database."""
    with ExitStack() as stack:
        count = 0

        def start(*, run_batcher: bool = True, **overrides: Any) -> Api:
            nonlocal count
            count += 1
            data = tmp_path / f"app{count}"
            values: dict[str, Any] = {
                "env": "test",
                "data_dir": data,
                "database_url": f"sqlite:///{data / 'chainproof.db'}",
                "chain": "embedded",
                "batch_size": 10,
                "batch_interval_ms": 50,
                # Scenarios read and verify far more often than a person: the per-address
                # budgets of anonymous reads (tests/security/test_rate_limits.py proves them)
                # would cut them short here.
                **dict.fromkeys(
                    ("rate_limit_scan", "rate_limit_verify", "rate_limit_explorer"),
                    "100000/minute",
                ),
                **overrides,
            }
            settings = Settings(**values)
            app = create_app(settings, chain=chain, run_batcher=run_batcher)
            client = stack.enter_context(TestClient(app))
            return Api(client=client, settings=settings)

        yield start


@pytest.fixture
def api(start_api: StartApi) -> Api:
    """An app with a running batcher (batches of 10 or every 50 ms)."""
    return start_api()


@pytest.fixture
def role_keys(api: Api) -> dict[str | None, dict[str, str]]:
    """Headers by role (None: anonymous), made once per test: hypothesis reuses the app."""
    return {
        "submitter": api.key("示范企业甲", "submitter"),
        "admin": api.key("运营方", "admin"),
        None: {},
    }


@pytest.fixture
def submitter(api: Api) -> dict[str, str]:
    """Authorization headers of a submitter of 示范企业甲."""
    return api.key("示范企业甲", "submitter")


def assert_error(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    """The answer is ``status`` with the error envelope (and ``code``, when given)."""
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) >= {"error"}, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    if code is not None:
        assert body["error"]["code"] == code, body
    return body["error"]


def multipart(*parts: tuple[str, str | None, bytes], boundary: str = BOUNDARY) -> bytes:
    """A multipart/form-data body from (name, filename, content) parts."""
    out = bytearray()
    for name, filename, content in parts:
        disposition = f'form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        out += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode()
        out += content + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out)


MULTIPART = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}


# --- anchoring files, receipts, verification -------------------------------------------------


def test_upload_anchor_receipt_and_verify_receipt(api: Api, submitter: dict[str, str]) -> None:
    response = api.upload(
        submitter, ("申报书.pdf", b"application form"), ("发票.pdf", b"invoice"), label="2023 申报"
    )
    assert response.status_code == 202, response.text
    items = response.json()["items"]
    assert [set(i) for i in items] == [{"id", "algorithm", "digest", "status"}] * 2
    assert [i["status"] for i in items] == ["queued", "queued"]
    assert items[0]["digest"] == "0x" + hashlib.sha256(b"application form").hexdigest()
    assert items[0]["algorithm"] == "sha256"

    record = api.wait_anchored(items[0]["id"], submitter)
    assert set(record["anchor"]) >= ANCHOR_KEYS
    assert record["filename"] == "申报书.pdf" and record["label"] == "2023 申报"
    api.wait_anchored(items[1]["id"])

    receipt_response = api.client.get(
        f"/api/v1/evidence/{items[0]['id']}/receipt", headers=submitter
    )
    assert receipt_response.status_code == 200, receipt_response.text
    receipt = receipt_response.json()
    assert set(receipt) >= RECEIPT_KEYS
    assert receipt["digest"] == items[0]["digest"]
    assert receipt["root"] == record["anchor"]["root"]
    assert receipt["tx_hash"] == record["anchor"]["tx_hash"]

    verdict = api.client.post("/api/v1/receipts/verify", json=receipt)
    assert verdict.status_code == 200, verdict.text
    body = verdict.json()
    assert body["valid"] is True and body["reason"] is None
    assert body["checks"] and all(c["ok"] for c in body["checks"])

    download = api.client.get(
        f"/api/v1/evidence/{items[0]['id']}/receipt", params={"download": 1}, headers=submitter
    )
    assert download.headers["content-disposition"] == (
        f'attachment; filename="chainproof-receipt-{items[0]["id"]}.json"'
    )
    assert download.json() == {**receipt, "issued_at": download.json()["issued_at"]}


def test_tampered_receipt_is_invalid_and_garbage_is_422(
    api: Api, submitter: dict[str, str]
) -> None:
    [item] = api.upload(submitter, ("a.txt", b"receipt tamper")).json()["items"]
    api.wait_anchored(item["id"])
    receipt = api.client.get(f"/api/v1/evidence/{item['id']}/receipt", headers=submitter).json()

    forged = {**receipt, "block_timestamp": receipt["block_timestamp"] + 1}
    body = api.client.post("/api/v1/receipts/verify", json=forged).json()
    assert body["valid"] is False and "timestamp" in body["reason"]

    other_chain = {**receipt, "chain_id": 1}
    body = api.client.post("/api/v1/receipts/verify", json=other_chain).json()
    assert body["valid"] is False and "chain" in body["reason"]

    error = assert_error(api.client.post("/api/v1/receipts/verify", json={"hello": 1}), 422)
    assert "digest" in error["message"]
    assert_error(api.client.post("/api/v1/receipts/verify", json=[1, 2]), 422)
    assert_error(
        api.client.post(
            "/api/v1/receipts/verify",
            content=b"{not json",
            headers={"Content-Type": "application/json"},
        ),
        422,
    )


def test_verify_by_file_and_by_digest(api: Api, submitter: dict[str, str]) -> None:
    content = "验收发票 No. 2023-118".encode() * 100
    [item] = api.upload(submitter, ("invoice.pdf", content)).json()["items"]
    api.wait_anchored(item["id"])

    by_file = api.client.post(
        "/api/v1/verify", files={"file": ("any-name.pdf", content)}, headers=submitter
    )
    assert by_file.status_code == 200, by_file.text
    verdict = by_file.json()
    assert verdict["verdict"] == "anchored" and verdict["reason"] is None
    assert isinstance(verdict["block_number"], int) and verdict["tx_hash"].startswith("0x")
    assert verdict["digest"] == item["digest"]

    # Anonymous: anchored or not, never by whom or when (tests/security/test_evidence_privacy.py).
    by_digest = api.client.post(
        "/api/v1/verify", json={"algorithm": "sha256", "digest": item["digest"]}
    )
    assert by_digest.status_code == 200
    assert by_digest.json()["verdict"] == "anchored"
    assert "tx_hash" not in by_digest.json() and "label" not in by_digest.json()
    # Without 0x and in capitals it is the same digest.
    upper = api.client.post("/api/v1/verify", json={"digest": item["digest"][2:].upper()})
    assert upper.json()["verdict"] == "anchored"

    modified = bytearray(content)
    modified[-1] ^= 0x01
    tampered = api.client.post("/api/v1/verify", files={"file": ("invoice.pdf", bytes(modified))})
    assert tampered.status_code == 200
    assert tampered.json()["verdict"] == "not_found"


def test_pending_receipt_is_409_and_verify_says_pending(start_api: StartApi) -> None:
    api = start_api(run_batcher=False)
    headers = api.key("示范企业甲", "submitter")
    [item] = api.upload(headers, ("a.txt", b"never batched")).json()["items"]

    receipt = api.client.get(f"/api/v1/evidence/{item['id']}/receipt", headers=headers)
    assert_error(receipt, 409, "conflict")
    assert (
        api.client.get(f"/api/v1/evidence/{item['id']}", headers=headers).json()["anchor"] is None
    )
    verdict = api.client.post("/api/v1/verify", json={"digest": item["digest"]}).json()
    assert verdict["verdict"] == "pending"
    revoke = api.client.post(
        f"/api/v1/evidence/{item['id']}/revoke", json={"reason": "x"}, headers=headers
    )
    assert_error(revoke, 409, "conflict")
    ready = api.client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"]["batcher"]["detail"] == "disabled in this process"


def test_bulk_1000_digests_are_all_anchored(start_api: StartApi) -> None:
    # Batches of 100: ten transactions on the in-process chain instead of a hundred (each
    # is a py-evm block: most of this test's time), still several batches to close.
    api = start_api(batch_size=100)
    submitter = api.key("Bulk", "submitter")
    digests = ["0x" + hashlib.sha256(f"bulk-{i}".encode()).hexdigest() for i in range(1000)]
    started = time.monotonic()
    response = api.client.post(
        "/api/v1/evidence/digests", json={"digests": digests}, headers=submitter
    )
    assert response.status_code == 202, response.text
    items = response.json()["items"]
    assert [i["digest"] for i in items] == digests
    assert len({i["id"] for i in items}) == 1000

    deadline = time.monotonic() + WAIT_SECONDS
    while api.anchored_count() < 1000:
        assert time.monotonic() < deadline, f"only {api.anchored_count()} of 1000 anchored"
        time.sleep(0.1)
    elapsed = time.monotonic() - started
    assert api.count(Batch) == 10  # batch_size 100: one transaction per hundred documents
    for item in items[::250]:
        record = api.client.get(f"/api/v1/evidence/{item['id']}", headers=submitter).json()
        assert record["status"] == "anchored" and record["anchor"]["tx_hash"]
    print(f"1000 digests anchored in 10 batches in {elapsed:.1f}s")


def test_bad_digests_are_422_naming_the_index_and_store_nothing(
    api: Api, submitter: dict[str, str]
) -> None:
    good = "0x" + "ab" * 32
    cases = [
        ({"digests": [good, good, good, "0x1234"]}, "digests[3]"),
        ({"digests": [good, "zz" * 32]}, "digests[1]"),
        ({"digests": []}, "digests"),
        ({"digests": [good] * 10_001}, "digests"),
        ({"algorithm": "md5", "digests": [good]}, "algorithm"),
        ({"digests": [good], "label": "x" * 201}, "label"),
        ({"digests": [good], "extra": 1}, "extra"),
        ({"digests": [1234]}, "digests[0]"),
    ]
    for body, where in cases:
        error = assert_error(
            api.client.post("/api/v1/evidence/digests", json=body, headers=submitter),
            422,
            "validation_error",
        )
        assert where in error["message"], (body, error)
        assert len(error["message"]) < 2000  # 10,001 digests are not echoed back
    assert_error(
        api.client.post(
            "/api/v1/evidence/digests",
            content=b"[",
            headers={**submitter, "Content-Type": "application/json"},
        ),
        422,
    )
    assert api.count() == 0


def test_digest_algorithms(api: Api, submitter: dict[str, str]) -> None:
    content = b"algorithm choice"
    by_field = api.client.post(
        "/api/v1/evidence",
        headers={**submitter, **MULTIPART},
        content=multipart(("algorithm", None, b"sm3"), ("file", "a.txt", content)),
    )
    assert by_field.status_code == 202, by_field.text
    [item] = by_field.json()["items"]
    assert item["algorithm"] == "sm3" and item["digest"] == "0x" + hash_bytes(content, "sm3").hex()

    by_query = api.client.post(
        "/api/v1/evidence",
        params={"algorithm": "keccak256"},
        headers=submitter,
        files={"file": ("a", content)},
    )
    [item] = by_query.json()["items"]
    assert item["algorithm"] == "keccak256"
    assert item["digest"] == "0x" + hash_bytes(content, "keccak256").hex()

    late = api.client.post(
        "/api/v1/evidence",
        headers={**submitter, **MULTIPART},
        content=multipart(("file", "a.txt", content), ("algorithm", None, b"sm3")),
    )
    assert "before the file parts" in assert_error(late, 422)["message"]
    assert_error(
        api.client.post(
            "/api/v1/evidence",
            params={"algorithm": "md5"},
            headers=submitter,
            files={"file": ("a", content)},
        ),
        422,
    )
    assert api.count() == 2

    verdict = api.client.post(
        "/api/v1/verify", params={"algorithm": "sm3"}, files={"file": ("a", content)}
    )
    assert verdict.json()["verdict"] in ("pending", "anchored")


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


# --- who may do what -------------------------------------------------------------------------


def test_authentication_and_roles(api: Api) -> None:
    reviewer = api.key("创新中心", "reviewer")
    submitter = api.key("示范企业甲", "submitter")
    digests = {"digests": ["0x" + "11" * 32]}

    missing = api.client.post("/api/v1/evidence/digests", json=digests)
    assert_error(missing, 401, "unauthorized")
    assert missing.headers["www-authenticate"] == "Bearer"
    missing_upload = api.upload({}, ("a.txt", b"x"))
    assert_error(missing_upload, 401)

    bad_key = {"Authorization": "Bearer cpk_" + "A" * 43}
    invalid = api.client.post("/api/v1/evidence/digests", json=digests, headers=bad_key)
    assert_error(invalid, 401)
    assert invalid.headers["www-authenticate"].startswith("Bearer")
    # A bad key is refused even where no key is needed: the client must not silently
    # lose the metadata its key would show.
    assert_error(
        api.client.post("/api/v1/verify", json={"digest": "0x" + "11" * 32}, headers=bad_key), 401
    )
    basic = {"Authorization": "Basic dXNlcjpwdw=="}
    assert_error(
        api.client.post("/api/v1/verify", json={"digest": "0x" + "11" * 32}, headers=basic), 401
    )

    assert_error(
        api.client.post("/api/v1/evidence/digests", json=digests, headers=reviewer),
        403,
        "forbidden",
    )
    assert_error(api.upload(reviewer, ("a.txt", b"x")), 403)
    assert_error(api.client.get("/api/v1/members", headers=submitter), 403)
    assert_error(
        api.client.post("/api/v1/keys", json={"org": "x", "role": "admin"}, headers=submitter), 403
    )
    assert api.count() == 0

    admin = api.key("运营方", "admin")
    assert (
        api.client.post("/api/v1/evidence/digests", json=digests, headers=admin).status_code == 202
    )
    assert (
        api.client.post("/api/v1/evidence/digests", json=digests, headers=submitter).status_code
        == 202
    )


def test_metadata_only_for_its_member_and_admins(api: Api, submitter: dict[str, str]) -> None:
    [item] = api.upload(submitter, ("机密.pdf", b"secret application"), label="内部标签").json()[
        "items"
    ]
    path = f"/api/v1/evidence/{item['id']}"

    # Strangers read the status only (tests/security/test_evidence_privacy.py has the rest).
    anonymous = api.client.get(path).json()
    assert set(anonymous) == {"id", "status"}

    other = api.client.get(path, headers=api.key("示范企业乙", "submitter")).json()
    assert set(other) == {"id", "status"}
    reviewer = api.client.get(path, headers=api.key("创新中心", "reviewer")).json()
    assert set(reviewer) == {"id", "status"}

    owner = api.client.get(path, headers=submitter).json()
    assert owner["label"] == "内部标签" and owner["filename"] == "机密.pdf"
    admin = api.client.get(path, headers=api.key("运营方", "admin")).json()
    assert admin["label"] == "内部标签"


def test_revoke_by_owner_then_verify_says_revoked(api: Api, submitter: dict[str, str]) -> None:
    content = b"withdrawn invoice"
    [item] = api.upload(submitter, ("invoice.pdf", content)).json()["items"]
    path = f"/api/v1/evidence/{item['id']}/revoke"

    assert_error(
        api.client.post(
            f"/api/v1/evidence/{MISSING}/revoke", json={"reason": "x"}, headers=submitter
        ),
        404,
    )
    api.wait_anchored(item["id"])
    assert_error(api.client.post(path, json={"reason": "x"}), 401)
    assert_error(
        api.client.post(path, json={"reason": "x"}, headers=api.key("创新中心", "reviewer")), 403
    )
    # Another member's record is not found, word for word as a missing one.
    assert_error(
        api.client.post(path, json={"reason": "x"}, headers=api.key("示范企业乙", "submitter")), 404
    )
    assert_error(api.client.post(path, json={"reason": ""}, headers=submitter), 422)
    assert_error(api.client.post(path, json={"reason": "  \n "}, headers=submitter), 422)
    assert_error(api.client.post(path, json={"reason": "x" * 501}, headers=submitter), 422)

    accepted = api.client.post(path, json={"reason": "提交了错误的版本"}, headers=submitter)
    assert accepted.status_code == 202, accepted.text
    op = accepted.json()
    assert accepted.headers["location"] == f"/api/v1/operations/{op['id']}"
    assert op["kind"] == "revoke_leaf" and op["status"] in ("queued", "signed", "sent")
    operation = f"/api/v1/operations/{op['id']}"
    # Only the operation's org or an admin reads it: to anyone else it does not exist.
    assert_error(api.client.get(operation), 401)
    assert_error(api.client.get(operation, headers=api.key("示范企业乙", "submitter")), 404)
    assert_error(api.client.get("/api/v1/operations/" + "0" * 32, headers=submitter), 404)
    done = api.wait_operation(op["id"], submitter)
    assert done["status"] == "confirmed" and done["tx_hash"], done
    assert api.client.get(operation, headers=api.key("运营方", "admin")).status_code == 200
    record = api.client.get(f"/api/v1/evidence/{item['id']}", headers=submitter).json()
    assert record["status"] == "revoked"
    assert record["revoke_reason"] == "提交了错误的版本"
    assert_error(
        api.client.post(path, json={"reason": "again"}, headers=submitter), 409, "conflict"
    )

    verdict = api.client.post("/api/v1/verify", files={"file": ("x", content)}).json()
    assert verdict["verdict"] == "revoked"
    assert "提交了错误的版本" not in verdict["reason"]  # the reason is the member's metadata
    own = api.client.post(
        "/api/v1/verify", files={"file": ("x", content)}, headers=submitter
    ).json()
    assert own["verdict"] == "revoked" and "提交了错误的版本" in own["reason"]

    receipt = api.client.get(f"/api/v1/evidence/{item['id']}/receipt", headers=submitter).json()
    checked = api.client.post("/api/v1/receipts/verify", json=receipt).json()
    assert checked["valid"] is False and checked["reason"].startswith("revoked")


def test_admin_members_and_keys(api: Api) -> None:
    admin = api.key("运营方", "admin")
    created = api.client.post(
        "/api/v1/members", json={"name": "广西示范科技有限公司"}, headers=admin
    )
    assert created.status_code == 201, created.text
    assert created.json()["name"] == "广西示范科技有限公司"
    again = api.client.post("/api/v1/members", json={"name": "广西示范科技有限公司"}, headers=admin)
    assert again.json()["id"] == created.json()["id"]
    names = [m["name"] for m in api.client.get("/api/v1/members", headers=admin).json()]
    assert names == ["运营方", "广西示范科技有限公司"]

    new = api.client.post(
        "/api/v1/keys", json={"org": "广西示范科技有限公司", "role": "submitter"}, headers=admin
    )
    assert new.status_code == 201, new.text
    key = new.json()
    assert {"key", "prefix", "role", "org"} <= set(key)
    assert key["key"].startswith(key["prefix"]) and key["role"] == "submitter"
    headers = {"Authorization": f"Bearer {key['key']}"}
    accepted = api.client.post(
        "/api/v1/evidence/digests", json={"digests": ["0x" + "22" * 32]}, headers=headers
    )
    assert accepted.status_code == 202

    listed = api.client.get("/api/v1/keys", headers=admin).json()
    assert all("key" not in k for k in listed)
    assert {k["org"] for k in listed} == {"运营方", "广西示范科技有限公司"}
    assert_error(
        api.client.post("/api/v1/keys", json={"org": "x", "role": "root"}, headers=admin), 422
    )
    assert_error(api.client.get("/api/v1/keys", params={"org": "nobody"}, headers=admin), 404)

    revoked = api.client.delete(f"/api/v1/keys/{key['id']}", headers=admin)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert_error(
        api.client.post(
            "/api/v1/evidence/digests", json={"digests": ["0x" + "22" * 32]}, headers=headers
        ),
        401,
    )


# --- chain, probes, documentation, errors ----------------------------------------------------


def test_chain_batches_and_probes(api: Api, submitter: dict[str, str], chain: ChainContext) -> None:
    assert api.client.get("/healthz").json() == {"status": "ok"}
    ready = api.client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert {name for name, check in ready.json()["checks"].items() if check["ok"]} == {
        "database",
        "chain",
        "batcher",
    }

    info = api.client.get("/api/v1/chain").json()
    assert info == {
        "chain_id": chain.chain_id,
        "contract": chain.contract,
        "genesis_hash": chain.deployment.genesis_hash,
        "rpc_url": None,  # an in-process chain has no URL, and no public one is configured
        "kind": "embedded",
        "deployment_block": chain.deployment.block_number,
    }

    [item] = api.upload(submitter, ("a.txt", b"batch me")).json()["items"]
    api.wait_anchored(item["id"])
    with db.open_session(api.url) as session:
        batch_id = session.exec(
            select(Evidence.batch_id).where(Evidence.public_id == item["id"])
        ).one()
    batch = api.client.get(f"/api/v1/batches/{batch_id}").json()
    assert batch["status"] == "confirmed" and batch["tx_hash"] and "raw_tx" not in batch
    assert_error(api.client.get("/api/v1/batches/424242"), 404, "not_found")


def test_public_rpc_url_is_what_third_parties_get(start_api: StartApi) -> None:
    api = start_api(public_rpc_url="https://rpc.example.org", run_batcher=False)
    assert api.client.get("/api/v1/chain").json()["rpc_url"] == "https://rpc.example.org"


@pytest.mark.chain
def test_reset_chain_degrades_the_server_which_never_says_anchored(tmp_path: Path) -> None:
    """Anchor on a managed Anvil, reset it (state file gone), restart: chain_mismatch, loudly."""
    require(
        node_binary_present("anvil"),
        "the anvil binary is missing from node_modules (run `make install`)",
    )
    data = tmp_path / "data"
    settings = Settings(
        env="test",
        data_dir=data,
        database_url=f"sqlite:///{data / 'chainproof.db'}",
        chain="anvil",
        batch_size=10,
        batch_interval_ms=50,
    )
    content = b"anchored before the reset"
    with TestClient(create_app(settings)) as client:
        api = Api(client=client, settings=settings)
        submitter = api.key("示范企业甲", "submitter")
        [item] = api.upload(submitter, ("a.txt", content)).json()["items"]
        api.wait_anchored(item["id"])
        receipt = client.get(f"/api/v1/evidence/{item['id']}/receipt", headers=submitter).json()
        assert client.post("/api/v1/receipts/verify", json=receipt).json()["valid"] is True

    (data / "anvil-state.json").unlink()  # the reset: Anvil starts from a new genesis
    with TestClient(create_app(settings)) as client:
        ready = client.get("/readyz")
        assert_error(ready, 503, "chain_mismatch")
        reason = ready.json()["checks"]["chain"]["detail"]
        assert ready.json()["checks"]["chain"]["ok"] is False
        # A new genesis, or (restarted within the same second: Anvil's genesis is its start
        # time) the same genesis with no contract: both are the chain the index is not on.
        assert "genesis" in reason or "no contract code" in reason, reason
        assert_error(client.get("/api/v1/chain"), 503, "chain_mismatch")

        verdict = client.post("/api/v1/verify", files={"file": ("a.txt", content)}).json()
        assert verdict["verdict"] == "chain_mismatch" and verdict["reason"] == reason
        by_digest = client.post("/api/v1/verify", json={"digest": item["digest"]}).json()
        assert by_digest["verdict"] == "chain_mismatch"

        # The receipt is checked against the (reset) node itself, and says why it fails.
        checked = client.post("/api/v1/receipts/verify", json=receipt).json()
        assert checked["valid"] is False and "no contract code" in checked["reason"]

        # Nothing accepted is lost: uploads still queue while no batcher runs.
        accepted = client.post(
            "/api/v1/evidence", headers=submitter, files={"file": ("b.txt", b"still accepted")}
        )
        assert accepted.status_code == 202
        assert (
            client.get(f"/api/v1/evidence/{accepted.json()['items'][0]['id']}").json()["status"]
            == "queued"
        )
        revoke = client.post(
            f"/api/v1/evidence/{item['id']}/revoke", json={"reason": "x"}, headers=submitter
        )
        assert_error(revoke, 503, "chain_mismatch")


def _example_in(operation: dict[str, Any], schemas: dict[str, Any]) -> bool:
    def has_example(node: Any) -> bool:
        if not isinstance(node, dict):
            return False
        if "example" in node or "examples" in node:
            return True
        ref = node.get("$ref") or node.get("schema", {}).get("$ref")
        if ref:
            return has_example(schemas[ref.rsplit("/", 1)[-1]])
        items = node.get("schema", {}).get("items", {}).get("$ref")
        if items:
            return has_example(schemas[items.rsplit("/", 1)[-1]])
        return False

    bodies = list(operation.get("requestBody", {}).get("content", {}).values())
    for status, response in operation["responses"].items():
        if status.startswith("2"):
            bodies += list(response.get("content", {}).values())
    if not bodies:  # e.g. a 204 DELETE: the example is in its path parameters
        params = operation.get("parameters", [])
        return bool(params) and all(
            "example" in p or "examples" in p or "examples" in p.get("schema", {}) for p in params
        )
    return any(has_example(b) for b in bodies)


def test_openapi_documents_every_endpoint(api: Api) -> None:
    spec = api.client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    expected = {
        ("post", "/api/v1/evidence"),
        ("post", "/api/v1/evidence/digests"),
        ("get", "/api/v1/evidence/{evidence_id}"),
        ("get", "/api/v1/evidence/{evidence_id}/receipt"),
        ("post", "/api/v1/evidence/{evidence_id}/revoke"),
        ("post", "/api/v1/verify"),
        ("post", "/api/v1/receipts/verify"),
        ("get", "/api/v1/chain"),
        ("get", "/api/v1/batches/{batch_id}"),
        ("get", "/healthz"),
        ("get", "/readyz"),
        ("post", "/api/v1/members"),
        ("get", "/api/v1/members"),
        ("post", "/api/v1/keys"),
        ("get", "/api/v1/keys"),
        ("delete", "/api/v1/keys/{key_id}"),
    }
    found = {(method, path) for path, ops in spec["paths"].items() for method in ops}
    assert expected <= found, expected - found
    # Every documented operation sits under a declared tag (the app's TAGS list).
    allowed_tags = {t["name"] for t in spec.get("tags", [])}
    assert {"evidence", "verify", "receipts", "chain", "admin", "system"} <= allowed_tags
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            where = f"{method.upper()} {path}"
            assert op.get("summary"), where
            assert len(op.get("tags", [])) == 1 and op["tags"][0] in allowed_tags, where
            assert _example_in(op, schemas), f"{where} has no example"
            for status, response in op["responses"].items():
                if status.startswith(("4", "5")):
                    ref = response["content"]["application/json"]["schema"]["$ref"]
                    assert ref.rsplit("/", 1)[-1] in {"ErrorOut", "NotReadyOut"}, (where, status)
    assert spec["paths"]["/api/v1/evidence"]["post"]["responses"].keys() >= {
        "202",
        "401",
        "403",
        "413",
    }
    assert "HTTPValidationError" not in schemas  # 422 is the error envelope too
    assert "bearer" in str(spec["components"]["securitySchemes"]).lower()
    assert api.client.get("/docs").status_code == 200


def test_errors_use_the_envelope_and_never_500(api: Api, submitter: dict[str, str]) -> None:
    get = api.client.get
    # Ids are public ids: anything else (the old integer ids included) is a plain 404.
    for bad in ("424242", "abc", "0", "-1", "99999999999999999999999", MISSING, "x" * 5000):
        assert_error(get(f"/api/v1/evidence/{bad}"), 404, "not_found")
        assert_error(get(f"/api/v1/evidence/{bad}/receipt"), 404, "not_found")
    assert_error(get("/no/such/route"), 404, "not_found")
    assert_error(api.client.put("/api/v1/chain"), 405, "method_not_allowed")
    assert_error(api.client.post("/api/v1/verify", json={"digest": "0x12"}), 422)
    assert_error(
        api.client.post("/api/v1/verify", json={"algorithm": "md5", "digest": "0x" + "00" * 32}),
        422,
    )
    assert_error(api.client.post("/api/v1/verify", json=["not", "an", "object"]), 422)
    assert_error(
        api.client.post("/api/v1/members", json={"name": ""}, headers=api.key("运营方", "admin")),
        422,
    )

    @api.client.app.get("/boom")  # type: ignore[attr-defined,misc]
    def boom() -> None:
        raise RuntimeError("a bug")

    # No `with`: the app's lifespan already runs under api.client; this client only asks.
    client = TestClient(api.client.app, raise_server_exceptions=False)
    crashed = client.get("/boom")
    assert_error(crashed, 500, "internal")
    assert "a bug" not in crashed.text


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
HEXISH = st.text(alphabet="0123456789abcdefABCDEFxX", max_size=70)
PLAUSIBLE = st.fixed_dictionaries(
    {},
    optional={
        "algorithm": st.sampled_from(["sha256", "sm3", "keccak256", "md5", ""]) | JSON,
        "digests": st.lists(HEXISH | JSON, max_size=5) | JSON,
        "digest": HEXISH | JSON,
        "label": st.text(max_size=300) | JSON,
        "reason": st.text(max_size=600) | JSON,
        "name": st.text(max_size=250) | JSON,
        "org": st.text(max_size=250) | JSON,
        "role": st.sampled_from(["admin", "submitter", "reviewer", "root"]) | JSON,
    },
)
JSON_ROUTES = [
    ("/api/v1/evidence/digests", "submitter"),
    ("/api/v1/verify", None),
    ("/api/v1/receipts/verify", None),
    (f"/api/v1/evidence/{MISSING}/revoke", "submitter"),
    ("/api/v1/members", "admin"),
    ("/api/v1/keys", "admin"),
]


def assert_not_500(response: Any) -> None:
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert set(response.json()["error"]) >= {"code", "message"}


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(route=st.sampled_from(JSON_ROUTES), body=PLAUSIBLE | JSON)
def test_fuzz_json_bodies_never_500(
    api: Api, role_keys: dict[str | None, dict[str, str]], route: tuple[str, str | None], body: Any
) -> None:
    path, role = route
    assert_not_500(api.client.post(path, json=body, headers=role_keys[role]))


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    parts=st.lists(
        st.tuples(
            st.sampled_from(["file", "label", "algorithm"]) | st.text(max_size=10),
            st.none() | st.text(max_size=20),
            st.binary(max_size=64),
        ),
        max_size=4,
    ),
    cut=st.none() | st.integers(min_value=0, max_value=400),
    path=st.sampled_from(["/api/v1/evidence", "/api/v1/verify"]),
)
def test_fuzz_multipart_never_500(
    api: Api,
    role_keys: dict[str | None, dict[str, str]],
    parts: list[tuple[str, str | None, bytes]],
    cut: int | None,
    path: str,
) -> None:
    body = multipart(*parts)
    if cut is not None:
        body = body[:cut]
    response = api.client.post(path, content=body, headers={**role_keys["submitter"], **MULTIPART})
    assert_not_500(response)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(segment=st.text(min_size=1, max_size=30) | st.integers().map(str))
def test_fuzz_path_ids_never_500(api: Api, segment: str) -> None:
    quoted = quote(segment, safe="")
    for template in ("/api/v1/evidence/{}", "/api/v1/evidence/{}/receipt", "/api/v1/batches/{}"):
        assert_not_500(api.client.get(template.format(quoted)))
