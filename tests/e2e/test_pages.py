"""The pages as a person uses them, in headless Chromium (issue 6, "Done when").

Anchor a file on /anchor and watch it turn anchored; verify it on /verify (green) and a
one-byte-modified copy (red); open its certificate; switch language; read the pages on a
phone. Each step leaves a screenshot under test-artifacts/screenshots/.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ..conftest import require
from ..signin import sign_in_browser
from .conftest import ADMIN_ORG, SUBMITTER_ORG, LiveServer, shot, tool_missing

if TYPE_CHECKING:
    from playwright.sync_api import Page

ANCHOR_TIMEOUT_MS = 30_000


def no_script_errors(page: Page) -> None:
    errors: list[str] = page.script_errors  # type: ignore[attr-defined]
    assert not errors, f"script errors on the page: {errors}"


def wide(page: Page) -> list[str]:
    """The elements that stick out of the viewport on the right (for the failure message)."""
    found: list[str] = page.evaluate(
        """() => [...document.querySelectorAll('body *')]
              .filter(e => e.getBoundingClientRect().right
                                > document.documentElement.clientWidth + 0.5)
              .slice(0, 8).map(e => e.tagName + '#' + e.id + '.' + e.className)"""
    )
    return found


def horizontal_overflow(page: Page) -> int:
    """How many CSS pixels the page is wider than the viewport (0: no sideways scroll)."""
    return int(
        page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    )


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A document with a long Chinese name and unique content, not anchored yet."""
    folder = tmp_path_factory.mktemp("docs")
    path = folder / "2023年区块链专项补贴申报书-融安金桔一物一码溯源示范应用.txt"
    path.write_bytes(f"申报书 {uuid.uuid4()}\n自费投资金额：120万元\n".encode())
    return path


@pytest.fixture(scope="module")
def modified(document: Path) -> Path:
    """The same document with its last byte changed."""
    content = bytearray(document.read_bytes())
    content[-1] ^= 0x01
    path = document.with_name("申报书-改动了一个字节.txt")
    path.write_bytes(bytes(content))
    return path


@pytest.fixture(scope="module")
def anchored(live_server: LiveServer, document: Path) -> dict[str, Any]:
    """The document, anchored through the API (for the tests that start after it)."""
    return live_server.anchor(document.name, document.read_bytes())


def _sign_in(page: Page, server: LiveServer, org: str, role: str) -> None:
    """The pages are for people signed in (issue 17): no key field any more."""
    sign_in_browser(page, server.url, server.settings.resolved_database_url, org, role)


def test_anchor_a_file_and_watch_it_turn_anchored(
    live_server: LiveServer, page: Page, tmp_path: Path
) -> None:
    upload = tmp_path / "采购合同-HT-2023-0815（广西桂链示范科技有限公司）.txt"
    upload.write_bytes(f"采购合同 {uuid.uuid4()}".encode())
    _sign_in(page, live_server, SUBMITTER_ORG, "submitter")
    page.goto(live_server.url + "/anchor")
    page.get_by_label("备注").fill("2023 专项补贴 验收材料")
    page.set_input_files("#files", str(upload))
    page.get_by_role("button", name="提交存证").click()

    item = page.locator(".anchor-item").first
    item.wait_for()
    assert item.get_attribute("data-status") in {"queued", "batched", "anchored"}
    page.locator('.anchor-item[data-status="anchored"]').wait_for(timeout=ANCHOR_TIMEOUT_MS)
    assert page.locator(".stepper li.done").count() == 3
    digest = "0x" + hashlib.sha256(upload.read_bytes()).hexdigest()
    assert item.locator(".digest").inner_text() == digest
    shot(page, "anchor-anchored")

    # No key in the tab: the person's session is an HttpOnly cookie no script can read.
    assert page.evaluate("sessionStorage.length") == 0
    session = [c for c in page.context.cookies() if c["name"] == "chainproof_session"]
    assert len(session) == 1 and session[0]["httpOnly"] and session[0]["sameSite"] == "Lax"
    assert "chainproof_session" not in page.evaluate("document.cookie")

    # Its evidence page, reached from the row, shows the chain data and the Merkle proof.
    item.get_by_role("link", name="存证详情").click()
    page.wait_for_url(re.compile(r"/evidence/[0-9a-f-]{36}$"))
    # The page's script fills the private fields in for the signed-in owner: wait for it.
    from playwright.sync_api import expect

    expect(page.get_by_test_id("digest")).to_have_text(digest)
    assert page.locator('[data-status="anchored"]').count() >= 1
    page.locator("#owner-meta").wait_for()  # the tab's key may see its own label
    meta = page.locator("#owner-meta").inner_text()
    # Hashed on the device: only the digest and the label went to the server, not the name.
    assert "2023 专项补贴 验收材料" in meta and upload.name not in meta
    shot(page, "evidence-detail")
    no_script_errors(page)


def test_verify_the_file_green_and_a_modified_copy_red(
    live_server: LiveServer, anchored: dict[str, Any], page: Page, document: Path, modified: Path
) -> None:
    page.goto(live_server.url + "/verify")
    page.set_input_files("#files", [str(document), str(modified)])
    green = page.locator('tr[data-verdict="anchored"]')
    red = page.locator('tr[data-verdict="not_found"]')
    green.wait_for()
    red.wait_for()
    assert document.name in green.inner_text()
    assert "已存证" in green.inner_text()
    # A stranger learns "anchored", not by whom nor when (docs/security.md, "Who sees what").
    assert SUBMITTER_ORG not in green.inner_text()
    assert green.locator('a[href*="/explorer/block/"]').count() == 0
    assert modified.name in red.inner_text()
    assert "未找到存证" in red.inner_text()
    # Hashed in the browser: the digest shown is the file's SHA-256.
    assert anchored["digest"] in green.inner_text()
    colours = page.evaluate(
        """() => [...document.querySelectorAll('tr.result')].map(
              r => [r.dataset.verdict, getComputedStyle(r).backgroundColor])"""
    )
    assert dict(colours) == {"anchored": "rgb(227, 244, 232)", "not_found": "rgb(253, 232, 232)"}
    shot(page, "verify-green-and-red")
    no_script_errors(page)


def test_verification_url_prefills_and_runs(
    live_server: LiveServer, anchored: dict[str, Any], page: Page
) -> None:
    page.goto(f"{live_server.url}/verify?digest={anchored['digest']}&algorithm=sha256")
    page.locator('tr[data-verdict="anchored"]').wait_for()
    assert page.locator("#digest").input_value() == anchored["digest"]
    no_script_errors(page)


def test_every_algorithm_in_the_browsers_worker_matches_python(
    live_server: LiveServer, page: Page
) -> None:
    """common.js's hashFile (hash-wasm in the worker, chunked) against chainproof.digests."""
    from chainproof.digests import hash_bytes, to_hex

    page.goto(live_server.url + "/verify")
    samples = [b"", b"abc", b"abcd" * 16, bytes(range(256)) * 5, b"x" * 55, b"y" * 56]
    for algorithm in ("sha256", "sm3", "keccak256"):
        for sample in samples:
            got = page.evaluate(
                """([bytes, algorithm]) => window.ChainProof.hashFile(
                       new File([new Uint8Array(bytes)], 'x'), algorithm)""",
                [list(sample), algorithm],
            )
            assert got == to_hex(hash_bytes(sample, algorithm)), (algorithm, sample[:16])
    no_script_errors(page)


def test_sm3_file_verified_without_upload(
    live_server: LiveServer, page: Page, tmp_path: Path
) -> None:
    content = f"发票 {uuid.uuid4()}".encode()
    digest = "0x" + hashlib.new("sm3", content).hexdigest()
    response = live_server.post(
        "/api/v1/evidence/digests",
        headers={"Authorization": f"Bearer {live_server.submitter_key}"},
        json={"algorithm": "sm3", "digests": [digest]},
    )
    assert response.status_code == 202, response.text
    path = tmp_path / "发票-sm3.txt"
    path.write_bytes(content)
    uploads: list[str] = []
    page.on("request", lambda r: uploads.append(r.url) if r.method == "POST" else None)
    page.goto(live_server.url + "/verify")
    page.select_option("#algorithm", "sm3")
    page.set_input_files("#files", str(path))
    row = page.locator("tr.result").first
    page.wait_for_function(
        """() => ['pending', 'anchored'].includes(
                   document.querySelector('tr.result')?.dataset.verdict)"""
    )
    assert digest in row.inner_text()
    # Only the JSON digest check went to the server, never a multipart upload of the file.
    assert uploads == [live_server.url + "/api/v1/verify"]


def test_certificate_html_and_pdf(
    live_server: LiveServer, anchored: dict[str, Any], page: Page, tmp_path: Path
) -> None:
    evidence_id = anchored["id"]
    # Without a key: id and status only, on both pages.
    page.goto(f"{live_server.url}/evidence/{evidence_id}")
    assert anchored["digest"] not in page.content() and SUBMITTER_ORG not in page.content()
    page.get_by_test_id("certificate-link").click()
    page.wait_for_url(re.compile(rf"/evidence/{evidence_id}/certificate$"))
    assert anchored["digest"] not in page.content() and SUBMITTER_ORG not in page.content()
    assert page.locator("#cert-facts").is_hidden()
    # Signed in as a person of the member, the page's script fills the facts in.
    _sign_in(page, live_server, SUBMITTER_ORG, "submitter")
    page.goto(f"{live_server.url}/evidence/{evidence_id}")
    page.locator("#owner-proof").wait_for()  # the salt and proof: the receipt's
    assert page.get_by_test_id("digest").inner_text() == anchored["digest"]
    # The receipt download is fetched by the script as the signed-in person.
    with page.expect_download() as download:
        page.get_by_role("button", name="下载存证回执（JSON）").click()
    saved = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
    assert saved["digest"] == anchored["digest"] and saved["evidence_id"] == evidence_id
    assert download.value.suggested_filename == f"chainproof-receipt-{evidence_id}.json"
    page.get_by_test_id("certificate-link").click()
    page.wait_for_url(re.compile(rf"/evidence/{evidence_id}/certificate$"))
    cert = page.get_by_test_id("certificate")
    page.locator("#cert-facts").wait_for()
    assert page.get_by_test_id("cert-digest").inner_text() == anchored["digest"]
    text = cert.inner_text()
    for value in (
        SUBMITTER_ORG,
        anchored["anchor"]["tx_hash"],
        anchored["anchor"]["contract"],
        str(anchored["anchor"]["chain_id"]),
        str(anchored["anchor"]["block_number"]),
    ):
        assert value in text
    shot(page, "certificate")
    verify_url = f"{live_server.url}/evidence/{evidence_id}"  # the record's public page
    missing = tool_missing("zbarimg")
    require(missing is None, f"cannot decode the certificate's QR code: {missing}")
    qr_png = tmp_path / "qr.png"
    page.get_by_test_id("cert-qr").screenshot(path=str(qr_png))
    assert decode_qr(qr_png) == verify_url

    # The PDF: CJK font embedded, renders with pdftoppm, its QR decodes to the same URL.
    missing = tool_missing("pdftoppm", "pdffonts")
    require(missing is None, f"cannot render the PDF certificate: {missing}")
    assert live_server.get(f"/evidence/{evidence_id}/certificate.pdf").status_code == 404
    response = live_server.get(
        f"/evidence/{evidence_id}/certificate.pdf",
        headers={"Authorization": f"Bearer {live_server.submitter_key}"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    pdf = tmp_path / "certificate.pdf"
    pdf.write_bytes(response.content)
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True)
    assert re.search(r"WenQuanYi|Droid|UMing|Noto", fonts.stdout), fonts.stdout
    cjk_line = next(line for line in fonts.stdout.splitlines() if "WenQuanYi" in line)
    assert " yes yes " in cjk_line  # embedded, subset
    subprocess.run(
        ["pdftoppm", "-r", "110", "-png", "-singlefile", str(pdf), str(tmp_path / "page")],
        check=True,
    )
    rendered = tmp_path / "page.png"
    assert rendered.stat().st_size > 10_000
    assert decode_qr(rendered) == verify_url
    no_script_errors(page)


def decode_qr(png: Path) -> str:
    result = subprocess.run(
        ["zbarimg", "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", str(png)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_switch_language_and_back(live_server: LiveServer, page: Page) -> None:
    page.goto(live_server.url + "/")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert page.get_by_role("link", name="验证文件").first.is_visible()
    page.get_by_test_id("lang-switch").click()
    page.wait_for_url(re.compile(r"lang=en"))
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("navigation").get_by_role("link", name="Verify").is_visible()
    shot(page, "home-en")
    # Remembered: the next page is English without ?lang.
    page.get_by_role("navigation").get_by_role("link", name="Explorer").click()
    page.wait_for_url(re.compile(r"/explorer$"))
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("heading", name="Guilian block explorer").is_visible()
    page.get_by_test_id("lang-switch").click()
    page.wait_for_url(re.compile(r"lang=zh-CN"))
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert page.get_by_role("heading", name="桂链 区块链浏览器").is_visible()
    shot(page, "explorer-zh")
    no_script_errors(page)


def test_keyboard_reaches_the_drop_zone_with_a_visible_focus(
    live_server: LiveServer, page: Page
) -> None:
    page.goto(live_server.url + "/verify")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    for _ in range(12):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "files":
            break
    assert page.evaluate("document.activeElement.id") == "files"
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("", "none")
    # Every form control has a label.
    unlabelled = page.evaluate(
        """() => [...document.querySelectorAll('input, select')].filter(
              e => e.type !== 'hidden' && !(e.labels && e.labels.length)).map(e => e.id)"""
    )
    assert unlabelled == []


def test_explorer_search_finds_the_anchor_transaction(
    live_server: LiveServer, anchored: dict[str, Any], page: Page
) -> None:
    page.goto(live_server.url + "/explorer")
    page.get_by_label("搜索交易哈希、默克尔根、文件摘要、地址或区块号").fill(
        anchored["anchor"]["tx_hash"]
    )
    page.get_by_role("button", name="搜索").click()
    page.wait_for_url(re.compile(r"/explorer/tx/0x"))
    assert page.get_by_test_id("tx-hash").inner_text() == anchored["anchor"]["tx_hash"]
    event = page.locator(".event-anchored")
    assert anchored["anchor"]["root"] in event.inner_text()
    assert "anchor" in page.locator("code").first.inner_text()
    shot(page, "explorer-tx")
    # A digest search says it is on record, but names no record: a guessed file's digest
    # must not lead to its root and so to the submitting account.
    page.goto(f"{live_server.url}/explorer?q={anchored['digest']}")
    page.wait_for_url(re.compile(r"/explorer/digest/"))
    assert anchored["id"] not in page.content()
    assert page.locator('.badge[data-status="anchored"]').count() == 1
    no_script_errors(page)


def test_admin_lists_members_and_creates_a_key(live_server: LiveServer, page: Page) -> None:
    _sign_in(page, live_server, ADMIN_ORG, "admin")
    page.goto(live_server.url + "/admin")
    page.locator("#members tbody tr").first.wait_for()
    assert ADMIN_ORG in page.locator("#members").inner_text()
    page.get_by_label("成员单位名称").first.fill("南宁数链信息技术有限公司")
    page.locator("#key-role").select_option("reviewer")
    page.get_by_role("button", name="创建密钥").click()
    page.locator("#new-key:not([hidden])").wait_for()
    new_key = page.locator("#new-key-value").inner_text()
    assert new_key.startswith("cpk_")
    page.locator("#keys tbody tr", has_text="南宁数链信息技术有限公司").wait_for()
    shot(page, "admin")
    no_script_errors(page)


def test_pages_fit_a_phone(
    live_server: LiveServer, anchored: dict[str, Any], phone: Page, document: Path, modified: Path
) -> None:
    for name, path in [
        ("phone-home", "/"),
        ("phone-certificate", f"/evidence/{anchored['id']}/certificate"),
        ("phone-evidence", f"/evidence/{anchored['id']}"),
        ("phone-explorer", "/explorer"),
        ("phone-anchor", "/anchor"),
    ]:
        phone.goto(live_server.url + path)
        shot(phone, name)
        assert horizontal_overflow(phone) <= 0, f"{path} scrolls sideways on a phone: {wide(phone)}"
    # The verification page with results in it (the QR code on a certificate leads here).
    phone.goto(f"{live_server.url}/verify?digest={anchored['digest']}&algorithm=sha256")
    phone.locator('tr[data-verdict="anchored"]').wait_for()
    phone.set_input_files("#files", [str(document), str(modified)])
    phone.locator('tr[data-verdict="not_found"]').wait_for()
    assert horizontal_overflow(phone) <= 0, "/verify with results scrolls sideways on a phone"
    shot(phone, "phone-verify")
