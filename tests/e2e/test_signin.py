"""People sign in in Chromium and use the pages with no key anywhere (issue 17).

An admin (signed in on the pages) invites a reviewer on ``/admin``; the reviewer opens the
one-time link in a browser of their own, sets a password, signs in on ``/signin`` and works
the review queue: its rows come from the API with the session cookie alone. The browser
holds no key (no ``sessionStorage``, no ``Authorization`` header on any request), and its
session cookie is invisible to scripts. Then a TOTP enrolment on ``/account`` with a real
pyotp code, and signing in again with the next code. On the code before, ``/signin`` and
``/invite`` do not exist and ``/admin`` has no invitation form: the test fails at once.
"""

from __future__ import annotations

import secrets
import time
from typing import TYPE_CHECKING

import pyotp

from chainproof import identity
from chainproof.store import db

from ..signin import PASSWORD, sign_in_browser
from .conftest import ADMIN_ORG, LiveServer, shot

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Request

REVIEWER_ORG = "中国—东盟区块链创新中心评审部"
APPLICANT_ORG = "广西融安金桔数字农业示范单位"


def _submitted_application(server: LiveServer) -> int:
    """A unit of its own (one application per unit and round) applies and submits."""
    with db.open_session(server.settings.resolved_database_url) as session:
        _, key = identity.create_api_key(session=session, org=APPLICANT_ORG, role="submitter")
    headers = {"Authorization": f"Bearer {key}"}
    body = {
        "scope_category": "农业",
        "scope_field": "农产品溯源",
        "project_name": f"融安金桔溯源 {secrets.token_hex(3)}",
        "requests": ["cash", "cloud"],
        "self_investment_wan": "60",
        "headcount": 8,
        "packages": ["platform-user-basic"],
    }
    created = server.post("/api/v1/subsidy/applications", headers=headers, json=body)
    assert created.status_code == 201, created.text
    app_id: int = created.json()["id"]
    attached = server.post(
        f"/api/v1/subsidy/applications/{app_id}/documents",
        headers=headers,
        data={"kind": "发票"},
        files=[("file", ("发票.pdf", secrets.token_bytes(64)))],
    )
    assert attached.status_code == 201, attached.text
    submitted = server.post(f"/api/v1/subsidy/applications/{app_id}/submit", headers=headers)
    assert submitted.status_code == 200, submitted.text
    return app_id


def test_invite_set_password_sign_in_and_work_the_review_queue_without_a_key(
    live_server: LiveServer, page: Page, browser: Browser
) -> None:
    app_id = _submitted_application(live_server)
    # --- the admin invites the reviewer on /admin ---------------------------------------
    sign_in_browser(
        page, live_server.url, live_server.settings.resolved_database_url, ADMIN_ORG, "admin"
    )
    page.goto(live_server.url + "/admin")
    email = f"reviewer-{secrets.token_hex(4)}@example.org"
    page.fill("#invite-email", email)
    page.fill("#invite-org", REVIEWER_ORG)
    page.select_option("#invite-role", "reviewer")
    page.click("#invite-form button[type=submit]")
    page.locator("#invite-result:not([hidden])").wait_for()
    link = page.locator("#invite-link").inner_text().strip()
    assert link.startswith(live_server.url + "/invite?token=cpi_")
    page.locator(f'#people tr[data-person="{email}"]').wait_for()
    assert page.script_errors == []  # type: ignore[attr-defined]

    # --- the reviewer, in a browser of their own ------------------------------------------
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    ctx.set_default_timeout(15_000)
    sent: list[Request] = []
    try:
        rp = ctx.new_page()
        errors: list[str] = []
        rp.on("pageerror", lambda exc: errors.append(str(exc)))
        rp.on("request", lambda request: sent.append(request))
        rp.goto(link)
        assert email in rp.inner_text("main") and REVIEWER_ORG in rp.inner_text("main")
        rp.fill("#invite-password", PASSWORD)
        rp.fill("#invite-password2", PASSWORD)
        rp.click("#invite-form button[type=submit]")
        rp.wait_for_url(live_server.url + "/account")
        # Sign out, and in again with the password just set.
        rp.get_by_test_id("signout").get_by_role("button").click()
        rp.wait_for_url(live_server.url + "/")
        rp.goto(live_server.url + "/review")
        rp.wait_for_url(live_server.url + "/signin?next=/review")
        rp.fill("#signin-email", email)
        rp.fill("#signin-password", PASSWORD)
        rp.click("#signin-form button[type=submit]")
        rp.wait_for_url(live_server.url + "/review")
        row = rp.locator(f"#applications tr[data-application='{app_id}']")
        row.wait_for()
        assert APPLICANT_ORG in row.inner_text()
        rp.select_option("#queue-status", "submitted")
        rp.click("#queue-form button[type=submit]")
        row.wait_for()
        shot(rp, "signin-review-queue")
        # No key anywhere: nothing in the tab, no Authorization on any request.
        assert rp.evaluate("sessionStorage.length") == 0
        assert all("authorization" not in r.headers for r in sent)
        assert any("/api/v1/subsidy/applications" in r.url for r in sent)
        cookie = next(c for c in ctx.cookies() if c["name"] == "chainproof_session")
        assert cookie["httpOnly"] and cookie["sameSite"] in ("Lax", "Strict")
        assert "chainproof_session" not in rp.evaluate("document.cookie")

        # --- two-step verification: enrol with a real code, sign in with the next one ------
        rp.goto(live_server.url + "/account")
        rp.click("#totp-start button[type=submit]")
        uri = rp.locator("#totp-uri").inner_text().strip()
        totp = pyotp.parse_uri(uri)
        assert isinstance(totp, pyotp.TOTP)
        rp.fill("#totp-code", totp.now())
        rp.click("#totp-confirm button[type=submit]")
        rp.locator("#totp-state").wait_for()
        rp.get_by_test_id("signout").get_by_role("button").click()
        rp.wait_for_url(live_server.url + "/")
        rp.goto(live_server.url + "/signin?next=/review")
        rp.fill("#signin-email", email)
        rp.fill("#signin-password", PASSWORD)
        rp.click("#signin-form button[type=submit]")  # no code: refused
        rp.locator("#signin-error").wait_for()
        rp.fill("#signin-password", PASSWORD)
        rp.fill("#signin-code", totp.at(time.time() + 30))  # the enrolment spent this step's
        rp.click("#signin-form button[type=submit]")
        rp.wait_for_url(live_server.url + "/review")
        rp.locator(f"#applications tr[data-application='{app_id}']").wait_for()
        assert errors == []
    finally:
        ctx.close()
