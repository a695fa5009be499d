"""Proofs derived from a batch's stored tree are OpenZeppelin's, and intake's fast leaf hash
is the receipts' leaf hash (issue #8: the bulk path no longer stores a proof per row)."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chainproof.digests import ALGORITHMS, keccak256
from chainproof.merkle import (
    NODE_SIZE,
    StandardMerkleTree,
    evidence_leaf_frame,
    evidence_leaf_hasher,
    packed_proof,
    packed_root,
    packed_tree,
    process_proof,
)
from chainproof.receipts import LEAF_TYPES, evidence_leaf_hash


def _values(n: int) -> list[list[object]]:
    return [["sha256", os.urandom(32), os.urandom(32)] for _ in range(n)]


@pytest.mark.parametrize("n", [1, 2, 3, 7, 8, 100, 1025])
def test_stored_tree_gives_the_standard_trees_root_and_every_proof(n: int) -> None:
    values = _values(n)
    tree = StandardMerkleTree.of(values, list(LEAF_TYPES))
    leaves = [tree.leaf_hash_at(i) for i in range(n)]
    nodes = packed_tree(leaves[::-1])  # input order does not matter: leaves are sorted
    assert len(nodes) == (2 * n - 1) * NODE_SIZE
    assert packed_root(nodes) == tree.root
    for i, leaf in enumerate(leaves):
        proof = packed_proof(nodes, leaf)
        assert proof == tree.get_proof(i)
        assert process_proof(leaf, proof) == tree.root


def test_a_leaf_outside_the_tree_has_no_proof() -> None:
    leaves = [os.urandom(32) for _ in range(10)]
    nodes = packed_tree(leaves)
    assert packed_proof(nodes, os.urandom(32)) is None
    assert packed_proof(nodes, b"\x00" * 32) is None
    assert packed_proof(nodes, b"\xff" * 32) is None
    # An inner node is not a leaf, even though it is in the array.
    assert packed_proof(nodes, nodes[NODE_SIZE : 2 * NODE_SIZE]) is None


def test_duplicate_leaves_still_prove() -> None:
    leaf = os.urandom(32)
    nodes = packed_tree([leaf, leaf, os.urandom(32)])
    proof = packed_proof(nodes, leaf)
    assert proof is not None and process_proof(leaf, proof) == packed_root(nodes)


def test_an_empty_tree_is_refused() -> None:
    with pytest.raises(ValueError):
        packed_tree([])


@settings(max_examples=50, deadline=None)
@given(
    algorithm=st.sampled_from(sorted(ALGORITHMS)),
    digest=st.binary(min_size=32, max_size=32),
    salt=st.binary(min_size=32, max_size=32),
)
def test_intakes_leaf_frame_is_the_receipts_leaf_hash(
    algorithm: str, digest: bytes, salt: bytes
) -> None:
    head, tail = evidence_leaf_frame(algorithm)
    fast = keccak256(keccak256(head + digest + salt + tail))
    assert fast == evidence_leaf_hash(algorithm, digest, salt)  # type: ignore[arg-type]
    assert evidence_leaf_hasher(algorithm)(digest, salt) == fast
