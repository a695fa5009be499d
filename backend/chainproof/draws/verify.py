"""Recomputing a published draw from the chain, trusting the server for nothing.

:func:`verify_draw` takes what ``GET /api/v1/draws/{id}`` published, a node and a pinned
trust anchor, and redoes every step: the commitments from the candidates and the secret,
the anchored record from them, the record's receipt against the pinned registry, its anchor
block before the target block, the target block's hash from the node, the seed and the
shuffle. The selection it returns is its own; ``valid`` says it equals the published one
and every check held. Used by ``chainproof draw verify`` and the tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from web3 import Web3

from chainproof.draws import selection
from chainproof.errors import ChainProofError
from chainproof.receipts import Receipt, verify_receipt
from chainproof.trust import TrustAnchor


@dataclass
class DrawVerdict:
    valid: bool
    reason: str | None
    selected: list[str] | None = None  # recomputed, when it could be
    checks: list[tuple[str, str]] = field(default_factory=list)  # (check, what held)


class _Refused(Exception):
    pass


def _hex32(value: Any, what: str) -> bytes:
    if not isinstance(value, str) or not value.startswith("0x") or len(value) != 66:
        raise _Refused(f"{what} is not 0x + 64 hex digits")
    try:
        return bytes.fromhex(value[2:])
    except ValueError:
        raise _Refused(f"{what} is not hex") from None


def verify_draw(published: dict[str, Any], w3: Web3, *, trust: TrustAnchor) -> DrawVerdict:
    """Every check, in order, stopping at the first that fails (its reason)."""
    checks: list[tuple[str, str]] = []
    selected: list[str] | None = None
    try:
        selected = _run(published, w3, trust, checks)
    except _Refused as refused:
        return DrawVerdict(False, str(refused), None, checks)
    except ChainProofError as exc:
        return DrawVerdict(False, exc.message, None, checks)
    if selected != published.get("selected"):
        return DrawVerdict(
            False,
            f"the published selection {published.get('selected')} is not the recomputed one",
            selected,
            checks,
        )
    checks.append(("selection", "the published selection equals the recomputed one"))
    return DrawVerdict(True, None, selected, checks)


def _run(
    published: dict[str, Any], w3: Web3, trust: TrustAnchor, checks: list[tuple[str, str]]
) -> list[str]:
    if published.get("status") != "drawn":
        raise _Refused(f"the draw is {published.get('status')!r}, not drawn: nothing to check yet")
    commitments = published.get("commitments") or {}
    candidates = published.get("candidates")
    count = published.get("count")
    target = published.get("target_block")
    if not isinstance(candidates, list) or not all(isinstance(c, str) for c in candidates):
        raise _Refused("the candidates are not a list of strings")
    if not isinstance(count, int) or not isinstance(target, int):
        raise _Refused("count and target_block must be integers")
    selection.check_candidates(candidates, count)
    c_hash = selection.candidates_hash(candidates)
    if c_hash != commitments.get("candidates_hash"):
        raise _Refused("the candidate list does not hash to the committed candidates_hash")
    secret = _hex32(published.get("secret"), "the secret")
    commitment = selection.secret_commitment(secret)
    if commitment != commitments.get("secret_commitment"):
        raise _Refused("the revealed secret does not match the committed secret_commitment")
    checks.append(("commitments", "candidates and secret match their commitments"))
    record = selection.commitment_record(
        draw_id=str(published.get("id")),
        title=str(published.get("title")),
        chain_id=int(published.get("chain_id") or 0),
        candidates_hash=c_hash,
        count=count,
        target_block=target,
        secret_commitment=commitment,
    )
    digest = selection.record_digest(record)
    receipt_data = commitments.get("receipt")
    if receipt_data is None:
        raise _Refused("no receipt for the commitment record: it is not shown to be on chain")
    receipt = Receipt.from_dict(receipt_data)
    if receipt.algorithm != "keccak256" or receipt.digest != digest:
        raise _Refused("the receipt is not for this draw's commitment record")
    if receipt.chain_id != record["chain_id"]:
        raise _Refused(
            f"the receipt is on chain {receipt.chain_id}, the draw on {record['chain_id']}"
        )
    verdict = verify_receipt(receipt, w3, trust=trust)
    if not verdict.valid:
        raise _Refused(f"the commitment record's receipt does not verify: {verdict.reason}")
    checks.append(("on chain", f"record anchored in block {receipt.block_number}, pinned"))
    if receipt.block_number >= target:
        raise _Refused(
            f"the commitment was anchored in block {receipt.block_number}, not before the "
            f"target block {target}"
        )
    block = w3.eth.get_block(target)  # raises BlockNotFound while the target is ahead
    block_hash = bytes(block["hash"])
    if "0x" + block_hash.hex() != published.get("block_hash"):
        raise _Refused(
            f"the published block hash is not block {target}'s on this chain (0x{block_hash.hex()})"
        )
    checks.append(("block", f"block {target} hash 0x{block_hash.hex()} from the node"))
    return selection.select(candidates, count, selection.seed_of(block_hash, secret))
