"""/tenders/{reference}: the tender page, checked in a real browser against Anvil's logs.

The server (full runtime, managed Anvil) deploys its TenderRegistry on first use; a bidder's
signed commitment is relayed through the API; the page lists it with its block and its
script finds the same commitment in the node's ``eth_getLogs``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import httpx
from eth_account import Account
from eth_utils import keccak

from chainproof.digests import keccak256
from chainproof.tenders import commitments as c
from chainproof.web import STATIC_DIR

from .conftest import LiveServer

if TYPE_CHECKING:
    from playwright.sync_api import Page


def test_the_page_pins_the_event_topics() -> None:
    script = (STATIC_DIR / "js" / "tender.js").read_text()
    for signature in (
        "BidCommitted(bytes32,address,bytes32,address)",
        "BidRevealed(bytes32,address,bytes32)",
    ):
        topic = "0x" + keccak(text=signature).hex()
        assert re.search(rf"'{topic}'; // {re.escape(signature)}", script), signature


def test_the_tender_page_shows_the_chains_commitments(anvil_server: LiveServer, page: Page) -> None:
    admin = {"Authorization": f"Bearer {anvil_server.admin_key}"}
    rpc = anvil_server.settings.public_rpc_url
    assert rpc is not None
    head = httpx.post(
        rpc,
        json={
            "jsonrpc": "2.0",
            "id": 1,
            "method": "eth_getBlockByNumber",
            "params": ["latest", False],
        },
    ).json()["result"]
    now = int(head["timestamp"], 16)

    def at(ts: int) -> str:
        return datetime.fromtimestamp(ts, UTC).isoformat()

    opened = anvil_server.post(
        "/api/v1/tenders",
        headers=admin,
        json={
            "reference": "PAGE-001",
            "title": "页面招标",
            "commit_deadline": at(now + 3600),
            "reveal_deadline": at(now + 7200),
            "document_digest": "0x" + keccak256(b"docs").hex(),
        },
    )
    assert opened.status_code == 201, opened.text
    info = opened.json()
    bidder = Account.create()
    tid = bytes.fromhex(info["tender_id"][2:])
    commitment = c.commitment(tid, bidder.address, keccak256(b"bid"), c.new_salt())
    sig = c.sign_commitment(
        bidder,
        chain_id=info["chain_id"],
        registry=info["registry"],
        tender=tid,
        commitment=commitment,
    )
    relayed = anvil_server.post(
        "/api/v1/tenders/PAGE-001/commitments",
        json={
            "bidder": bidder.address,
            "commitment": "0x" + commitment.hex(),
            "signature": "0x" + sig.hex(),
        },
    )
    assert relayed.status_code == 200, relayed.text

    page.goto(f"{anvil_server.url}/tenders/PAGE-001?lang=en")
    assert "0x" + commitment.hex() in page.get_by_test_id("tender-commitments").inner_text()
    page.wait_for_function(
        "() => document.getElementById('tender-check').dataset.state !== 'checking'"
    )
    check = page.get_by_test_id("tender-check")
    assert check.get_attribute("data-state") == "ok", check.inner_text()
