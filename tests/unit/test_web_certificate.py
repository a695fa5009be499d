"""The evidence certificate: its PDF embeds a CJK font, renders, and its QR decodes to the
record's public page (by its public id). Needs poppler-utils (pdftoppm, pdffonts),
zbar-tools (zbarimg) and a CJK TrueType font (fonts-wqy-zenhei): skipped loudly without
them, failed under CHAINPROOF_REQUIRE_ALL=1."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from chainproof.web.certificate import (
    CJK_FONTS,
    Certificate,
    CertificateFontError,
    evidence_url,
    find_cjk_font,
    qr_svg,
    render_pdf,
)
from chainproof.web.formatting import cst_time, short_hex, utc_iso

from ..conftest import require

DIGEST = "0x5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
BASE = "https://chainproof.example.cn"
PUBLIC_ID = "01943b2e-7c00-7a3f-9d21-5c8e4b7f0a16"


def certificate(**overrides: object) -> Certificate:
    values: dict[str, object] = {
        "evidence_id": PUBLIC_ID,
        "algorithm": "sha256",
        "digest": DIGEST,
        "status": "anchored",
        "member": "广西壮族自治区柳州市融安县金桔种植专业合作社联合社区块链溯源示范应用项目组",
        "root": "0x3bccf72f4360f8af653317414b9c077462de763bcdadee83bdb433bb06e970b8",
        "leaf_hash": "0x1f3a5c7e9b0d2f4a6c8e0b1d3f5a7c9e2b4d6f8a0c1e3f5a7b9d0e2f4a6c8e0b",
        "tx_hash": "0x7129e1738184e452b667c67321b41bbc607ea4bcbf9d9281904429ec86380b8e",
        "block_number": 42,
        "block_hash": "0xe4e657139f820bb920c21905b1b00b89cff9500591cd6ceee30d0865594953e2",
        "block_timestamp": 1_735_689_600,
        "chain_id": 31337,
        "contract": "0x5FbDB2315678afecb367f032d93F642f64180aa3",
        "submitter": "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
        "verify_url": evidence_url(BASE, PUBLIC_ID),
    }
    values.update(overrides)
    return Certificate(**values)  # type: ignore[arg-type]


def test_the_qr_url_is_the_record_page_by_public_id() -> None:
    assert evidence_url(BASE + "/", PUBLIC_ID) == f"{BASE}/evidence/{PUBLIC_ID}"


def test_certificate_fields() -> None:
    cert = certificate()
    assert cert.number == f"CP-31337-{PUBLIC_ID}"
    assert cert.time_cst == "2025-01-01 08:00:00 (UTC+8)"
    assert cert.time_utc == "2025-01-01T00:00:00Z"
    assert not cert.revoked
    assert certificate(status="revoked").revoked


def test_formatting() -> None:
    assert cst_time(None) == "" and utc_iso(None) == ""
    assert short_hex(DIGEST) == "0x5891b5b5…be03"
    assert short_hex("0x12") == "0x12"


def test_qr_svg_is_inline_and_scalable() -> None:
    svg = qr_svg(f"{BASE}/verify?digest={DIGEST}", title="扫码验证")
    assert svg.startswith("<svg") and "viewBox" in svg and "<title>扫码验证</title>" in svg
    assert 'width="' not in svg.split(">")[0]  # sized by CSS, not by the QR's module count


def test_missing_cjk_font_is_refused_with_the_package_to_install(tmp_path: Path) -> None:
    with pytest.raises(CertificateFontError, match="fonts-wqy-zenhei"):
        find_cjk_font([(str(tmp_path / "none.ttc"), 0)])


def _tools() -> str | None:
    for tool, package in (("pdftoppm", "poppler-utils"), ("pdffonts", "poppler-utils")):
        if shutil.which(tool) is None:
            return f"{tool} is missing (apt-get install {package})"
    if shutil.which("zbarimg") is None:
        return "zbarimg is missing (apt-get install zbar-tools)"
    if not any(Path(p).is_file() for p, _ in CJK_FONTS):
        return "no CJK TrueType font (apt-get install fonts-wqy-zenhei)"
    return None


@pytest.mark.parametrize("status", ["anchored", "revoked"])
def test_pdf_embeds_cjk_renders_and_its_qr_decodes(tmp_path: Path, status: str) -> None:
    missing = _tools()
    require(missing is None, f"cannot check the PDF certificate: {missing}")
    cert = certificate(status=status)
    pdf = tmp_path / "certificate.pdf"
    pdf.write_bytes(render_pdf(cert))
    assert pdf.read_bytes().startswith(b"%PDF-")

    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True)
    cjk = [line for line in fonts.stdout.splitlines() if re.search("WenQuanYi|Droid|UMing", line)]
    assert cjk, fonts.stdout
    assert re.search(r"\byes\s+yes\b", cjk[0]), cjk[0]  # embedded and subset

    subprocess.run(
        ["pdftoppm", "-r", "110", "-png", "-singlefile", str(pdf), str(tmp_path / "page")],
        check=True,
    )
    png = tmp_path / "page.png"
    assert png.stat().st_size > 10_000
    decoded = subprocess.run(
        ["zbarimg", "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", str(png)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert decoded.stdout.strip() == cert.verify_url

    text = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True, text=True, check=False
    )
    if text.returncode == 0:  # pdftotext comes with pdftoppm (poppler-utils)
        flat = re.sub(r"\s+", "", text.stdout)
        assert "存证证书" in flat
        assert re.sub(r"\s+", "", str(cert.member)) in flat
        assert DIGEST in flat
        assert ("已撤销" in flat) is (status == "revoked")
