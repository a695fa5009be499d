"""The invoice map's append-only proof file (``chainproof-invoice-consistency/1``) and its
offline check: from root R1 to root R2, both anchored on chain.

The file holds each root's record (``chainproof-invoice-map/1``) with the receipt of its
anchoring (none for the empty map, size 0, which needs no anchor), and the claims added
between them, each with its non-membership proof against the root before it
(``smt.consistency_steps``). :func:`verify_consistency_document` checks both receipts
against the chain and the pinned trust anchor, each record against its receipt's digest,
then inserts the claims one by one from R1 and must arrive at R2: a map that lost an entry
of R1, or changed one, cannot be reached that way. docs/invoices.md is the spec.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from web3 import Web3

from chainproof.errors import ChainProofError, InvalidInputError
from chainproof.invoices import smt
from chainproof.invoices.proofs import MAP_FORMAT, from_0x, record_digest, root_record, to_0x
from chainproof.receipts import Receipt, verify_receipt
from chainproof.trust import TrustAnchor

CONSISTENCY_FORMAT: Final = "chainproof-invoice-consistency/1"
# Claims one file may carry: a reviewer's comparison of two roots, not a dump of the log.
MAX_STEPS: Final = 10_000


def _step_json(step: smt.Step) -> dict[str, Any]:
    p = step.proof
    return {
        "key": to_0x(step.key),
        "value": to_0x(step.value),
        "siblings": [to_0x(s) for s in p.siblings],
        "terminal": None
        if p.terminal is None
        else {"key": to_0x(p.terminal[0]), "value": to_0x(p.terminal[1])},
    }


def _step(raw: Any) -> smt.Step:
    if not isinstance(raw, dict):
        raise InvalidInputError("a step is a JSON object")
    key, value = (
        from_0x(raw.get("key"), "a step's key"),
        from_0x(raw.get("value"), "a step's value"),
    )
    siblings = raw.get("siblings")
    if not isinstance(siblings, list) or len(siblings) >= smt.KEY_BITS:
        raise InvalidInputError("a step's siblings are a list of at most 255 hashes")
    t = raw.get("terminal")
    terminal = (
        None if t is None else (from_0x(t["key"], "a terminal"), from_0x(t["value"], "a terminal"))
    )
    proof = smt.Proof(key, tuple(from_0x(s, "a sibling") for s in siblings), terminal)
    return smt.Step(key, value, proof)


def consistency_document(
    *,
    old: tuple[bytes, int, dict[str, Any] | None],
    new: tuple[bytes, int, dict[str, Any] | None],
    steps: list[smt.Step],
) -> dict[str, Any]:
    """``old`` and ``new`` are (root, size, receipt of the root record or None)."""
    return {
        "format": CONSISTENCY_FORMAT,
        "from": {"root_record": root_record(old[0], old[1]), "receipt": old[2]},
        "to": {"root_record": root_record(new[0], new[1]), "receipt": new[2]},
        "steps": [_step_json(s) for s in steps],
    }


@dataclass
class ConsistencyVerdict:
    valid: bool
    reason: str | None
    from_block: int | None = None
    to_block: int | None = None


def _anchored(end: Any, w3: Web3, trust: TrustAnchor, what: str) -> tuple[bytes, int, int | None]:
    """The root and size of one end, and the block its record was anchored in (None for
    the empty map); InvalidInputError says why the end does not hold."""
    if not isinstance(end, dict):
        raise InvalidInputError(f"'{what}' is not an object")
    record = end.get("root_record") or {}
    root, size = from_0x(record.get("root"), f"the {what} root"), record.get("size")
    if record.get("format") != MAP_FORMAT or not isinstance(size, int) or size < 0:
        raise InvalidInputError(f"the {what} root record is not a {MAP_FORMAT} record")
    if size == 0 and root == smt.EMPTY:
        return root, 0, None  # the empty map: nothing to anchor
    if end.get("receipt") is None:
        raise InvalidInputError(f"no receipt for the {what} root: it is not shown on chain")
    receipt = Receipt.from_dict(end["receipt"])
    if receipt.algorithm != "keccak256" or receipt.digest != record_digest(root_record(root, size)):
        raise InvalidInputError(f"the {what} receipt is not for the {what} root record")
    verdict = verify_receipt(receipt, w3, trust=trust)
    if not verdict.valid:
        raise InvalidInputError(f"the {what} root's receipt does not verify: {verdict.reason}")
    return root, size, receipt.block_number


def verify_consistency_document(
    doc: dict[str, Any], w3: Web3, *, trust: TrustAnchor
) -> ConsistencyVerdict:
    """Valid when both roots are anchored on the pinned registry and the map of ``to``
    extends the map of ``from`` by exactly the listed claims."""
    try:
        if doc.get("format") != CONSISTENCY_FORMAT:
            raise InvalidInputError(f"not a {CONSISTENCY_FORMAT} document")
        raw_steps = doc.get("steps")
        if not isinstance(raw_steps, list) or len(raw_steps) > MAX_STEPS:
            raise InvalidInputError(f"'steps' is a list of at most {MAX_STEPS} claims")
        steps = [_step(s) for s in raw_steps]
        old_root, old_size, old_block = _anchored(doc.get("from"), w3, trust, "from")
        new_root, new_size, new_block = _anchored(doc.get("to"), w3, trust, "to")
        if new_size - old_size != len(steps):
            return ConsistencyVerdict(
                False, f"{len(steps)} claims listed, the sizes differ by {new_size - old_size}"
            )
        if not smt.verify_consistency(old_root, new_root, steps):
            return ConsistencyVerdict(
                False,
                "the 'to' map is not the 'from' map plus the listed claims: an entry was "
                "removed or changed",
            )
        return ConsistencyVerdict(True, None, old_block, new_block)
    except (ChainProofError, KeyError, TypeError, ValueError) as exc:
        return ConsistencyVerdict(False, f"not shown: {exc}")
