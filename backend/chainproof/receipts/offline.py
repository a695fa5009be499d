"""The checks of a receipt that need no chain: its leaf, leaf hash and proof agree with its
root."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chainproof.digests import to_hex
from chainproof.errors import InvalidInputError
from chainproof.merkle import leaf_hash, process_proof
from chainproof.vocabulary import SaltSource as SaltSource  # random_salt is one

if TYPE_CHECKING:  # trust.py builds on this module's types; only the checks need the anchor
    pass

from chainproof.receipts.metadata import metadata_salt, read_metadata_text
from chainproof.receipts.model import Receipt, _b


def check_receipt_offline(receipt: Receipt) -> list[str]:
    """Problems found without a chain (none: the leaf is in the tree of ``root``).

    Checks that the leaf values are this receipt's algorithm, digest and salt, that
    ``leaf_hash`` is their StandardMerkleTree hash, and that ``proof`` leads to ``root``; with
    a ``metadata`` section, that the salt commits to its text (``receipts/metadata.py``).
    """
    problems = _metadata_problems(receipt)
    expected = (receipt.algorithm, receipt.digest, receipt.salt)
    for i, (name, want) in enumerate(zip(("algorithm", "digest", "salt"), expected, strict=True)):
        if receipt.leaf_values[i] != want:
            problems.append(
                f"leaf_values[{i}] is {receipt.leaf_values[i]}, not the receipt's {name} {want}"
            )
    computed = leaf_hash(receipt.leaf_types, list(receipt.leaf_values))
    if to_hex(computed) != receipt.leaf_hash:
        problems.append(
            f"leaf_hash is {receipt.leaf_hash} but the leaf values hash to {to_hex(computed)}"
        )
    reached = process_proof(computed, [_b(p) for p in receipt.proof])
    if to_hex(reached) != receipt.root:
        problems.append(f"the proof leads to {to_hex(reached)}, not to root {receipt.root}")
    return problems


def _metadata_problems(receipt: Receipt) -> list[str]:
    section = receipt.metadata
    if section is None:
        return []
    try:
        read_metadata_text(section.text)
    except InvalidInputError as exc:
        return [exc.message]
    committed = to_hex(metadata_salt(_b(section.nonce), section.text))
    if committed != receipt.salt:
        return [
            f"the metadata is not what the leaf committed: nonce and text give salt "
            f"{committed}, the receipt's salt is {receipt.salt}"
        ]
    return []
