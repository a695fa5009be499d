"""Virtual channels (issue 25, 虚拟通道): a channel created with ``virtual: true`` gets an
EvidenceRegistry of its own, deployed by the chain writer; its members' records are anchored
there, receipts name it, the served trust anchor pins it, and a receipt from another
deployment of the very same contract that the anchor does not pin fails."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select
from web3 import Web3

from chainproof.chain.compiler import load_artifact
from chainproof.chain.context import ChainContext
from chainproof.chain.deployments import deploy_registry
from chainproof.chain.registry import EvidenceRegistryClient
from chainproof.chain.sender import TxSender
from chainproof.chain.writer import ChainWriter, enqueue
from chainproof.channels import registry_ops
from chainproof.channels.models import Channel, ChannelMember
from chainproof.config import DEV_SECRET_KEY
from chainproof.digests import hash_bytes
from chainproof.evidence.batcher import Batcher
from chainproof.evidence.intake import submit_digests
from chainproof.evidence.ops import evidence_kinds
from chainproof.evidence.reanchor import reanchor_index
from chainproof.evidence.service import reindex
from chainproof.receipts import Receipt, verify_receipt
from chainproof.store import db
from chainproof.store.db import make_engine, upgrade
from chainproof.store.models import AnchorRecord, Batch, Evidence, Member
from chainproof.store.ops import ChainOp
from chainproof.trust import TrustAnchor
from tests.apps import WAIT_SECONDS, Api, StartApi, assert_error

CHANNEL = "检测通道"


def _make_channel(api: Api, admin: dict[str, str]) -> dict[str, Any]:
    made = api.client.post(
        "/api/v1/channels",
        json={"name": CHANNEL, "members": ["甲检测", "乙物流"], "virtual": True},
        headers=admin,
    )
    assert made.status_code == 201, made.text
    body: dict[str, Any] = made.json()
    assert body["virtual"] is True and body["registry_operation"]
    op = api.wait_operation(body["registry_operation"], admin)
    assert op["status"] == "confirmed", op
    [listed] = api.client.get("/api/v1/channels", headers=admin).json()
    return dict(listed)


def test_a_virtual_channel_anchors_in_its_own_pinned_registry(
    start_api: StartApi, chain: ChainContext
) -> None:
    api = start_api()
    admin, a = api.key("运营方", "admin"), api.key("甲检测", "submitter")
    api.key("乙物流", "submitter")
    outsider = api.key("丙零售", "submitter")
    listed = _make_channel(api, admin)
    registry = listed["registry"]
    assert registry and registry != chain.contract

    # Visibility as for any channel: a non-member cannot put a record in it.
    assert_error(api.upload(outsider, ("x.txt", b"not mine"), channel=CHANNEL), 404)
    content = b"a lab report for the channel only"
    sent = api.upload(a, ("report.pdf", content), channel=CHANNEL)
    assert sent.status_code == 202, sent.text
    [item] = sent.json()["items"]
    api.wait_anchored(item["id"], a)
    plain = api.upload(a, ("own.txt", b"the org's own record, main registry"))
    [own] = plain.json()["items"]
    api.wait_anchored(own["id"], a)
    assert api.client.get(f"/api/v1/evidence/{item['id']}", headers=outsider).status_code == 404

    data = api.client.get(f"/api/v1/evidence/{item['id']}/receipt", headers=a).json()
    receipt = Receipt.from_dict(data)
    assert receipt.contract == registry  # anchored in the channel's registry...
    main = api.client.get(f"/api/v1/evidence/{own['id']}/receipt", headers=a).json()
    assert main["contract"] == chain.contract  # ...the org's other records in the main one

    served = api.client.get("/.well-known/chainproof.json").json()
    [entry] = served["channel_registries"]
    assert (entry["address"], entry["channel"]) == (registry, CHANNEL)
    trust = TrustAnchor.from_dict(served)
    verdict = verify_receipt(receipt, chain.w3, trust=trust)
    assert verdict.valid, verdict.reason
    assert "channel" in dict((n, d) for n, _, d in verdict.checks)["registry"]
    answer = api.client.post("/api/v1/receipts/verify", json=data).json()
    assert answer["valid"] is True, answer
    # The server's own verdict on the file reads the channel's registry too.
    by_file = api.client.post("/api/v1/verify", files={"file": ("r.pdf", content)}, headers=a)
    assert by_file.json()["verdict"] == "anchored", by_file.text

    # The same anchor without the channel's entry (a verifier pinned before it existed)
    # does not take the channel's receipt: the pin is what makes it count.
    older = TrustAnchor.from_dict({k: v for k, v in served.items() if k != "channel_registries"})
    assert verify_receipt(receipt, chain.w3, trust=older).reason.startswith(
        f"contract {registry} is not the pinned registry"
    )

    # A look-alike: another deployment of the very same contract by someone else, the same
    # root anchored there. Every check but the pin passes; against the anchor it fails.
    other = chain.node.dev_accounts()[3]
    artifact = load_artifact("EvidenceRegistry")
    twin = deploy_registry(chain.w3, other, artifact)
    client = EvidenceRegistryClient(chain.w3, twin.address, artifact.abi)
    mined = client.anchor(TxSender(chain.w3, other), receipt.root, 1, "0x" + "00" * 32)
    block = chain.w3.eth.get_block(mined.block_number)
    fake = receipt.model_copy(
        update={
            "contract": twin.address,
            "tx_hash": mined.tx_hash,
            "block_number": mined.block_number,
            "block_hash": Web3.to_hex(block["hash"]),
            "block_timestamp": int(block["timestamp"]),
            "submitter": other.address,
            "tsa_token": None,
        }
    )
    assert verify_receipt(fake, chain.w3).status == "unpinned"  # a perfect receipt but for it
    rejected = verify_receipt(fake, chain.w3, trust=trust)
    assert not rejected.valid and rejected.checks[-1][0] == "registry", rejected.reason
    fake_answer = api.client.post("/api/v1/receipts/verify", json=fake.model_dump(mode="json"))
    assert fake_answer.json()["valid"] is False

    # A removed member's key loses its role on the channel's registry (the writer revokes
    # it), so it cannot go on anchoring there with its own key either.
    channel_registry = chain.registry_at(registry)
    assert channel_registry.is_member(receipt.submitter)
    removed = api.client.post(
        f"/api/v1/channels/{CHANNEL}/members",
        json={"remove": ["甲检测"], "reason": "left the lab network"},
        headers=admin,
    )
    assert removed.status_code == 200, removed.text
    with db.open_session(api.url) as s:
        [op] = s.exec(select(ChainOp).where(ChainOp.kind == "revoke_member")).all()
        assert op.payload == {"address": receipt.submitter, "contract": registry}
    deadline = time.monotonic() + WAIT_SECONDS
    while channel_registry.is_member(receipt.submitter):
        assert time.monotonic() < deadline, "the member's role was not revoked"
        time.sleep(0.05)
    assert chain.registry.is_member(receipt.submitter)  # the main registry's role stays


def test_the_batcher_partitions_queued_rows_by_registry(
    chain: ChainContext, tmp_path: Path
) -> None:
    """One batcher, one writer: rows outside any channel and in a plain channel go to the
    main registry, a virtual channel's to its own (never mixed), and a virtual channel whose
    registry is not deployed yet holds its rows back. A member's rows there are signed by
    its key, admitted on that registry; an org no longer in the channel gets no role there:
    the rows it left queued are anchored by the operator. ``reindex`` rebuilds the channel
    registry's anchors from its events; after a chain reset, ``reanchor`` re-queues its
    records and has its registry deployed anew."""
    before = chain.node.snapshot()  # the reset at the end goes back here
    url = f"sqlite:///{tmp_path / 'cp.db'}"
    upgrade(url)
    engine = make_engine(url)
    chain.use_channel_registries(lambda: registry_ops.registries(engine))
    writer = ChainWriter(
        engine=engine,
        chain=chain,
        kinds={**evidence_kinds(member_secret=None), **registry_ops.channel_kinds()},
    )
    with Session(engine) as s:
        virtual, plain, pending = (
            Channel(name="v", virtual=True),
            Channel(name="p"),
            Channel(name="w", virtual=True),
        )
        member, removed = Member(name="戊检测"), Member(name="丁物流")
        s.add_all([virtual, plain, pending, member, removed])
        s.commit()
        s.add(ChannelMember(channel_id=virtual.id, member_id=member.id))  # 丁 left it
        s.commit()
        ids = {c.name: c.id for c in (virtual, plain, pending)}
        orgs = {"": None, "戊": member.id, "丁": removed.id}
        enqueue(s, kind=registry_ops.DEPLOY_CHANNEL_REGISTRY, payload={"channel_id": ids["v"]})
    writer.drain(timeout=60)  # the deployment, then the operator's role on it
    with Session(engine) as s:
        registry = s.get(Channel, ids["v"]).registry_address  # type: ignore[union-attr]
        assert registry is not None and s.get(Channel, ids["w"]).registry_address is None  # type: ignore[union-attr]
        # Interleaved: main, virtual, plain channel, pending channel, virtual, main, and
        # the member's and the removed org's rows in the virtual channel.
        placed = [("", ""), ("v", ""), ("p", ""), ("w", ""), ("v", ""), ("", "")]
        for n, (channel, org) in enumerate([*placed, ("v", "戊"), ("v", "丁")]):
            digest = hash_bytes(f"partition-{n}".encode(), "sha256")
            submit_digests(
                session=s,
                algorithm="sha256",
                digests=[digest],
                member_id=orgs[org],
                channel_id=ids.get(channel),
            )
    batcher = Batcher(
        engine=engine, chain=chain, batch_size=10, interval_ms=10, member_secret=DEV_SECRET_KEY
    )
    batcher.writer = writer
    for _ in range(200):  # bounded: a few steps each for two batches
        writer.step()
        batcher.step(force=True)
        with Session(engine) as s:
            left = s.exec(select(Evidence.status).where(Evidence.status != "anchored")).all()
        if left == ["queued"]:
            break
    with Session(engine) as s:
        key = s.get(Member, orgs["戊"]).chain_address  # type: ignore[union-attr]
        assert s.get(Member, orgs["丁"]).chain_address is None  # type: ignore[union-attr]
        operator = chain.sender.address
        batches = s.exec(select(Batch).order_by(col(Batch.id))).all()
        assert sorted((b.contract, b.signer, b.leaf_count) for b in batches) == sorted(
            [
                (chain.contract, operator, 3),  # no channel ×2, the plain channel
                (registry, operator, 2),
                (registry, key, 1),  # the member's own key, admitted on the channel's registry
                (registry, operator, 1),  # the removed org's queued row
            ]
        )
        assert chain.registry_at(registry).is_member(key)
        rows = s.exec(select(Evidence).order_by(col(Evidence.id))).all()
        [held] = [r for r in rows if r.status == "queued"]
        assert held.channel_id == ids["w"]  # its registry is not deployed: it waits
        in_virtual = {r.batch_id for r in rows if r.channel_id == ids["v"]}
        assert in_virtual == {b.id for b in batches if b.contract == registry}
        root = next(b.root for b in batches if b.contract == registry)

    with Session(engine) as s:  # the index rebuilt from the chain: the channel's events too
        reindex(session=s, chain=chain)
        record = s.exec(select(AnchorRecord).where(AnchorRecord.root == root)).one()
        assert record.contract == registry

    chain.node.revert(before)  # a chain reset: the blocks and both registries' code are gone
    chain.sender.reset_nonce()
    with Session(engine) as s:
        path, requeued, stale = reanchor_index(
            session=s,
            w3=chain.w3,
            chain_id=chain.chain_id,
            contract=chain.contract,
            claims_dir=tmp_path / "claims",
        )
        assert (requeued, stale) == (7, 4) and path is not None
        again = s.get(Channel, ids["v"])
        assert again is not None and again.registry_address is None
        op = s.exec(select(ChainOp).where(ChainOp.public_id == again.registry_op)).one()
        assert (op.kind, op.status) == (registry_ops.DEPLOY_CHANNEL_REGISTRY, "queued")
    engine.dispose()
