"""Merkle proofs of evidence rows, derived on read from their batch's stored tree.

Each batch stores its whole Merkle tree once (``batch_tree.nodes``: OpenZeppelin's array
layout, 32 bytes a node, root first, leaves last in reverse sorted order) instead of a JSON
proof in each of its rows: planning a batch of 10,000 is one 640 KB write, not 10,000 row
updates. The tree and the proof walk are :mod:`chainproof.merkle`'s (``packed_tree``,
``packed_proof``); this module finds a batch's tree and caches it.

Rows batched before migration 0004 still carry their own ``evidence.proof``; it is used as
it is. Trees are immutable and named by their root (a different tree has a different
root), so a small cache keyed by root never serves a stale one; it is kept on the chain
context (``trees_of``), and whoever has no context to hand reads the tree every time.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Final

from sqlalchemy import Connection, Table
from sqlalchemy import select as sa_select
from sqlmodel import Session

from chainproof.chain.context import ChainContext
from chainproof.errors import ChainProofError, WouldBlock
from chainproof.merkle import packed_proof, packed_root
from chainproof.store.models import Batch, BatchTree, Evidence
from chainproof.vocabulary import Hash32

_TREE: Final[Table] = BatchTree.__table__  # type: ignore[attr-defined]
# Trees kept in memory, least recently used out first: 64 MiB holds 100 batches of 10,000
# (640 KB each), so verifies spread over the last million documents never read a tree.
CACHE_BYTES: Final = 64 * 1024 * 1024


class TreeCache:
    """Batch trees by root, least recently used out first, at most ``budget`` bytes."""

    def __init__(self, budget: int = CACHE_BYTES) -> None:
        self.budget = budget
        self._trees: OrderedDict[str, bytes] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, root: str) -> bytes | None:
        with self._lock:
            nodes = self._trees.get(root)
            if nodes is not None:
                self._trees.move_to_end(root)
            return nodes

    def put(self, root: str, nodes: bytes) -> None:
        with self._lock:
            if root not in self._trees:
                self._trees[root] = nodes
                self._bytes += len(nodes)
            while self._bytes > self.budget and len(self._trees) > 1:
                self._bytes -= len(self._trees.popitem(last=False)[1])


def trees_of(chain: ChainContext) -> TreeCache:
    """The tree cache kept on ``chain``'s context (one per context)."""
    return chain.local(TreeCache, TreeCache)


def cached_tree(root: str, trees: TreeCache | None) -> bytes:
    """The cached tree of ``root``; ``WouldBlock`` when it is not in the cache."""
    nodes = None if trees is None else trees.get(root)
    if nodes is None:
        raise WouldBlock(f"the tree of {root} is not cached")
    return nodes


def tree_nodes(
    db: Session | Connection, batch_id: int, root: str, *, trees: TreeCache | None
) -> bytes | None:
    """The stored tree of batch ``batch_id`` whose root is ``root`` (cached by root in
    ``trees``), or None for a pre-0004 batch. Takes plain values so a reader that fetched
    the batch's columns itself (the verify path) needs no ORM object."""
    nodes = None if trees is None else trees.get(root)
    if nodes is not None:
        return nodes
    stored = db.execute(
        sa_select(_TREE.c.nodes).where(_TREE.c.batch_id == batch_id)
    ).scalar_one_or_none()
    if stored is None:
        return None
    nodes = bytes(stored)
    if "0x" + packed_root(nodes).hex() != root.lower():
        raise ChainProofError(f"batch {batch_id}: the stored tree is not the tree of its root")
    if trees is not None:
        trees.put(root, nodes)
    return nodes


def leaf_proof(
    db: Session | Connection,
    *,
    evidence_id: int | None,
    stored: list[str] | None,
    leaf_hash: str,
    batch_id: int,
    root: str,
    trees: TreeCache | None,
    may_block: bool = True,
) -> list[Hash32]:
    """The Merkle proof of one evidence row as bytes, from its column values: its stored
    ``proof`` if it has one (rows batched before 0004), else derived from the tree.
    ``may_block=False``: from a cached tree only, else ``WouldBlock`` (reading a 640 KB
    tree is not for an event loop)."""
    if stored is not None:
        return [bytes.fromhex(p[2:]) for p in stored]
    nodes = tree_nodes(db, batch_id, root, trees=trees) if may_block else cached_tree(root, trees)
    proof = None if nodes is None else packed_proof(nodes, bytes.fromhex(leaf_hash[2:]))
    if proof is None:
        raise ChainProofError(
            f"evidence {evidence_id} has no Merkle proof: "
            f"its leaf is not in batch {batch_id}'s tree"
        )
    return proof


def proof_of(session: Session, ev: Evidence, batch: Batch, *, trees: TreeCache | None) -> list[str]:
    """``ev``'s Merkle proof (0x hex) in ``batch``: its own stored one if it has one (rows
    batched before 0004), else derived from the batch's tree (kept in ``trees``)."""
    if ev.proof is not None:
        return list(ev.proof)
    assert batch.id is not None
    proof = leaf_proof(
        session,
        evidence_id=ev.id,
        stored=None,
        leaf_hash=ev.leaf_hash,
        batch_id=batch.id,
        root=batch.root,
        trees=trees,
    )
    return ["0x" + p.hex() for p in proof]
