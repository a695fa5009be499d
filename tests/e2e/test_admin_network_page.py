"""The admin panel's network page (issue 25) in Chromium: with two RPC endpoints of which one
is stopped, it shows that one down (with why) and the other up; the audit page lists what
the admin did. A submitter is refused both pages."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, expect

from chainproof import identity
from chainproof.api.app import create_app
from chainproof.chain.context import open_chain
from chainproof.chain.endpoints import pool_of
from chainproof.chain.managed import AnvilNode
from chainproof.config import DEV_OPERATOR_KEY, Settings
from chainproof.store import db
from tests.consortium import MakeProxy
from tests.signin import sign_in_browser

from .conftest import _free_port

pytestmark = pytest.mark.chain


@pytest.fixture
def pool_server(
    network: AnvilNode, make_proxy: MakeProxy, tmp_path: Path
) -> Iterator[tuple[str, Settings, list[int]]]:
    import uvicorn

    up, down = make_proxy(network), make_proxy(network)
    chain = open_chain(
        chain=f"{up.url},{down.url}", data_dir=tmp_path / "chain", operator_key=DEV_OPERATOR_KEY
    )
    pool = pool_of(chain.node)
    assert pool is not None
    down.drop = True  # stopped after the deployment
    pool.check()
    port = _free_port()
    settings = Settings(
        env="test",
        data_dir=tmp_path / "data",
        database_url=f"sqlite:///{tmp_path / 'chainproof.db'}",
        chain="anvil",
        public_url=f"http://127.0.0.1:{port}",
        batch_interval_ms=50,
        rate_limit_signin="100000/minute",
    )
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, chain=chain),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            ws="none",
            lifespan="on",
        )
    )
    thread = threading.Thread(target=server.run, name="e2e-network-uvicorn", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}", settings, [up.port, down.port]
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        chain.stop()


def test_the_network_page_shows_the_stopped_endpoint_down_and_the_other_up(
    browser: Browser, pool_server: tuple[str, Settings, list[int]]
) -> None:
    base, settings, (up_port, down_port) = pool_server
    url = settings.resolved_database_url
    with db.open_session(url) as session:
        _, admin_key = identity.create_api_key(session=session, org="运营方", role="admin")
    made = httpx.post(  # an audited action for the audit page to show
        base + "/api/v1/keys",
        json={"org": "甲", "role": "submitter"},
        headers={"Authorization": f"Bearer {admin_key}"},
        timeout=30,
    )
    assert made.status_code == 201, made.text
    context = browser.new_context()
    try:
        page = context.new_page()
        sign_in_browser(page, base, url, "运营方", "admin")
        page.goto(base + "/admin/network")
        down = page.locator(f"#endpoints tr:has-text('127.0.0.1:{down_port}')")
        up = page.locator(f"#endpoints tr:has-text('127.0.0.1:{up_port}')")
        expect(down).to_have_attribute("data-state", "down")
        expect(down).to_contain_text("no answer")
        expect(up).to_have_attribute("data-state", "preferred")
        expect(page.locator("#net-warnings")).to_contain_text(f"127.0.0.1:{down_port} is down")

        page.goto(base + "/admin/audit")
        expect(page.locator("#audit tbody tr").first).to_contain_text("key.create")
        expect(page.locator("#audit tbody tr").first).to_contain_text(f"key:{made.json()['id']}")
    finally:
        context.close()

    stranger = browser.new_context()
    try:
        page = stranger.new_page()
        sign_in_browser(page, base, url, "甲", "submitter")
        for path in ("/admin/network", "/admin/audit"):
            answer = page.goto(base + path)
            assert answer is not None and answer.status == 403
    finally:
        stranger.close()
