"""The certificate page shows what a court asks (issue 19), in Chromium: signed in as a
person of the member org, the page's script fills in the record before the chain (the file name,
size and type as sent, the channel, the uploading key, the depositor and its EIP-712
signature), the time interval and its width, the TSA time and serial, the genesis hash and
confirmations, how to verify, and the verification report, every check passed."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import pytest

from ..signin import sign_in_browser
from .conftest import SUBMITTER_ORG, LiveServer, shot

if TYPE_CHECKING:
    from playwright.sync_api import Page

NAME = "合同<img src=x onerror=alert(1)>.pdf"  # markup in a client-given name stays text
CONTENT = b"%PDF-1.7 court certificate page"


@pytest.fixture(scope="module")
def deposited(live_server: LiveServer) -> dict[str, Any]:
    key = {"Authorization": f"Bearer {live_server.submitter_key}"}
    response = live_server.post(
        "/api/v1/evidence",
        headers={**key, "X-ChainProof-Channel": "web"},
        files=[("file", (NAME, CONTENT, "application/pdf"))],
    )
    assert response.status_code == 202, response.text
    evidence_id = response.json()["items"][0]["id"]
    deadline = time.monotonic() + 30
    while (
        live_server.get(f"/api/v1/evidence/{evidence_id}", headers=key).json()["status"]
        != "anchored"
    ):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    court = live_server.get(f"/api/v1/evidence/{evidence_id}/court", headers=key)
    assert court.status_code == 200, court.text
    assert live_server.get(f"/api/v1/evidence/{evidence_id}/court").status_code == 404
    return {"id": evidence_id, "court": court.json()}


def test_the_certificate_page_shows_the_court_fields(
    live_server: LiveServer, deposited: dict[str, Any], page: Page
) -> None:
    url = f"{live_server.url}/evidence/{deposited['id']}/certificate"
    page.goto(url)
    assert page.locator("#cert-court").is_hidden()  # not signed in: nothing private
    sign_in_browser(
        page,
        live_server.url,
        live_server.settings.resolved_database_url,
        SUBMITTER_ORG,
        "submitter",
    )
    page.goto(url)
    section = page.get_by_test_id("cert-court")
    section.wait_for()
    text = section.inner_text()
    c = deposited["court"]
    for label in (
        "上链前记录",
        "Before the chain",
        "文件名（客户端）",
        "File name (as sent)",
        "提交渠道",
        "上传密钥",
        "存证主体",
        "时间区间",
        "Time interval",
        "可信时间戳时间",
        "时间戳序列号",
        "创世区块哈希",
        "确认数",
        "核验报告",
        "Verification report",
        "命令行核验",
    ):
        assert label in text, label
    assert NAME in text and page.locator("#cert-court img").count() == 0  # text, not markup
    assert str(len(CONTENT)) in text and "application/pdf" in text
    assert "网页 / web page" in text and SUBMITTER_ORG in text
    assert c["member_signature"].startswith("0x") and c["member_signature"] in text
    assert c["tsa_serial"] in text and c["genesis_hash"] in text
    assert c["width"] is not None and c["not_before"] <= c["not_after"]
    assert "chainproof verify-bundle" in text and "/.well-known/chainproof.json" in text
    report = page.get_by_test_id("cert-report").locator("li")
    names = [report.nth(i).get_attribute("data-check") for i in range(report.count())]
    assert {"genesis", "registry", "anchored_event", "time_stamp", "member_signature"} <= set(names)
    oks = [report.nth(i).get_attribute("data-ok") for i in range(report.count())]
    assert oks and all(ok == "true" for ok in oks), list(zip(names, oks, strict=True))
    shot(page, "certificate-court")
    assert not page.script_errors  # type: ignore[attr-defined]
