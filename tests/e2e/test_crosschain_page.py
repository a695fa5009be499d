"""The receipt page (Chromium) reads cross-chain documents (issue 22): a trust anchor that
names its main chain, and a receipt that carries a checkpoint section, are still pinned
and verified against the receipt's own chain, not refused as unknown keys."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from tests.e2e.conftest import LiveServer
from tests.e2e.test_pages import no_script_errors
from tests.e2e.test_receipt_page import rows, run_page, verdict
from tests.e2e.test_receipt_trust import Forged, folder, genuine  # noqa: F401 (fixtures)

if TYPE_CHECKING:
    from playwright.sync_api import Page


def test_the_page_reads_a_main_chain_anchor_and_a_checkpointed_receipt(
    anvil_server: LiveServer,
    genuine: Forged,  # noqa: F811
    page: Page,
    tmp_path: Path,
) -> None:
    run_page(page, anvil_server, genuine.receipt, lang="en")
    anchor = json.loads(page.locator("#trust-anchor").input_value())
    anchor["main_chain"] = {
        "chain_id": 1,
        "genesis_hash": "0x" + "22" * 32,
        "checkpoint_registry": "0x" + "33" * 20,
        "checkpoint_registry_code_hash": "0x" + "44" * 32,
    }
    receipt = json.loads(genuine.receipt.read_text())
    receipt["checkpoint"] = {
        "main_chain_id": 1,
        "registry": "0x" + "33" * 20,
        "index": 0,
        "from_block": 0,
        "to_block": receipt["block_number"],
        "root": "0x" + "55" * 32,
        "proof": [],
        "header": "0xc0",
        "tx_index": 0,
        "receipt_proof": [],
    }
    crossed = tmp_path / "crossed.json"
    crossed.write_text(json.dumps(receipt))
    run_page(page, anvil_server, crossed, lang="en", anchor=json.dumps(anchor))
    assert verdict(page) == "valid", rows(page)
    no_script_errors(page)
