"""The append-only sparse Merkle map (``invoices/smt.py``): proofs hold for any map, forged
or stale ones do not, and a removed or changed entry breaks the consistency check."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chainproof.invoices import smt

keys = st.binary(min_size=32, max_size=32)
entries = st.dictionaries(keys, keys, max_size=40).map(lambda d: list(d.items()))


def _naive_root(items: list[tuple[bytes, bytes]]) -> bytes:
    """The same tree from the definition, depth by depth, for a cross-check."""

    def at(sub: list[tuple[bytes, bytes]], depth: int) -> bytes:
        if not sub:
            return smt.EMPTY
        if len(sub) == 1:
            return smt.leaf_hash(*sub[0])
        return smt.node_hash(
            at([e for e in sub if smt.bit(e[0], depth) == 0], depth + 1),
            at([e for e in sub if smt.bit(e[0], depth) == 1], depth + 1),
        )

    return at(items, 0)


@given(entries, keys)
def test_membership_and_non_membership_proofs_verify(
    items: list[tuple[bytes, bytes]], probe: bytes
) -> None:
    m = smt.SparseMerkleMap(items)
    root = m.root()
    assert root == _naive_root(items)
    for key, value in items:
        proof = m.prove(key)
        assert proof.value == value and smt.verify(proof, root)
    proof = m.prove(probe)
    assert smt.verify(proof, root)
    assert proof.value == dict(items).get(probe)


@given(entries.filter(lambda e: len(e) >= 1), keys)
def test_a_forged_proof_or_another_root_fails(
    items: list[tuple[bytes, bytes]], other: bytes
) -> None:
    m = smt.SparseMerkleMap(items)
    key, value = items[0]
    proof = m.prove(key)
    # Claiming the entry absent, or with another value, does not reach the root.
    assert not smt.verify(smt.Proof(key, proof.siblings, None), m.root())
    if other != value:
        assert not smt.verify(smt.Proof(key, proof.siblings, (key, other)), m.root())
    # Against a root it was not made for (one more entry), the proof fails.
    bigger = smt.SparseMerkleMap(items)
    extra = bytes(31) + b"\x07"
    if bigger.get(extra) is None:
        bigger.insert(extra, extra)
        if bigger.prove(key).siblings != proof.siblings:
            assert not smt.verify(proof, bigger.root())


@given(entries, entries)
def test_appending_is_provable_and_removing_an_entry_is_caught(
    old: list[tuple[bytes, bytes]], more: list[tuple[bytes, bytes]]
) -> None:
    taken = {k for k, _ in old}
    added = [(k, v) for k, v in more if k not in taken]
    before = smt.SparseMerkleMap(old).root()
    after = smt.SparseMerkleMap(old + added).root()
    steps = smt.consistency_steps(old, added)
    assert smt.verify_consistency(before, after, steps)
    if old:
        # The server drops an old entry from its new root: no steps lead there from `before`.
        dropped = smt.SparseMerkleMap(old[1:] + added).root()
        assert not smt.verify_consistency(before, dropped, steps)
        assert not smt.verify_consistency(before, dropped, smt.consistency_steps(old[1:], added))
        # Nor can a step re-insert an existing key with a new value.
        key = old[0][0]
        m = smt.SparseMerkleMap(old)
        forged = smt.Step(key, bytes(32), m.prove(key))
        assert not smt.verify_consistency(before, before, [forged])


def test_entries_are_never_changed_and_inputs_are_checked() -> None:
    m = smt.SparseMerkleMap([(bytes(32), bytes(32))])
    with pytest.raises(KeyError):
        m.insert(bytes(32), b"\x01" * 32)
    with pytest.raises(ValueError):
        m.insert(b"short", bytes(32))
    assert smt.SparseMerkleMap().root() == smt.EMPTY
    off_path = smt.Proof(b"\x80" + bytes(31), (bytes(32),), (bytes(32), bytes(32)))
    assert not smt.verify(
        off_path, smt.proof_root(smt.Proof(bytes(32), (bytes(32),), (bytes(32), bytes(32))))
    )
