"""An append-only sparse Merkle map over 256-bit keys, with (non-)membership and
append-only (consistency) proofs. Pure: docs/invoices.md is the spec.

Shape (as Diem's Jellyfish Merkle tree, binary, without versions): a key's path is its bits,
most significant first; a subtree holding no entry hashes to 32 zero bytes; a subtree
holding exactly one entry hashes to that entry's leaf, ``keccak256(0x00 ‖ key ‖ value)``,
wherever it sits; any other subtree is ``keccak256(0x01 ‖ left ‖ right)``. So a proof has one
sibling per level down to where the key's path ends: at an empty subtree or at one other
entry (non-membership), or at the key's own leaf (membership); about log2(n) siblings.

Append-only: entries are only ever added, each key once. A consistency proof from root R1 to
R2 lists the entries added in between, each with its non-membership proof against the root
before it; the verifier inserts them one by one from R1 and must arrive at R2. An entry of R1
missing from R2 makes that impossible (short of a keccak collision).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from chainproof.digests import keccak256

EMPTY = bytes(32)
KEY_BITS = 256


def leaf_hash(key: bytes, value: bytes) -> bytes:
    return keccak256(b"\x00" + key + value)


def node_hash(left: bytes, right: bytes) -> bytes:
    return keccak256(b"\x01" + left + right)


def bit(key: bytes, depth: int) -> int:
    return (key[depth >> 3] >> (7 - (depth & 7))) & 1


def _check(key: bytes, value: bytes | None = None) -> None:
    if len(key) != 32 or (value is not None and len(value) != 32):
        raise ValueError("keys and values are 32 bytes")


def subtree_root(entries: Sequence[tuple[bytes, bytes]], depth: int = 0) -> bytes:
    """The hash of the subtree at ``depth`` holding ``entries`` (distinct keys, any order)."""
    if not entries:
        return EMPTY
    if len(entries) == 1:
        return leaf_hash(*entries[0])
    left = [e for e in entries if not bit(e[0], depth)]
    right = [e for e in entries if bit(e[0], depth)]
    return node_hash(subtree_root(left, depth + 1), subtree_root(right, depth + 1))


@dataclass(frozen=True)
class Proof:
    """Where ``key``'s path ends: ``siblings`` from the root down, then ``terminal`` (the one
    entry in the subtree there, or None when it is empty)."""

    key: bytes
    siblings: tuple[bytes, ...]
    terminal: tuple[bytes, bytes] | None

    @property
    def value(self) -> bytes | None:
        """The key's value when the proof shows it present, else None."""
        if self.terminal is not None and self.terminal[0] == self.key:
            return self.terminal[1]
        return None


class SparseMerkleMap:
    """Entries in insertion order (the append-only log) and their root."""

    def __init__(self, entries: Sequence[tuple[bytes, bytes]] = ()) -> None:
        self._entries: dict[bytes, bytes] = {}
        for key, value in entries:
            self.insert(key, value)

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: bytes) -> bytes | None:
        return self._entries.get(key)

    def insert(self, key: bytes, value: bytes) -> None:
        _check(key, value)
        if key in self._entries:
            raise KeyError(f"0x{key.hex()} is in the map already: entries are never changed")
        self._entries[key] = value

    def root(self) -> bytes:
        return subtree_root(list(self._entries.items()))

    def prove(self, key: bytes) -> Proof:
        _check(key)
        current = list(self._entries.items())
        siblings: list[bytes] = []
        depth = 0
        while len(current) > 1:
            b = bit(key, depth)
            same = [e for e in current if bit(e[0], depth) == b]
            other = [e for e in current if bit(e[0], depth) != b]
            siblings.append(subtree_root(other, depth + 1))
            current, depth = same, depth + 1
        return Proof(key, tuple(siblings), current[0] if current else None)


def _fold(key: bytes, siblings: Sequence[bytes], bottom: bytes) -> bytes:
    h = bottom
    for depth in range(len(siblings) - 1, -1, -1):
        h = node_hash(h, siblings[depth]) if not bit(key, depth) else node_hash(siblings[depth], h)
    return h


def proof_root(proof: Proof) -> bytes:
    """The root ``proof`` leads to; raises ValueError for a malformed proof."""
    _check(proof.key)
    if len(proof.siblings) >= KEY_BITS or any(len(s) != 32 for s in proof.siblings):
        raise ValueError("a proof has at most 255 siblings of 32 bytes")
    if proof.terminal is None:
        return _fold(proof.key, proof.siblings, EMPTY)
    other, value = proof.terminal
    _check(other, value)
    # The entry found must sit on the key's path: same first bits.
    if any(bit(other, d) != bit(proof.key, d) for d in range(len(proof.siblings))):
        raise ValueError("the proof's terminal entry is not on the key's path")
    return _fold(proof.key, proof.siblings, leaf_hash(other, value))


def verify(proof: Proof, root: bytes) -> bool:
    try:
        return proof_root(proof) == root
    except ValueError:
        return False


def insert_root(proof: Proof, value: bytes) -> bytes:
    """The root after inserting ``(proof.key, value)`` into the map ``proof`` is a
    non-membership proof of (checked by the caller against the old root)."""
    if proof.terminal is not None and proof.terminal[0] == proof.key:
        raise ValueError("the key is present: an append-only map never changes an entry")
    depth = len(proof.siblings)
    entries = [(proof.key, value)] + ([proof.terminal] if proof.terminal else [])
    return _fold(proof.key, proof.siblings, subtree_root(entries, depth))


@dataclass(frozen=True)
class Step:
    key: bytes
    value: bytes
    proof: Proof  # non-membership of key before this step


def consistency_steps(
    old: Sequence[tuple[bytes, bytes]], added: Sequence[tuple[bytes, bytes]]
) -> list[Step]:
    """The proof that the map of ``old`` + ``added`` extends the map of ``old``."""
    m = SparseMerkleMap(old)
    steps = []
    for key, value in added:
        steps.append(Step(key, value, m.prove(key)))
        m.insert(key, value)
    return steps


def verify_consistency(old_root: bytes, new_root: bytes, steps: Sequence[Step]) -> bool:
    """True when inserting ``steps`` one by one into the map of ``old_root`` gives ``new_root``."""
    root = old_root
    for step in steps:
        if step.proof.key != step.key or step.proof.value is not None:
            return False
        if not verify(step.proof, root):
            return False
        try:
            root = insert_root(step.proof, step.value)
        except ValueError:
            return False
    return root == new_root
