"""The subsidy pages in Debian's Chromium: an applicant creates an application, uploads its
documents and submits; a reviewer opens the queue, drops the exact files (green), a
one-byte-modified copy (red) and another application's file (flagged), opens the printable
report and switches its language. Screenshots go to test-artifacts/screenshots/."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from chainproof import identity
from chainproof.store import db

from ..signin import sign_in_browser
from .conftest import SUBMITTER_ORG, LiveServer, shot

if TYPE_CHECKING:
    from playwright.sync_api import Browser, FilePayload, Page

FORM = "中国—东盟区块链创新中心2023年专项补贴项目申报书 融安金桔溯源\n".encode() * 30
CONTRACT = "采购合同 HT-2023-0815 溯源系统开发 120万元\n".encode() * 30
OTHER_INVOICE = "增值税专用发票 No.45099999 农产品溯源平台 60万元\n".encode() * 30
OTHER_ORG = "南宁数链信息技术有限公司"
REVIEWER_ORG = "中国—东盟区块链创新中心（南宁）审核组"


def _key(server: LiveServer, org: str, role: str) -> str:
    with db.open_session(server.settings.resolved_database_url) as session:
        _, key = identity.create_api_key(session=session, org=org, role=role)
    return key


def _sign_in(page: Page, server: LiveServer, org: str, role: str) -> None:
    """The pages are for people signed in (issue 17): no key field any more."""
    sign_in_browser(page, server.url, server.settings.resolved_database_url, org, role)


def _files(*named: tuple[str, bytes]) -> list[FilePayload]:
    return [{"name": n, "mimeType": "application/octet-stream", "buffer": c} for n, c in named]


@pytest.fixture(scope="module")
def other_application(live_server: LiveServer) -> int:
    """Another unit's application with one invoice, submitted through the API."""
    headers = {"Authorization": f"Bearer {_key(live_server, OTHER_ORG, 'submitter')}"}
    body = {
        "scope_category": "农业",
        "scope_field": "农产品溯源",
        "project_name": "农产品溯源链",
        "requests": ["cash", "cloud"],
        "self_investment_wan": "60",
        "headcount": 8,
        "packages": ["platform-user-basic"],
    }
    created = live_server.post("/api/v1/subsidy/applications", headers=headers, json=body)
    assert created.status_code == 201, created.text
    app_id: int = created.json()["id"]
    attached = live_server.post(
        f"/api/v1/subsidy/applications/{app_id}/documents",
        headers=headers,
        data={"kind": "发票"},
        files=[("file", ("b-发票.pdf", OTHER_INVOICE))],
    )
    assert attached.status_code == 201, attached.text
    submitted = live_server.post(f"/api/v1/subsidy/applications/{app_id}/submit", headers=headers)
    assert submitted.status_code == 200, submitted.text
    return app_id


def _no_sideways_scroll(page: Page) -> None:
    wide = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert wide <= 1, f"the page scrolls sideways by {wide}px"


def test_applicant_submits_and_reviewer_checks_and_reports(
    live_server: LiveServer, page: Page, browser: Browser, other_application: int
) -> None:
    # --- the applicant: a new application, its documents, submission ---------------------
    _sign_in(page, live_server, SUBMITTER_ORG, "submitter")
    page.goto(live_server.url + "/applications")
    page.select_option("#new-scope", "农业|农产品溯源")
    page.fill("#new-project", "融安金桔一物一码区块链溯源示范应用" * 4)  # long on purpose
    page.fill("#new-summary", "融安金桔从采摘到销售的全程上链溯源。")
    page.fill("#new-investment", "120")
    page.fill("#new-headcount", "18")
    page.select_option("#new-packages", ["platform-admin-pro"])
    page.click("#new-application button[type=submit]")
    page.wait_for_url("**/applications/*")
    app_id = int(page.url.rsplit("/", 1)[1])
    page.wait_for_selector("#attach-form:not([hidden])")
    assert SUBMITTER_ORG in page.inner_text("#app-fields")

    page.select_option("#attach-kind", "申报书")
    page.set_input_files("#attach-files", _files(("申报书.pdf", FORM)))
    page.click("#attach-form button[type=submit]")
    page.wait_for_selector("#documents tr[data-document]")
    page.select_option("#attach-kind", "合同")
    page.set_input_files("#attach-files", _files(("合同.pdf", CONTRACT)))
    page.click("#attach-form button[type=submit]")
    # An arrow function, not a bare expression: Playwright polls an expression with eval(),
    # which the pages' CSP (no 'unsafe-eval') refuses.
    page.wait_for_function(
        "() => document.querySelectorAll('#documents [data-doc-status=anchored]').length === 2"
    )
    shot(page, "subsidy-applicant-draft")
    page.click("#moves button[data-to=submitted]")
    page.wait_for_selector("#app-status[data-status=submitted]")
    page.wait_for_selector("#trail tr[data-seq]")
    assert page.locator("#attach-form").is_hidden()
    assert page.locator("#manifests li").count() == 1
    _no_sideways_scroll(page)
    shot(page, "subsidy-applicant-submitted")

    # --- the reviewer: queue, integrity check, report ------------------------------------
    reviewer_ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    reviewer_ctx.set_default_timeout(15_000)
    try:
        rp = reviewer_ctx.new_page()
        errors: list[str] = []
        rp.on("pageerror", lambda exc: errors.append(str(exc)))
        _sign_in(rp, live_server, REVIEWER_ORG, "reviewer")
        rp.goto(live_server.url + "/review")
        rp.select_option("#queue-status", "submitted")
        rp.click("#queue-form button[type=submit]")
        row = rp.locator(f"#applications tr[data-application='{app_id}']")
        row.wait_for()
        assert rp.locator(f"#applications tr[data-application='{other_application}']").count()
        shot(rp, "subsidy-review-queue")
        row.get_by_role("link", name="核对文件").click()
        rp.wait_for_url(f"**/applications/{app_id}/check")

        modified = bytearray(CONTRACT)
        modified[0] ^= 0x01
        rp.set_input_files(
            "#check-files",
            _files(
                ("申报书.pdf", FORM),
                ("合同.pdf", CONTRACT),
                ("合同-改.pdf", bytes(modified)),
                ("b-发票.pdf", OTHER_INVOICE),
            ),
        )
        rp.wait_for_function(
            "() => document.querySelectorAll('#integrity tr[data-result]').length === 4"
        )
        results = {
            r.get_attribute("data-result"): r.get_attribute("class")
            for r in rp.locator("#integrity tr[data-result]").all()
        }
        names = {
            r.locator(".doc-name").inner_text(): r.get_attribute("data-result")
            for r in rp.locator("#integrity tr[data-result]").all()
        }
        assert names == {
            "申报书.pdf": "match",
            "合同.pdf": "match",
            "合同-改.pdf": "unknown",
            "b-发票.pdf": "other_application",
        }
        assert "verdict-good" in (results["match"] or "")
        assert "verdict-bad" in (results["unknown"] or "")
        assert "verdict-warn" in (results["other_application"] or "")
        flagged = rp.locator("#integrity tr[data-result=other_application]").inner_text()
        assert f"#{other_application}" in flagged and OTHER_ORG in flagged
        green = rp.locator("#integrity tr[data-result=match]").first.inner_text()
        assert SUBMITTER_ORG in green  # who notarised it, with block and time
        shot(rp, "subsidy-integrity-check")

        rp.goto(live_server.url + f"/applications/{app_id}/report")
        rp.wait_for_selector("#report-body:not([hidden])")
        assert rp.locator("#rules tr[data-rule]").count() >= 3
        rules_text = rp.inner_text("#rules")
        assert "三、（一）1" in rules_text  # the rule checks cite the guide
        assert rp.locator("#integrity tr[data-result]").count() == 4  # this tab's check
        assert rp.locator("#trail tr[data-ok=true]").count() >= 1
        assert "✓" in rp.inner_text("#trail-summary")
        assert "null" not in rp.inner_text("#report-body")
        shot(rp, "subsidy-report-zh")
        rp.click("[data-testid=lang-switch]")
        rp.wait_for_selector("#report-body:not([hidden])")
        assert rp.inner_text("h1").startswith("Review report")
        assert "Passed" in rp.inner_text("#rules") or "Failed" in rp.inner_text("#rules")
        rp.emulate_media(media="print")
        assert rp.locator(".site-header").is_hidden()  # prints without the page furniture
        shot(rp, "subsidy-report-en-print")
        assert errors == []
    finally:
        reviewer_ctx.close()
    assert page.script_errors == []  # type: ignore[attr-defined]


def test_report_on_a_phone_does_not_scroll_sideways(
    live_server: LiveServer, phone: Page, other_application: int
) -> None:
    _sign_in(phone, live_server, REVIEWER_ORG, "reviewer")
    phone.goto(live_server.url + f"/applications/{other_application}/report")
    phone.wait_for_selector("#report-body:not([hidden])")
    _no_sideways_scroll(phone)
    shot(phone, "subsidy-report-phone")


def test_unknown_application_is_a_clear_404_page(live_server: LiveServer, page: Page) -> None:
    _sign_in(page, live_server, REVIEWER_ORG, "reviewer")
    response = page.goto(live_server.url + "/applications/999999/report")
    assert response is not None and response.status == 404
    assert "application" in page.inner_text("main")
    # keyboard: the skip link is the first stop and leads to the content
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
