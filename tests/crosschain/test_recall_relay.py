"""Cross-chain recall (跨链消息): a lot recalled on a sub-chain's TraceRegistry is checkpointed
into the main chain, delivered with its proof to the main chain's deployment over HTTP, and
its scan page (API and HTML) shows the lot recalled; forged messages are refused; the
sub-chain's lift crosses the same way and lifts it; a leaf revoked on the sub-chain's
EvidenceRegistry crosses too, and the main deployment's receipt verdict says revoked."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import httpx
from eth_account import Account
from eth_utils import keccak
from fastapi.testclient import TestClient
from hexbytes import HexBytes
from sqlmodel import Session, select

from chainproof.api.app import create_app
from chainproof.chain.compiler import ContractArtifact, load_artifact
from chainproof.chain.context import open_chain
from chainproof.chain.deployments import deploy_registry, genesis_hash
from chainproof.chain.registry import EvidenceRegistryClient
from chainproof.chain.sender import TxSender
from chainproof.chain.trace_registry import (
    TRACE_REGISTRY,
    TraceRegistryClient,
    deploy_trace_registry,
)
from chainproof.config import DEV_OPERATOR_KEY, RELAY_DEV_KEY, Settings
from chainproof.crosschain.recalls import MESSAGES_PATH, build_message, deliver_recalls
from chainproof.crosschain.relay import Relay, open_main_chain
from chainproof.crosschain.revocations import (
    REVOCATIONS_PATH,
    build_revocation,
    deliver_revocations,
)
from chainproof.merkle import EVIDENCE_LEAF_TYPES, StandardMerkleTree
from chainproof.receipts import Receipt, evidence_leaf
from chainproof.store.db import make_engine, upgrade
from chainproof.store.models import RevokedLeaf
from chainproof.trace.heads import reason_hash
from chainproof.trace.models import TraceNode, TraceRecall
from tests.crosschain.conftest import SUB_CHAIN_ID, TwoChains
from tests.factories import receipt_from, served
from tests.integration.test_trace_api import FARM, NOODLE, Api, document, event, lot

REASON = "亚硝酸盐超标 (南宁抽检)"


def _anchored_receipt(
    w3: Any, admin: Any, registry: str, artifact: ContractArtifact
) -> tuple[Receipt, list[bytes]]:
    """A receipt of one of two leaves anchored on ``registry`` by ``admin``, and its proof."""
    docs = [(secrets.token_bytes(32), secrets.token_bytes(32)) for _ in range(2)]
    leaves = [evidence_leaf("sha256", d, s)[1] for d, s in docs]
    tree = StandardMerkleTree.of(leaves, EVIDENCE_LEAF_TYPES)
    mined = EvidenceRegistryClient(w3, registry, artifact.abi).anchor(
        TxSender(w3, admin), tree.root, 2, b"\0" * 32
    )
    block = w3.eth.get_block(mined.block_number)
    proof = tree.get_proof(tree.index_of(leaves[0]))
    receipt = receipt_from(
        algorithm="sha256",
        digest=docs[0][0],
        salt=docs[0][1],
        proof=proof,
        root=tree.root,
        chain_id=int(w3.eth.chain_id),
        contract=registry,
        tx_hash=mined.tx_hash,
        block_number=mined.block_number,
        block_hash=HexBytes(block["hash"]).to_0x_hex(),
        block_timestamp=int(block["timestamp"]),
        submitter=admin.address,
    )
    return receipt, list(proof)


LIFT = "复检合格"


def test_a_sub_chain_recall_shows_on_the_main_deployments_scan_page(
    chains: TwoChains, tmp_path: Path, registry_artifact: ContractArtifact
) -> None:
    admin = chains.admin
    # The main deployment, on the main chain, honouring its ChainRegistry's sub-chains.
    main_ctx = open_chain(
        chain=chains.main_url, data_dir=tmp_path / "main", operator_key=DEV_OPERATOR_KEY
    )
    settings = Settings(
        env="test",
        data_dir=tmp_path / "main",
        database_url=f"sqlite:///{tmp_path / 'main.db'}",
        chain=chains.main_url,
        chain_registry=chains.registry.address,
    )
    try:
        with TestClient(create_app(settings, chain=main_ctx, run_batcher=False)) as client:
            api = Api(client, settings)
            farm = FARM
            producer = api.org("柳州原料厂", "producer", [farm], [NOODLE[1:13]])
            q = [{"epcClass": lot(NOODLE, "N1"), "quantity": 100, "uom": "KGM"}]
            done = client.post(
                "/api/v1/trace/capture",
                json=document(
                    event(
                        "ObjectEvent",
                        "commissioning",
                        "2024-11-01T08:00:00+08:00",
                        farm,
                        action="ADD",
                        quantityList=q,
                    )
                ),
                headers=producer,
            )
            assert done.status_code == 201, done.text
            path = f"/api/v1/trace/items/01/{NOODLE}/10/N1"
            before = client.get(path).json()
            assert before["badge"] != "recalled" and before["recalls"] == []
            lot_uri, code = before["uri"], before["code"]

            # The sub-chain (南宁) recalls the same lot on its own TraceRegistry.
            sub_w3 = chains.sub_w3
            sender = TxSender(sub_w3, admin)
            artifact = load_artifact(TRACE_REGISTRY)
            trace = deploy_trace_registry(sub_w3, sender, artifact)
            evidence = deploy_registry(sub_w3, admin, registry_artifact)
            chains.client().register(
                chains.admin_sender(),
                chain_id=SUB_CHAIN_ID,
                genesis_hash=genesis_hash(sub_w3),
                name="南宁",
                registries=[trace.address, evidence.address],
                signers=[admin.address],
                threshold=1,
            )
            salt = "0x" + secrets.token_hex(32)
            lot_key = keccak(bytes.fromhex(salt[2:]) + lot_uri.encode())
            recalled = TraceRegistryClient(sub_w3, trace.address, artifact.abi).recall(
                sender, lot_key, reason_hash(REASON)
            )
            sub_db = f"sqlite:///{tmp_path / 'sub.db'}"
            upgrade(sub_db)
            engine = make_engine(sub_db)
            with Session(engine) as s:
                node = TraceNode(
                    kind="lot", uri=lot_uri, code=code, salt=salt, chain_key="0x" + lot_key.hex()
                )
                s.add(node)
                s.commit()
                assert node.id is not None
                s.add(
                    TraceRecall(
                        lot_node_id=node.id,
                        reason=REASON,
                        reason_hash=reason_hash(REASON),
                        tx_hash=recalled.tx_hash,
                        by_regulator=True,
                    )
                )
                s.commit()
            relay = Relay(
                engine=engine,
                sub_w3=sub_w3,
                main=open_main_chain(
                    chains.main_url, chains.registry.address, Account.from_key(RELAY_DEV_KEY)
                ),
                signers=[admin],
                every_blocks=1,
            )
            with served(client.app) as url:
                with Session(engine) as s:  # not checkpointed yet: nothing goes
                    assert (
                        deliver_recalls(
                            s, sub_w3, trace_registry=trace.address, main_deployment=url
                        )
                        == 0
                    )
                relay.drain()  # the recall's block is checkpointed on the main chain
                with Session(engine) as s:
                    sent = deliver_recalls(
                        s, sub_w3, trace_registry=trace.address, main_deployment=url
                    )
                    again = deliver_recalls(
                        s, sub_w3, trace_registry=trace.address, main_deployment=url
                    )
                    message = build_message(
                        s,
                        sub_w3,
                        kind="recall",
                        tx_hash=recalled.tx_hash,
                        trace_registry=trace.address,
                        lot_uri=lot_uri,
                        lot_salt=salt,
                        lot_code=code,
                        reason=REASON,
                    )
                assert (sent, again) == (1, 0)  # delivered once
                assert message is not None
                body = message.model_dump(mode="json")
                known = httpx.post(url + MESSAGES_PATH, json=body)
                assert known.status_code == 200, known.text  # the same event: kept once

                # Forgeries, each refused with the fact that does not hold.
                def refused(**change: Any) -> str:
                    r = httpx.post(url + MESSAGES_PATH, json={**body, **change})
                    assert r.status_code == 422, (change, r.text)
                    return r.text

                assert "no recall event" in refused(reason="另一个理由")
                assert "no recall event" in refused(lot_uri=lot_uri + "X")
                other = chains.accounts[5].address
                assert "not a registry" in refused(trace_registry=other)
                cp = {**body["checkpoint"], "root": "0x" + "11" * 32}
                assert "checkpoint" in refused(checkpoint=cp)
                assert "not the block checkpointed" in refused(block_hash="0x" + "22" * 32)
                # a malformed trie node is a refused proof, not a 500
                assert "does not lead to receiptsRoot" in refused(receipt_proof=["0x00"])
                too_big = httpx.post(url + MESSAGES_PATH, json={**body, "block_number": 2**64})
                assert too_big.status_code == 422, too_big.text

                after = client.get(path).json()
                assert after["badge"] == "recalled", after["badge_reason"]
                [entry] = after["recalls"]
                assert entry["reason"] == REASON and entry["lifted_at"] is None
                assert entry["cross_chain"]["chain_id"] == SUB_CHAIN_ID
                page = client.get(f"/t/{code}")
                assert page.status_code == 200
                assert 'data-testid="trace-recall-crosschain"' in page.text
                assert f'data-chain-id="{SUB_CHAIN_ID}"' in page.text
                assert REASON in page.text

                # The sub-chain lifts it: the lift crosses the same way.
                lifted = TraceRegistryClient(sub_w3, trace.address, artifact.abi).lift_recall(
                    sender, lot_key, reason_hash(LIFT)
                )
                with Session(engine) as s:
                    row = s.exec(select(TraceRecall)).one()
                    row.lift_tx_hash, row.lift_reason = lifted.tx_hash, LIFT
                    s.add(row)
                    s.commit()
                relay.drain()
                with Session(engine) as s:
                    assert (
                        deliver_recalls(
                            s, sub_w3, trace_registry=trace.address, main_deployment=url
                        )
                        == 1
                    )

                # A leaf revoked on the sub-chain's EvidenceRegistry crosses the same way: the
                # main deployment's receipt verdict then says revoked (forgeries refused).
                receipt, proof = _anchored_receipt(
                    sub_w3, admin, evidence.address, registry_artifact
                )
                client_ev = EvidenceRegistryClient(sub_w3, evidence.address, registry_artifact.abi)
                why = b"\7" * 32
                root = bytes.fromhex(receipt.root[2:])
                leaf = bytes.fromhex(receipt.leaf_hash[2:])
                revoked = client_ev.revoke_leaf(sender, root, leaf, proof, why)
                with Session(engine) as s:
                    s.add(
                        RevokedLeaf(
                            root=receipt.root,
                            leaf_hash=receipt.leaf_hash,
                            reason_hash="0x" + why.hex(),
                            tx_hash=revoked.tx_hash,
                            block_number=revoked.block_number,
                        )
                    )
                    s.commit()
                verdict_path = "/api/v1/receipts/verify"
                before = client.post(verdict_path, json=receipt.model_dump(mode="json")).json()
                assert "revoked" not in before, before
                relay.drain()
                with Session(engine) as s:
                    assert (
                        deliver_revocations(
                            s, sub_w3, registry=evidence.address, main_deployment=url
                        )
                        == 1
                    )
                    assert (
                        deliver_revocations(
                            s, sub_w3, registry=evidence.address, main_deployment=url
                        )
                        == 0
                    )
                    message = build_revocation(
                        s,
                        sub_w3,
                        registry=evidence.address,
                        revoked=s.exec(select(RevokedLeaf)).one(),
                    )
                assert message is not None
                body = message.model_dump(mode="json")
                for change in (
                    {"leaf_hash": "0x" + "33" * 32},
                    {"reason_hash": "0x" + "44" * 32},
                    {"registry": chains.accounts[5].address},
                    {"checkpoint": {**body["checkpoint"], "root": "0x" + "11" * 32}},
                ):
                    r = httpx.post(url + REVOCATIONS_PATH, json={**body, **change})
                    assert r.status_code == 422, (change, r.text)
                after = client.post(verdict_path, json=receipt.model_dump(mode="json")).json()
                assert after["revoked"] is True and after["valid"] is False, after
                assert f"revoked on chain {SUB_CHAIN_ID}" in after["reason"], after
                assert after["checks"][-1]["name"] == "crosschain_revocation"
            final = client.get(path).json()
            [entry] = final["recalls"]
            assert entry["lift_reason"] == LIFT and entry["lifted_at"] is not None
            assert final["badge"] != "recalled", final["badge_reason"]
    finally:
        main_ctx.stop()
