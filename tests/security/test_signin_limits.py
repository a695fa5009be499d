"""The anonymous sign-in route is bounded (issue 17): rate-limited per address by the
existing limiter, locked out per address after repeated failures, and never asked to hash
more than a password's worth. An app of its own (TestClient) with small budgets; on the
code before, ``/signin`` was a 404 and none of this held.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.exceptions import StarletteDeprecationWarning

from chainproof.api.app import create_app
from chainproof.chain.context import ChainContext
from chainproof.config import Settings

from ..signin import PASSWORD, make_person

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx`", category=StarletteDeprecationWarning)
    from fastapi.testclient import TestClient


def _client(chain: ChainContext, tmp: Path, **budgets: str) -> Iterator[tuple[TestClient, str]]:
    settings = Settings(
        env="test",
        data_dir=tmp,
        database_url=f"sqlite:///{tmp / 'chainproof.db'}",
        chain="embedded",
        **budgets,
    )
    with TestClient(create_app(settings, chain=chain, run_batcher=False)) as client:
        yield client, settings.resolved_database_url


@pytest.fixture
def limited(chain: ChainContext, tmp_path: Path) -> Iterator[tuple[TestClient, str]]:
    yield from _client(chain, tmp_path, rate_limit_signin="3/minute")


@pytest.fixture
def lockable(chain: ChainContext, tmp_path: Path) -> Iterator[tuple[TestClient, str]]:
    yield from _client(chain, tmp_path, signin_lockout_address="3/15minutes")


def test_sign_in_posts_are_rate_limited_per_address(limited: tuple[TestClient, str]) -> None:
    client, _ = limited
    for _ in range(3):
        answer = client.post("/signin", data={"email": "a@example.org", "password": "x" * 12})
        assert answer.status_code == 200
    refused = client.post("/signin", data={"email": "b@example.org", "password": "x" * 12})
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "too_many_requests"
    assert int(refused.headers["retry-after"]) >= 1
    # The invitation form shares the budget: it hashes a password too.
    assert client.post("/invite", data={"token": "cpi_x"}).status_code == 429


def test_failures_from_one_address_lock_it_out_for_every_account(
    lockable: tuple[TestClient, str],
) -> None:
    client, database_url = lockable
    email = make_person(database_url, "示范企业甲", "submitter")
    for n in range(3):  # three different emails: the account lock-out (5) never trips
        answer = client.post(
            "/signin", data={"email": f"guess{n}@example.org", "password": "wrong password"}
        )
        assert answer.status_code == 200
    locked = client.post(
        "/signin",
        data={"email": email, "password": PASSWORD, "next": "/review"},
        follow_redirects=False,
    )
    assert locked.status_code == 429
    assert "set-cookie" not in locked.headers
    assert "网络地址" in locked.text and "UTC" in locked.text


def test_a_huge_password_is_refused_before_any_hashing(limited: tuple[TestClient, str]) -> None:
    client, _ = limited
    answer = client.post("/signin", data={"email": "a@example.org", "password": "x" * 100_000})
    assert answer.status_code == 422
