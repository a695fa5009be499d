"""The HTTP API end to end, evidence: anchoring files and digests, receipts, verification.

One embedded chain (eth-tester + py-evm) serves the module; every test gets its own app,
data directory and SQLite database on it (``tests/apps.py``), so tests share nothing but
blocks (random salts keep their Merkle roots apart). The API section of issue 3 is a
contract: paths, field names and status codes are asserted exactly.
"""

from __future__ import annotations

import hashlib
import time

from chainproof.digests import hash_bytes
from chainproof.store.models import Batch

from ..apps import (
    ANCHOR_KEYS,
    MULTIPART,
    RECEIPT_KEYS,
    WAIT_SECONDS,
    Api,
    StartApi,
    assert_error,
    multipart,
)

# --- anchoring files, receipts, verification -------------------------------------------------


def test_upload_anchor_receipt_and_verify_receipt(api: Api, submitter: dict[str, str]) -> None:
    response = api.upload(
        submitter, ("申报书.pdf", b"application form"), ("发票.pdf", b"invoice"), label="2023 申报"
    )
    assert response.status_code == 202, response.text
    items = response.json()["items"]
    assert [set(i) for i in items] == [{"id", "algorithm", "digest", "status"}] * 2
    assert [i["status"] for i in items] == ["queued", "queued"]
    assert items[0]["digest"] == "0x" + hashlib.sha256(b"application form").hexdigest()
    assert items[0]["algorithm"] == "sha256"

    record = api.wait_anchored(items[0]["id"], submitter)
    assert set(record["anchor"]) >= ANCHOR_KEYS
    assert record["filename"] == "申报书.pdf" and record["label"] == "2023 申报"
    api.wait_anchored(items[1]["id"])

    receipt_response = api.client.get(
        f"/api/v1/evidence/{items[0]['id']}/receipt", headers=submitter
    )
    assert receipt_response.status_code == 200, receipt_response.text
    receipt = receipt_response.json()
    assert set(receipt) >= RECEIPT_KEYS
    assert receipt["digest"] == items[0]["digest"]
    assert receipt["root"] == record["anchor"]["root"]
    assert receipt["tx_hash"] == record["anchor"]["tx_hash"]

    verdict = api.client.post("/api/v1/receipts/verify", json=receipt)
    assert verdict.status_code == 200, verdict.text
    body = verdict.json()
    assert body["valid"] is True and body["reason"] is None
    assert body["checks"] and all(c["ok"] for c in body["checks"])

    download = api.client.get(
        f"/api/v1/evidence/{items[0]['id']}/receipt", params={"download": 1}, headers=submitter
    )
    assert download.headers["content-disposition"] == (
        f'attachment; filename="chainproof-receipt-{items[0]["id"]}.json"'
    )
    assert download.json() == {**receipt, "issued_at": download.json()["issued_at"]}


def test_tampered_receipt_is_invalid_and_garbage_is_422(
    api: Api, submitter: dict[str, str]
) -> None:
    [item] = api.upload(submitter, ("a.txt", b"receipt tamper")).json()["items"]
    api.wait_anchored(item["id"])
    receipt = api.client.get(f"/api/v1/evidence/{item['id']}/receipt", headers=submitter).json()

    forged = {**receipt, "block_timestamp": receipt["block_timestamp"] + 1}
    body = api.client.post("/api/v1/receipts/verify", json=forged).json()
    assert body["valid"] is False and "timestamp" in body["reason"]

    other_chain = {**receipt, "chain_id": 1}
    body = api.client.post("/api/v1/receipts/verify", json=other_chain).json()
    assert body["valid"] is False and "chain" in body["reason"]

    error = assert_error(api.client.post("/api/v1/receipts/verify", json={"hello": 1}), 422)
    assert "digest" in error["message"]
    assert_error(api.client.post("/api/v1/receipts/verify", json=[1, 2]), 422)
    assert_error(
        api.client.post(
            "/api/v1/receipts/verify",
            content=b"{not json",
            headers={"Content-Type": "application/json"},
        ),
        422,
    )


def test_verify_by_file_and_by_digest(api: Api, submitter: dict[str, str]) -> None:
    content = "验收发票 No. 2023-118".encode() * 100
    [item] = api.upload(submitter, ("invoice.pdf", content)).json()["items"]
    api.wait_anchored(item["id"])

    by_file = api.client.post(
        "/api/v1/verify", files={"file": ("any-name.pdf", content)}, headers=submitter
    )
    assert by_file.status_code == 200, by_file.text
    verdict = by_file.json()
    assert verdict["verdict"] == "anchored" and verdict["reason"] is None
    assert isinstance(verdict["block_number"], int) and verdict["tx_hash"].startswith("0x")
    assert verdict["digest"] == item["digest"]

    # Anonymous: anchored or not, never by whom or when (tests/security/test_evidence_privacy.py).
    by_digest = api.client.post(
        "/api/v1/verify", json={"algorithm": "sha256", "digest": item["digest"]}
    )
    assert by_digest.status_code == 200
    assert by_digest.json()["verdict"] == "anchored"
    assert "tx_hash" not in by_digest.json() and "label" not in by_digest.json()
    # Without 0x and in capitals it is the same digest.
    upper = api.client.post("/api/v1/verify", json={"digest": item["digest"][2:].upper()})
    assert upper.json()["verdict"] == "anchored"

    modified = bytearray(content)
    modified[-1] ^= 0x01
    tampered = api.client.post("/api/v1/verify", files={"file": ("invoice.pdf", bytes(modified))})
    assert tampered.status_code == 200
    assert tampered.json()["verdict"] == "not_found"


def test_pending_receipt_is_409_and_verify_says_pending(start_api: StartApi) -> None:
    api = start_api(run_batcher=False)
    headers = api.key("示范企业甲", "submitter")
    [item] = api.upload(headers, ("a.txt", b"never batched")).json()["items"]

    receipt = api.client.get(f"/api/v1/evidence/{item['id']}/receipt", headers=headers)
    assert_error(receipt, 409, "conflict")
    assert (
        api.client.get(f"/api/v1/evidence/{item['id']}", headers=headers).json()["anchor"] is None
    )
    verdict = api.client.post("/api/v1/verify", json={"digest": item["digest"]}).json()
    assert verdict["verdict"] == "pending"
    revoke = api.client.post(
        f"/api/v1/evidence/{item['id']}/revoke", json={"reason": "x"}, headers=headers
    )
    assert_error(revoke, 409, "conflict")
    ready = api.client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"]["batcher"]["detail"] == "disabled in this process"


def test_bulk_1000_digests_are_all_anchored(start_api: StartApi) -> None:
    # Batches of 100: ten transactions on the in-process chain instead of a hundred (each
    # is a py-evm block: most of this test's time), still several batches to close.
    api = start_api(batch_size=100)
    submitter = api.key("Bulk", "submitter")
    digests = ["0x" + hashlib.sha256(f"bulk-{i}".encode()).hexdigest() for i in range(1000)]
    started = time.monotonic()
    response = api.client.post(
        "/api/v1/evidence/digests", json={"digests": digests}, headers=submitter
    )
    assert response.status_code == 202, response.text
    items = response.json()["items"]
    assert [i["digest"] for i in items] == digests
    assert len({i["id"] for i in items}) == 1000

    deadline = time.monotonic() + WAIT_SECONDS
    while api.anchored_count() < 1000:
        assert time.monotonic() < deadline, f"only {api.anchored_count()} of 1000 anchored"
        time.sleep(0.1)
    elapsed = time.monotonic() - started
    assert api.count(Batch) == 10  # batch_size 100: one transaction per hundred documents
    for item in items[::250]:
        record = api.client.get(f"/api/v1/evidence/{item['id']}", headers=submitter).json()
        assert record["status"] == "anchored" and record["anchor"]["tx_hash"]
    print(f"1000 digests anchored in 10 batches in {elapsed:.1f}s")


def test_bad_digests_are_422_naming_the_index_and_store_nothing(
    api: Api, submitter: dict[str, str]
) -> None:
    good = "0x" + "ab" * 32
    cases = [
        ({"digests": [good, good, good, "0x1234"]}, "digests[3]"),
        ({"digests": [good, "zz" * 32]}, "digests[1]"),
        ({"digests": []}, "digests"),
        ({"digests": [good] * 10_001}, "digests"),
        ({"algorithm": "md5", "digests": [good]}, "algorithm"),
        ({"digests": [good], "label": "x" * 201}, "label"),
        ({"digests": [good], "extra": 1}, "extra"),
        ({"digests": [1234]}, "digests[0]"),
    ]
    for body, where in cases:
        error = assert_error(
            api.client.post("/api/v1/evidence/digests", json=body, headers=submitter),
            422,
            "validation_error",
        )
        assert where in error["message"], (body, error)
        assert len(error["message"]) < 2000  # 10,001 digests are not echoed back
    assert_error(
        api.client.post(
            "/api/v1/evidence/digests",
            content=b"[",
            headers={**submitter, "Content-Type": "application/json"},
        ),
        422,
    )
    assert api.count() == 0


def test_digest_algorithms(api: Api, submitter: dict[str, str]) -> None:
    content = b"algorithm choice"
    by_field = api.client.post(
        "/api/v1/evidence",
        headers={**submitter, **MULTIPART},
        content=multipart(("algorithm", None, b"sm3"), ("file", "a.txt", content)),
    )
    assert by_field.status_code == 202, by_field.text
    [item] = by_field.json()["items"]
    assert item["algorithm"] == "sm3" and item["digest"] == "0x" + hash_bytes(content, "sm3").hex()

    by_query = api.client.post(
        "/api/v1/evidence",
        params={"algorithm": "keccak256"},
        headers=submitter,
        files={"file": ("a", content)},
    )
    [item] = by_query.json()["items"]
    assert item["algorithm"] == "keccak256"
    assert item["digest"] == "0x" + hash_bytes(content, "keccak256").hex()

    late = api.client.post(
        "/api/v1/evidence",
        headers={**submitter, **MULTIPART},
        content=multipart(("file", "a.txt", content), ("algorithm", None, b"sm3")),
    )
    assert "before the file parts" in assert_error(late, 422)["message"]
    assert_error(
        api.client.post(
            "/api/v1/evidence",
            params={"algorithm": "md5"},
            headers=submitter,
            files={"file": ("a", content)},
        ),
        422,
    )
    assert api.count() == 2

    verdict = api.client.post(
        "/api/v1/verify", params={"algorithm": "sm3"}, files={"file": ("a", content)}
    )
    assert verdict.json()["verdict"] in ("pending", "anchored")
