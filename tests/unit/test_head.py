"""``HEAD`` answers like ``GET`` without the body, on pages and API routes;
a route without ``GET`` still refuses it (api/head.py)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient


@pytest.mark.parametrize("path", ["/", "/verify", "/healthz", "/api/v1/chain", "/openapi.json"])
def test_head_is_get_without_the_body(client: TestClient, path: str) -> None:
    got = client.get(path)
    head = client.head(path)
    assert got.status_code == 200 and head.status_code == 200, (got.text, head.text)
    assert head.content == b""
    assert head.headers["content-type"] == got.headers["content-type"]
    assert int(head.headers["content-length"]) == len(got.content)


def test_head_follows_get_on_errors_and_other_methods(client: TestClient) -> None:
    assert client.head("/no/such/page").status_code == client.get("/no/such/page").status_code
    # POST-only: HEAD is refused as GET is, never run as the POST.
    assert client.get("/api/v1/verify").status_code == 405
    assert client.head("/api/v1/verify").status_code == 405
