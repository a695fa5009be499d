"""The licence page ``/l/{id}`` (issue 20) in Chromium against the shared Anvil server: a full
credential and a two-of-five presentation verify in the browser, the three undisclosed values
are not on the page, no field's value is in any request it makes (the fields ride in the
URL's fragment), and a tampered field is refused."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from chainproof import identity
from chainproof.licences.links import presentation_url
from chainproof.store import db

from .conftest import LiveServer
from .test_pages import no_script_errors

if TYPE_CHECKING:
    from playwright.sync_api import Page, Request

pytestmark = pytest.mark.chain

ISSUER_ORG = "广西北部湾电子证照服务有限公司"
CLAIMS = {
    "名称": "钦州港页面核验物流有限公司",
    "统一社会信用代码": "91450700MA5KPAGE9Z",
    "法定代表人": "韦秀英",
    "住所": "钦州市钦南区页面路 7 号",
    "经营范围": "道路货物运输（不含危险货物）",
}
SHOWN = ("名称", "经营范围")


def _issued(live: LiveServer) -> dict[str, Any]:
    """A licence of a fresh issuer org, once its root and issue record are on chain."""
    with db.open_session(live.settings.resolved_database_url) as session:
        _, key = identity.create_api_key(session=session, org=ISSUER_ORG, role="submitter")
    issuer = {"Authorization": f"Bearer {key}"}
    admin = {"Authorization": f"Bearer {live.admin_key}"}
    assert live.post("/api/v1/licences/issuers", headers=admin, json={"org": ISSUER_ORG}).is_success
    kind = {"code": "营业执照", "name": "营业执照", "fields": list(CLAIMS), "validity_days": 365}
    assert live.post("/api/v1/licences/types", headers=issuer, json=kind).status_code in (201, 409)
    body = {"type": "营业执照", "holder": CLAIMS["统一社会信用代码"], "claims": CLAIMS}
    created = live.post("/api/v1/licences", headers=issuer, json=body)
    assert created.status_code == 201, created.text
    deadline = time.monotonic() + 60
    while True:
        got = httpx.get(f"{live.url}/api/v1/licences/{created.json()['id']}", headers=issuer)
        licence: dict[str, Any] = got.json()
        if licence["anchored"] and licence["status_anchored"]:
            return licence
        assert time.monotonic() < deadline, licence
        time.sleep(0.1)


def _check(page: Page, url: str) -> str:
    """Opens ``url`` and returns the page's verdict once it has one."""
    page.goto(url)
    page.wait_for_function(
        "() => document.getElementById('licence-verdict').dataset.verdict !== 'working'",
        timeout=60_000,
    )
    return str(page.get_attribute("#licence-verdict", "data-verdict"))


def test_full_credential_presentation_and_tamper(anvil_server: LiveServer, page: Page) -> None:
    licence = _issued(anvil_server)
    claims = licence["credential"]["credentialSubject"]["claims"]
    sent: list[str] = []

    def log(request: Request) -> None:
        sent.append(request.url + " " + (request.post_data or ""))

    page.on("request", log)

    # The full credential: every field in the link's fragment, all verified on this device.
    full = presentation_url(anvil_server.url, licence["id"], claims, CLAIMS)
    assert _check(page, full) == "valid", page.inner_text("#licence-checks")
    shown = {
        row.get_attribute("data-field"): row.inner_text()
        for row in page.query_selector_all("#licence-fields tbody tr")
    }
    assert set(shown) == set(CLAIMS) and all(CLAIMS[n] in shown[n] for n in CLAIMS)
    checks = page.query_selector_all("#licence-checks li")
    assert {c.get_attribute("data-check") for c in checks} >= {
        "signature", "trusted_issuer", "validity", "anchored", "status", "claim:名称"
    }  # fmt: skip
    assert all(c.get_attribute("data-ok") == "true" for c in checks)

    # Two of five: valid, and the other three values are nowhere (page, URLs, bodies).
    sent.clear()
    two = presentation_url(anvil_server.url, licence["id"], claims, SHOWN)
    page.goto("about:blank")
    assert _check(page, two) == "valid"
    html = page.content()
    assert all(CLAIMS[n] in html for n in SHOWN)
    hidden = [CLAIMS[n] for n in CLAIMS if n not in SHOWN]
    requests = "\n".join(sent)
    assert "/api/v1/licences/" in requests and "eth_call" in requests  # it did ask
    for value in hidden + [json.dumps(v)[1:-1] for v in hidden]:
        assert value not in html
    # Nor do the shown ones leave the device: the fragment is never sent anywhere.
    for value in list(CLAIMS.values()) + [json.dumps(v)[1:-1] for v in CLAIMS.values()]:
        assert value not in requests
    assert not any(n in html for n in CLAIMS if n not in SHOWN)  # not even the names

    # A tampered field: refused, its proof named, its value not shown as verified.
    forged = {n: dict(c) for n, c in claims.items() if n in SHOWN}
    forged["经营范围"]["value"] = "危险化学品经营"
    bad = presentation_url(anvil_server.url, licence["id"], forged, SHOWN)
    page.goto("about:blank")
    assert _check(page, bad) == "invalid"
    assert (
        page.get_attribute('#licence-checks li[data-check="claim:经营范围"]', "data-ok") == "false"
    )
    assert page.query_selector_all("#licence-fields tbody tr") == []
    no_script_errors(page)
