"""receipts/metadata.py: a typed receipt's salt commits to its business type and metadata;
the offline check (every verifier's first step) holds it to that."""

from __future__ import annotations

import json
from typing import Any

import pytest
from eth_utils import keccak

from chainproof.merkle import StandardMerkleTree
from chainproof.receipts import (
    LEAF_TYPES,
    MetadataSection,
    Receipt,
    check_receipt_offline,
    evidence_leaf,
)
from chainproof.receipts.metadata import metadata_salt, metadata_text, read_metadata_text

from ..factories import receipt_from

NONCE = keccak(text="nonce")
METADATA = {"contract_no": "HT-2023-118", "amount_wan": 60, "甲方": "广西示范科技"}


def typed_receipt() -> Receipt:
    text = metadata_text("contract", METADATA)
    salt = metadata_salt(NONCE, text)
    digests = [keccak(text=f"doc {i}") for i in range(3)]
    salts = [salt, keccak(text="s1"), keccak(text="s2")]
    tree = StandardMerkleTree.of(
        [evidence_leaf("sha256", d, s)[1] for d, s in zip(digests, salts, strict=True)],
        LEAF_TYPES,
    )
    receipt = receipt_from(
        algorithm="sha256",
        digest=digests[0],
        salt=salt,
        proof=tree.get_proof(0),
        root=tree.root,
        chain_id=31337,
        contract="0x5FbDB2315678afecb367f032d93F642f64180aa3",
        tx_hash=keccak(text="tx"),
        block_number=7,
        block_hash=keccak(text="block"),
        block_timestamp=1_718_000_000,
        submitter="0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
    )
    return receipt.model_copy(
        update={"metadata": MetadataSection(text=text, nonce="0x" + NONCE.hex())}
    )


def with_section(receipt: Receipt, **section: Any) -> Receipt:
    data = json.loads(receipt.to_json())
    data["metadata"] = {**data["metadata"], **section}
    return Receipt.from_dict(data)


def test_the_salt_is_keccak_of_nonce_and_keccak_of_the_text() -> None:
    text = metadata_text("contract", METADATA)
    # RFC 8785: keys sorted, no spaces, UTF-8 as it is.
    assert text == (
        '{"business_type":"contract","metadata":{"amount_wan":60,'
        '"contract_no":"HT-2023-118","甲方":"广西示范科技"}}'
    )
    assert metadata_salt(NONCE, text) == keccak(NONCE + keccak(text.encode("utf-8")))
    assert read_metadata_text(text).metadata == METADATA


def test_a_typed_receipt_verifies_offline_and_round_trips() -> None:
    receipt = typed_receipt()
    assert check_receipt_offline(receipt) == []
    assert check_receipt_offline(Receipt.from_json(receipt.to_json())) == []


@pytest.mark.parametrize(
    ("section", "problem"),
    [
        ({"text": metadata_text("contract", {**METADATA, "amount_wan": 600})}, "not what the leaf"),
        ({"text": metadata_text("invoice", METADATA)}, "not what the leaf"),
        ({"nonce": "0x" + keccak(text="other").hex()}, "not what the leaf"),
        ({"text": '{"metadata":{}}'}, "exactly"),
        ({"text": "[]"}, "exactly"),
        ({"text": "{"}, "not JSON"),
    ],
)
def test_changed_metadata_fails_offline(section: dict[str, str], problem: str) -> None:
    problems = check_receipt_offline(with_section(typed_receipt(), **section))
    assert len(problems) == 1 and problem in problems[0], problems


def test_without_its_section_a_typed_receipt_proves_the_document_only() -> None:
    """Dropping the section loses the metadata's proof, not the document's (documented)."""
    stripped = typed_receipt().model_copy(update={"metadata": None})
    assert check_receipt_offline(stripped) == []
    assert "metadata" not in json.loads(stripped.to_json())
