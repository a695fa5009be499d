"""Proofs that cross: a receipt anchored on a sub-chain verified through the main chain's
checkpoint, with the sub-chain node stopped, from the light CLI; forgeries refused."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

from eth_account.signers.local import LocalAccount
from hexbytes import HexBytes
from sqlmodel import Session
from web3 import Web3

from chainproof.chain.compiler import ContractArtifact
from chainproof.chain.deployments import deploy_registry, genesis_hash
from chainproof.chain.managed import AnvilNode
from chainproof.chain.registry import EvidenceRegistryClient
from chainproof.chain.sender import TxSender
from chainproof.crosschain.proofs import with_checkpoint
from chainproof.crosschain.relay import Relay, open_main_chain
from chainproof.crosschain.verify import verify_via_checkpoint
from chainproof.digests import keccak256, to_hex
from chainproof.merkle import EVIDENCE_LEAF_TYPES, StandardMerkleTree
from chainproof.receipts import Receipt, evidence_leaf
from chainproof.store.db import make_engine, upgrade
from chainproof.trust import TrustAnchor
from tests.crosschain.conftest import TwoChains
from tests.factories import pinned, receipt_from
from tests.integration.test_light_verifier import CLI as LIGHT_CLI
from tests.integration.test_light_verifier import SERVER_PARTS
from tests.integration.test_light_verifier import _run as light_run

CITY_CHAIN_ID = 4343


def _anchor_one(w3: Web3, admin: LocalAccount, artifact: ContractArtifact) -> tuple[str, Receipt]:
    deployment = deploy_registry(w3, admin, artifact)
    docs = [(secrets.token_bytes(32), secrets.token_bytes(32)) for _ in range(3)]
    tree = StandardMerkleTree.of(
        [evidence_leaf("sha256", d, s)[1] for d, s in docs], EVIDENCE_LEAF_TYPES
    )
    client = EvidenceRegistryClient(w3, deployment.address, artifact.abi)
    mined = client.anchor(TxSender(w3, admin), tree.root, 3, b"\0" * 32)
    block = w3.eth.get_block(mined.block_number)
    digest, salt = docs[1]
    receipt = receipt_from(
        algorithm="sha256",
        digest=digest,
        salt=salt,
        proof=tree.get_proof(tree.index_of(evidence_leaf("sha256", digest, salt)[1])),
        root=tree.root,
        chain_id=CITY_CHAIN_ID,
        contract=deployment.address,
        tx_hash=mined.tx_hash,
        block_number=mined.block_number,
        block_hash=HexBytes(block["hash"]).to_0x_hex(),
        block_timestamp=int(block["timestamp"]),
        submitter=admin.address,
    )
    return deployment.address, receipt


def test_sub_chain_receipt_verifies_through_the_main_chain_with_the_sub_node_stopped(
    chains: TwoChains, registry_artifact: ContractArtifact, tmp_path: Path
) -> None:
    city = AnvilNode(chain_id=CITY_CHAIN_ID)  # this test's own sub-chain: it is stopped below
    city.start()
    try:
        city_w3 = city.web3()
        registry, receipt = _anchor_one(city_w3, chains.admin, registry_artifact)
        chains.client().register(
            chains.admin_sender(),
            chain_id=CITY_CHAIN_ID,
            genesis_hash=genesis_hash(city_w3),
            name="南宁",
            registries=[registry],
            signers=[chains.admin.address],
            threshold=1,
        )
        city_w3.provider.make_request("anvil_mine", ["0x3"])  # type: ignore[arg-type]
        url = f"sqlite:///{tmp_path / 'city.db'}"
        upgrade(url)
        engine = make_engine(url)
        assert chains.main.rpc_url is not None
        relay = Relay(
            engine=engine,
            sub_w3=city_w3,
            main=open_main_chain(chains.main.rpc_url, chains.registry.address, chains.admin),
            signers=[chains.admin],
            every_blocks=1,
        )
        with Session(engine) as s:
            assert with_checkpoint(s, receipt, city_w3).checkpoint is None  # not yet
        relay.drain()
        with Session(engine) as s:
            full = with_checkpoint(s, receipt, city_w3)
        assert full.checkpoint is not None
        sub_anchor = pinned(city_w3, registry).document()
    finally:
        city.stop()

    code = bytes(chains.main_w3.eth.get_code(Web3.to_checksum_address(chains.registry.address)))
    anchor = TrustAnchor.from_dict(
        {
            **sub_anchor,
            "main_chain": {
                "chain_id": chains.main_w3.eth.chain_id,
                "genesis_hash": genesis_hash(chains.main_w3),
                "checkpoint_registry": chains.registry.address,
                "checkpoint_registry_code_hash": to_hex(keccak256(code)),
            },
        }
    )
    round_tripped = Receipt.from_json(full.to_json())
    verdict = verify_via_checkpoint(round_tripped, chains.main_w3, trust=anchor)
    assert verdict.valid, verdict.checks

    # The light CLI, given only the main chain's RPC, says VALID (exit 0).
    receipt_file, anchor_file = tmp_path / "r.json", tmp_path / "anchor.json"
    receipt_file.write_text(full.to_json())
    anchor_file.write_text(json.dumps(anchor.document()))
    # As on a base install (`pip install chainproof`, no server extra): no server module.
    done, modules = light_run(LIGHT_CLI, chains.main_url, receipt_file, anchor_file)
    assert done.returncode == 0, done.stdout + done.stderr
    assert not set(SERVER_PARTS) & modules, set(SERVER_PARTS) & modules
    assert "VALID" in done.stdout and "checkpoint" in done.stdout

    # Forgeries: another block hash at that height, a section naming another root, a main
    # chain the anchor does not pin.
    section = full.checkpoint
    other_block = full.model_copy(update={"block_hash": "0x" + "ab" * 32})
    bad = verify_via_checkpoint(other_block, chains.main_w3, trust=anchor)
    assert not bad.valid and bad.checks[-1][0] == "checkpoint"
    other_root = full.model_copy(
        update={"checkpoint": section.model_copy(update={"root": "0x" + "cd" * 32})}
    )
    bad = verify_via_checkpoint(other_root, chains.main_w3, trust=anchor)
    assert not bad.valid and "not the section's" in (bad.reason or "")
    wrong_main = TrustAnchor.from_dict(
        {
            **anchor.document(),
            "main_chain": {**anchor.document()["main_chain"], "genesis_hash": "0x" + "11" * 32},
        }
    )
    bad = verify_via_checkpoint(full, chains.main_w3, trust=wrong_main)
    assert not bad.valid and bad.checks[-1][0] == "main_chain"
    # A forged log: the trie proof of another receipt index does not hold the Anchored log.
    other_tx = full.model_copy(
        update={"checkpoint": section.model_copy(update={"tx_index": section.tx_index + 1})}
    )
    assert not verify_via_checkpoint(other_tx, chains.main_w3, trust=anchor).valid
