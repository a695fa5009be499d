"""Business types and data resources (业务类型, 数据资源, issue 25), over HTTP on one module
chain.

Business types: admins define a type with a JSON Schema; evidence naming it carries metadata
that must meet the schema (400 naming the failing field, nothing stored) and is committed in
the leaf, so the receipt proves it; the record, the receipt and the certificate show it.

Data resources: a 2,000-file directory anchored as one Merkle root; after one file changed,
one removed and one added, ``dataset verify`` names exactly those three; one file's proof
(with the root's receipt) verifies alone; the owner grants and withdraws access, each change
audited, and anyone else gets 404. The CLI's functions run against the app in process (its
ASGI transport under the client), so the whole HTTP stack answers them without a server
process."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

from chainproof.cli import dataset as dataset_cli
from chainproof.client import ChainProofClient, ClientError
from chainproof.datasets.manifest import check_file_proof, root_of, scan
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
        ({**GOOD, "parties": ["x" * 9000]}, "metadata"),  # over 8,192 characters once canonical
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


# --- data resources (数据资源) ---

FILES = 2000


def _client(api: Api, headers: dict[str, str]) -> ChainProofClient:
    key = headers["Authorization"].removeprefix("Bearer ")
    transport = api.client._transport  # the app itself, through httpx
    return ChainProofClient("http://testserver", api_key=key, transport=transport)


def _directory(root: Path) -> Path:
    for i in range(FILES):
        folder = root / f"plot-{i // 100:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"sample-{i:04d}.csv").write_text(f"甘蔗 {i},糖分 {i % 17}\n", encoding="utf-8")
    return root


def test_verify_names_exactly_the_added_removed_and_changed_files(api: Api, tmp_path: Path) -> None:
    owner, other = api.key("甲检测", "submitter"), api.key("乙物流", "submitter")
    auditor = api.key("审计署", "auditor")
    data = _directory(tmp_path / "data")
    out = io.StringIO()
    with _client(api, owner) as client:
        record = dataset_cli.run_anchor(
            client, data, name="甘蔗检测 2023", licence="CC-BY-4.0", console=Console(file=out)
        )
    assert record["file_count"] == FILES and record["owner"] == "甲检测"
    assert record["root"] == root_of(list(scan(data)))
    api.wait_anchored(record["evidence_id"], owner)
    resource = record["id"]

    # Anyone but the owner, a grantee, an admin or an auditor: the 404 of a missing id.
    with _client(api, other) as client, pytest.raises(ClientError) as refused:
        client.dataset_manifest(resource)
    assert refused.value.status == 404
    assert api.client.get(f"/api/v1/datasets/{resource}", headers=auditor).status_code == 200
    assert_error(
        api.client.post(
            f"/api/v1/datasets/{resource}/grants", json={"org": "乙物流"}, headers=other
        ),
        404,
    )
    granted = api.client.post(
        f"/api/v1/datasets/{resource}/grants", json={"org": "乙物流"}, headers=owner
    )
    assert granted.status_code == 200 and granted.json()["grants"] == ["乙物流"]
    assert_error(
        api.client.post(
            f"/api/v1/datasets/{resource}/grants", json={"org": "丙零售"}, headers=other
        ),
        403,
    )

    # One file's proof, fetched by the grantee, verifies alone (no server: the CLI's check).
    proved = data / "plot-07" / "sample-0702.csv"
    with _client(api, other) as client:
        proof = client.dataset_proof(resource, "plot-07/sample-0702.csv")
    assert check_file_proof(proof, proved) == []
    receipt = Receipt.from_dict(proof["receipt"])
    assert receipt.digest == record["root"] and check_receipt_offline(receipt) == []
    assert api.client.post("/api/v1/receipts/verify", json=proof["receipt"]).json()["valid"]
    (tmp_path / "proof.json").write_text(json.dumps(proof), encoding="utf-8")
    runner = CliRunner()
    alone = runner.invoke(
        dataset_cli.app, ["check-proof", str(tmp_path / "proof.json"), str(proved)]
    )
    assert alone.exit_code == 0, alone.output
    forged = {**proof, "leaf": [proof["leaf"][0], proof["leaf"][1] + 1, proof["leaf"][2]]}
    assert check_file_proof(forged) and check_file_proof(proof, data / "plot-00/sample-0000.csv")

    # One changed, one removed, one added.
    (data / "plot-03" / "sample-0311.csv").write_text("甘蔗 311,糖分 99\n", encoding="utf-8")
    (data / "plot-15" / "sample-1500.csv").unlink()
    (data / "plot-19" / "late.csv").write_text("补录\n", encoding="utf-8")
    out = io.StringIO()
    with _client(api, other) as client:
        code, found = dataset_cli.run_verify(client, data, resource, console=Console(file=out))
    assert code == 1
    assert (found.added, found.removed, found.changed) == (
        ["plot-19/late.csv"],
        ["plot-15/sample-1500.csv"],
        ["plot-03/sample-0311.csv"],
    )
    lines = [line.split() for line in out.getvalue().splitlines()]
    assert [line for line in lines if line[0] in ("added", "removed", "changed")] == [
        ["added", "plot-19/late.csv"],
        ["removed", "plot-15/sample-1500.csv"],
        ["changed", "plot-03/sample-0311.csv"],
    ]
    # The changed file no longer matches its proof.
    changed = runner.invoke(
        dataset_cli.app,
        ["check-proof", str(tmp_path / "proof.json"), str(data / "plot-03/sample-0311.csv")],
    )
    assert changed.exit_code == 1

    withdrawn = api.client.delete(f"/api/v1/datasets/{resource}/grants/乙物流", headers=owner)
    assert withdrawn.status_code == 200 and withdrawn.json()["grants"] == []
    assert_error(api.client.get(f"/api/v1/datasets/{resource}", headers=other), 404)
    audit = api.client.get("/api/v1/audit", headers=auditor).json()
    actions = [(e["action"], e["target"]) for e in audit]
    for action in ("dataset.register", "dataset.grant", "dataset.revoke_grant"):
        assert actions.count((action, f"dataset:{resource}")) == 1, action
