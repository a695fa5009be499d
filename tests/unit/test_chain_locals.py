"""Per-chain working state lives on the chain context (``ChainContext.local``), not in
module globals: made once per context and kind, never shared between two contexts."""

from __future__ import annotations

import threading

from chainproof.chain.context import ChainLocals
from chainproof.evidence.freshness import RecentHead
from chainproof.evidence.proofs import TreeCache


def test_each_kind_is_made_once_per_context_and_contexts_share_nothing() -> None:
    made: list[str] = []

    def trees() -> TreeCache:
        made.append("trees")
        return TreeCache()

    first, second = ChainLocals(), ChainLocals()
    a = first.get(TreeCache, trees)
    assert first.get(TreeCache, trees) is a
    assert isinstance(first.get(RecentHead, RecentHead), RecentHead)
    b = second.get(TreeCache, trees)
    assert b is not a
    assert made == ["trees", "trees"]
    a.put("0x01", b"\x01" * 32)
    assert b.get("0x01") is None  # another runtime's chain never sees this one's trees


def test_racing_first_uses_make_one() -> None:
    locals_ = ChainLocals()
    made: list[int] = []
    start = threading.Barrier(8)

    def make() -> TreeCache:
        made.append(1)
        return TreeCache()

    found: list[TreeCache] = []

    def ask() -> None:
        start.wait()
        found.append(locals_.get(TreeCache, make))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(made) == 1 and all(f is found[0] for f in found)


def test_the_tree_cache_keeps_its_budget_least_recently_used_out_first() -> None:
    trees = TreeCache(budget=64)
    trees.put("a", b"a" * 32)
    trees.put("b", b"b" * 32)
    assert trees.get("a") is not None  # a is now the most recently used
    trees.put("c", b"c" * 32)
    assert trees.get("b") is None and trees.get("a") is not None and trees.get("c") is not None
