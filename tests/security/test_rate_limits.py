"""Rate limits on every anonymous route that costs more than a lookup (issue 14, finding 9),
against a real ``chainproof serve`` started with small budgets.

Each expensive route answers 429 (error envelope, ``Retry-After``) once its budget is spent,
whatever the answer would have been (a 404 costs the lookup too); and a flood of made-up
``Bearer`` keys, which used to get one fresh budget per key, runs out as its address would.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import httpx
import pytest

from . import _procs

LIMIT = 3  # every budget of the server below, per minute
AUTH_FAILURES = 5


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_procs.Proc]:
    """``chainproof serve --chain embedded`` with every anonymous budget at 3 a minute."""
    root = tmp_path_factory.mktemp("rate-limits")
    budget = f"{LIMIT}/minute"
    proc = _procs.serve(
        root / "data",
        chain="embedded",
        log=root / "serve.log",
        CHAINPROOF_RATE_LIMIT_VERIFY=budget,
        CHAINPROOF_RATE_LIMIT_TRACE_HASH=budget,
        CHAINPROOF_RATE_LIMIT_EXPLORER=budget,
        CHAINPROOF_RATE_LIMIT_RENDER=budget,
        CHAINPROOF_RATE_LIMIT_SCAN=budget,
        CHAINPROOF_RATE_LIMIT_AUTH_FAILURES=f"{AUTH_FAILURES}/minute",
    ).start()
    try:
        proc.wait_http("/readyz")
        yield proc
    finally:
        proc.stop()


def _assert_429(response: httpx.Response) -> None:
    assert response.status_code == 429, (response.status_code, response.text[:300])
    assert response.json()["error"]["code"] == "too_many_requests"
    assert 1 <= int(response.headers["retry-after"]) <= 60


EVENT_DOC = {
    "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
    "type": "EPCISDocument",
    "schemaVersion": "2.0",
    "creationDate": "2024-11-01T08:00:00+08:00",
    "epcisBody": {"eventList": []},
}

# (budget, method, path, body): one route per budget; another route of the same budget
# would share it. A different random key on every request: keys buy nothing here.
ROUTES = {
    "verify": ("POST", "/api/v1/verify", {"algorithm": "sha256", "digest": "0x" + "ab" * 32}),
    "receipt": ("POST", "/api/v1/receipts/verify", {"receipt": "not one"}),
    "trace_hash": ("POST", "/api/v1/trace/hash", EVENT_DOC),
    "explorer": ("GET", "/explorer/address/0x" + "00" * 20, None),
    "render": ("GET", "/evidence/1/certificate.pdf", None),
    "scan": ("GET", "/t/unknown-code", None),
}


@pytest.mark.parametrize("name", ["trace_hash", "explorer", "render", "scan"])
def test_each_expensive_anonymous_route_gets_429_after_its_budget(
    limited: _procs.Proc, name: str
) -> None:
    method, path, body = ROUTES[name]
    with httpx.Client(base_url=limited.url, timeout=30) as client:
        for _ in range(LIMIT):
            ok = client.request(method, path, json=body)
            assert ok.status_code != 429, ok.text
        _assert_429(client.request(method, path, json=body))
        # A made-up key does not open a new budget on a public route.
        made_up = {"Authorization": f"Bearer {secrets.token_urlsafe(24)}"}
        _assert_429(client.request(method, path, json=body, headers=made_up))


def test_verify_and_receipt_verify_share_one_budget(limited: _procs.Proc) -> None:
    with httpx.Client(base_url=limited.url, timeout=30) as client:
        for name in ("verify", "receipt", "verify"):
            method, path, body = ROUTES[name]
            assert client.request(method, path, json=body).status_code != 429
        for name in ("verify", "receipt"):
            method, path, body = ROUTES[name]
            _assert_429(client.request(method, path, json=body))


def test_a_flood_of_random_bearer_keys_is_429_per_address(limited: _procs.Proc) -> None:
    """Each key used to be its own caller: a fresh budget per request. Now each 401 counts
    against the address, and past the budget every keyed request from it is refused."""
    statuses = []
    with httpx.Client(base_url=limited.url, timeout=30) as client:
        for _ in range(AUTH_FAILURES + 5):
            key = {"Authorization": f"Bearer {secrets.token_urlsafe(32)}"}
            r = client.post("/api/v1/evidence/digests", json={"digests": []}, headers=key)
            statuses.append(r.status_code)
        assert statuses[:AUTH_FAILURES] == [401] * AUTH_FAILURES, statuses
        assert set(statuses[AUTH_FAILURES:]) == {429}, statuses
        # Any route, any made-up key: the address is out of budget.
        key = {"Authorization": f"Bearer {secrets.token_urlsafe(32)}"}
        _assert_429(client.get("/api/v1/evidence/1", headers=key))
        # Without a key the address is still served where no budget is spent.
        assert client.get("/healthz").status_code == 200
