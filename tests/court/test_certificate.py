"""The signed certificate (issue 19, part 3) and the before-the-chain record (part 5):
``/evidence/{id}/certificate.pdf`` is PAdES-signed with an embedded time stamp from our TSA;
stock pyHanko accepts it against the root and rejects a modified copy; its text (poppler's
pdftotext) shows every field a court asks for, in Chinese and English."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from chainproof.evidence.records import EvidenceRecord
from chainproof.store import db
from chainproof.store.models import Member
from chainproof.timestamping.models import TsaStamp

from ..apps import BOUNDARY
from ..factories import wait_anchored

PYHANKO = shutil.which("pyhanko") or str(Path(__import__("sys").executable).parent / "pyhanko")
pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler-utils")

CONTENT = b"%PDF-1.7 the signed contract"


def upload(api: Any, key: dict[str, str]) -> str:
    body = (
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="合同.pdf"\r\nContent-Type: application/pdf\r\n\r\n'
        ).encode()
        + CONTENT
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )
    response = api.client.post(
        "/api/v1/evidence",
        content=body,
        headers={
            "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
            "X-ChainProof-Channel": "web",
            **key,
        },
    )
    assert response.status_code == 202, response.text
    evidence_id: str = response.json()["items"][0]["id"]
    wait_anchored(api.client, evidence_id, key)
    return evidence_id


@pytest.fixture
def signed(api: Any, submitter: dict[str, str], tmp_path: Path) -> dict[str, Any]:
    evidence_id = upload(api, submitter)
    response = api.client.get(f"/evidence/{evidence_id}/certificate.pdf", headers=submitter)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    pdf = tmp_path / "certificate.pdf"
    pdf.write_bytes(response.content)
    ca = tmp_path / "ca.pem"
    ca.write_bytes(api.client.get("/tsa/ca.pem").content)
    receipt = api.client.get(f"/api/v1/evidence/{evidence_id}/receipt", headers=submitter)
    return {"id": evidence_id, "pdf": pdf, "ca": ca, "receipt": receipt.json()}


def validate(pdf: Path, ca: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PYHANKO, "sign", "validate", "--trust", str(ca), "--trust-replace", str(pdf)],
        capture_output=True,
        text=True,
    )


def test_pyhanko_accepts_the_signed_certificate_and_rejects_a_modified_one(
    signed: dict[str, Any], tmp_path: Path
) -> None:
    done = validate(signed["pdf"], signed["ca"])
    assert done.returncode == 0, done.stdout + done.stderr
    # Intact, trusted under our root, a trusted RFC 3161 signature time stamp (B-T), and
    # extended with a DSS and a document time stamp (the B-LTA form).
    assert "INTACT:TRUSTED,TIMESTAMP_TOKEN<INTACT:TRUSTED>" in done.stdout, done.stdout
    assert "EXTENDED_WITH_LTA_UPDATES" in done.stdout, done.stdout
    data = bytearray(signed["pdf"].read_bytes())
    data[1000] ^= 0x01  # inside the signed byte range (the signature sits at the end)
    modified = tmp_path / "modified.pdf"
    modified.write_bytes(bytes(data))
    bad = validate(modified, signed["ca"])
    assert bad.returncode != 0 and "INTACT:TRUSTED" not in bad.stdout, bad.stdout
    # Another root does not vouch for it.
    other = tmp_path / "other"
    from chainproof.timestamping.pki import load_pki

    (other / "ca.pem").parent.mkdir()
    load_pki(other, password=None, create=True)
    untrusted = validate(signed["pdf"], other / "ca.pem")
    assert "INTACT:TRUSTED" not in untrusted.stdout, untrusted.stdout


def _text(pdf: Path) -> tuple[str, str]:
    text = subprocess.run(
        ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    return text, re.sub(r"\s+", "", text)


def test_the_pdf_states_every_field_a_court_asks_for(
    api: Any, signed: dict[str, Any], submitter: dict[str, str]
) -> None:
    text, flat = _text(signed["pdf"])
    r = signed["receipt"]
    with db.open_session(api.url) as s:
        record = s.exec(select(EvidenceRecord)).one()
        stamp = s.exec(select(TsaStamp)).one()
        member = s.exec(select(Member)).one()
    # Before the chain: name, size and type as received, time, channel, key.
    for label in (
        "文件名（客户端）",
        "File name (as sent)",
        "文件大小",
        "文件类型",
        "接收时间",
        "Received at",
        "提交渠道",
        "Channel",
        "上传密钥",
        "Uploading key",
    ):
        assert label in text, label
    assert "合同.pdf" in text and str(len(CONTENT)) in text and "application/pdf" in text
    assert "网页 / web page" in text and record.channel == "web"
    assert record.client_type == "application/pdf" and record.client_name == "合同.pdf"
    # The depositor: org, address and its EIP-712 signature over the leaf and the record.
    assert "存证主体" in text and member.name in text
    assert member.chain_address is not None and member.chain_address[2:] in flat
    assert record.member_signature is not None and record.member_signature[2:] in flat
    # Digest, TSA time and serial, chain id and genesis, registry, tx, block, root.
    for value in (r["digest"], r["tx_hash"], r["root"], r["contract"], r["block_hash"]):
        assert value[2:] in flat, value
    assert stamp.serial in flat and "可信时间戳时间" in text and "TSA time" in text
    assert "创世区块哈希" in text and "确认数" in text and "Confirmations" in text
    anchor = api.client.get("/.well-known/chainproof.json").json()
    assert anchor["genesis_hash"][2:] in flat and str(r["chain_id"]) in text
    # Two-sided time: the interval and its width.
    assert "时间区间" in text and "宽度 / width" in text
    # How to verify, and the verification report with named checks.
    assert "chainproofverify-bundle" in flat and "/.well-known/chainproof.json" in flat
    for name in ("创世区块", "存证合约", "存证事件", "未被撤销", "可信时间戳", "成员签名"):
        assert name in text, name
    assert "未通过" not in text and text.count("通过 / passed") >= 12
    # The same token every time: the certificate is stable.
    again = api.client.get(f"/evidence/{signed['id']}/certificate.pdf", headers=submitter)
    assert again.status_code == 200
    with db.open_session(api.url) as s:
        assert len(s.exec(select(TsaStamp)).all()) == 1
