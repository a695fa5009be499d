"""Header RLP and receipt-trie proofs on every node kind the project runs (issue 19): the
header ChainProof encodes hashes to the node's block hash, the receipts trie it builds has
the header's receiptsRoot, and the proof yields the Anchored log; a wrong index or root is
refused."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from eth_utils import keccak

from chainproof.bundle.build import build_bundle, proof_files
from chainproof.bundle.ethproofs import ProofError, decode_header, prove_receipt
from chainproof.merkle import StandardMerkleTree
from chainproof.receipts import ANCHORED_TOPIC, LEAF_TYPES, Receipt
from chainproof.timestamping.authority import Issued, TimeStampAuthority, make_query
from chainproof.timestamping.pki import load_pki

from ..conftest import Deployed
from ..factories import pinned, receipt_from
from .test_bundle import cli

pytestmark = pytest.mark.chain


def anchored(d: Deployed) -> Receipt:
    values = [["sha256", keccak(text=f"court-{i}"), keccak(text=f"salt-{i}")] for i in range(2)]
    tree = StandardMerkleTree.of(values, list(LEAF_TYPES))
    mined = d.client().anchor(d.sender(d.admin), tree.root, 2, b"\x00" * 32)
    block = d.w3.eth.get_block(mined.block_number)
    return receipt_from(
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


@pytest.mark.parametrize("chain_node", ["embedded", "anvil", "ganache"], indirect=True)
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
    with pytest.raises(ProofError):  # a malformed node: a refusal, not the trie library's error
        prove_receipt(header.receipts_root, doc["tx_index"], [b"\x00", *nodes[1:]])


@pytest.mark.parametrize("chain_node", ["anvil"], indirect=True)
def test_verify_bundle_rpc_passes_then_fails_after_the_chain_is_reset(
    deployed: Deployed, tmp_path: Path
) -> None:
    """A bundle built on a real Anvil verifies with --rpc against it; after the chain is
    reset to before the anchor (and has mined other blocks at those heights), the same
    bundle fails the canonical check while still passing with no network at all."""
    before = deployed.node.snapshot()
    receipt = anchored(deployed)
    pki = load_pki(tmp_path / "pki", password=None, create=True)
    answer = TimeStampAuthority(pki.tsa).respond(
        make_query("sha256", bytes.fromhex(receipt.digest[2:]))
    )
    assert isinstance(answer, Issued)
    trust = pinned(deployed.w3, deployed.deployment.address)
    data = build_bundle(
        receipt=receipt.model_copy(update={"tsa_token": base64.b64encode(answer.token).decode()}),
        w3=deployed.w3,
        trust=trust,
        tsa_reply=answer.reply,
        ca_pem=pki.ca_pem(),
        tsa_pem=pki.tsa_pem(),
    )
    bundle, anchor = tmp_path / "b.zip", tmp_path / "trust.json"
    bundle.write_bytes(data)
    anchor.write_text(json.dumps(trust.document()))
    url = deployed.node.rpc_url
    assert url is not None
    ok = cli("verify-bundle", bundle, "--trust", anchor, "--rpc", url)
    assert ok.returncode == 0 and "canonical on the node" in ok.stdout, ok.stdout + ok.stderr
    deployed.node.revert(before)  # the chain is reset to before the anchor ...
    deployed.w3.provider.make_request("anvil_mine", [5])  # ... and goes on without it
    reset = cli("verify-bundle", bundle, "--trust", anchor, "--rpc", url)
    assert reset.returncode == 1 and "✗ canonical" in reset.stdout, reset.stdout
    offline = cli("verify-bundle", bundle, "--trust", anchor)
    assert offline.returncode == 0, offline.stdout  # the proof itself is still the proof
