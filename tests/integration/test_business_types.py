"""Business types (业务类型, issue 25): admins define a type with a JSON Schema; evidence
naming it carries metadata that must meet the schema (400 naming the failing field, nothing
stored) and is committed in the leaf, so the receipt proves it; the record, the receipt and
the certificate show it."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from chainproof.receipts import Receipt, check_receipt_offline

from ..apps import Api, assert_error
from ..conftest import require

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "contract_no": {"type": "string", "pattern": "^HT-[0-9]{4}-[0-9]{3}$"},
        "amount_wan": {"type": "number", "minimum": 0},
        "parties": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["contract_no", "amount_wan"],
    "additionalProperties": False,
}
GOOD = {"contract_no": "HT-2023-118", "amount_wan": 60, "parties": ["甲糖厂", "乙物流"]}


def _typed(api: Api, headers: dict[str, str], content: bytes, metadata: Any) -> Any:
    return api.upload(
        headers,
        ("合同.pdf", content),
        business_type="contract",
        metadata=metadata if isinstance(metadata, str) else json.dumps(metadata),
    )


def test_metadata_is_checked_committed_and_shown(api: Api, tmp_path: Path) -> None:
    admin, submitter = api.key("运营方", "admin"), api.key("甲糖厂", "submitter")
    body = {"code": "contract", "name": "合同", "schema": SCHEMA}
    assert_error(api.client.post("/api/v1/business-types", json=body, headers=submitter), 403)
    made = api.client.post("/api/v1/business-types", json=body, headers=admin)
    assert made.status_code == 201, made.text
    assert made.json()["schema"] == SCHEMA
    assert_error(api.client.post("/api/v1/business-types", json=body, headers=admin), 409)
    listed = api.client.get("/api/v1/business-types", headers=submitter).json()
    assert [(t["code"], t["name"]) for t in listed] == [("contract", "合同")]
    # A hostile schema is refused, the place named (tests/unit/test_business_schemas.py: more).
    hostile = {**body, "code": "remote", "schema": {"type": "object", "$ref": "http://x/y"}}
    refused = assert_error(
        api.client.post("/api/v1/business-types", json=hostile, headers=admin), 400
    )
    assert "schema.$ref" in refused["message"]

    before = api.count()
    for metadata, field in (
        ({**GOOD, "amount_wan": -5}, "metadata.amount_wan"),
        ({"amount_wan": 5}, "metadata.contract_no"),
        ({**GOOD, "contract_no": "HT-23-1"}, "metadata.contract_no"),
        ({**GOOD, "parties": ["甲", 7]}, "metadata.parties[1]"),
        ("[1, 2]", "metadata"),
        ("{not json", "metadata"),
    ):
        error = assert_error(_typed(api, submitter, b"contract", metadata), 400)
        assert error["message"].startswith(field + ":"), (field, error)
    error = assert_error(api.upload(submitter, ("a.pdf", b"x"), metadata=json.dumps(GOOD)), 400)
    assert error["message"].startswith("business_type:")
    unknown = api.upload(
        submitter, ("a.pdf", b"x"), business_type="invoice", metadata=json.dumps(GOOD)
    )
    assert assert_error(unknown, 400)["message"].startswith("business_type:")
    assert api.count() == before  # nothing stored for any refused request

    sent = _typed(api, submitter, b"the signed contract", GOOD)
    assert sent.status_code == 202, sent.text
    [item] = sent.json()["items"]
    record = api.wait_anchored(item["id"], submitter)
    assert record["business_type"] == "contract" and record["metadata"] == GOOD

    raw = api.client.get(f"/api/v1/evidence/{item['id']}/receipt", headers=submitter).json()
    receipt = Receipt.from_dict(raw)
    assert receipt.metadata is not None
    assert json.loads(receipt.metadata.text) == {"business_type": "contract", "metadata": GOOD}
    assert check_receipt_offline(receipt) == []
    verdict = api.client.post("/api/v1/receipts/verify", json=raw).json()
    assert verdict["valid"] is True, verdict
    # Changing the metadata breaks the receipt: the salt committed to the original text.
    forged_text = receipt.metadata.text.replace('"amount_wan":60', '"amount_wan":600')
    assert forged_text != receipt.metadata.text
    forged = {**raw, "metadata": {**raw["metadata"], "text": forged_text}}
    problems = check_receipt_offline(Receipt.from_dict(forged))
    assert problems and "not what the leaf committed" in problems[0]
    assert api.client.post("/api/v1/receipts/verify", json=forged).json()["valid"] is False

    pdftotext = shutil.which("pdftotext")
    require(pdftotext is not None, "pdftotext is missing (apt-get install poppler-utils)")
    assert pdftotext is not None
    pdf = api.client.get(f"/evidence/{item['id']}/certificate.pdf", headers=submitter)
    assert pdf.status_code == 200, pdf.text
    (tmp_path / "cert.pdf").write_bytes(pdf.content)
    text = subprocess.run(
        [pdftotext, "-enc", "UTF-8", str(tmp_path / "cert.pdf"), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for shown in ("Business type", "合同 (contract)", "contract_no: HT-2023-118", "amount_wan: 60"):
        assert shown in text, shown

    audit = api.client.get("/api/v1/audit", headers=admin).json()
    actions = [(e["action"], e["target"]) for e in audit]
    assert actions.count(("business_type.create", "business_type:contract")) == 1


def test_typed_digests_by_json(api: Api) -> None:
    admin, submitter = api.key("运营方", "admin"), api.key("甲糖厂", "submitter")
    made = api.client.post(
        "/api/v1/business-types",
        json={"code": "contract", "name": "合同", "schema": SCHEMA},
        headers=admin,
    )
    assert made.status_code == 201
    digest = "0x" + "ab" * 32
    bad = {"digests": [digest], "business_type": "contract", "metadata": {"amount_wan": 1}}
    refused = api.client.post("/api/v1/evidence/digests", json=bad, headers=submitter)
    assert assert_error(refused, 400)["message"].startswith("metadata.contract_no:")
    good = {"digests": [digest, "0x" + "cd" * 32], "business_type": "contract", "metadata": GOOD}
    sent = api.client.post("/api/v1/evidence/digests", json=good, headers=submitter)
    assert sent.status_code == 202, sent.text
    ids = [i["id"] for i in sent.json()["items"]]
    for evidence_id in ids:
        api.wait_anchored(evidence_id, submitter)
    receipts = [
        Receipt.from_dict(api.client.get(f"/api/v1/evidence/{i}/receipt", headers=submitter).json())
        for i in ids
    ]
    assert all(r.metadata is not None and check_receipt_offline(r) == [] for r in receipts)
    # One nonce per document: the two leaves' salts (and so commitments) differ.
    assert receipts[0].salt != receipts[1].salt
