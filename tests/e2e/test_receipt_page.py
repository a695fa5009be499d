"""/receipt: a receipt verified entirely in the browser, against a node the browser asks.

The server under test runs on a managed Anvil, so the page's script talks JSON-RPC to a
real node (Anvil allows CORS) and the verdicts are compared with what
``chainproof.receipts.verify_receipt`` says of the same receipt against the same node. The
page must never call the ChainProof server's API while it verifies: its requests are
recorded and checked. Screenshots go to test-artifacts/screenshots/.
"""

from __future__ import annotations

import json
import socket
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from eth_utils import keccak, to_checksum_address
from web3 import Web3

from chainproof.receipts import ONLINE_CHECKS, Receipt, verify_receipt
from chainproof.trust import TrustAnchor
from tests.factories import receipt_from

from .conftest import LiveServer, shot
from .test_pages import horizontal_overflow, no_script_errors, wide

if TYPE_CHECKING:
    from playwright.sync_api import Page, Request

CHECKS = list(ONLINE_CHECKS)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def anchor_with_receipt(
    live: LiveServer, folder: Path, name: str
) -> tuple[Path, Path, dict[str, Any]]:
    """A fresh document anchored through the API, and its receipt downloaded from the API."""
    document = folder / name
    document.write_bytes(f"存证回执测试 {uuid.uuid4()}\n金桔 120 万元\n".encode())
    record = live.anchor(document.name, document.read_bytes())
    response = live.get(
        f"/api/v1/evidence/{record['id']}/receipt",
        headers={"Authorization": f"Bearer {live.submitter_key}"},
    )
    assert response.status_code == 200, response.text
    receipt = document.with_name(f"chainproof-receipt-{record['id']}.json")
    receipt.write_text(response.text, encoding="utf-8")
    return document, receipt, record


def rpc_url(live: LiveServer) -> str:
    url = live.get("/api/v1/chain").json()["rpc_url"]
    assert isinstance(url, str) and url.startswith("http://127.0.0.1:"), url
    return url


def python_verdict(receipt: Path, url: str, live: LiveServer) -> Any:
    """What the CLI / Python package says of the receipt against the same node, pinned to
    the same trust anchor the page is prefilled with (the server's well-known document)."""
    return verify_receipt(
        Receipt.from_json(receipt.read_text()),
        Web3(Web3.HTTPProvider(url)),
        trust=TrustAnchor.fetch(live.url),
    )


def open_page(page: Page, live: LiveServer, lang: str = "zh-CN") -> None:
    """Opens /receipt and waits until the trust anchor is prefilled (or failed to be)."""
    page.goto(f"{live.url}/receipt?lang={lang}")
    page.wait_for_function(
        "() => document.getElementById('trust-anchor').dataset.state !== 'loading'"
    )


def run_page(
    page: Page,
    live: LiveServer,
    receipt: Path,
    *,
    document: Path | None = None,
    url: str | None = None,
    lang: str = "zh-CN",
    anchor: str | None = None,
) -> list[str]:
    """Opens /receipt, chooses the files, verifies; returns the URLs requested meanwhile.
    ``anchor`` replaces the prefilled trust anchor ("" leaves none)."""
    open_page(page, live, lang)
    if url is not None:
        page.locator("#rpc-url").fill(url)
    if anchor is not None:
        page.locator("#trust-anchor").fill(anchor)
    requested: list[str] = []

    def record(request: Request) -> None:
        requested.append(request.url)

    page.on("request", record)
    page.set_input_files("#receipt-file", str(receipt))
    if document is not None:
        page.set_input_files("#document-file", str(document))
    page.locator("#receipt-run").click()
    page.wait_for_function(
        """() => ['valid', 'revoked', 'invalid', 'not_receipt', 'unpinned', 'bad_anchor'].includes(
                   document.getElementById('receipt-verdict').dataset.verdict)""",
        timeout=30_000,
    )
    page.remove_listener("request", record)
    return requested


def rows(page: Page) -> list[tuple[str, bool, str]]:
    found: list[list[Any]] = page.evaluate(
        """() => [...document.querySelectorAll('#receipt-checks li')].map(li => [
                 li.dataset.check, li.dataset.ok === 'true',
                 li.querySelector('.receipt-detail').textContent])"""
    )
    return [(name, ok, detail) for name, ok, detail in found]


def verdict(page: Page) -> str:
    value = page.locator("#receipt-verdict").get_attribute("data-verdict")
    assert value is not None
    return value


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("receipts")


@pytest.fixture(scope="module")
def anchored(anvil_server: LiveServer, folder: Path) -> tuple[Path, Path, dict[str, Any]]:
    return anchor_with_receipt(anvil_server, folder, "2023年专项补贴申报书-回执.txt")


def test_keccak_in_the_browser_matches_eth_utils(anvil_server: LiveServer, page: Page) -> None:
    """The page's keccak (hash-wasm's, vendored): Ethereum's keccak, not SHA3-256."""
    page.goto(anvil_server.url + "/receipt")
    page.evaluate("() => window.ChainProofReceipt.ready")
    hashed = "(bytes) => window.hashwasm.keccak(new Uint8Array(bytes), 256)"
    for n in (0, 1, 31, 32, 135, 136, 137, 271, 272, 1000):
        sample = bytes((i * 7 + 3) % 256 for i in range(n))
        assert page.evaluate(hashed, list(sample)) == keccak(sample).hex(), n
    assert page.evaluate(hashed, []) == (
        "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
    )
    # The page's EIP-55 checksum (which hashes on the page's thread) is eth_utils'.
    address = "0x" + keccak(b"an address").hex()[:40]
    assert page.evaluate(
        "(a) => window.ChainProofReceipt.checksum(a)", address
    ) == to_checksum_address(address)
    no_script_errors(page)


def test_a_receipt_and_its_document_verify_in_the_browser_without_our_server(
    anvil_server: LiveServer, anchored: tuple[Path, Path, dict[str, Any]], page: Page
) -> None:
    document, receipt, _record = anchored
    url = rpc_url(anvil_server)
    open_page(page, anvil_server)
    # Prefilled with what GET /api/v1/chain answers as rpc_url.
    assert page.get_by_label("区块链节点 JSON-RPC 地址").input_value() == url

    requested = run_page(page, anvil_server, receipt, document=document)
    assert verdict(page) == "valid", rows(page)
    got = rows(page)
    assert [name for name, _, _ in got] == ["document", *CHECKS]
    assert all(ok for _, ok, _ in got), got
    assert page.locator("#receipt-checks li .receipt-mark").all_inner_texts() == ["✓"] * 12
    assert "回执有效" in page.locator("#receipt-verdict").inner_text()
    shot(page, "receipt-valid")

    # Nothing went to our server: every request of the verification went to the node.
    assert requested, "the page asked no node at all"
    # From our server only code: the hash worker and hash-wasm, loaded to hash the document.
    ours = [u for u in requested if u.startswith(anvil_server.url + "/")]
    assert all(u.startswith(anvil_server.url + "/static/") for u in ours), ours
    assert all(u.rstrip("/") == url.rstrip("/") for u in requested if u not in ours), requested

    # The same verdict as the Python package's, check by check.
    python = python_verdict(receipt, url, anvil_server)
    assert python.valid and [name for name, _, _ in python.checks] == CHECKS
    no_script_errors(page)


def test_english_details_are_the_python_packages(
    anvil_server: LiveServer, anchored: tuple[Path, Path, dict[str, Any]], page: Page
) -> None:
    _document, receipt, _record = anchored
    run_page(page, anvil_server, receipt, lang="en")
    assert verdict(page) == "valid"
    assert "Valid receipt" in page.locator("#receipt-verdict").inner_text()
    python = python_verdict(receipt, rpc_url(anvil_server), anvil_server)
    page_details = {name: detail for name, _, detail in rows(page)}
    for name, ok, detail in python.checks:
        assert ok
        if name != "block":  # the page shows the block time as a date, not Unix seconds
            assert page_details[name] == detail, name
    no_script_errors(page)


def test_one_byte_of_the_digest_changed_fails_offline(
    anvil_server: LiveServer,
    anchored: tuple[Path, Path, dict[str, Any]],
    page: Page,
    tmp_path: Path,
) -> None:
    _document, receipt, _record = anchored
    data = json.loads(receipt.read_text())
    digest = data["digest"]
    data["digest"] = digest[:-2] + format(int(digest[-2:], 16) ^ 0x01, "02x")
    forged = tmp_path / "forged-receipt.json"
    forged.write_text(json.dumps(data))

    run_page(page, anvil_server, forged)
    assert verdict(page) == "invalid"
    got = rows(page)
    assert [(name, ok) for name, ok, _ in got] == [("offline", False)]
    assert "leaf_values[1]" in got[0][2] and data["digest"] in got[0][2]
    assert page.locator("#receipt-checks li .receipt-mark").inner_text() == "✗"
    assert got[0][2] in page.get_by_test_id("receipt-reason").inner_text()
    python = python_verdict(forged, rpc_url(anvil_server), anvil_server)
    assert [(n, ok) for n, ok, _ in python.checks] == [("offline", False)]
    shot(page, "receipt-forged-digest")
    no_script_errors(page)


def test_a_modified_document_fails_the_document_check(
    anvil_server: LiveServer,
    anchored: tuple[Path, Path, dict[str, Any]],
    page: Page,
    tmp_path: Path,
) -> None:
    document, receipt, record = anchored
    content = bytearray(document.read_bytes())
    content[0] ^= 0x01
    modified = tmp_path / "申报书-改了一个字节.txt"
    modified.write_bytes(bytes(content))

    requested = run_page(page, anvil_server, receipt, document=modified)
    assert verdict(page) == "invalid"
    got = rows(page)
    assert [(name, ok) for name, ok, _ in got] == [("document", False)]
    assert record["digest"] in got[0][2]
    # Stopped before asking the node: only the page's hashing code was loaded, from us.
    assert all(u.startswith(anvil_server.url + "/static/") for u in requested), requested
    shot(page, "receipt-modified-document")
    no_script_errors(page)


def test_a_node_that_does_not_answer_is_a_failed_chain_id_check(
    anvil_server: LiveServer, anchored: tuple[Path, Path, dict[str, Any]], page: Page
) -> None:
    _document, receipt, _record = anchored
    nowhere = f"http://127.0.0.1:{_free_port()}"
    requested = run_page(page, anvil_server, receipt, url=nowhere)
    assert verdict(page) == "invalid"
    got = rows(page)
    assert [(name, ok) for name, ok, _ in got] == [("offline", True), ("chain_id", False)]
    detail = got[1][2]
    assert "无法连接节点" in detail and nowhere in detail and "CORS" in detail, detail
    assert requested and all(u.startswith(nowhere) for u in requested), requested
    shot(page, "receipt-no-node")
    no_script_errors(page)

    # No URL at all is said as plainly.
    run_page(page, anvil_server, receipt, url="")
    assert [(name, ok) for name, ok, _ in rows(page)] == [("offline", True), ("chain_id", False)]
    assert "没有填写节点地址" in rows(page)[1][2]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"%PDF-1.7 not json", "不是 JSON 文件"),
        (b'{"hello": "world"}', "不是有效的 ChainProof 存证回执"),
        (b"[1, 2, 3]", "不是一个对象"),
    ],
)
def test_json_that_is_not_a_receipt_says_so(
    anvil_server: LiveServer, page: Page, tmp_path: Path, content: bytes, expected: str
) -> None:
    path = tmp_path / "something.json"
    path.write_bytes(content)
    requested = run_page(page, anvil_server, path)
    assert verdict(page) == "not_receipt"
    assert expected in page.get_by_test_id("receipt-reason").inner_text()
    assert rows(page) == []
    assert requested == []
    no_script_errors(page)


def test_a_revoked_evidence_is_revoked_on_the_page(
    anvil_server: LiveServer, folder: Path, page: Page
) -> None:
    document, receipt, record = anchor_with_receipt(anvil_server, folder, "将被撤销的发票.txt")
    response = anvil_server.post(
        f"/api/v1/evidence/{record['id']}/revoke",
        headers={"Authorization": f"Bearer {anvil_server.submitter_key}"},
        json={"reason": "发票作废，重新开具"},
    )
    assert response.status_code == 202, response.text
    # The chain writer sends it: wait for the operation, as the CLI does.
    deadline = time.monotonic() + 60
    while (op := response.json())["status"] not in ("confirmed", "failed"):
        assert time.monotonic() < deadline, op
        time.sleep(0.1)
        response = anvil_server.get(
            f"/api/v1/operations/{op['id']}",
            headers={"Authorization": f"Bearer {anvil_server.submitter_key}"},
        )
    assert op["status"] == "confirmed", op

    run_page(page, anvil_server, receipt, document=document)
    assert verdict(page) == "revoked", rows(page)
    got = rows(page)
    failed = got[-1]
    assert not failed[1] and all(ok for _, ok, _ in got[:-1])
    assert failed[2].startswith("已撤销"), failed
    assert "已撤销" in page.locator("#receipt-verdict").inner_text()
    # The same check fails in the Python package, with a reason starting with "revoked".
    python = python_verdict(receipt, rpc_url(anvil_server), anvil_server)
    assert not python.valid and python.reason.startswith("revoked")
    assert python.checks[-1][0] == failed[0]
    shot(page, "receipt-revoked")
    no_script_errors(page)


def test_reached_from_the_evidence_page_and_fits_a_phone(
    anvil_server: LiveServer, anchored: tuple[Path, Path, dict[str, Any]], phone: Page
) -> None:
    document, receipt, record = anchored
    phone.goto(f"{anvil_server.url}/evidence/{record['id']}")
    phone.get_by_test_id("receipt-page-link").click()
    phone.wait_for_url(f"{anvil_server.url}/receipt")
    phone.goto(f"{anvil_server.url}/verify")
    phone.get_by_test_id("receipt-page-link").click()
    phone.wait_for_url(f"{anvil_server.url}/receipt")

    # Labels name every input; the keyboard reaches them in order.
    for label in (
        "存证回执（JSON 文件）",
        "原文件（可选，用于核对文件摘要）",
        "区块链节点 JSON-RPC 地址",
    ):
        assert phone.get_by_label(label).count() == 1, label
    run_page(phone, anvil_server, receipt, document=document)
    assert verdict(phone) == "valid"
    assert horizontal_overflow(phone) <= 0, f"/receipt scrolls sideways on a phone: {wide(phone)}"
    shot(phone, "phone-receipt")


def test_keyboard_reaches_every_control(anvil_server: LiveServer, page: Page) -> None:
    page.goto(anvil_server.url + "/receipt")
    page.locator("main h1").click()
    reached: list[str] = []
    for _ in range(30):
        page.keyboard.press("Tab")
        reached.append(page.evaluate("document.activeElement.id"))
    controls = ("receipt-file", "document-file", "document-clear", "rpc-url", "trust-anchor")
    for control in (*controls, "receipt-run"):
        assert control in reached, reached
    assert reached.index("receipt-file") < reached.index("rpc-url") < reached.index("receipt-run")
    assert reached.index("rpc-url") < reached.index("trust-anchor") < reached.index("receipt-run")


def test_a_receipt_of_a_v1_registry_verifies_with_v1s_calls(
    anvil_server: LiveServer, page: Page, tmp_path: Path
) -> None:
    """After an upgrade, receipts of the v1 registry still verify (docs/operations.md): the
    page reads ``version()`` (v1 has none: a revert) and uses v1's ``getAnchor(bytes32)``,
    ``isLeafRevoked(bytes32,bytes32)`` and ``verify(bytes32,bytes32,bytes32[])``."""
    from eth_account import Account

    from chainproof.chain.compiler import load_artifact
    from chainproof.chain.deployments import deploy_registry
    from chainproof.chain.registry import EvidenceRegistryClient
    from chainproof.chain.sender import TxSender
    from chainproof.config import DEV_PRIVATE_KEYS
    from chainproof.merkle import StandardMerkleTree
    from chainproof.receipts import LEAF_TYPES
    from chainproof.trust import code_hash

    url = rpc_url(anvil_server)
    w3 = Web3(Web3.HTTPProvider(url))
    key = Account.from_key(DEV_PRIVATE_KEYS[7])  # not the server's operator key: no nonce race
    v1 = deploy_registry(w3, key, load_artifact("EvidenceRegistryV1"))
    client = EvidenceRegistryClient(w3, v1.address, load_artifact("EvidenceRegistryV1").abi)
    values = [["sha256", keccak(text=f"v1-{i}"), keccak(text=f"v1-salt-{i}")] for i in range(3)]
    tree = StandardMerkleTree.of(values, list(LEAF_TYPES))
    mined = client.anchor(TxSender(w3, key), tree.root, 3, b"\x00" * 32)
    receipt = receipt_from(
        algorithm="sha256",
        digest=values[1][1],
        salt=values[1][2],
        proof=tree.get_proof(1),
        root=tree.root,
        chain_id=w3.eth.chain_id,
        contract=v1.address,
        tx_hash=mined.tx_hash,
        block_number=mined.block_number,
        block_hash=mined.block_hash,
        block_timestamp=int(w3.eth.get_block(mined.block_number)["timestamp"]),
        submitter=key.address,
    )
    path = tmp_path / "v1-receipt.json"
    path.write_text(receipt.to_json(), encoding="utf-8")
    # The verifier's anchor honours the v1 registry (as the well-known document does after
    # `contracts deploy --upgrade`); without it the receipt is refused at `registry`.
    served = TrustAnchor.fetch(anvil_server.url).document()
    past = {"address": v1.address, "code_hash": code_hash(w3, v1.address), "version": 1}
    anchor = TrustAnchor.from_dict({**served, "past_registries": [past]})
    run_page(page, anvil_server, path, lang="en", anchor=json.dumps(anchor.document()))
    assert verdict(page) == "valid", rows(page)
    python = verify_receipt(receipt, w3, trust=anchor)
    assert python.valid, python.reason
    page_details = {name: detail for name, _, detail in rows(page)}
    for name, _, detail in python.checks:
        if name != "block":
            assert page_details[name] == detail, name
    no_script_errors(page)


def test_a_typed_receipt_proves_its_metadata_in_the_browser(
    anvil_server: LiveServer, page: Page, tmp_path: Path
) -> None:
    """Issue 25: the page checks that a typed receipt's salt commits to its metadata, shows
    the business type and metadata as proven, and fails offline once the metadata changes."""
    code = f"contract{uuid.uuid4().hex[:8]}"
    made = anvil_server.post(
        "/api/v1/business-types",
        headers={"Authorization": f"Bearer {anvil_server.admin_key}"},
        json={"code": code, "name": "合同", "schema": {"type": "object"}},
    )
    assert made.status_code == 201, made.text
    key = {"Authorization": f"Bearer {anvil_server.submitter_key}"}
    sent = anvil_server.post(
        "/api/v1/evidence/digests",
        headers=key,
        json={
            "digests": ["0x" + keccak(text=code).hex()],
            "business_type": code,
            "metadata": {"contract_no": "HT-2023-118", "amount_wan": 60},
        },
    )
    assert sent.status_code == 202, sent.text
    evidence_id = sent.json()["items"][0]["id"]
    deadline = time.monotonic() + 30
    while anvil_server.get(f"/api/v1/evidence/{evidence_id}", headers=key).json()["status"] != (
        "anchored"
    ):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    data = anvil_server.get(f"/api/v1/evidence/{evidence_id}/receipt", headers=key).json()
    receipt = tmp_path / "typed-receipt.json"
    receipt.write_text(json.dumps(data))

    run_page(page, anvil_server, receipt, lang="en")
    assert verdict(page) == "valid", rows(page)
    summary = page.locator("#receipt-summary").inner_text()
    assert code in summary and "HT-2023-118" in summary and "Metadata (proven)" in summary

    data["metadata"]["text"] = data["metadata"]["text"].replace('"amount_wan":60', '"amount_wan":6')
    forged = tmp_path / "typed-forged.json"
    forged.write_text(json.dumps(data))
    run_page(page, anvil_server, forged, lang="en")
    assert verdict(page) == "invalid"
    got = rows(page)
    assert [(name, ok) for name, ok, _ in got] == [("offline", False)]
    assert "not what the leaf committed" in got[0][2]
    python = python_verdict(forged, rpc_url(anvil_server), anvil_server)
    assert [(n, ok) for n, ok, _ in python.checks] == [("offline", False)]
    assert python.checks[0][2] == got[0][2]  # the same words as the Python package
    no_script_errors(page)
