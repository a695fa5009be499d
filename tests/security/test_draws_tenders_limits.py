"""Anonymous routes of issue #21 are bounded before any work: a relayed tender commitment or
reveal is an operator transaction (the anchoring budget, per address), a tender view reads
the chain's logs (the explorer budget), a draw view builds a receipt (the scan budget)."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.exceptions import StarletteDeprecationWarning

from chainproof.api.app import create_app
from chainproof.config import Settings

with warnings.catch_warnings():
    warnings.filterwarnings(
        "ignore",
        message="Using `httpx` with `starlette.testclient`",
        category=StarletteDeprecationWarning,
    )
    from fastapi.testclient import TestClient


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(
        env="test",
        data_dir=tmp_path / "data",
        database_url=f"sqlite:///{tmp_path / 'cp.db'}",
        chain="embedded",
        rate_limit_anchor="2/minute",
        rate_limit_explorer="2/minute",
        rate_limit_scan="2/minute",
    )
    with TestClient(create_app(settings, run_batcher=False)) as c:
        yield c


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/v1/tenders/T-1/commitments"),
        ("POST", "/api/v1/tenders/T-1/reveals"),
        ("GET", "/api/v1/tenders/T-1"),
        ("GET", "/tenders/T-1"),
        ("GET", "/api/v1/draws/01938f4e-7c2a-7b3d-9e1f-0a2b3c4d5e6f"),
        ("GET", "/draws/01938f4e-7c2a-7b3d-9e1f-0a2b3c4d5e6f"),
    ],
)
def test_anonymous_issue_21_routes_are_rate_limited(
    client: TestClient, method: str, path: str
) -> None:
    answers = [client.request(method, path, json={}).status_code for _ in range(3)]
    assert 429 not in answers[:2], answers
    assert answers[2] == 429, answers
