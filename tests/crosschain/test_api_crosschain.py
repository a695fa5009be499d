"""A deployment on a sub-chain with CHAINPROOF_MAIN_CHAIN set, driven over HTTP: its worker
deploys a ChainRegistry with the relay key, registers the chain and relays checkpoints with
that key alone (the operator key sends nothing on the main chain; a second relay on the key
is refused), the receipt gains its checkpoint section, the well-known anchor names the main
chain, the explorer lists the checkpoints, and a fork fails /readyz."""

from __future__ import annotations

import io
import json
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from chainproof.bundle.verify import verify_bundle
from chainproof.chain.chain_registry import ChainRegistryClient, chain_registry_abi
from chainproof.chain.context import open_chain
from chainproof.config import DEV_OPERATOR_KEY, RELAY_DEV_KEY, Settings
from chainproof.crosschain.policy import verify_with_policy
from chainproof.crosschain.relay import CHECKPOINT
from chainproof.crosschain.service import open_relay
from chainproof.crosschain.verify import verify_via_checkpoint
from chainproof.errors import ConflictError
from chainproof.receipts import Receipt
from chainproof.store.db import make_engine
from chainproof.store.ops import ChainOp
from chainproof.trust import TrustAnchor
from tests.apps import Api
from tests.crosschain.conftest import SUB_CHAIN_ID, TwoChains


def _until(what: str, probe: Any, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found:
            return found
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout}s"
        time.sleep(0.1)


def test_worker_relays_with_its_own_key_and_receipts_cross(
    chains: TwoChains, tmp_path: Path
) -> None:
    from chainproof.api.app import create_app

    relay_address = Account.from_key(RELAY_DEV_KEY).address
    operator_address = Account.from_key(DEV_OPERATOR_KEY).address
    operator_nonce = chains.main_w3.eth.get_transaction_count(operator_address)

    ctx = open_chain(
        chain=chains.sub_url, data_dir=tmp_path / "data", operator_key=DEV_OPERATOR_KEY
    )
    settings = Settings(
        env="test",
        data_dir=tmp_path / "data",
        database_url=f"sqlite:///{tmp_path / 'app.db'}",
        chain=chains.sub_url,
        batch_size=10,
        batch_interval_ms=50,
        main_chain=chains.main_url,  # no registry named: the relay key deploys one
        second_chain=chains.main_url,  # dual anchoring on the main chain, by the same writer
        checkpoint_blocks=1,
        checkpoint_seconds=0.2,
    )
    try:
        with TestClient(create_app(settings, chain=ctx)) as client:
            api = Api(client=client, settings=settings)
            headers = api.key("示范企业甲", "submitter")
            created = api.upload(headers, ("a.txt", b"crossing chains")).json()
            evidence_id = created["id"] if "id" in created else created["items"][0]["id"]
            api.wait_anchored(evidence_id, headers)
            chains.mine_sub(chains.sub_w3.eth.block_number + 2)
            body = _until(
                "a checkpoint section",
                lambda: (
                    r.json()
                    if "checkpoint"
                    in (
                        r := client.get(f"/api/v1/evidence/{evidence_id}/receipt", headers=headers)
                    ).json()
                    else None
                ),
            )
            well_known = client.get("/.well-known/chainproof.json").json()
            registry = ChainRegistryClient(
                chains.main_w3,
                well_known["main_chain"]["checkpoint_registry"],
                chain_registry_abi(),
            )
            assert registry.chain_of(SUB_CHAIN_ID).known  # the worker registered it
            # The relay key deployed, registered and relayed; the operator key sent nothing
            # on the main chain, and a second relay on the same key is refused its lock.
            assert registry.call(lambda: registry.contract.functions.owner().call()) == (
                relay_address
            )
            assert chains.main_w3.eth.get_transaction_count(operator_address) == operator_nonce
            with Session(make_engine(settings.resolved_database_url)) as s:
                senders = set(
                    s.exec(
                        select(ChainOp.sender).where(
                            ChainOp.kind == CHECKPOINT, col(ChainOp.sender).is_not(None)
                        )
                    )
                )
            assert senders == {relay_address}
            with pytest.raises(ConflictError, match=r"relay|signing key|batcher"):
                open_relay(
                    settings=settings,
                    engine=make_engine(settings.resolved_database_url),
                    chain=ctx,
                )
            assert well_known["main_chain"]["chain_id"] == chains.main_w3.eth.chain_id
            verdict = verify_via_checkpoint(
                Receipt.from_dict(body), chains.main_w3, trust=TrustAnchor.from_dict(well_known)
            )
            assert verdict.valid, verdict.checks
            # Dual anchoring: the root is on the main chain's EvidenceRegistry too, the receipt
            # lists that anchor, the well-known anchor pins it, and both verify.
            dual = _until(
                "a second anchor",
                lambda: (
                    r.json()
                    if "other_anchors"
                    in (
                        r := client.get(f"/api/v1/evidence/{evidence_id}/receipt", headers=headers)
                    ).json()
                    else None
                ),
            )
            [other] = dual["other_anchors"]
            assert other["chain_id"] == chains.main_w3.eth.chain_id
            assert other["submitter"] == relay_address
            trust = TrustAnchor.from_dict(client.get("/.well-known/chainproof.json").json())
            assert trust.other_chains and trust.other_chains[0].registry == other["contract"]
            nodes = {SUB_CHAIN_ID: chains.sub_w3, other["chain_id"]: chains.main_w3}
            both = verify_with_policy(Receipt.from_dict(dual), nodes, trust=trust, policy="all")
            assert both.valid and len(both.anchors) == 2, both.reason
            # The offline bundle carries the section too.
            zipped = client.get(f"/api/v1/evidence/{evidence_id}/bundle", headers=headers)
            assert zipped.status_code == 200, zipped.text
            with zipfile.ZipFile(io.BytesIO(zipped.content)) as z:
                bundled = json.loads(z.read("receipt.json"))
            assert bundled["checkpoint"]["root"] == body["checkpoint"]["root"]
            # ... and the proofs of both: the checkpoint through the main-chain block that
            # posted it, the other anchor through its own block, verified offline.
            offline = verify_bundle(zipped.content, trust=trust, policy="all")
            assert offline.valid, offline.checks
            found = {name: detail for name, _, detail in offline.checks}
            assert "main-chain" in found["checkpoint"], found
            assert "2 of 2 anchors proven" in found["other_anchors"], found
            # The explorer lists the checkpoints, the receipt's among them.
            page = client.get("/explorer")
            assert page.status_code == 200
            assert 'data-testid="explorer-checkpoints"' in page.text
            assert body["checkpoint"]["root"] in page.text
            ready = client.get("/readyz")
            assert ready.status_code == 200, ready.text
            assert ready.json()["checks"]["crosschain"]["ok"] is True
            second = ready.json()["checks"]["second_anchor"]
            assert second["ok"] and f"chain {chains.main_w3.eth.chain_id}" in second["detail"]

            # The sub-chain forks under its checkpoints: /readyz says so, naming it.
            # Once the head is checkpointed, the sub-chain forks below it.
            _until(
                "the head checkpointed",
                lambda: (
                    registry.chain_of(SUB_CHAIN_ID).next_height > chains.sub_w3.eth.block_number
                ),
            )
            chains.fork_sub(2)
            failed = _until(
                "/readyz failing",
                lambda: r if (r := client.get("/readyz")).status_code == 503 else None,
            )
            assert "reset or fork" in failed.json()["checks"]["crosschain"]["detail"]
    finally:
        ctx.stop()
