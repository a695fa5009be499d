"""Secrets: hashed or encrypted at rest, never in a log, no default secret in production,
and rate limits on the writes an attacker would hammer.

The log test runs a real ``chainproof serve`` (structlog, stdlib logging, uvicorn's access
log, stdout and stderr all land in one file) through a full run: keys created, files and
digests anchored by two member orgs (whose custodial chain keys the batcher creates),
verification, receipts, a revocation, a revoked key, a wrong key, oversized and malformed
requests, a graceful stop. Then every secret is searched for in that file and in the
SQLite files (database, WAL and shared memory): each API key, the operator key, the server
secret key and each member's custodial private key, in every spelling (0x or not, upper or
lower case, the last 24 characters). A second run does the same in process with every
logger at DEBUG.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account import Account
from fastapi import Request
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlmodel import select

from chainproof import identity
from chainproof.api.app import create_app
from chainproof.api.ratelimit import RateLimitMiddleware, default_rules
from chainproof.chain.nodes import DEV_PRIVATE_KEYS
from chainproof.config import DEV_OPERATOR_KEY, DEV_SECRET_KEY, Settings
from chainproof.errors import ConfigError
from chainproof.store import db
from chainproof.store.crypto import decrypt_secret
from chainproof.store.models import ApiKey, Member

from ..apps import Api, StartApi, assert_error
from . import _procs

OPERATOR_KEY = DEV_PRIVATE_KEYS[3]  # funded on every dev chain; not the default operator key


def spellings(secret: str) -> set[str]:
    """Every way a secret may be written out: as is, without 0x, upper and lower case."""
    bare = secret.removeprefix("0x")
    return {secret, bare, bare.upper(), bare.lower(), "0x" + bare.lower()}


def leaks(haystack: bytes, named: dict[str, str]) -> list[str]:
    """The names of the secrets found in ``haystack`` (any spelling; long suffixes too)."""
    found = []
    for name, secret in named.items():
        variants = spellings(secret)
        # The tail of a key is as good as the key to someone who can guess the rest.
        variants |= {v[-24:] for v in variants if len(v) > 32}
        if any(v.encode() in haystack for v in variants):
            found.append(name)
    return found


def member_keys(url: str, secret_key: str) -> dict[str, str]:
    """Each member's custodial private key, decrypted (what must never be seen in clear)."""
    out = {}
    with db.open_session(url) as session:
        for m in session.exec(select(Member)).all():
            if m.chain_key_encrypted:
                assert m.chain_key_encrypted.startswith("v1:"), "not the encrypted format"
                plain = decrypt_secret(m.chain_key_encrypted, secret=secret_key)
                assert Account.from_key(plain).address == m.chain_address
                with pytest.raises(ConfigError):
                    decrypt_secret(m.chain_key_encrypted, secret=secret_key + "x")
                out[f"custodial key of {m.name}"] = plain
    return out


# --- a real server, a full run, every log line ------------------------------------------------


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[_procs.Proc, str, Path]]:
    """``chainproof serve --chain embedded`` with a non-default operator key and secret."""
    secret_key = secrets.token_urlsafe(32)
    data = tmp_path / "data"
    proc = _procs.serve(
        data,
        chain="embedded",
        log=tmp_path / "serve.log",
        CHAINPROOF_OPERATOR_KEY=OPERATOR_KEY,
        CHAINPROOF_SECRET_KEY=secret_key,
        CHAINPROOF_BATCH_INTERVAL_MS="50",
        CHAINPROOF_MAX_UPLOAD_BYTES=str(1024 * 1024),
    ).start()
    try:
        proc.wait_http("/readyz")
        yield proc, secret_key, data
    finally:
        proc.stop()


def _wait_anchored(url: str, ids: list[str]) -> None:
    deadline = time.monotonic() + 60
    for evidence_id in ids:
        while httpx.get(f"{url}/api/v1/evidence/{evidence_id}").json()["status"] != "anchored":
            assert time.monotonic() < deadline, f"evidence {evidence_id} not anchored"
            time.sleep(0.05)


def full_run(url: str, admin: dict[str, str]) -> dict[str, str]:
    """Drives every kind of request; returns the API keys it made (name → plaintext)."""
    keys: dict[str, str] = {}
    with httpx.Client(base_url=url, timeout=30) as c:
        for name, org, role in (
            ("key of A", "示范企业甲", "submitter"),
            ("key of B", "示范企业乙", "submitter"),
            ("reviewer key", "创新中心", "reviewer"),
        ):
            made = c.post("/api/v1/keys", json={"org": org, "role": role}, headers=admin)
            assert made.status_code == 201, made.text
            keys[name] = made.json()["key"]
        a = {"Authorization": f"Bearer {keys['key of A']}"}
        b = {"Authorization": f"Bearer {keys['key of B']}"}
        files = [("file", (f"申报书-{i}.pdf", secrets.token_bytes(64))) for i in range(3)]
        up = c.post("/api/v1/evidence", headers=a, files=files, data={"label": "机密标签"})
        assert up.status_code == 202, up.text
        digests = ["0x" + secrets.token_hex(32) for _ in range(5)]
        bulk = c.post("/api/v1/evidence/digests", headers=b, json={"digests": digests})
        assert bulk.status_code == 202, bulk.text
        ids = [i["id"] for i in up.json()["items"] + bulk.json()["items"]]
        _wait_anchored(url, ids)
        first = ids[0]
        assert c.post("/api/v1/verify", json={"digest": digests[0]}, headers=b).status_code == 200
        assert c.post("/api/v1/verify", files={"file": ("x", b"unknown")}).status_code == 200
        receipt = c.get(f"/api/v1/evidence/{first}/receipt", headers=a).json()
        assert c.post("/api/v1/receipts/verify", json=receipt).json()["valid"] is True
        revoked = c.post(f"/api/v1/evidence/{first}/revoke", json={"reason": "错"}, headers=a)
        assert revoked.status_code == 202, revoked.text
        # The writer signs it with the member's custodial key: that too must stay unlogged.
        assert _settled(c, revoked.json()["id"], a)["status"] == "confirmed"
        # Error paths, each carrying a secret where a careless log would print it.
        wrong = "cpk_" + secrets.token_urlsafe(32)[:43]
        keys["wrong key"] = wrong
        bearer_wrong = {"Authorization": f"Bearer {wrong}"}
        assert c.get("/api/v1/keys", headers=bearer_wrong).status_code == 401
        assert c.get("/api/v1/keys", headers={"Authorization": f"Basic {wrong}"}).status_code == 401
        assert c.get("/api/v1/keys", headers=a).status_code == 403
        listed = c.get("/api/v1/keys", headers=admin).json()
        key_b_id = next(k["id"] for k in listed if k["org"] == "示范企业乙")
        assert c.delete(f"/api/v1/keys/{key_b_id}", headers=admin).status_code == 200
        again = c.post("/api/v1/evidence/digests", headers=b, json={"digests": digests})
        assert again.status_code == 401
        # A key pasted where a digest goes: the 422 quotes it back to its sender (not a
        # leak), and the server must not log it.
        assert c.post("/api/v1/verify", json={"digest": keys["key of A"]}).status_code == 422
        label = c.post(
            "/api/v1/evidence/digests", headers=a, json={"digests": digests, "label": wrong * 10}
        )
        assert label.status_code == 422
        big = c.post("/api/v1/evidence", headers=a, files={"file": ("big", b"x" * 2_000_000)})
        assert big.status_code == 413
        assert c.get("/api/v1/evidence/999999").status_code == 404  # old integer ids too
        twice = c.post(f"/api/v1/evidence/{first}/revoke", json={"reason": "x"}, headers=a)
        assert twice.status_code == 409
    return keys


def _settled(c: Any, op_id: str, headers: dict[str, str]) -> dict[str, Any]:
    """The chain operation once confirmed or failed (``GET /api/v1/operations/{id}``)."""
    deadline = time.monotonic() + 60
    while True:
        op: dict[str, Any] = c.get(f"/api/v1/operations/{op_id}", headers=headers).json()
        if op["status"] in ("confirmed", "failed"):
            return op
        assert time.monotonic() < deadline, op
        time.sleep(0.05)


def test_no_secret_in_any_log_or_in_the_database_files(
    served: tuple[_procs.Proc, str, Path],
) -> None:
    proc, secret_key, data = served
    url = f"sqlite:///{data / 'chainproof.db'}"
    with db.open_session(url) as session:
        _, admin_key = identity.create_api_key(session=session, org="运营方", role="admin")
    api_keys = full_run(proc.url, {"Authorization": f"Bearer {admin_key}"})
    api_keys["admin key"] = admin_key
    custodial = member_keys(url, secret_key)
    assert len(custodial) == 2, "each member's batch is signed with its own custodial key"

    # At rest, while the server still runs: the WAL holds the newest pages.
    at_rest = b"".join(p.read_bytes() for p in data.glob("chainproof.db*") if p.is_file())
    assert leaks(at_rest, api_keys) == [], "API keys in clear in the database files"
    assert leaks(at_rest, custodial) == [], "custodial chain keys in clear in the database"
    assert leaks(at_rest, {"operator key": OPERATOR_KEY, "secret key": secret_key}) == []
    with db.open_session(url) as session:
        stored = {k.key_hash for k in session.exec(select(ApiKey)).all()}
    assert {identity.hash_api_key(k) for n, k in api_keys.items() if n != "wrong key"} <= stored

    code = proc.stop()  # uvicorn shuts down gracefully, then re-raises SIGTERM on itself
    assert code in (0, -15), proc.tail()
    assert "Application shutdown complete" in proc.text()
    log = proc.log.read_bytes()
    assert b"batch anchored" in log and b"POST /api/v1/evidence" in log, "logs not captured"
    everything = {
        **api_keys,
        **custodial,
        "operator key": OPERATOR_KEY,
        "secret key": secret_key,
    }
    assert leaks(log, everything) == [], f"secrets in the server's output:\n{proc.tail()}"


class _InProcess:
    """``full_run``'s main requests through a TestClient (no sockets)."""

    def __init__(self, api: Api) -> None:
        self.api = api

    def run(self, admin: dict[str, str]) -> dict[str, str]:
        c = self.api.client
        keys = {}
        for name, org, role in (
            ("key of A", "示范企业甲", "submitter"),
            ("reviewer", "创新中心", "reviewer"),
        ):
            made = c.post("/api/v1/keys", json={"org": org, "role": role}, headers=admin)
            keys[name] = made.json()["key"]
        a = {"Authorization": f"Bearer {keys['key of A']}"}
        up = c.post("/api/v1/evidence", headers=a, files={"file": ("a.pdf", b"secret doc")})
        evidence_id = up.json()["items"][0]["id"]
        self.api.wait_anchored(evidence_id)
        receipt = c.get(f"/api/v1/evidence/{evidence_id}/receipt", headers=a).json()
        assert c.post("/api/v1/receipts/verify", json=receipt).json()["valid"] is True
        revoke = c.post(f"/api/v1/evidence/{evidence_id}/revoke", json={"reason": "x"}, headers=a)
        assert revoke.status_code == 202
        assert _settled(c, revoke.json()["id"], a)["status"] == "confirmed"
        wrong = "cpk_" + secrets.token_urlsafe(32)[:43]
        keys["wrong key"] = wrong
        bad = c.get("/api/v1/keys", headers={"Authorization": f"Bearer {wrong}"})
        assert bad.status_code == 401
        assert c.post("/api/v1/verify", json={"digest": keys["key of A"]}).status_code == 422
        return keys


def test_no_secret_in_debug_logs_in_process(
    start_api: StartApi, capfd: pytest.CaptureFixture[str]
) -> None:
    """The same kind of run in process, every stdlib logger at DEBUG (web3, httpx, ...)."""
    secret_key = secrets.token_urlsafe(32)
    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(self.format(record))

    handler = Keep(level=logging.DEBUG)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        api = start_api(secret_key=secret_key)
        admin = api.key("运营方", "admin")
        keys = _InProcess(api).run(admin)
        keys["admin key"] = admin["Authorization"].split()[1]
        custodial = member_keys(api.url, secret_key)
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    out, err = capfd.readouterr()
    text = ("\n".join(records) + out + err).encode()
    assert records, "no stdlib log record captured"
    everything = {**keys, **custodial, "operator key": DEV_OPERATOR_KEY, "secret key": secret_key}
    assert leaks(text, everything) == []


# --- settings ---------------------------------------------------------------------------------


def test_production_refuses_the_default_secrets(tmp_path: Path) -> None:
    real_key = "0x" + secrets.token_hex(32)
    real_secret = secrets.token_urlsafe(32)
    # pydantic wraps the ConfigError raised by the validator in its ValidationError.
    with pytest.raises(ValidationError, match="OPERATOR_KEY"):
        Settings(env="production", secret_key=real_secret)
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        Settings(env="production", operator_key=real_key)
    public = {
        "public_rpc_url": "https://rpc.example.org",
        "public_url": "https://proof.example.org",
    }
    assert Settings(env="production", operator_key=real_key, secret_key=real_secret, **public)
    # The node's own URL (a token in it, maybe) is never published: production names one.
    with pytest.raises(ValidationError, match="PUBLIC_RPC_URL"):
        Settings(env="production", operator_key=real_key, secret_key=real_secret)
    with pytest.raises(ValidationError, match="PUBLIC_URL"):
        Settings(
            env="production",
            operator_key=real_key,
            secret_key=real_secret,
            public_rpc_url="https://rpc.example.org",
        )
    assert Settings(env="development")  # the defaults are for development only

    # The command refuses to start: one red line, exit 2, no secret printed.
    proc = _procs.serve(
        tmp_path / "data", chain="embedded", log=tmp_path / "serve.log", CHAINPROOF_ENV="production"
    ).start()
    assert proc.proc is not None
    assert proc.proc.wait(timeout=60) == 2, proc.tail()
    text = proc.text()
    assert "CHAINPROOF_OPERATOR_KEY is the public development key" in text
    assert "Traceback" not in text
    assert leaks(text.encode(), {"dev key": DEV_OPERATOR_KEY, "dev secret": DEV_SECRET_KEY}) == []


def test_production_refuses_every_public_key_and_weak_secrets() -> None:
    strong = secrets.token_urlsafe(32)
    accepted = []
    for i, key in enumerate(DEV_PRIVATE_KEYS):
        try:
            Settings(env="production", operator_key=key, secret_key=strong)
        except ValidationError:
            continue
        accepted.append(f"dev key {i} accepted")
    try:
        Settings(env="production", operator_key="0x" + secrets.token_hex(32), secret_key="x")
        accepted.append("a one-character secret key accepted")
    except ValidationError:
        pass
    assert not accepted, accepted


def test_a_refused_setting_does_not_print_the_secrets() -> None:
    real_secret = secrets.token_urlsafe(32)
    real_key = "0x" + secrets.token_hex(32)
    for values in (
        {"secret_key": real_secret},  # default operator key: refused
        {"operator_key": real_key},  # default secret key: refused
    ):
        with pytest.raises(ValidationError) as caught:
            Settings(env="production", **values)
        text = str(caught.value) + repr(caught.value.errors())
        assert leaks(text.encode(), {"secret key": real_secret, "operator key": real_key}) == []


# --- rate limits ------------------------------------------------------------------------------


@pytest.fixture
def limited(start_api: StartApi) -> Iterator[Api]:
    """An app with the rate limiter installed as api/app.py should (5 anchors, 3 keys a
    minute), on the module's chain."""
    base = start_api(run_batcher=False)
    chain = base.client.app.state.runtime.chain  # type: ignore[attr-defined]
    app = create_app(base.settings, chain=chain, run_batcher=False)
    app.add_middleware(RateLimitMiddleware, rules=default_rules(anchor="5/minute", keys="3/minute"))
    with TestClient(app) as client:
        yield Api(client=client, settings=base.settings)


def test_anchoring_is_rate_limited_per_key_with_retry_after(limited: Api) -> None:
    api = limited
    a, b = api.key("示范企业甲", "submitter"), api.key("示范企业乙", "submitter")

    def anchor(headers: dict[str, str], files: bool = False) -> Any:
        if files:
            return api.client.post("/api/v1/evidence", headers=headers, files={"file": ("f", b"x")})
        return api.client.post(
            "/api/v1/evidence/digests", headers=headers, json={"digests": ["0x" + "ab" * 32]}
        )

    for i in range(5):  # the burst: files and digests share one budget
        assert anchor(a, files=i % 2 == 0).status_code == 202
    refused = anchor(a)
    error = assert_error(refused, 429, "too_many_requests")
    retry = int(refused.headers["retry-after"])
    assert 1 <= retry <= 60 and error["retry_after"] == retry
    assert_error(anchor(a, files=True), 429)
    assert anchor(b).status_code == 202, "one member's burst must not block another"
    assert api.count() == 6, "a refused request stored something"
    for _ in range(10):  # reading and verifying are not limited
        verdict = api.client.post("/api/v1/verify", json={"digest": "0x" + "ab" * 32})
        assert verdict.status_code == 200


def test_key_creation_and_anonymous_floods_are_limited(limited: Api) -> None:
    api = limited
    admin = api.key("运营方", "admin")
    for _ in range(3):
        made = api.client.post("/api/v1/keys", json={"org": "x", "role": "reviewer"}, headers=admin)
        assert made.status_code == 201
    fourth = api.client.post("/api/v1/keys", json={"org": "x", "role": "admin"}, headers=admin)
    assert_error(fourth, 429)
    # No key: counted by client address, refused before authentication or the body.
    for _ in range(5):
        assert api.client.post("/api/v1/evidence/digests", json={}).status_code == 401
    assert_error(api.client.post("/api/v1/evidence/digests", json={}), 429)
    with db.open_session(api.url) as session:
        assert len(identity.list_api_keys(session=session)) == 1 + 3


def test_the_app_installs_the_rate_limiter() -> None:
    app = create_app(Settings(env="test", data_dir=Path("/nonexistent/ratelimit")))
    assert any(m.cls is RateLimitMiddleware for m in app.user_middleware)


# --- what a bug leaves in the log ---------------------------------------------------------------


def test_an_unexpected_error_logs_a_plain_traceback_without_locals_or_keys(
    start_api: StartApi, capfd: pytest.CaptureFixture[str]
) -> None:
    """structlog's default renderer printed every frame's locals (30-60k lines for one error,
    the caller's Bearer key among them); logs.py renders plain tracebacks and redacts."""
    api = start_api(run_batcher=False)
    admin = api.key("运营方", "admin")
    token = admin["Authorization"].split()[1]

    def boom(request: Request) -> None:
        caller_key_for_test = request.headers["authorization"]  # a local worth stealing
        size = len(caller_key_for_test)  # (the raising line below does not name it)
        raise RuntimeError(f"boom after reading {size} characters")

    app = api.client.app
    app.add_api_route("/__test/boom", boom, methods=["GET"])  # type: ignore[attr-defined]
    capfd.readouterr()
    # No `with`: the lifespan already ran under api.client; this client only re-raises less.
    client = TestClient(app, raise_server_exceptions=False)
    r = client.get("/__test/boom", headers=admin)
    assert_error(r, 500, "internal")
    assert token not in r.text
    out, err = capfd.readouterr()
    text = out + err
    assert "unhandled error" in text and "RuntimeError: boom after reading" in text, text[-2000:]
    assert "Traceback (most recent call last)" in text, "no traceback logged at all"
    assert "caller_key_for_test" not in text, "local variables were rendered"
    assert leaks(text.encode(), {"bearer key": token}) == []
    assert len(text) < 30_000, f"{len(text)} characters logged for one error"
