"""evidence/roots.py on Anvil: the batched root-state read gives the registry's own answers.

The verify hot path reads the registry state of many roots in one JSON-RPC batch plus one
eth_getLogs instead of the registry client's per-root calls (issue #8). These tests hold it
to the contract: for anchored, leaf-revoked, root-revoked and unknown roots, its states
equal ``EvidenceRegistryClient.root_state`` and its verdicts equal the contract's ``verify``
view; this process's revocations are seen at once; a chain without the registry is a chain
mismatch, never "anchored".
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_utils import keccak

from chainproof.chain.context import ChainContext, open_chain
from chainproof.chain.nodes import free_port
from chainproof.chain.sender import TxSender
from chainproof.config import DEV_OPERATOR_KEY
from chainproof.errors import ChainMismatchError
from chainproof.evidence.roots import RootStates
from chainproof.merkle import packed_proof, packed_root, packed_tree

from .. import conftest

pytestmark = pytest.mark.chain


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[ChainContext]:
    conftest.require(
        conftest.node_binary_present("anvil"),
        "the anvil binary is missing from node_modules (run `make install`)",
    )
    ctx = open_chain(
        chain="anvil", data_dir=tmp_path, operator_key=DEV_OPERATOR_KEY, port=free_port()
    )
    try:
        yield ctx
    finally:
        ctx.stop()


def _anchored_tree(chain: ChainContext, n: int) -> tuple[bytes, list[bytes], bytes]:
    """(root, leaves, nodes) of a tree of n random leaves, anchored by the operator."""
    leaves = [os.urandom(32) for _ in range(n)]
    nodes = packed_tree(leaves)
    root = packed_root(nodes)
    registry = chain.registry
    registry.transact(chain.sender, registry.anchor_call(root, n, keccak(text="test")))
    return root, leaves, nodes


def _proof(nodes: bytes, leaf: bytes) -> list[bytes]:
    proof = packed_proof(nodes, leaf)
    assert proof is not None
    return proof


def test_batched_states_and_verdicts_are_the_registrys(chain: ChainContext) -> None:
    registry = chain.registry
    kept, kept_leaves, kept_nodes = _anchored_tree(chain, 5)
    partly, partly_leaves, partly_nodes = _anchored_tree(chain, 4)
    whole, whole_leaves, whole_nodes = _anchored_tree(chain, 3)
    unknown = os.urandom(32)
    registry.revoke_leaf(
        chain.sender,
        partly,
        partly_leaves[1],
        _proof(partly_nodes, partly_leaves[1]),
        keccak(text="withdrawn"),
    )
    registry.revoke_root(chain.sender, whole, keccak(text="all of it"))
    # A rival member anchors our root `kept` too and revokes in its own anchor: v2 keeps
    # anchors per submitter, so neither touches ours (docs/security.md F15).
    rival = chain.node.dev_accounts()[1]
    registry.grant_member(chain.sender, rival.address)
    rival_sender = TxSender(chain.w3, rival)
    registry.transact(rival_sender, registry.anchor_call(kept, 5, keccak(text="squat")))
    registry.revoke_leaf(
        rival_sender, kept, kept_leaves[0], _proof(kept_nodes, kept_leaves[0]), keccak(text="x")
    )
    registry.revoke_root(rival_sender, kept, keccak(text="x"))

    me = chain.sender.address
    states = RootStates(chain)
    assert states._batched  # Anvil speaks JSON-RPC over HTTP: the batched read is used
    for who, root in [(me, r) for r in (kept, partly, whole, unknown)] + [(rival.address, kept)]:
        mine = states.state((who, root))
        theirs = registry.root_state(who, root)
        assert (mine.anchored, mine.revoked, mine.revoked_leaves) == (
            theirs.anchored,
            theirs.revoked,
            theirs.revoked_leaves,
        ), root.hex()
    assert states.state((me, partly)).revoked_leaves == frozenset({partly_leaves[1]})
    assert not states.state((me, unknown)).anchored
    assert states.state((me, kept)).revoked_leaves == frozenset()
    assert states.state((rival.address, kept)).revoked

    cases = [
        (kept, kept_leaves[0], _proof(kept_nodes, kept_leaves[0])),  # anchored
        (partly, partly_leaves[0], _proof(partly_nodes, partly_leaves[0])),  # sibling kept
        (partly, partly_leaves[1], _proof(partly_nodes, partly_leaves[1])),  # leaf revoked
        (whole, whole_leaves[0], _proof(whole_nodes, whole_leaves[0])),  # root revoked
        (kept, partly_leaves[0], _proof(kept_nodes, kept_leaves[2])),  # wrong proof
        (unknown, kept_leaves[0], _proof(kept_nodes, kept_leaves[0])),  # never anchored
    ]
    verdicts = [states.holds(me, root, leaf, proof) for root, leaf, proof in cases]
    assert verdicts == [registry.verify(me, root, leaf, proof) for root, leaf, proof in cases]
    assert verdicts == [True, True, False, False, False, False]
    leaf, proof = kept_leaves[0], _proof(kept_nodes, kept_leaves[0])
    assert not states.holds(rival.address, kept, leaf, proof)  # the rival's, revoked


def test_this_process_revocation_is_seen_at_once(chain: ChainContext) -> None:
    root, leaves, nodes = _anchored_tree(chain, 6)
    proof = _proof(nodes, leaves[3])
    states = RootStates(chain, ttl=3600.0)  # nothing expires during the test
    me = chain.sender.address
    assert states.holds(me, root, leaves[3], proof)
    chain.registry.revoke_leaf(chain.sender, root, leaves[3], proof, keccak(text="r"))
    # Someone else's revocation may stay unseen for up to the TTL (the documented bound) ...
    assert states.holds(me, root, leaves[3], proof)
    # ... this process's own is not: revoking drops the root (service.revoke_evidence).
    states.forget(root)
    assert not states.holds(me, root, leaves[3], proof)
    assert states.holds(me, root, leaves[2], _proof(nodes, leaves[2]))


def test_a_chain_without_the_registry_is_a_mismatch(chain: ChainContext) -> None:
    root, leaves, nodes = _anchored_tree(chain, 2)
    states = RootStates(chain, ttl=0.0)  # every call reads the chain
    me = chain.sender.address
    assert states.holds(me, root, leaves[0], _proof(nodes, leaves[0]))
    # The contract disappears (what a reset or another network looks like from here).
    chain.w3.provider.make_request("anvil_setCode", [chain.registry.address, "0x"])  # type: ignore[arg-type]
    with pytest.raises(ChainMismatchError):
        states.holds(me, root, leaves[0], _proof(nodes, leaves[0]))
