"""verify_receipt's trust checks one by one, on a real registry (embedded chain and Anvil):
each field of the anchor that differs from the node or the receipt fails its named check
with its reason; a past registry the anchor honours passes; no anchor is never valid.

The forgeries themselves (a look-alike contract, a private chain) against the CLI, the API
and the browser are in tests/e2e/test_receipt_trust.py.
"""

from __future__ import annotations

from typing import Any

import pytest
from eth_utils import keccak

from chainproof.merkle import StandardMerkleTree
from chainproof.receipts import LEAF_TYPES, ONLINE_CHECKS, Receipt, verify_receipt
from chainproof.trust import TrustAnchor

from ..conftest import Deployed
from ..factories import pinned, receipt_from

pytestmark = [
    pytest.mark.chain,
    pytest.mark.parametrize("chain_node", ["embedded", "anvil"], indirect=True),
]

OTHER = "0x" + "11" * 20


def genuine(d: Deployed) -> Receipt:
    values = [["sha256", keccak(text=f"trust-{i}"), keccak(text=f"salt-{i}")] for i in range(3)]
    tree = StandardMerkleTree.of(values, list(LEAF_TYPES))
    mined = d.client().anchor(d.sender(d.admin), tree.root, 3, b"\x00" * 32)
    block = d.w3.eth.get_block(mined.block_number)
    return receipt_from(
        algorithm="sha256",
        digest=values[1][1],
        salt=values[1][2],
        proof=tree.get_proof(1),
        root=tree.root,
        chain_id=d.w3.eth.chain_id,
        contract=d.deployment.address,
        tx_hash=mined.tx_hash,
        block_number=mined.block_number,
        block_hash=mined.block_hash,
        block_timestamp=int(block["timestamp"]),
        submitter=d.admin.address,
    )


def changed(anchor: TrustAnchor, **fields: Any) -> TrustAnchor:
    return TrustAnchor.from_dict({**anchor.document(), **fields})


def failed(verdict: Any) -> tuple[str, str]:
    assert not verdict.valid and verdict.pinned
    name, ok, detail = verdict.checks[-1]
    assert not ok and detail == verdict.reason
    return name, detail


def test_pinned_receipt_is_valid_and_says_what_it_pinned(deployed: Deployed) -> None:
    receipt = genuine(deployed)
    anchor = pinned(deployed.w3, deployed.deployment.address)
    verdict = verify_receipt(receipt, deployed.w3, trust=anchor)
    assert verdict.valid and verdict.pinned and verdict.status == "valid", verdict.reason
    assert [name for name, _, _ in verdict.checks] == list(ONLINE_CHECKS)
    details = {name: detail for name, _, detail in verdict.checks}
    assert details["genesis"] == f"genesis {anchor.genesis_hash}, as pinned"
    assert anchor.registry_version == 2  # EvidenceRegistry v2 answers version()
    assert details["registry"] == f"{receipt.contract} is the pinned registry (version 2)"
    assert anchor.registry_code_hash in details["contract_code"]


@pytest.mark.parametrize(
    ("fields", "check", "says"),
    [
        ({"chain_id": 1}, "chain_id", "the trust anchor pins chain 1"),
        ({"genesis_hash": "0x" + "ab" * 32}, "genesis", "another chain with the same chain id"),
        ({"registry": OTHER}, "registry", "is not the pinned registry"),
        ({"registry_code_hash": "0x" + "cd" * 32}, "contract_code", "the trust anchor pins"),
    ],
)
def test_each_anchor_field_is_checked(
    deployed: Deployed, fields: dict[str, Any], check: str, says: str
) -> None:
    receipt = genuine(deployed)
    anchor = changed(pinned(deployed.w3, deployed.deployment.address), **fields)
    name, detail = failed(verify_receipt(receipt, deployed.w3, trust=anchor))
    assert name == check and says in detail, detail


def test_a_past_registry_the_anchor_honours_still_verifies(deployed: Deployed) -> None:
    receipt = genuine(deployed)
    old = pinned(deployed.w3, deployed.deployment.address)
    past = {"address": old.registry, "code_hash": old.registry_code_hash, "version": 1}
    upgraded = changed(
        old, registry=OTHER, registry_version=2, past_registries=[past]
    )  # the current registry is elsewhere; v1's receipts are still honoured
    verdict = verify_receipt(receipt, deployed.w3, trust=upgraded)
    assert verdict.valid, verdict.reason
    assert dict((n, d) for n, _, d in verdict.checks)["registry"] == (
        f"{receipt.contract} is a past registry the anchor still honours (version 1)"
    )
    # Its own code hash is checked, not the current registry's.
    wrong = changed(upgraded, past_registries=[{**past, "code_hash": "0x" + "ee" * 32}])
    assert failed(verify_receipt(receipt, deployed.w3, trust=wrong))[0] == "contract_code"
    # Dropped from the anchor: no longer honoured.
    dropped = changed(upgraded, past_registries=[])
    name, detail = failed(verify_receipt(receipt, deployed.w3, trust=dropped))
    assert name == "registry" and OTHER.lower() in detail.lower()


def test_without_an_anchor_every_check_passes_and_it_is_never_valid(deployed: Deployed) -> None:
    verdict = verify_receipt(genuine(deployed), deployed.w3)
    assert [(name, ok) for name, ok, _ in verdict.checks] == [(n, True) for n in ONLINE_CHECKS]
    assert not verdict.valid and not verdict.pinned and verdict.status == "unpinned"
    assert verdict.reason is not None and verdict.reason.startswith("not pinned")
    assert all("not pinned" in d for n, _, d in verdict.checks if n in ("genesis", "registry"))
