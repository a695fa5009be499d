"""A licence's status from the chain (licences/status.py), with the node's answers given:
the live record's action is the status, a revoked one is stale, and a record anchored by
anyone but the issuer, of another licence, or not matching its receipt's digest says nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from eth_account import Account

from chainproof.digests import to_hex
from chainproof.licences.status import read_chain_status, record_digest, status_record
from chainproof.receipts import Receipt, ReceiptVerdict
from tests.factories import receipt_from

ISSUER = Account.from_key(b"\x11" * 32).address
OTHER = Account.from_key(b"\x22" * 32).address
LICENCE = "0193b3c4-5d6e-7f80-9a1b-2c3d4e5f6a7c"
ROOT = "0x" + "ab" * 32
CREDENTIAL = {"id": f"urn:uuid:{LICENCE}", "credentialSubject": {"claimsRoot": ROOT}}


def _receipt(digest: bytes, submitter: str = ISSUER) -> dict[str, Any]:
    made = receipt_from(
        algorithm="sha256", digest=digest, salt=b"\x01" * 32, proof=[], root=b"\x02" * 32,
        chain_id=31337, contract="0x5FbDB2315678afecb367f032d93F642f64180aa3",
        tx_hash=b"\x03" * 32, block_number=7, block_hash=b"\x04" * 32, block_timestamp=1,
        submitter=submitter,
    )  # fmt: skip
    return dict(json.loads(made.to_json(indent=None)))


def _record(action: str, seq: int = 1, licence: str = LICENCE) -> dict[str, Any]:
    return status_record(
        licence=licence, seq=seq, action=action, reason_hash="0x" + "00" * 32,
        prev="0x" + "cd" * 32, claims_root=ROOT,
    )  # fmt: skip


def _read(record: Any, record_receipt: Any, said: dict[str, str]) -> tuple[bool, str]:
    def verify(receipt: Receipt) -> ReceiptVerdict:
        state = said.get(receipt.digest, "valid")
        reason = None if state == "valid" else f"{state}: as the node says"
        return ReceiptVerdict(valid=state == "valid", reason=reason, pinned=True)

    got = read_chain_status(
        CREDENTIAL, issuer_address=ISSUER, issuer_chain_id=31337,
        root_receipt=_receipt(bytes.fromhex(ROOT[2:])), record=record,
        record_receipt=record_receipt, verify=verify,
    )  # fmt: skip
    return got.anchored, got.status


@pytest.mark.parametrize(
    ("action", "status"),
    [
        ("issue", "active"),
        ("suspend", "suspended"),
        ("reinstate", "active"),
        ("renew", "superseded"),
    ],
)
def test_the_live_records_action_is_the_status(action: str, status: str) -> None:
    record = _record(action)
    assert _read(record, _receipt(record_digest(record)), {}) == (True, status)


def test_a_revoked_record_is_stale_and_a_revoked_root_is_revoked() -> None:
    record = _record("issue", seq=0)
    digest = to_hex(record_digest(record))
    assert _read(record, _receipt(record_digest(record)), {digest: "revoked"}) == (True, "stale")
    assert _read(record, _receipt(record_digest(record)), {ROOT: "revoked"}) == (True, "revoked")


def test_records_that_prove_nothing_say_unknown() -> None:
    live = _record("issue")
    # Anchored by another key (the operator, another org): not the issuer's word.
    assert _read(live, _receipt(record_digest(live), submitter=OTHER), {})[1] == "unknown"
    # Another licence's record, with its own genuine receipt.
    other = _record("issue", licence="0193b3c4-5d6e-7f80-9a1b-000000000000")
    assert _read(other, _receipt(record_digest(other)), {})[1] == "unknown"
    # A record edited after anchoring (suspend shown as issue): the digest differs.
    suspended = _record("suspend")
    assert _read(live, _receipt(record_digest(suspended)), {})[1] == "unknown"
    # None shown, or not a record at all.
    assert _read(None, None, {})[1] == "unknown"
    assert _read({**live, "extra": 1}, _receipt(record_digest(live)), {})[1] == "unknown"
