"""A licence's status, read from the chain (``docs/licences.md``, "Status on chain").

Every status change of a licence is a **status record** (licence, sequence, action, SHA-256
of the reason, the previous record's digest, the claims root) whose SHA-256 the issuer's key
anchors as evidence, like the claims root itself. Each change also **revokes the previous
record's leaf** in the evidence registry, with the same key and the reason's hash. So, on
chain, a licence has exactly one record anchored by its issuer and not revoked: the current
one. A verifier shown a record and its receipt (by anyone: the issuer's server, the holder,
a file) checks the receipt on a JSON-RPC node against its pinned trust anchor and reads:

- the record's leaf is live: the status is the record's (active, suspended, revoked,
  superseded);
- it is revoked: the issuer changed the status since that record; whoever showed it showed
  an old one (``stale``: never valid).

Nobody can show "active" for a suspended licence once the suspension's revocation is on
chain, and nobody but the issuer's key can make a record or revoke one. Pure checks over a
``verify`` callable (the caller's node and anchor): no server, no SQL.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from chainproof.digests import to_hex
from chainproof.errors import ChainProofError, InvalidInputError
from chainproof.licences.credential import parse_did
from chainproof.receipts import Receipt, ReceiptVerdict

__all__ = [
    "STATUS_OF_ACTION",
    "ChainStatus",
    "read_chain_status",
    "read_credential_status",
    "record_digest",
    "status_record",
]

#: The status a licence has while a record of this action is its live one.
STATUS_OF_ACTION: Final = {
    "issue": "active",
    "suspend": "suspended",
    "reinstate": "active",
    "revoke": "revoked",
    "renew": "superseded",
}
RECORD_KEYS: Final = ("action", "claims_root", "licence", "prev", "reason_hash", "seq")
MAX_SEQ: Final = 2**31


def status_record(
    *, licence: str, seq: int, action: str, reason_hash: str, prev: str | None, claims_root: str
) -> dict[str, Any]:
    """The record of one status change (``licence``: the licence's public id)."""
    return {
        "licence": licence,
        "seq": seq,
        "action": action,
        "reason_hash": reason_hash,
        "prev": prev,
        "claims_root": claims_root,
    }


def record_digest(record: Mapping[str, Any]) -> bytes:
    """SHA-256 of the record's canonical JSON (sorted keys, no spaces, ASCII): what is
    anchored. The page recomputes it the same way (static/js/licence.js)."""
    canonical = json.dumps(dict(record), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("ascii")).digest()


def _parse_record(raw: Any) -> dict[str, Any]:
    """The record, its fields checked (anything else is not one of ours)."""
    if not isinstance(raw, Mapping) or sorted(raw) != sorted(RECORD_KEYS):
        raise InvalidInputError(f"a status record has exactly the fields {', '.join(RECORD_KEYS)}")
    seq = raw["seq"]
    if type(seq) is not int or not 0 <= seq < MAX_SEQ:
        raise InvalidInputError("a status record's seq is a small non-negative integer")
    if raw["action"] not in STATUS_OF_ACTION:
        raise InvalidInputError(f"unknown status action {raw['action']!r}")
    for key in ("licence", "reason_hash", "claims_root"):
        if not isinstance(raw[key], str) or not raw[key].isascii() or len(raw[key]) > 100:
            raise InvalidInputError(f"a status record's {key} is a short ASCII text")
    if raw["prev"] is not None and not (isinstance(raw["prev"], str) and raw["prev"].isascii()):
        raise InvalidInputError("a status record's prev is a digest or null")
    return dict(raw)


@dataclass(frozen=True)
class ChainStatus:
    """What the chain says: the claims root anchored by the issuer, and the status."""

    anchored: bool
    anchored_detail: str
    status: str  # active, suspended, revoked, superseded; stale or unknown: not shown
    status_detail: str


def read_chain_status(
    credential: Mapping[str, Any],
    *,
    issuer_address: str,
    issuer_chain_id: int,
    root_receipt: Any,
    record: Any,
    record_receipt: Any,
    verify: Callable[[Receipt], ReceiptVerdict],
) -> ChainStatus:
    """Checks the claims root's receipt and the status record's against the chain
    (``verify``: :func:`chainproof.receipts.verify_receipt` on the caller's node and pinned
    anchor). Every receipt must be anchored by the issuer's own address on the DID's chain."""
    root = str(credential["credentialSubject"]["claimsRoot"]).lower()
    licence = str(credential["id"]).removeprefix("urn:uuid:")

    def check(raw: Any, digest: str, what: str) -> tuple[str, str]:
        """(receipt status, why) of ``raw`` as the anchor of ``digest`` by the issuer."""
        if raw is None:
            return "missing", f"no receipt for the {what}"
        try:
            receipt = Receipt.from_dict(raw) if isinstance(raw, Mapping) else None
        except (ChainProofError, ValueError) as exc:
            return "invalid", f"the {what}'s receipt is unreadable: {exc}"
        if receipt is None:
            return "invalid", f"the {what}'s receipt is not an object"
        if receipt.digest.lower() != digest or receipt.algorithm != "sha256":
            return "invalid", f"the receipt is not the {what}'s (digest {receipt.digest})"
        if receipt.submitter.lower() != issuer_address.lower():
            return "invalid", f"the {what} was anchored by {receipt.submitter}, not the issuer"
        if receipt.chain_id != issuer_chain_id:
            return (
                "invalid",
                f"the issuer's DID names chain {issuer_chain_id}, not {receipt.chain_id}",
            )
        verdict = verify(receipt)
        return verdict.status, verdict.reason or f"block {receipt.block_number}"

    root_state, root_why = check(root_receipt, root, "claims root")
    anchored = root_state in ("valid", "revoked")
    if root_state == "revoked":
        # The licence's own leaf revoked by its issuer (a revocation revokes both).
        return ChainStatus(True, root_why, "revoked", f"the claims root is {root_why}")
    if record is None:
        return ChainStatus(anchored, root_why, "unknown", "no status record shown")
    try:
        parsed = _parse_record(record)
    except InvalidInputError as exc:
        return ChainStatus(anchored, root_why, "unknown", exc.message)
    if parsed["licence"] != licence or parsed["claims_root"].lower() != root:
        return ChainStatus(anchored, root_why, "unknown", "the status record is another licence's")
    state, why = check(record_receipt, to_hex(record_digest(parsed)), "status record")
    what = f"record {parsed['seq']} ({parsed['action']})"
    if state == "valid":
        return ChainStatus(anchored, root_why, STATUS_OF_ACTION[parsed["action"]], f"{what}, {why}")
    if state == "revoked":
        return ChainStatus(
            anchored,
            root_why,
            "stale",
            f"{what} is revoked on chain: the issuer changed the status since; ask for the "
            "current record",
        )
    return ChainStatus(anchored, root_why, "unknown", f"{what}: {why}")


def read_credential_status(
    credential: Mapping[str, Any],
    status: Mapping[str, Any],
    *,
    verify: Callable[[Receipt], ReceiptVerdict],
) -> ChainStatus:
    """:func:`read_chain_status` of ``credential`` with the issuer its DID names and the
    receipts its ``credentialStatus`` (``status``) carries; InvalidInputError when the issuer
    is not a did:pkh:eip155 DID."""
    chain_id, address = parse_did(str(credential["issuer"]))
    return read_chain_status(
        credential,
        issuer_address=address,
        issuer_chain_id=chain_id,
        root_receipt=status.get("receipt"),
        record=status.get("statusRecord"),
        record_receipt=status.get("statusReceipt"),
        verify=verify,
    )
