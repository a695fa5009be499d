"""The API as the suites drive it: an embedded chain shared by a module, apps started on it
(each on its own data directory and SQLite database), and the helpers around them.

Registered as a pytest plugin (``tests/conftest.py``), so every suite has the fixtures
``chain``, ``start_api``, ``api``, ``role_keys`` and ``submitter``; a module that needs
another chain defines its own ``chain``. The helpers (:class:`Api`, :func:`assert_error`,
:func:`multipart`) are imported from here.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func
from sqlmodel import select

from chainproof import identity
from chainproof.chain.context import ChainContext, open_chain
from chainproof.config import DEV_OPERATOR_KEY, Settings
from chainproof.store import db
from chainproof.store.models import Batch, Evidence

__all__ = [
    "ANCHOR_KEYS",
    "BOUNDARY",
    "MISSING",
    "MULTIPART",
    "RECEIPT_KEYS",
    "WAIT_SECONDS",
    "Api",
    "StartApi",
    "TestClient",
    "assert_error",
    "multipart",
]

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
    """An embedded chain with EvidenceRegistry deployed, shared by the module's tests and
    apps (the one embedded-chain fixture: a module that needs another defines its own)."""
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


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database at the newest revision, made once per test process: apps start on a
    copy of it (a copy costs a millisecond; migrating from nothing, about 0.4 s of CPU)."""
    path = tmp_path_factory.mktemp("template") / "chainproof.db"
    db.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def start_api(chain: ChainContext, tmp_path: Path, migrated_sqlite: Path) -> Iterator[StartApi]:
    """Starts apps on the module's chain, each on its own data dir and SQLite database (a copy
    of the migrated template, which the app's start finds up to date)."""
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
            if "database_url" not in overrides:
                data.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(migrated_sqlite, data / "chainproof.db")
            from chainproof.api.app import create_app  # the app's stack, for API suites only

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
