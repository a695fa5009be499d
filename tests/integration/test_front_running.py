"""Finding 4 (docs/security.md F15): one front-run must not stop anchoring for anyone.

A rival member reads the root the batcher planned for a victim (from the database here; the
mempool or, before the fix, the anonymous batch endpoint in the wild) and anchors exactly
that root first. Afterwards the victim's documents are anchored, as the victim's, and another
member's documents queued behind them are anchored in the same drain, right after.

* On EvidenceRegistry v2 the rival's anchor is simply the rival's: the victim's transaction
  goes through unchanged.
* On a v1 registry (before ``contracts deploy --upgrade``) the rival owns the root: the
  batcher re-salts the victim's documents into a new root and anchors that.
* The planned root is not published: anonymous ``GET /api/v1/batches/{id}`` shows no root
  until the batch is mined; an admin sees it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_account.signers.local import LocalAccount
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from chainproof.business.models import BusinessType
from chainproof.business.service import submit_typed
from chainproof.chain.compiler import load_artifact
from chainproof.chain.context import ChainContext, open_chain
from chainproof.chain.registry import MEMBER_ADMIN_ROLE
from chainproof.chain.sender import TxSender
from chainproof.chain.writer import ChainWriter
from chainproof.config import DEV_OPERATOR_KEY
from chainproof.digests import hash_bytes
from chainproof.evidence.batcher import Batcher
from chainproof.evidence.intake import submit_digests
from chainproof.evidence.ops import evidence_kinds
from chainproof.evidence.service import build_receipt
from chainproof.evidence.verify import OPERATOR
from chainproof.identity import create_member
from chainproof.receipts import verify_receipt
from chainproof.receipts.metadata import metadata_text
from chainproof.store import db
from chainproof.store.db import make_engine, upgrade
from chainproof.store.models import Batch, Evidence, Member

from ..apps import StartApi
from ..factories import pinned

pytestmark = pytest.mark.chain
SECRET = "test-secret"


def _chain(tmp_path: Path, version: int) -> ChainContext:
    artifact = load_artifact("EvidenceRegistry" if version == 2 else "EvidenceRegistryV1")
    return open_chain(
        chain="embedded",
        data_dir=tmp_path / "chain",
        operator_key=DEV_OPERATOR_KEY,
        artifact=artifact,
    )


@pytest.fixture(params=[2, 1], ids=["v2", "v1"])
def chain(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ChainContext]:
    """A fresh embedded chain with EvidenceRegistry v2, or v1 (a chain not upgraded yet)."""
    ctx = _chain(tmp_path, request.param)
    assert ctx.registry.version == request.param
    yield ctx
    ctx.stop()


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    """A migrated SQLite database in the test's folder."""
    url = f"sqlite:///{tmp_path / 'cp.db'}"
    upgrade(url)
    return make_engine(url)


def rival_member(chain: ChainContext) -> LocalAccount:
    """A funded dev account the operator admits as a member: the front-runner."""
    rival = chain.node.dev_accounts()[3]
    chain.registry.grant_member(chain.sender, rival.address)
    return rival


def docs(n: int, tag: str) -> list[bytes]:
    return [hash_bytes(f"{tag}-{i}".encode(), "sha256") for i in range(n)]


def test_a_front_run_root_neither_stops_the_victim_nor_delays_others(
    chain: ChainContext, engine: Engine
) -> None:
    with Session(engine) as s:
        victim_id = create_member(session=s, name="受害企业").id
        other_id = create_member(session=s, name="其他企业").id
        assert victim_id is not None and other_id is not None
        victim_docs = submit_digests(
            session=s, algorithm="sha256", digests=docs(3, "victim"), member_id=victim_id
        )
        # A typed document (issue 25): its salt commits to its metadata, re-salted or not.
        kind = BusinessType(code="contract", name="合同", metadata_schema={"type": "object"})
        s.add(kind)
        s.commit()
        text = metadata_text("contract", {"contract_no": "HT-2023-118"})
        victim_docs += submit_typed(
            session=s,
            text=text,
            algorithm="sha256",
            digests=docs(1, "typed"),
            member_id=victim_id,
        )
        other_docs = submit_digests(
            session=s, algorithm="sha256", digests=docs(2, "other"), member_id=other_id
        )
    rival = rival_member(chain)  # admitted first: the planned tx holds the operator's nonce
    batcher = Batcher(
        engine=engine, chain=chain, batch_size=100, interval_ms=10, member_secret=SECRET
    )
    # The victim's role first: planning asks the chain writer for it, and waits.
    assert batcher._close_batch(force=True) is None
    ChainWriter(engine=engine, chain=chain, kinds=evidence_kinds(member_secret=SECRET)).drain()
    batcher._set_aside.clear()
    # Plan the victim's batch (the oldest rows), signed and stored, not yet sent.
    planned_id = batcher._close_batch(force=True)
    assert planned_id is not None
    with Session(engine) as s:
        planned = s.get(Batch, planned_id)
        assert planned is not None and planned.status == "planned"
        victim_address = s.get(Member, victim_id).chain_address  # type: ignore[union-attr]
        assert planned.signer == victim_address
        planned_root = planned.root

    # The rival anchors exactly that root first, with its own key.
    chain.registry.anchor(TxSender(chain.w3, rival), planned_root, 3, b"\x00" * 32)
    squat = chain.registry.anchored_events(root=planned_root)
    assert [e.submitter for e in squat] == [rival.address]

    batcher.drain(timeout=120)  # before the fix: RootAlreadyAnchored, forever

    with Session(engine) as s:
        for accepted in [*victim_docs, *other_docs]:
            ev = s.get(Evidence, accepted.id)
            assert ev is not None and ev.status == "anchored", accepted
            receipt = build_receipt(session=s, evidence_id=accepted.public_id, viewer=OPERATOR)
            verdict = verify_receipt(receipt, chain.w3, trust=pinned(chain.w3, chain.contract))
            assert verdict.valid, verdict.reason
        typed = build_receipt(session=s, evidence_id=victim_docs[-1].public_id, viewer=OPERATOR)
        assert typed.metadata is not None and typed.metadata.text == text
        receipt = build_receipt(session=s, evidence_id=victim_docs[0].public_id, viewer=OPERATOR)
        assert receipt.submitter == victim_address  # the victim's, not the rival's
        confirmed = s.exec(
            select(Batch).where(Batch.status == "confirmed").order_by(col(Batch.id))
        ).all()
        # The victim's batch, then the other member's: the next batch cycle, no waiting.
        assert [b.signer for b in confirmed][-2:] == [
            victim_address,
            s.get(Member, other_id).chain_address,  # type: ignore[union-attr]
        ]
    anchor = chain.registry.get_anchor(victim_address or "", receipt.root)
    assert anchor is not None and anchor.submitter == victim_address
    if chain.registry.version >= 2:
        # Nothing had to change: the planned root itself is the victim's anchor.
        assert receipt.root == planned_root and batcher.resalted_batches == 0
    else:
        # v1: the rival owns the planned root; the victim's documents got new salts.
        assert receipt.root != planned_root and batcher.resalted_batches == 1


def test_planned_roots_are_not_published(start_api: StartApi) -> None:
    api = start_api(run_batcher=False)
    admin = api.key("运营方", "admin")
    submitter = api.key("示范企业甲", "submitter")
    [item] = api.upload(submitter, ("a.txt", b"planned, not mined")).json()["items"]
    runtime = api.client.app.state.runtime  # type: ignore[attr-defined]
    batcher = Batcher(engine=runtime.engine, chain=runtime.chain, batch_size=100, interval_ms=10)
    batch_id = batcher._close_batch(force=True)
    assert batch_id is not None
    with db.open_session(api.url) as session:
        planned = session.get(Batch, batch_id)
        assert planned is not None and planned.status == "planned"
        root = planned.root

    anonymous = api.client.get(f"/api/v1/batches/{batch_id}").json()
    assert anonymous["status"] == "planned"
    assert anonymous["root"] is None and anonymous["tx_hash"] is None
    assert root not in api.client.get(f"/api/v1/batches/{batch_id}").text
    member = api.client.get(f"/api/v1/batches/{batch_id}", headers=submitter).json()
    assert member["root"] is None
    assert api.client.get(f"/api/v1/batches/{batch_id}", headers=admin).json()["root"] == root

    batcher.drain(timeout=120)
    mined = api.client.get(f"/api/v1/batches/{batch_id}").json()
    assert mined["status"] == "confirmed" and mined["root"] == root  # public chain data now
    assert api.wait_anchored(item["id"])["status"] == "anchored"


def test_a_member_the_registry_refuses_is_set_aside_not_waited_for(
    tmp_path: Path, engine: Engine
) -> None:
    """Any other refusal at planning (here: the operator lost MEMBER_ADMIN_ROLE, so the
    member cannot be admitted) sets that member aside; the documents queued behind its
    batch are anchored meanwhile. Before: the step raised on the oldest row, forever."""
    offline = EmbeddedAdmin.account()
    ctx = open_chain(
        chain="embedded",
        data_dir=tmp_path / "chain",
        operator_key=DEV_OPERATOR_KEY,
        registry_admin=offline.address,
    )
    try:
        assert ctx.registry.default_admin() == offline.address
        registry = ctx.registry
        registry.transact(
            TxSender(ctx.w3, offline),
            registry.contract.functions.revokeRole(MEMBER_ADMIN_ROLE, ctx.sender.address),
        )
        with Session(engine) as s:
            member_id = create_member(session=s, name="未获准入企业").id
            stuck = submit_digests(
                session=s, algorithm="sha256", digests=docs(2, "stuck"), member_id=member_id
            )
            own = submit_digests(
                session=s, algorithm="sha256", digests=docs(2, "own"), member_id=None
            )
        batcher = Batcher(
            engine=engine, chain=ctx, batch_size=100, interval_ms=10, member_secret=SECRET
        )
        assert batcher.step(force=True) is False  # the member's batch: refused, set aside
        assert member_id in batcher._set_aside
        assert batcher.step(force=True) is True  # the operator's own documents go on
        with Session(engine) as s:
            assert [s.get(Evidence, a.id).status for a in own] == ["anchored"] * 2  # type: ignore[union-attr]
            assert [s.get(Evidence, a.id).status for a in stuck] == ["queued"] * 2  # type: ignore[union-attr]
    finally:
        ctx.stop()


class EmbeddedAdmin:
    """The embedded chain's funded dev key used as the offline admin."""

    @staticmethod
    def account() -> LocalAccount:
        from eth_account import Account

        from chainproof.devchain import DEV_PRIVATE_KEYS

        return Account.from_key(DEV_PRIVATE_KEYS[5])
