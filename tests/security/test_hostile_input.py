"""Hostile input: every answer is a clear 4xx in the error envelope, and nothing is stored.

Beyond ``tests/integration/test_api_uploads.py`` (413 with and without a length, flat memory under
tracemalloc, truncated multipart, filename cleaning, Hypothesis fuzzing of the JSON and
multipart bodies), this module:

* runs schemathesis over the whole OpenAPI document in process (every operation, bounded
  examples, an admin key so the handlers are reached) and allows no 5xx;
* sends oversized uploads to a real ``chainproof serve`` and watches its resident memory;
* sends deeply nested JSON to a real server (a crash there takes the whole process down);
* tries Unicode and path tricks in labels and file names, malformed digests and receipts,
  wrong content types and huge JSON, counting rows before and after.
"""

from __future__ import annotations

import contextlib
import secrets
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from sqlmodel import col, select

from chainproof import identity
from chainproof.api.app import create_app
from chainproof.api.schemas import EX_RECEIPT
from chainproof.chain.context import ChainContext
from chainproof.config import Settings
from chainproof.store import db
from chainproof.store.models import Evidence

from ..apps import MULTIPART, Api, StartApi, TestClient, assert_error, multipart
from . import _procs

# --- schemathesis over the whole API ---------------------------------------------------------

FUZZ_EXAMPLES = 12  # per operation, positive and negative cases mixed: ~30 s for all of them
# Operations where schemathesis finds a 5xx today: strict xfail, with the fix.
KNOWN_5XX: dict[tuple[str, str], str] = {}


class FuzzTarget:
    """A started app (lifespan run) and fresh admin keys: a case may revoke the one it got."""

    def __init__(self, client: TestClient, settings: Settings) -> None:
        self.client = client
        self.settings = settings

    def admin(self) -> dict[str, str]:
        with db.open_session(self.settings.resolved_database_url) as session:
            _, key = identity.create_api_key(session=session, org="fuzz", role="admin")
        return {"Authorization": f"Bearer {key}"}


@pytest.fixture(scope="module")
def fuzz_target(
    chain: ChainContext, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FuzzTarget]:
    data = tmp_path_factory.mktemp("fuzz") / "data"
    app_settings = Settings(
        env="test",
        data_dir=data,
        database_url=f"sqlite:///{data / 'chainproof.db'}",
        chain="embedded",
        batch_size=50,
        batch_interval_ms=100,
    )
    with TestClient(create_app(app_settings, chain=chain)) as client:
        yield FuzzTarget(client, app_settings)


@pytest.fixture(scope="module")
def openapi_schema(fuzz_target: FuzzTarget) -> Any:
    """The running app's OpenAPI document, loaded by schemathesis (calls go in process)."""
    return schemathesis.openapi.from_asgi("/openapi.json", fuzz_target.client.app)


def _operations() -> list[Any]:
    # Only the route table is needed to list the operations: no lifespan, no database.
    spec = create_app(Settings(env="test", data_dir=Path("/nonexistent/fuzz"))).openapi()
    params = []
    for path, ops in spec["paths"].items():
        for method in ops:
            key = (method.upper(), path)
            marks = (
                [pytest.mark.xfail(strict=True, reason=KNOWN_5XX[key])] if key in KNOWN_5XX else []
            )
            params.append(pytest.param(*key, id=f"{key[0]} {path}", marks=marks))
    return params


# schemathesis' own pytest plugin does not run under pytest 9 here ('Function' object has
# no attribute '_nodeid'), so each operation's strategies drive a Hypothesis test directly.
@pytest.mark.parametrize(("method", "path"), _operations())
def test_schemathesis_finds_no_5xx(
    method: str, path: str, openapi_schema: Any, fuzz_target: FuzzTarget
) -> None:
    operation = openapi_schema[path][method]
    cases = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )

    @given(case=cases)
    @settings(
        max_examples=FUZZ_EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
        # No shrinking: a failing case is reported as found (schemathesis prints its curl
        # command); shrinking one through the whole app can take many minutes.
        phases=[Phase.explicit, Phase.generate],
        report_multiple_bugs=False,
    )
    def fuzz(case: Any) -> None:
        response = case.call_and_validate(headers=fuzz_target.admin(), checks=[not_a_server_error])
        content_type = (response.headers.get("content-type") or [""])[0]
        if response.status_code >= 400 and content_type.startswith("application/json"):
            body = response.json()
            assert set(body["error"]) >= {"code", "message"}, body

    fuzz()


# --- real server: oversized uploads, memory, deep JSON ----------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_procs.Proc]:
    """``chainproof serve --chain embedded`` with a 64 MiB upload limit."""
    root = tmp_path_factory.mktemp("hostile-serve")
    proc = _procs.serve(
        root / "data",
        chain="embedded",
        log=root / "serve.log",
        CHAINPROOF_MAX_UPLOAD_BYTES=str(64 * 1024 * 1024),
        CHAINPROOF_BATCH_INTERVAL_MS="100",
    ).start()
    try:
        proc.wait_http("/readyz")
        yield proc
    finally:
        proc.stop()


def _server_key(server: _procs.Proc, role: str = "submitter") -> str:
    data_dir = Path(server.argv[server.argv.index("--data-dir") + 1])
    with db.open_session(f"sqlite:///{data_dir / 'chainproof.db'}") as session:
        _, key = identity.create_api_key(session=session, org="示范企业甲", role=role)
    return key


def _raw_request(url: str, head: bytes, body_chunks: Iterator[bytes]) -> bytes:
    """Sends a request on a plain socket, stops sending as soon as the server answers."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=20) as sock:
        sock.sendall(head)
        sock.setblocking(False)
        answer = b""
        for chunk in body_chunks:
            with contextlib.suppress(BlockingIOError):
                answer += sock.recv(65536)
            if answer:
                break
            try:
                sock.setblocking(True)
                sock.sendall(chunk)
                sock.setblocking(False)
            except OSError:  # the server answered and closed: stop sending
                break
        sock.setblocking(True)
        sock.settimeout(20)
        while b"\r\n\r\n" not in answer:
            more = sock.recv(65536)
            if not more:
                break
            answer += more
    return answer


def test_real_server_refuses_a_declared_10_gib_upload_before_reading(
    server: _procs.Proc,
) -> None:
    key = _server_key(server)
    before = server.rss_kib()
    head = (
        "POST /api/v1/evidence HTTP/1.1\r\nHost: x\r\n"
        f"Authorization: Bearer {key}\r\n"
        "Content-Type: multipart/form-data; boundary=b\r\n"
        f"Content-Length: {10 * 1024**3}\r\n\r\n"
    ).encode()
    sent = 0

    def chunks() -> Iterator[bytes]:
        nonlocal sent
        for _ in range(16 * 1024):  # up to 1 GiB, if the server kept reading
            sent += 65536
            yield b"x" * 65536

    answer = _raw_request(server.url, head, chunks())
    assert answer.startswith(b"HTTP/1.1 413"), answer[:300]
    assert sent <= 64 * 1024 * 1024, f"the client could push {sent} bytes before the 413"
    assert server.rss_kib() - before < 32 * 1024, "memory grew on a refused upload"


def test_real_server_hashes_a_48_mib_upload_in_flat_memory_and_cuts_at_the_limit(
    server: _procs.Proc,
) -> None:
    key = _server_key(server)
    headers = {"Authorization": f"Bearer {key}", **MULTIPART}
    block = secrets.token_bytes(64 * 1024)

    def body(mib: int) -> Iterator[bytes]:
        yield b'--chainproof-test-boundary\r\nContent-Disposition: form-data; name="file"; '
        yield b'filename="big.bin"\r\n\r\n'
        for _ in range(mib * 16):
            yield block
        yield b"\r\n--chainproof-test-boundary--\r\n"

    peak_before = server.rss_kib("VmHWM")
    rss_before = server.rss_kib()
    ok = httpx.post(f"{server.url}/api/v1/evidence", headers=headers, content=body(48), timeout=60)
    assert ok.status_code == 202, ok.text
    grown = server.rss_kib("VmHWM") - max(peak_before, rss_before)
    assert grown < 24 * 1024, f"peak memory grew {grown} KiB for a 48 MiB upload"

    # Chunked (no Content-Length), 96 MiB against a 64 MiB limit: cut off, 413, not stored.
    try:
        cut = httpx.post(
            f"{server.url}/api/v1/evidence", headers=headers, content=body(96), timeout=60
        )
        assert_error(cut, 413, "payload_too_large")
    except httpx.HTTPError:
        pass  # the server may close the connection while the client is still sending
    assert server.alive()
    grown = server.rss_kib("VmHWM") - max(peak_before, rss_before)
    assert grown < 24 * 1024, f"peak memory grew {grown} KiB for a refused 96 MiB upload"
    data_dir = Path(server.argv[server.argv.index("--data-dir") + 1])
    with db.open_session(f"sqlite:///{data_dir / 'chainproof.db'}") as session:
        newest = session.exec(select(Evidence).order_by(col(Evidence.id).desc())).first()
    assert newest is not None and newest.public_id == ok.json()["items"][0]["id"], (
        "the refused upload was stored"
    )


def test_deeply_nested_json_is_a_4xx_and_the_server_survives(tmp_path: Path) -> None:
    proc = _procs.serve(tmp_path / "data", chain="embedded", log=tmp_path / "serve.log").start()
    try:
        proc.wait_http("/healthz")
        problems = []
        for path in ("/api/v1/verify", "/api/v1/receipts/verify", "/api/v1/evidence/digests"):
            for depth in (1_000, 100_000):
                body = "[" * depth + "]" * depth
                try:
                    r = httpx.post(
                        proc.url + path,
                        content=body,
                        headers={"Content-Type": "application/json"},
                        timeout=20,
                    )
                    if not 400 <= r.status_code < 500:
                        problems.append(f"{path} depth {depth}: {r.status_code} {r.text[:100]}")
                except httpx.HTTPError as exc:
                    problems.append(f"{path} depth {depth}: {type(exc).__name__}")
                if not proc.alive():
                    code = proc.proc.returncode if proc.proc else None
                    pytest.fail(f"{path} depth {depth} killed the server (exit {code})")
        assert not problems, problems
    finally:
        proc.stop()


# --- labels, file names, digests, receipts, content types -------------------------------------


@pytest.fixture
def hostile_api(start_api: StartApi) -> Api:
    """An app without a batcher: what was accepted stays in the queue, countable."""
    return start_api(run_batcher=False)


def test_unicode_and_control_tricks_in_labels_are_cleaned_or_refused(hostile_api: Api) -> None:
    api = hostile_api
    submitter = api.key("示范企业甲", "submitter")
    tricks = {
        "nul\x00inside": "nulinside",
        "rtl \u202eexe.pdf": "rtl exe.pdf",
        "zero\u200bwidth\ufeffbom": "zerowidthbom",
        "line\nbreak\ttab": "line break tab",
        "\x1b[31mred\x1b[0m": "[31mred[0m",
        "  e\u0301  ": "é",  # NFC: e + combining acute becomes one character
    }
    for raw, stored in tricks.items():
        digest = "0x" + secrets.token_hex(32)
        r = api.client.post(
            "/api/v1/evidence/digests", json={"digests": [digest], "label": raw}, headers=submitter
        )
        assert r.status_code == 202, r.text
        record = api.client.get(f"/api/v1/evidence/{r.json()['items'][0]['id']}", headers=submitter)
        assert record.json()["label"] == stored, (raw, record.json())
    invisible = api.client.post(
        "/api/v1/evidence/digests",
        json={"digests": ["0x" + "ab" * 32], "label": "\u202e\u200b\x00"},
        headers=submitter,
    )
    record = api.client.get(
        f"/api/v1/evidence/{invisible.json()['items'][0]['id']}", headers=submitter
    ).json()
    assert record["label"] is None, "a label of invisible characters only is no label"
    before = api.count()
    megabyte = "标" * (1024 * 1024 // 3)
    as_json = api.client.post(
        "/api/v1/evidence/digests",
        json={"digests": ["0x" + "cd" * 32], "label": megabyte},
        headers=submitter,
    )
    assert_error(as_json, 422)
    as_form = api.client.post(
        "/api/v1/evidence",
        headers={**submitter, **MULTIPART},
        content=multipart(("label", None, megabyte.encode()), ("file", "a.txt", b"x")),
    )
    assert_error(as_form, 422)
    not_utf8 = api.client.post(
        "/api/v1/evidence",
        headers={**submitter, **MULTIPART},
        content=multipart(("label", None, b"\xff\xfe\xfd"), ("file", "a.txt", b"x")),
    )
    assert_error(not_utf8, 422)
    assert api.count() == before


def test_path_tricks_in_file_names_never_survive(hostile_api: Api) -> None:
    api = hostile_api
    submitter = api.key("示范企业甲", "submitter")
    raw_names = {
        b'filename="../../etc/passwd"': "passwd",
        b'filename="..\\\\..\\\\windows\\\\system32\\\\cmd.exe"': "cmd.exe",
        b'filename="a\x00b.pdf"': None,  # a NUL: dropped, whatever else the parser does
        b"filename*=UTF-8''..%2F..%2Fetc%2Fshadow": None,
        b'filename=".."': None,
        b'filename="/"': None,
        b'filename="evil\xe2\x80\xaefdp.exe"': "evilfdp.exe",  # U+202E in UTF-8
    }
    for disposition, expected in raw_names.items():
        body = (
            b'--b\r\nContent-Disposition: form-data; name="file"; '
            + disposition
            + b"\r\n\r\ncontent\r\n--b--\r\n"
        )
        r = api.client.post(
            "/api/v1/evidence",
            content=body,
            headers={**submitter, "Content-Type": "multipart/form-data; boundary=b"},
        )
        assert r.status_code in (202, 400, 422), (disposition, r.status_code, r.text)
        if r.status_code != 202:
            assert_error(r, r.status_code)
            continue
        name = api.client.get(
            f"/api/v1/evidence/{r.json()['items'][0]['id']}", headers=submitter
        ).json()["filename"]
        if expected is not None:
            assert name == expected, (disposition, name)
        assert name is None or ("/" not in name and "\\" not in name and "\x00" not in name), name
        assert name is None or not any(0x202A <= ord(c) <= 0x202E for c in name), name
        assert name not in ("..", ".")


MALFORMED_DIGESTS: list[Any] = [
    "０" * 64,  # full-width digits
    "٠" * 64,  # Arabic-Indic digits
    "0x" + "ab" * 31 + "a",
    "0x" + "ab" * 33,
    "-0x" + "ab" * 32,
    "0x" + "ab" * 31 + "\x00\x00",
    "0x" + "g" * 64,
    int("ab" * 32, 16),
    ["0x" + "ab" * 32],
    None,
    {"digest": "0x" + "ab" * 32},
]


def test_malformed_digests_are_422_naming_the_index_and_store_nothing(hostile_api: Api) -> None:
    api = hostile_api
    submitter = api.key("示范企业甲", "submitter")
    good = "0x" + "12" * 32
    for i, bad in enumerate(MALFORMED_DIGESTS):
        r = api.client.post(
            "/api/v1/evidence/digests", json={"digests": [good, bad]}, headers=submitter
        )
        error = assert_error(r, 422)
        assert "digests[1]" in error["message"] or "digests.1" in error["message"], (i, error)
        v = api.client.post("/api/v1/verify", json={"algorithm": "sha256", "digest": bad})
        assert_error(v, 422)
    too_many = api.client.post(
        "/api/v1/evidence/digests", json={"digests": [good] * 10_001}, headers=submitter
    )
    assert_error(too_many, 422)
    assert api.count() == 0
    # Surrounding whitespace is forgiven, never stored: the digest is kept canonical.
    for lenient in ("0x" + "AB" * 32 + "\n", " " + "ab" * 32, "\t0X" + "ab" * 32):
        r = api.client.post(
            "/api/v1/evidence/digests", json={"digests": [lenient]}, headers=submitter
        )
        assert r.status_code == 202, (lenient, r.text)
        assert r.json()["items"][0]["digest"] == "0x" + "ab" * 32


RECEIPT_MUTATIONS: dict[str, Any] = {
    "chain_id": 2**300,
    "block_number": -1,
    "block_timestamp": 10**30,
    "proof": ["0x" + "zz" * 32],
    "root": "0x" + "00" * 31,
    "contract": "0xnot-an-address",
    "tx_hash": 12,
    "version": 99,
    "leaf_types": ["string"] * 1000,
    "label": "x" * 5000,
    "digest": "0x" + "ab" * 32 + "00",
}


def test_malformed_receipts_are_422_or_invalid_never_5xx(hostile_api: Api) -> None:
    api = hostile_api
    good = dict(EX_RECEIPT)
    shaped = api.client.post("/api/v1/receipts/verify", json=good)
    assert shaped.status_code == 200 and shaped.json()["valid"] is False  # not on this chain
    for name, value in RECEIPT_MUTATIONS.items():
        r = api.client.post("/api/v1/receipts/verify", json={**good, name: value})
        assert r.status_code in (200, 422), (name, r.status_code, r.text[:300])
        if r.status_code == 200:
            assert r.json()["valid"] is False, (name, r.json())
        else:
            assert_error(r, 422)
    huge_proof = api.client.post(
        "/api/v1/receipts/verify", json={**good, "proof": ["0x" + "ab" * 32] * 50_000}
    )
    assert huge_proof.status_code in (200, 413, 422), huge_proof.text[:300]
    for missing in ("digest", "root", "proof", "chain_id", "contract"):
        body = {k: v for k, v in good.items() if k != missing}
        assert_error(api.client.post("/api/v1/receipts/verify", json=body), 422)
    assert_error(api.client.post("/api/v1/receipts/verify", json=[good]), 422)
    not_json = api.client.post(
        "/api/v1/receipts/verify",
        content=b"\xff\xfe{",
        headers={"Content-Type": "application/json"},
    )
    assert_error(not_json, 400 if not_json.status_code == 400 else 422)
    assert api.count() == 0


def test_wrong_content_types_are_4xx_and_store_nothing(hostile_api: Api) -> None:
    api = hostile_api
    submitter = api.key("示范企业甲", "submitter")
    admin = api.key("运营方", "admin")
    digests = b'{"digests": ["0x' + b"ab" * 32 + b'"]}'
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "application/xml"):
        r = api.client.post(
            "/api/v1/evidence/digests",
            content=digests,
            headers={**submitter, "Content-Type": content_type},
        )
        assert r.status_code in (415, 422), (content_type, r.status_code, r.text)
        assert_error(r, r.status_code)
    no_type = api.client.post("/api/v1/evidence/digests", content=digests, headers=submitter)
    assert no_type.status_code in (415, 422), no_type.text
    as_form = api.client.post(
        "/api/v1/evidence/digests", headers=submitter, files={"digests": ("a", b"x")}
    )
    assert as_form.status_code in (415, 422), as_form.text
    key_as_form = api.client.post("/api/v1/keys", headers=admin, data={"org": "x", "role": "admin"})
    assert key_as_form.status_code in (415, 422), key_as_form.text
    upload_as_json = api.client.post(
        "/api/v1/evidence", headers=submitter, json={"file": "Li4vLi4vZXRjL3Bhc3N3ZA=="}
    )
    assert_error(upload_as_json, 415)
    assert api.count() == 0
    with db.open_session(api.url) as session:
        # No key was created from the form body: only the two this test made.
        assert len(identity.list_api_keys(session=session)) == 2
    # JSON in UTF-16 (with its BOM) is still JSON: accepted, and the digest stored canonical.
    charset_trick = api.client.post(
        "/api/v1/evidence/digests",
        content=digests.decode().encode("utf-16"),
        headers={**submitter, "Content-Type": "application/json; charset=utf-16"},
    )
    assert charset_trick.status_code in (202, 400, 415, 422), charset_trick.text
    if charset_trick.status_code == 202:
        assert charset_trick.json()["items"][0]["digest"] == "0x" + "ab" * 32


def test_huge_json_is_refused_before_validation(hostile_api: Api) -> None:
    api = hostile_api
    submitter = api.key("示范企业甲", "submitter")
    cases: dict[str, tuple[Any, set[int]]] = {
        # ~3.4 MB: under the 4 MiB JSON limit, refused by the list's length bound (one
        # check, not one error per item), or by the byte limit.
        "500k integers": ({"digests": list(range(500_000))}, {413, 422}),
        "500k short strings": ({"digests": ["x"] * 500_000}, {413, 422}),
        "long string": ({"digests": ["0x" + "ab" * 32], "label": "x" * (3 * 1024 * 1024)}, {422}),
        # Small, but past the shape limits: 400 before pydantic sees it.
        "30k containers": ({"digests": [[]] * 30_000}, {400}),
        "5 MiB": ({"digests": ["0x" + "ab" * 32] * 80_000}, {413}),
    }
    for name, (body, statuses) in cases.items():
        r = api.client.post("/api/v1/evidence/digests", json=body, headers=submitter)
        assert r.status_code in statuses, (name, r.status_code, r.text[:300])
        error = assert_error(r, r.status_code)
        assert len(error.get("problems", [])) <= 100, f"{name}: one problem per item"
        if r.status_code == 400:
            assert error["code"] == "json_too_complex", error
    assert api.count() == 0


def test_wide_json_objects_are_refused_before_validation(hostile_api: Api) -> None:
    """60,000 unknown keys (1 MB) used to cost seconds of CPU on public endpoints; the shape
    check refuses them from the raw bytes, so validation never runs (no per-key errors)."""
    wide = {f"k{i}": i for i in range(60_000)}
    for path in ("/api/v1/verify", "/api/v1/receipts/verify", "/api/v1/evidence/digests"):
        r = hostile_api.client.post(path, json=wide)
        error = assert_error(r, 400, "json_too_complex")
        assert "60000 object keys" in error["message"], error
        assert "problems" not in error, "validation ran on the wide body"
    # Colons and brackets inside strings are data, not structure: still a normal answer.
    tricky = {"algorithm": "sha256", "digest": "0x" + "ab" * 32, "x": ":{[" * 100_000}
    r = hostile_api.client.post("/api/v1/verify", json=tricky)
    assert r.status_code in (200, 422), r.text[:300]
    assert hostile_api.count() == 0
