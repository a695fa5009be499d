"""The public scan page on a phone: the browser re-verifies the history with Web Crypto and
reads the head from the chain itself where it can, so a lying server is caught."""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

import pytest
from eth_utils import keccak
from playwright.sync_api import Page
from sqlmodel import Session

from chainproof import identity
from chainproof.chain.nodes import free_port
from chainproof.chain.trace_registry import OnChainHead
from chainproof.store import db
from chainproof.trace import demo as trace_demo
from chainproof.trace import scan
from chainproof.trace.demo import seed_trace_demo
from tests.e2e.conftest import LiveServer, shot
from tests.factories import hide_newest_event


def test_scan_page_checks_in_the_browser_and_takes_no_verdict_from_the_server(
    live_server: LiveServer, phone: Page
) -> None:
    """An in-process chain has no node the browser could ask: the page recomputes every
    event hash, the chain and the item's salted key, shows the head the server reports and
    whose word it is, and says "unverifiable", never "verified" (issue #14, finding 7)."""
    engine = db.make_engine(live_server.settings.resolved_database_url)
    try:
        demo = seed_trace_demo(engine=engine)  # heads go on chain through the API below
    finally:
        engine.dispose()
    published = live_server.post(
        "/api/v1/trace/publish", headers={"Authorization": f"Bearer {live_server.admin_key}"}
    )
    assert published.status_code == 200, published.text
    path = demo.scan_paths[0]  # a 融安金桔 box: sorting (packed) → cold chain → market
    view = live_server.get("/api/v1/trace/items/" + path.removeprefix("/t/")).json()
    assert view["badge"] == "verified", view["badge_reason"]  # the server's own word
    served = live_server.get(path).text
    assert 'data-badge="checking"' in served and 'data-badge="verified"' not in served
    phone.goto(live_server.url + path)
    badge = phone.locator("#trace-badge[data-checked=browser]")
    badge.wait_for()
    assert badge.get_attribute("data-badge") == "unverifiable"
    assert badge.get_attribute("data-reason") == "server_only"
    assert "已验证" not in badge.inner_text()
    assert phone.get_by_test_id("trace-event").count() == 7
    # People read places and local clock times, not GLNs and ISO instants.
    first = phone.get_by_test_id("trace-event").first
    assert first.get_by_test_id("trace-place").inner_text() == "融安金桔分拣包装中心"
    assert "2024-11-18 14:00 (UTC+08:00)" in first.inner_text()
    assert phone.locator(".trace-check.ok").count() == 7
    onchain = view["onchain"]
    assert onchain["available"], view["badge_reason"]
    assert phone.get_by_test_id("trace-computed-head").inner_text() == onchain["head"]
    # The salted key, computed in the browser from the code and the salt shown (hash-wasm keccak).
    salt = bytes.fromhex(view["salt"][2:])
    expected_key = "0x" + keccak(salt + view["uri"].encode()).hex()
    assert phone.get_by_test_id("trace-computed-key").inner_text() == expected_key
    assert int(phone.get_by_test_id("trace-scan-count").inner_text()) >= 1
    assert phone.get_by_test_id("trace-head-source").get_attribute("data-source") == "server"
    shot(phone, "trace-scan-phone")
    assert not getattr(phone, "script_errors", [])


def test_a_server_giving_another_items_key_is_caught(
    live_server: LiveServer, phone: Page, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server answers with the salted key (and so the head) of another item: the key
    the browser computes from the code and salt differs, and the page says so."""
    engine = db.make_engine(live_server.settings.resolved_database_url)
    try:
        demo = seed_trace_demo(engine=engine)
    finally:
        engine.dispose()
    path = demo.scan_paths[1]
    other = live_server.get("/api/v1/trace/items/" + demo.scan_paths[2].removeprefix("/t/"))
    real = scan.scan_view

    def swapped(**kwargs: Any) -> dict[str, Any]:
        view = real(**kwargs)
        view["item_key"] = other.json()["item_key"]
        return view

    monkeypatch.setattr(scan, "scan_view", swapped)
    phone.goto(live_server.url + path)
    badge = phone.locator("#trace-badge[data-checked=browser]")
    badge.wait_for()
    assert badge.get_attribute("data-badge") == "incomplete"
    assert badge.get_attribute("data-reason") == "key_mismatch"


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


def test_with_the_node_unreachable_the_page_does_not_say_verified(
    anvil_server: LiveServer, phone: Page, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server reads the chain and calls the item verified, but the RPC URL the page
    names does not answer the browser: the page says unverifiable, on whose word the head
    is, and no "verified" (before issue #14 it fell back to the server's head and said
    verified)."""
    live = anvil_server
    engine = db.make_engine(live.settings.resolved_database_url)
    try:
        demo = seed_trace_demo(engine=engine)
    finally:
        engine.dispose()
    published = live.post(
        "/api/v1/trace/publish", headers={"Authorization": f"Bearer {live.admin_key}"}
    )
    assert published.status_code == 200, published.text
    path = demo.scan_paths[3]  # a 螺蛳粉 bag
    assert live.get("/api/v1/trace/items/" + path.removeprefix("/t/")).json()["badge"] == (
        "verified"
    )
    dead = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setattr(live.settings, "public_rpc_url", dead)
    phone.goto(live.url + path)
    badge = phone.locator("#trace-badge[data-checked=browser]")
    badge.wait_for()
    assert badge.get_attribute("data-badge") == "unverifiable"
    assert badge.get_attribute("data-reason") == "server_only"
    assert "已验证" not in phone.locator("body").inner_text()
    assert phone.get_by_test_id("trace-head-source").get_attribute("data-source") == "server"


def test_a_recall_lifted_on_chain_shows_on_the_scan_page(
    anvil_server: LiveServer, phone: Page
) -> None:
    """The noodle lot's owner recalls it, then lifts the recall with a reason; both go on
    chain (TraceRegistry v2 ``recall`` / ``liftRecall``). A bag made from the lot shows
    "recalled" while the recall is in force, then the history: recalled at, lifted at, both
    reasons, and the chain's state; its badge is the browser's own again."""
    live = anvil_server
    engine = db.make_engine(live.settings.resolved_database_url)
    try:
        demo = seed_trace_demo(engine=engine)
        with Session(engine) as s:
            _, key = identity.create_api_key(session=s, org="柳州螺蛳粉原料基地", role="submitter")
    finally:
        engine.dispose()
    owner = {"Authorization": f"Bearer {key}"}
    admin = {"Authorization": f"Bearer {live.admin_key}"}
    lot = f"01/{trace_demo.NOODLE}/10/MF2411"
    path = demo.scan_paths[4]  # a 螺蛳粉 bag made from the noodle lot

    r = live.post("/api/v1/trace/recalls", json={"lot": lot, "reason": "抽检不合格"}, headers=owner)
    assert r.status_code == 201, r.text
    # The recall goes on chain through the chain writer; its operation says when it landed.
    _landed(live, r.json()["operation"]["id"], owner)
    phone.goto(live.url + path)
    badge = phone.locator("#trace-badge[data-checked=browser]")
    badge.wait_for()
    assert badge.get_attribute("data-badge") == "recalled"
    entry = phone.get_by_test_id("trace-recall-entry")
    assert entry.count() == 1 and entry.get_attribute("data-state") == "in_force"
    assert (
        phone.get_by_test_id("trace-recall-chain-state").get_attribute("data-chain-recalled-at")
        != "0"
    )

    lifted = live.post(
        "/api/v1/trace/recalls/lift", json={"lot": lot, "reason": "复检合格"}, headers=owner
    )
    assert lifted.status_code == 200, lifted.text
    _landed(live, lifted.json()["operation"]["id"], owner)
    assert live.post("/api/v1/trace/publish", headers=admin).json()["lifts"] == 0  # sent already
    phone.goto(live.url + path)
    badge.wait_for()
    assert badge.get_attribute("data-badge") == "verified"  # read from the chain by the browser
    assert phone.get_by_test_id("trace-head-source").get_attribute("data-source") == "chain"
    assert phone.get_by_test_id("trace-recall").count() == 0  # no recall in force
    assert entry.get_attribute("data-state") == "lifted"
    history = phone.get_by_test_id("trace-recall-history").inner_text()
    assert "抽检不合格" in history and "复检合格" in history and "解除召回" in history
    state = phone.get_by_test_id("trace-recall-chain-state")
    assert state.get_attribute("data-chain-recalled-at") == "0"
    assert int(state.get_attribute("data-chain-lifted-at") or 0) > 0
    assert "召回已解除" in state.inner_text()
    shot(phone, "trace-scan-recall-lifted")


def _landed(live: LiveServer, op_id: str, headers: dict[str, str]) -> None:
    """Polls the chain operation until it is confirmed (bounded: liveness, not speed)."""
    deadline = time.monotonic() + 60
    status = "queued"
    while time.monotonic() < deadline:
        status = live.get(f"/api/v1/operations/{op_id}", headers=headers).json()["status"]
        if status in ("confirmed", "failed"):
            break
        time.sleep(0.05)
    assert status == "confirmed", status
