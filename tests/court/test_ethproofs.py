"""Header RLP and receipt-trie proofs on every node kind the project runs (issue 19): the
header ChainProof encodes hashes to the node's block hash, the receipts trie it builds has
the header's receiptsRoot, and the proof yields the Anchored log; a wrong index or root is
refused."""

from __future__ import annotations

import json

import pytest
from eth_utils import keccak

from chainproof.bundle.build import proof_files
from chainproof.bundle.ethproofs import ProofError, decode_header, prove_receipt
from chainproof.merkle import StandardMerkleTree
from chainproof.receipts import ANCHORED_TOPIC, LEAF_TYPES, Receipt

from ..conftest import Deployed

pytestmark = [
    pytest.mark.chain,
    pytest.mark.parametrize("chain_node", ["embedded", "anvil", "ganache"], indirect=True),
]


def anchored(d: Deployed) -> Receipt:
    values = [["sha256", keccak(text=f"court-{i}"), keccak(text=f"salt-{i}")] for i in range(2)]
    tree = StandardMerkleTree.of(values, list(LEAF_TYPES))
    mined = d.client().anchor(d.sender(d.admin), tree.root, 2, b"\x00" * 32)
    block = d.w3.eth.get_block(mined.block_number)
    return Receipt.build(
        algorithm="sha256",
        digest=values[0][1],
        salt=values[0][2],
        proof=tree.get_proof(0),
        root=tree.root,
        chain_id=d.w3.eth.chain_id,
        contract=d.deployment.address,
        tx_hash=mined.tx_hash,
        block_number=mined.block_number,
        block_hash=mined.block_hash,
        block_timestamp=int(block["timestamp"]),
        submitter=d.admin.address,
    )


def test_the_header_and_receipt_proof_hold_on_this_node(deployed: Deployed) -> None:
    receipt = anchored(deployed)
    files = proof_files(deployed.w3, receipt)
    header = decode_header(files["header.rlp"])
    assert "0x" + header.hash.hex() == receipt.block_hash
    assert (header.number, header.timestamp) == (receipt.block_number, receipt.block_timestamp)
    doc = json.loads(files["receipt-proof.json"])
    nodes = [bytes.fromhex(n[2:]) for n in doc["nodes"]]
    proven = prove_receipt(header.receipts_root, doc["tx_index"], nodes)
    assert proven.status == 1
    topics = [log.topics for log in proven.logs]
    assert [ANCHORED_TOPIC, bytes.fromhex(receipt.root[2:])] in [t[:2] for t in topics]
    with pytest.raises(ProofError):
        prove_receipt(header.receipts_root, doc["tx_index"] + 1, nodes)
    with pytest.raises(ProofError):
        prove_receipt(b"\x11" * 32, doc["tx_index"], nodes)
