"""The public scan page on a phone: the browser re-verifies the history with Web Crypto and
reads the head from the chain itself where it can, so a lying server is caught."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from playwright.sync_api import Page

from chainproof.chain.trace_registry import OnChainHead
from chainproof.store import db
from chainproof.trace import scan
from chainproof.trace.demo import seed_trace_demo
from tests.e2e.conftest import LiveServer, shot
from tests.factories import hide_newest_event


def test_scan_page_verifies_in_the_browser_on_a_phone(live_server: LiveServer, phone: Page) -> None:
    engine = db.make_engine(live_server.settings.resolved_database_url)
    try:
        demo = seed_trace_demo(engine=engine)  # heads go on chain through the API below
    finally:
        engine.dispose()
    published = live_server.post(
        "/api/v1/trace/publish", headers={"Authorization": f"Bearer {live_server.admin_key}"}
    )
    assert published.status_code == 200, published.text
    path = demo.scan_paths[0]  # a 融安金桔 box: orchard → sorting → cold chain → market
    phone.goto(live_server.url + path)
    badge = phone.locator("#trace-badge[data-checked=browser]")
    badge.wait_for()
    assert badge.get_attribute("data-badge") == "verified"
    assert phone.get_by_test_id("trace-event").count() == 4
    # People read places and local clock times, not GLNs and ISO instants.
    first = phone.get_by_test_id("trace-event").first
    assert first.get_by_test_id("trace-place").inner_text() == "融安金桔分拣包装中心"
    assert "2024-11-18 14:00 (UTC+08:00)" in first.inner_text()
    assert phone.locator(".trace-check.ok").count() == 4
    view = live_server.get("/api/v1/trace/items/" + path.removeprefix("/t/")).json()
    onchain = view["onchain"]
    assert onchain["available"], view["badge_reason"]
    assert phone.get_by_test_id("trace-computed-head").inner_text() == onchain["head"]
    assert int(phone.get_by_test_id("trace-scan-count").inner_text()) >= 1
    # An in-process chain has no RPC URL a browser could ask: the page says whose word the
    # head is.
    assert phone.get_by_test_id("trace-head-source").get_attribute("data-source") == "server"
    assert "已验证" in badge.inner_text()
    shot(phone, "trace-scan-phone")
    assert not getattr(phone, "script_errors", [])


def test_the_browser_reads_the_head_from_the_chain_and_catches_a_lying_server(
    anvil_server: LiveServer, phone: Page, monkeypatch: pytest.MonkeyPatch
) -> None:
    live = anvil_server
    engine = db.make_engine(live.settings.resolved_database_url)
    try:
        demo = seed_trace_demo(engine=engine)
        published = live.post(
            "/api/v1/trace/publish", headers={"Authorization": f"Bearer {live.admin_key}"}
        )
        assert published.status_code == 200, published.text
        path = demo.scan_paths[0]
        code = path.removeprefix("/t/")
        honest = live.get("/api/v1/trace/items/" + code).json()
        assert honest["onchain"]["rpc_url"], honest["onchain"]

        phone.goto(live.url + path)
        badge = phone.locator("#trace-badge[data-checked=browser]")
        badge.wait_for()
        assert badge.get_attribute("data-badge") == "verified"
        source = phone.get_by_test_id("trace-head-source")
        assert source.get_attribute("data-source") == "chain"
        assert honest["onchain"]["rpc_url"] in source.inner_text()

        # The server hides the item's newest event and lies about the chain to match: the
        # page it sends claims the head and count of the shortened history.
        hide_newest_event(live.settings.resolved_database_url, code=code)
        shown = live.get("/api/v1/trace/items/" + code).json()["events"]
        assert len(shown) == honest["onchain"]["count"] - 1
        fake_head, fake_count = shown[-1]["link"], len(shown)

        # The server's own chain reads are forged to match (monkeypatched in this process,
        # where the live server runs): the page it sends claims the shortened history's
        # head and count, and renders "verified".
        real = scan.trace_chain

        def forged(*args: Any, **kwargs: Any) -> Any:
            tc = real(*args, **kwargs)
            client = SimpleNamespace(
                head_of=lambda key: OnChainHead(fake_head, fake_count, 1),
                recalled_at=tc.client.recalled_at,
            )
            return SimpleNamespace(chain_id=tc.chain_id, contract=tc.contract, client=client)

        monkeypatch.setattr(scan, "trace_chain", forged)
        assert live.get("/api/v1/trace/items/" + code).json()["badge"] == "verified"
        phone.goto(live.url + path)
        badge.wait_for()
        assert badge.get_attribute("data-badge") == "incomplete"
        assert badge.get_attribute("data-reason") == "head_mismatch"
        assert source.get_attribute("data-source") == "chain"
        # The page shows the chain's figures, and what the server claimed instead.
        assert phone.get_by_test_id("trace-onchain-count").inner_text() == str(fake_count + 1)
        assert phone.get_by_test_id("trace-onchain-head").inner_text() == honest["onchain"]["head"]
        assert fake_head in phone.get_by_test_id("trace-server-claim").inner_text()
        shot(phone, "trace-scan-lying-server")
        assert not getattr(phone, "script_errors", [])
    finally:
        engine.dispose()
