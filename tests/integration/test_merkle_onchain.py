"""Property: every proof of every tree verifies through the contract's view; a proof for
another leaf never does. Runs on a private Anvil: hypothesis drives a thousand or so contract
calls, which the embedded chain's Python EVM spent half a minute of CPU on."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from eth_utils import keccak
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chainproof.chain.compiler import ContractArtifact
from chainproof.chain.deployments import deploy_registry
from chainproof.chain.managed import AnvilNode
from chainproof.chain.registry import EvidenceRegistryClient
from chainproof.chain.sender import TxSender
from chainproof.merkle import StandardMerkleTree
from chainproof.merkle import verify as py_verify
from chainproof.receipts import LEAF_TYPES

from ..conftest import node_binary_present, require

pytestmark = pytest.mark.chain


@pytest.fixture(scope="module")
def onchain(
    registry_artifact: ContractArtifact,
) -> Iterator[tuple[EvidenceRegistryClient, TxSender]]:
    """EvidenceRegistry on a private Anvil, with the admin's sender."""
    require(node_binary_present("anvil"), "anvil is missing from node_modules (run `make install`)")
    node = AnvilNode()
    node.start()
    admin = node.dev_accounts()[0]
    w3 = node.web3()
    dep = deploy_registry(w3, admin, registry_artifact)
    yield EvidenceRegistryClient(w3, dep.address, registry_artifact.abi), TxSender(w3, admin)
    node.stop()


leaves = st.lists(
    st.tuples(st.sampled_from(["sha256", "sm3", "keccak256"]), st.binary(min_size=32, max_size=32)),
    min_size=1,
    max_size=40,
    unique_by=lambda t: t[1],
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@pytest.mark.slow
@given(docs=leaves, salt_seed=st.binary(min_size=1, max_size=8))
def test_every_proof_verifies_on_chain_and_no_foreign_one(
    onchain: tuple[EvidenceRegistryClient, TxSender],
    docs: list[tuple[str, bytes]],
    salt_seed: bytes,
) -> None:
    client, sender = onchain
    values = [[alg, d, keccak(salt_seed + d)] for alg, d in docs]
    tree = StandardMerkleTree.of(values, list(LEAF_TYPES))
    me = sender.account.address
    if client.get_anchor(me, tree.root) is None:
        client.anchor(sender, tree.root, len(values), b"\x00" * 32)
    n = len(values)
    for i in range(n):
        proof = tree.get_proof(i)
        assert py_verify(tree.root, LEAF_TYPES, values[i], proof)
        assert client.verify(me, tree.root, tree.leaf_hash_at(i), proof)
        if n > 1:
            j = (i + 1) % n
            # The proof of leaf i never proves leaf j (distinct digests, distinct leaves).
            assert not client.verify(me, tree.root, tree.leaf_hash_at(j), proof)
            assert not py_verify(tree.root, LEAF_TYPES, values[j], proof)
