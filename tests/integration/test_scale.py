"""The issue's acceptance run: Anvil + PostgreSQL, 10,000 digests through the bulk endpoint,
all anchored; every receipt checks out offline; one anchoring transaction per batch."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from eth_utils import keccak
from fastapi.testclient import TestClient
from hexbytes import HexBytes
from sqlalchemy import func
from sqlmodel import select

from chainproof import identity
from chainproof.api.app import create_app
from chainproof.config import Settings
from chainproof.evidence.proofs import TreeCache
from chainproof.evidence.service import build_receipt
from chainproof.evidence.verify import OPERATOR
from chainproof.receipts import check_receipt_offline, verify_receipt
from chainproof.store import db
from chainproof.store.models import Batch, Evidence, Member

from ..conftest import node_binary_present, require
from ..factories import pinned

pytestmark = [pytest.mark.chain, pytest.mark.postgres]
N = 10_000


@pytest.mark.slow
def test_ten_thousand_digests_on_anvil_and_postgres(
    postgres_database_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    require(node_binary_present("anvil"), "anvil is missing from node_modules (run `make install`)")
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=postgres_database_url,
        chain="anvil",
        batch_size=1000,
        batch_interval_ms=200,
    )
    digests = [keccak(text=f"scale-{os.getpid()}-{i}").hex() for i in range(N)]
    with TestClient(create_app(settings)) as client:
        with db.open_session(postgres_database_url) as session:
            _, key = identity.create_api_key(session=session, org="规模测试", role="submitter")
        headers = {"Authorization": f"Bearer {key}"}
        r = client.post(
            "/api/v1/evidence/digests",
            json={"algorithm": "sha256", "digests": digests},
            headers=headers,
        )
        assert r.status_code == 202, r.text
        items = r.json()["items"]
        assert len(items) == N and {i["status"] for i in items} == {"queued"}

        deadline = time.monotonic() + 180
        engine = db.make_engine(postgres_database_url)
        request.addfinalizer(engine.dispose)
        from sqlmodel import Session

        while time.monotonic() < deadline:
            with Session(engine) as s:
                left = s.exec(
                    select(func.count()).select_from(Evidence).where(Evidence.status != "anchored")
                ).one()
            if left == 0:
                break
            time.sleep(0.2)
        assert left == 0, f"{left} digests not anchored in time"

        chain = client.app.state.runtime.chain  # type: ignore[attr-defined]
        w3 = chain.w3
        with Session(engine) as s:
            batches = s.exec(select(Batch).where(Batch.status == "confirmed")).all()
            assert sum(b.leaf_count for b in batches) == N
            # Every transaction sent to the registry after its deployment: the operator's and
            # the member's admissions, then one anchor per batch, signed by the member
            # (EIP-712) and relayed by the operator.
            selector = {
                keccak(text=sig)[:4]: sig.split("(")[0]
                for sig in (
                    "grantRole(bytes32,address)",
                    "anchorWithSignature(bytes32,uint32,bytes32,address,uint256,bytes)",
                )
            }
            calls = []
            for n in range(chain.deployment.block_number + 1, w3.eth.block_number + 1):
                for tx in w3.eth.get_block(n, full_transactions=True)["transactions"]:
                    if tx["to"] == chain.contract:
                        calls.append(selector.get(bytes(HexBytes(tx["input"]))[:4], "other"))
            assert calls == ["grantRole"] * 2 + ["anchorWithSignature"] * len(batches)
            member = s.exec(select(Member).where(Member.name == "规模测试")).one()
            assert {b.signer for b in batches} == {member.chain_address}

            one_per_batch: dict[int, str] = {}
            # The tree cache the receipt route uses (``trees_of``): each batch's stored tree
            # is read and checked against its root once, not once per document.
            trees = TreeCache()
            for ev in s.exec(select(Evidence)).all():
                assert ev.id is not None and ev.batch_id is not None
                receipt = build_receipt(
                    session=s, evidence_id=ev.public_id, viewer=OPERATOR, trees=trees
                )
                assert check_receipt_offline(receipt) == [], ev.id
                one_per_batch.setdefault(ev.batch_id, ev.public_id)
            # The full online check (tx, block, event, contract views) once per batch.
            for evidence_id in one_per_batch.values():
                receipt = build_receipt(session=s, evidence_id=evidence_id, viewer=OPERATOR)
                verdict = verify_receipt(receipt, w3, trust=pinned(w3, receipt.contract))
                assert verdict.valid, verdict.reason
