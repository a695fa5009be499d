"""/draws/{id}: the draw recomputed in a real browser, on a server whose own reveal job runs.

The server under test is the full runtime on a managed Anvil (batcher, and beside it the
draws revealer): the test only commits a draw through the API and mines blocks; the server
anchors the commitment and reveals the secret by itself. The page's script then recomputes
commitments, record, seed and shuffle with hash-wasm, and asks Anvil for the target block's
hash. A selection changed in the server's database is shown as not matching.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx
from sqlmodel import select

from chainproof.draws.models import Draw
from chainproof.store import db

from ..signin import sign_in_browser
from .conftest import LiveServer

if TYPE_CHECKING:
    from playwright.sync_api import Page

CANDIDATES = [f"申请{i}" for i in range(12)]


def _mine(server: LiveServer, blocks: int) -> None:
    rpc = server.settings.public_rpc_url
    assert rpc is not None
    body = {"jsonrpc": "2.0", "id": 1, "method": "anvil_mine", "params": [hex(blocks)]}
    assert "error" not in httpx.post(rpc, json=body, timeout=30).json()


def _drawn(server: LiveServer) -> dict[str, Any]:
    created = server.post(
        "/api/v1/draws",
        headers={"Authorization": f"Bearer {server.admin_key}"},
        json={"title": "页面抽查", "candidates": CANDIDATES, "count": 3, "blocks_ahead": 12},
    )
    assert created.status_code == 201, created.text
    draw_id = created.json()["id"]
    deadline = time.monotonic() + 60
    while True:
        draw: dict[str, Any] = server.get(f"/api/v1/draws/{draw_id}").json()
        if draw["status"] != "committed":
            return draw
        assert time.monotonic() < deadline, draw
        if draw["commitments"]["anchor_block"] is not None:
            _mine(server, 3)  # the target block, and the depth the finality policy asks
        time.sleep(0.2)


def test_the_draw_page_recomputes_the_selection_in_the_browser(
    anvil_server: LiveServer, page: Page
) -> None:
    draw = _drawn(anvil_server)
    assert draw["status"] == "drawn", draw  # revealed by the server's own job
    page.goto(f"{anvil_server.url}/draws/{draw['id']}?lang=en")
    check = page.get_by_test_id("draw-check")
    page.wait_for_function(
        "() => document.getElementById('draw-check').dataset.state !== 'checking'"
    )
    assert check.get_attribute("data-state") == "ok", check.inner_text()
    assert ", ".join(draw["selected"]) in check.inner_text()
    page.wait_for_function("() => document.getElementById('draw-node').dataset.state !== undefined")
    assert page.get_by_test_id("draw-node").get_attribute("data-state") == "ok"

    # The operator swaps the selection in the database: the browser says it is not the draw.
    with db.open_session(anvil_server.settings.resolved_database_url) as session:
        row = session.exec(select(Draw).where(Draw.public_id == draw["id"])).one()
        picked = [c for c in CANDIDATES if c not in draw["selected"]][:3]
        row.selected = picked
        session.add(row)
        session.commit()
    page.reload()
    page.wait_for_function(
        "() => document.getElementById('draw-check').dataset.state !== 'checking'"
    )
    assert check.get_attribute("data-state") == "bad", check.inner_text()


def test_a_signed_in_reviewer_draws_a_spot_audit_from_the_queue(
    anvil_server: LiveServer, page: Page
) -> None:
    admin = {"Authorization": f"Bearer {anvil_server.admin_key}"}
    deadline = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    rounds = anvil_server.post(
        "/api/v1/subsidy/rounds",
        headers=admin,
        json={"code": "spot-e2e", "name": "抽查", "deadline": deadline},
    )
    assert rounds.status_code == 201, rounds.text
    created = anvil_server.post(
        "/api/v1/subsidy/applications",
        headers={"Authorization": f"Bearer {anvil_server.submitter_key}"},
        json={
            "round": "spot-e2e",
            "scope_category": "区块链+农业",
            "scope_field": "农产品溯源",
            "project_name": "抽查项目",
            "summary": "抽查。",
            "requests": ["cash", "cloud"],
            "self_investment_wan": "60",
            "headcount": 8,
            "packages": ["platform-user-basic"],
        },
    )
    assert created.status_code == 201, created.text
    sign_in_browser(
        page, anvil_server.url, anvil_server.settings.resolved_database_url, "抽查中心", "reviewer"
    )
    page.goto(f"{anvil_server.url}/review?lang=en")
    page.select_option("#spot-status", "draft")
    page.fill("#spot-count", "1")
    page.get_by_test_id("spot-form").get_by_role("button").click()
    link = page.get_by_test_id("spot-link")
    link.wait_for()
    draw_id = link.inner_text()
    draw = anvil_server.get(f"/api/v1/draws/{draw_id}").json()
    assert draw["purpose"] == "spot_audit"
    assert f"application-{created.json()['id']}" in draw["candidates"]
    link.click()
    page.wait_for_url(f"**/draws/{draw_id}")
    assert page.get_by_test_id("draw-status").inner_text()
