"""Dual anchoring: the second anchorer puts each confirmed root on the second chain once;
one root anchored on two real chains, the receipt listing both, checked under ``--policy
any`` and ``--policy all`` with both chains up, then with one down; a revocation on the
first chain is never outvoted by the other chain's anchor."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

from hexbytes import HexBytes
from sqlmodel import Session, col, select
from typer.testing import CliRunner
from web3 import Web3

from chainproof.chain.compiler import ContractArtifact
from chainproof.chain.deployments import deploy_registry, genesis_hash
from chainproof.chain.managed import AnvilNode
from chainproof.chain.registry import EvidenceRegistryClient
from chainproof.chain.sender import TxSender
from chainproof.cli import app
from chainproof.crosschain.models import SecondAnchor
from chainproof.crosschain.policy import POLICIES, verify_with_policy
from chainproof.crosschain.second_anchor import SECOND_ANCHOR, SecondAnchorer, SecondChain
from chainproof.merkle import EVIDENCE_LEAF_TYPES, StandardMerkleTree
from chainproof.receipts import OtherAnchor, Receipt, evidence_leaf
from chainproof.store.db import make_engine, upgrade
from chainproof.store.models import Batch, BatchStatus
from chainproof.store.ops import ChainOp, OpStatus
from chainproof.trust import TrustAnchor
from tests.crosschain.conftest import TwoChains
from tests.factories import pinned, receipt_from

SECOND_CHAIN_ID = 4444


def _anchor(w3: Web3, client: EvidenceRegistryClient, sender: TxSender, root: bytes) -> dict:
    mined = client.anchor(sender, root, 2, b"\0" * 32)
    block = w3.eth.get_block(mined.block_number)
    return {
        "chain_id": int(w3.eth.chain_id),
        "contract": client.address,
        "tx_hash": mined.tx_hash,
        "block_number": mined.block_number,
        "block_hash": HexBytes(block["hash"]).to_0x_hex(),
        "block_timestamp": int(block["timestamp"]),
        "submitter": sender.address,
    }


def _cli(receipt: Path, anchor: Path, policy: str, *rpcs: str) -> tuple[int, str]:
    args = ["verify-receipt", str(receipt), "--trust", str(anchor), "--policy", policy]
    for url in rpcs:
        args += ["--rpc", url]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "300"})
    return result.exit_code, result.output


def test_dual_anchored_receipt_under_both_policies_with_one_chain_down(
    chains: TwoChains, registry_artifact: ContractArtifact, tmp_path: Path
) -> None:
    first_w3, admin = chains.sub_w3, chains.admin
    second = AnvilNode(chain_id=SECOND_CHAIN_ID)  # this test's own: it is stopped below
    second.start()
    try:
        second_w3 = second.web3()
        first_reg = deploy_registry(first_w3, admin, registry_artifact)
        second_reg = deploy_registry(second_w3, admin, registry_artifact)
        first = EvidenceRegistryClient(first_w3, first_reg.address, registry_artifact.abi)
        other = EvidenceRegistryClient(second_w3, second_reg.address, registry_artifact.abi)
        first_sender = TxSender(first_w3, admin)
        docs = [(secrets.token_bytes(32), secrets.token_bytes(32)) for _ in range(2)]
        leaves = [evidence_leaf("sha256", d, s)[1] for d, s in docs]
        tree = StandardMerkleTree.of(leaves, EVIDENCE_LEAF_TYPES)
        at_first = _anchor(first_w3, first, first_sender, tree.root)
        at_second = _anchor(second_w3, other, TxSender(second_w3, admin), tree.root)
        digest, salt = docs[0]
        proof = tree.get_proof(tree.index_of(leaves[0]))
        receipt = receipt_from(
            algorithm="sha256",
            digest=digest,
            salt=salt,
            proof=proof,
            root=tree.root,
            **at_first,
        ).model_copy(update={"other_anchors": [OtherAnchor(**at_second)]})
        receipt = Receipt.from_json(receipt.to_json())  # lists both anchors, round-tripped
        assert receipt.other_anchors and receipt.other_anchors[0].chain_id == SECOND_CHAIN_ID
        second_pin = pinned(second_w3, second_reg.address)
        trust = TrustAnchor.from_dict(
            {
                **pinned(first_w3, first_reg.address).document(),
                "other_chains": [
                    {
                        "chain_id": second_pin.chain_id,
                        "genesis_hash": second_pin.genesis_hash,
                        "registry": second_pin.registry,
                        "registry_code_hash": second_pin.registry_code_hash,
                        "registry_version": second_pin.registry_version,
                    }
                ],
            }
        )
        receipt_file, anchor_file = tmp_path / "r.json", tmp_path / "anchor.json"
        receipt_file.write_text(receipt.to_json())
        anchor_file.write_text(json.dumps(trust.document()))
        both = {SECOND_CHAIN_ID: second_w3, int(first_w3.eth.chain_id): first_w3}
        for policy in POLICIES:
            verdict = verify_with_policy(receipt, both, trust=trust, policy=policy)
            assert verdict.valid and all(a.valid for a in verdict.anchors), verdict.reason
        # Each anchor is checked on its own chain: the second one's block is not the first's.
        assert [a.chain_id for a in verdict.anchors] == [chains.sub_w3.eth.chain_id, 4444]
        code, out = _cli(receipt_file, anchor_file, "all", chains.sub_url, second.rpc_url or "")
        assert code == 0 and "2 of 2 anchors verified" in out, out
        # Without a pin of the second chain, its anchor does not count: all fails, any holds.
        unpinned = trust.model_copy(update={"other_chains": None})
        assert not verify_with_policy(receipt, both, trust=unpinned, policy="all").valid
        assert verify_with_policy(receipt, both, trust=unpinned, policy="any").valid
        second_url = second.rpc_url or ""

        # Revoked on the first chain, with the second chain up and its anchor valid there:
        # revoked under either policy, never outvoted.
        before = chains.sub.snapshot()
        first.revoke_leaf(first_sender, tree.root, receipt.leaf_hash, proof, b"\1" * 32)
        for policy in POLICIES:
            verdict = verify_with_policy(receipt, both, trust=trust, policy=policy)
            assert not verdict.valid and verdict.status == "revoked", verdict.reason
            assert verdict.anchors[1].valid  # the second chain knows nothing of it
        code, out = _cli(receipt_file, anchor_file, "any", chains.sub_url, second_url)
        assert code == 1 and "REVOKED" in out, out
        chains.sub.revert(before)
    finally:
        second.stop()

    # The second chain is down.
    only_first = {int(first_w3.eth.chain_id): first_w3}
    any_ = verify_with_policy(receipt, only_first, trust=trust, policy="any")
    all_ = verify_with_policy(receipt, only_first, trust=trust, policy="all")
    assert any_.valid
    assert not all_.valid and all_.status == "unreachable", all_.reason
    code, out = _cli(receipt_file, anchor_file, "any", chains.sub_url, second_url)
    assert code == 0 and "VALID under policy any" in out and "1 of 2" in out, out
    code, out = _cli(receipt_file, anchor_file, "all", chains.sub_url, second_url)
    assert code == 2 and "cannot verify under policy all" in out, out


def test_second_anchorer_anchors_each_confirmed_root_once_with_its_own_writer(
    chains: TwoChains, registry_artifact: ContractArtifact, tmp_path: Path
) -> None:
    relay_key = chains.accounts[8]
    deployed = deploy_registry(chains.main_w3, relay_key, registry_artifact)
    second = SecondChain(
        w3=chains.main_w3,
        sender=TxSender(chains.main_w3, relay_key),
        registry=EvidenceRegistryClient(chains.main_w3, deployed.address, registry_artifact.abi),
        chain_id=int(chains.main_w3.eth.chain_id),
        genesis_hash=genesis_hash(chains.main_w3),
    )
    url = f"sqlite:///{tmp_path / 'dual.db'}"
    upgrade(url)
    engine = make_engine(url)
    roots = ["0x" + secrets.token_hex(32) for _ in range(3)]
    with Session(engine) as s:
        for i, root in enumerate(roots):
            status = BatchStatus.CONFIRMED if i < 2 else BatchStatus.SENT  # not final: not yet
            s.add(
                Batch(
                    root=root,
                    leaf_count=1,
                    metadata_hash="0x" + "00" * 32,
                    chain_id=4242,
                    contract=deployed.address,
                    signer=chains.admin.address,
                    status=status.value,
                )
            )
        s.commit()
    anchorer = SecondAnchorer(engine=engine, second=second)
    anchorer.drain()
    anchorer.drain()  # again: nothing new
    with Session(engine) as s:
        rows = list(s.exec(select(SecondAnchor).order_by(col(SecondAnchor.id))))
        ops = list(s.exec(select(ChainOp).where(ChainOp.kind == SECOND_ANCHOR)))
    assert [r.root for r in rows] == roots[:2]
    assert [o.status for o in ops] == [OpStatus.CONFIRMED.value] * 2
    events = second.registry.anchored_events()
    assert sorted(e.root for e in events) == sorted(roots[:2])  # each once, none for the third
    assert {r.tx_hash for r in rows} == {e.tx_hash for e in events}
    assert all(r.submitter == relay_key.address for r in rows)
