"""The public scan page on a phone: the browser re-verifies the history with Web Crypto."""

from __future__ import annotations

from playwright.sync_api import Page

from chainproof.store import db
from chainproof.trace.demo import seed_trace_demo
from tests.e2e.conftest import LiveServer, shot


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
    onchain = live_server.get("/api/v1/trace/items/" + path.removeprefix("/t/")).json()["onchain"]
    assert phone.get_by_test_id("trace-computed-head").inner_text() == onchain["head"]
    assert int(phone.get_by_test_id("trace-scan-count").inner_text()) >= 1
    assert "已验证" in badge.inner_text()
    shot(phone, "trace-scan-phone")
    assert not getattr(phone, "script_errors", [])
