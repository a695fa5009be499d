"""The invoice proof file (``chainproof-invoice-proof/1``) and its offline check.

A proof says, for one invoice key: claimed (by which application's document) or not claimed,
in the map whose root R covers the first ``size`` claims; R is in a root record anchored as
evidence, whose receipt is in the file. :func:`verify_invoice_proof` checks the map proof
against R, R's record against the receipt's digest, and the receipt against the chain and
the pinned trust anchor (every receipt check). docs/invoices.md is the spec.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from eth_abi import encode
from web3 import Web3

from chainproof.digests import canonical_json, keccak256
from chainproof.errors import ChainProofError, InvalidInputError
from chainproof.invoices import smt
from chainproof.receipts import Receipt, verify_receipt
from chainproof.trust import TrustAnchor

PROOF_FORMAT: Final = "chainproof-invoice-proof/1"
MAP_FORMAT: Final = "chainproof-invoice-map/1"
KEY_ENCODING: Final = "chainproof-invoice-key/2"


def to_0x(b: bytes) -> str:
    return "0x" + b.hex()


def from_0x(value: Any, what: str) -> bytes:
    if not isinstance(value, str) or not value.startswith("0x") or len(value) != 66:
        raise InvalidInputError(f"{what} is not 0x + 64 hex digits")
    try:
        return bytes.fromhex(value[2:])
    except ValueError:
        raise InvalidInputError(f"{what} is not hex") from None


def invoice_key(issuer: str, number: str) -> bytes:
    """The first key encoding, ``keccak256(JCS({"issuer", "number"}))`` of the normalised
    issuer and number: the keys of documents declared without a tax id (and of every claim
    made before migration 0018; the map never changes an entry)."""
    return keccak256(canonical_json({"issuer": issuer, "number": number}))


def invoice_key_v2(tax_id: str, code: str, number: str) -> bytes:
    """``keccak256(abi.encode("chainproof-invoice-key/2", tax id, invoice code, number))``:
    the issue's ``hash(issuer tax id ‖ invoice code ‖ number)``, each field length-prefixed
    by the ABI encoding, so no two field triples share a key ("A","BC" vs "AB","C")."""
    return keccak256(
        encode(["string", "string", "string", "string"], [KEY_ENCODING, tax_id, code, number])
    )


def invoice_fields(tax_id: str, code: str, number: str) -> dict[str, str]:
    """The ``invoice`` object of a proof: the key's fields, from which a verifier recomputes
    the key (so the proof is about this invoice, not only about a hash)."""
    return {
        "key_encoding": KEY_ENCODING,
        "issuer_tax_id": tax_id,
        "invoice_code": code,
        "invoice_number": number,
    }


def _key_of_fields(fields: Any) -> bytes:
    if not isinstance(fields, dict) or fields.get("key_encoding") != KEY_ENCODING:
        raise InvalidInputError(f"'invoice' is not a {KEY_ENCODING} field set")
    parts = [fields.get(k) for k in ("issuer_tax_id", "invoice_code", "invoice_number")]
    if not all(isinstance(p, str) and len(p) <= 64 for p in parts):
        raise InvalidInputError("'invoice' fields are strings of at most 64 characters")
    return invoice_key_v2(*parts)  # type: ignore[arg-type]


def claim_value(application_id: int, document_id: int) -> bytes:
    return keccak256(canonical_json({"application": application_id, "document": document_id}))


def root_record(root: bytes, size: int) -> dict[str, Any]:
    return {"format": MAP_FORMAT, "root": to_0x(root), "size": size}


def record_digest(record: dict[str, Any]) -> str:
    return to_0x(keccak256(canonical_json(record)))


def proof_document(
    proof: smt.Proof,
    *,
    root: bytes,
    size: int,
    claimed_by: dict[str, int] | None,
    receipt: dict[str, Any] | None,
    invoice: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The proof file; ``invoice`` (the key's fields, ``invoice_fields``) when the key is a
    ``chainproof-invoice-key/2`` one. Proofs without it (first-encoding keys, files written
    before) stay readable: their key is taken as given."""
    return {
        "format": PROOF_FORMAT,
        **({"invoice": invoice} if invoice is not None else {}),
        "key": to_0x(proof.key),
        "claimed": proof.value is not None,
        "claimed_by": claimed_by,
        "siblings": [to_0x(s) for s in proof.siblings],
        "terminal": None
        if proof.terminal is None
        else {"key": to_0x(proof.terminal[0]), "value": to_0x(proof.terminal[1])},
        "root_record": root_record(root, size),
        "receipt": receipt,
    }


@dataclass
class InvoiceVerdict:
    valid: bool
    reason: str | None
    claimed: bool | None = None
    block_number: int | None = None


def verify_invoice_proof(doc: dict[str, Any], w3: Web3, *, trust: TrustAnchor) -> InvoiceVerdict:
    try:
        if doc.get("format") != PROOF_FORMAT:
            raise InvalidInputError(f"not a {PROOF_FORMAT} document")
        key = from_0x(doc.get("key"), "key")
        if "invoice" in doc and _key_of_fields(doc["invoice"]) != key:
            return InvoiceVerdict(False, "the key is not the hash of the invoice's fields")
        siblings = tuple(from_0x(s, "a sibling") for s in doc.get("siblings") or [])
        terminal = doc.get("terminal")
        term = (
            None
            if terminal is None
            else (from_0x(terminal["key"], "t"), from_0x(terminal["value"], "t"))
        )
        proof = smt.Proof(key, siblings, term)
        record = doc.get("root_record") or {}
        root = from_0x(record.get("root"), "the root")
        size = record.get("size")
        if record.get("format") != MAP_FORMAT or not isinstance(size, int):
            raise InvalidInputError("the root record is not a chainproof-invoice-map/1 record")
        if not smt.verify(proof, root):
            return InvoiceVerdict(False, "the map proof does not lead to the root")
        claimed = proof.value is not None
        if claimed != doc.get("claimed"):
            return InvoiceVerdict(False, "the proof says the opposite of its 'claimed' field")
        by = doc.get("claimed_by")
        if claimed and (
            not isinstance(by, dict)
            or claim_value(int(by["application"]), int(by["document"])) != proof.value
        ):
            return InvoiceVerdict(False, "'claimed_by' is not the claim the map holds")
        if doc.get("receipt") is None:
            return InvoiceVerdict(False, "no receipt: the root is not shown to be on chain")
        receipt = Receipt.from_dict(doc["receipt"])
        if receipt.algorithm != "keccak256" or receipt.digest != record_digest(
            root_record(root, size)
        ):
            return InvoiceVerdict(False, "the receipt is not for this root record")
        verdict = verify_receipt(receipt, w3, trust=trust)
        if not verdict.valid:
            return InvoiceVerdict(False, f"the root's receipt does not verify: {verdict.reason}")
        return InvoiceVerdict(True, None, claimed, receipt.block_number)
    except (ChainProofError, KeyError, TypeError, ValueError) as exc:
        return InvoiceVerdict(False, f"malformed proof: {exc}")
