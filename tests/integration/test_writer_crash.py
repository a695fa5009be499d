"""SIGKILL a real ``chainproof worker`` at each step of the chain writer (before the send,
after the send, after the receipt); after restarts every member admission and every
revocation has landed exactly once: one transaction and one event each, its operation
``confirmed``, its effect in the index. The Anvil outlives the worker, as a chain would."""

from __future__ import annotations

import secrets
import shutil
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from eth_account import Account
from eth_utils import keccak
from hexbytes import HexBytes
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from web3 import Web3

from chainproof import identity
from chainproof.chain.context import ChainContext, open_chain
from chainproof.chain.managed import AnvilNode, free_port
from chainproof.chain.registry import SUBMITTER_ROLE
from chainproof.chain.trace_registry import trace_chain
from chainproof.chain.writer import ChainWriter, enqueue
from chainproof.config import DEV_OPERATOR_KEY
from chainproof.digests import hash_bytes
from chainproof.evidence.intake import submit_digests
from chainproof.evidence.ops import evidence_kinds
from chainproof.evidence.service import revoke_evidence
from chainproof.evidence.verify import Viewer
from chainproof.store.db import make_engine, upgrade
from chainproof.store.models import Evidence, Member, RevokedLeaf
from chainproof.store.ops import ChainOp
from chainproof.trace.models import TraceNode

from ..conftest import node_binary_present, require
from ..security._procs import Proc, worker

pytestmark = pytest.mark.chain
STEPS = ("writer_before_send", "writer_after_send", "writer_after_receipt")
GRANT_ROLE = keccak(text="grantRole(bytes32,address)")[:4]
REVOKE_LEAF = keccak(text="revokeLeaf(bytes32,bytes32,bytes32[],bytes32)")[:4]
REVOKE_SIGNED = keccak(
    text="revokeLeafWithSignature(bytes32,bytes32,bytes32[],bytes32,address,uint256,bytes)"
)[:4]


@pytest.fixture(scope="module")
def anvil(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AnvilNode]:
    """An Anvil the module owns, so killing the worker leaves the chain running."""
    require(node_binary_present("anvil"), "anvil is missing from node_modules (run `make install`)")
    where = tmp_path_factory.mktemp("writer-anvil")
    node = AnvilNode(state_file=where / "anvil-state.json", port=free_port())
    node.start()
    yield node
    node.stop()


def _worker(anvil: AnvilNode, data: Path, fault: str | None) -> Proc:
    settings: dict[str, str | Path] = {
        "CHAINPROOF_BATCH_SIZE": "10",
        "CHAINPROOF_BATCH_INTERVAL_MS": "20",
    }
    if fault:
        settings["CHAINPROOF_FAULT"] = fault
    return worker(data, chain=anvil.rpc_url or "", log=data / "worker.log", **settings)


def _killed_at(anvil: AnvilNode, data: Path, step: str) -> None:
    proc = _worker(anvil, data, step).start()
    assert proc.proc is not None
    code = proc.proc.wait(timeout=90)
    assert code == -signal.SIGKILL, f"worker did not die at {step} (exit {code}):\n{proc.tail()}"


def _run_until(anvil: AnvilNode, data: Path, done: Callable[[], bool]) -> None:
    proc = _worker(anvil, data, None).start()
    try:
        deadline = time.monotonic() + 90
        while not done():
            assert proc.alive(), proc.tail()
            assert time.monotonic() < deadline, proc.tail()
            time.sleep(0.1)
    finally:
        assert proc.stop() == 0, proc.tail()


def _txs_to(ctx: ChainContext, selector: bytes) -> list[bytes]:
    """The inputs of every transaction (mined, reverted or not) to the registry calling
    ``selector``: a second send of one intention would show here even with no event."""
    w3 = ctx.w3
    out = []
    for n in range(ctx.deployment.block_number, w3.eth.block_number + 1):
        for tx in w3.eth.get_block(n, full_transactions=True)["transactions"]:
            data = bytes(HexBytes(tx["input"]))  # type: ignore[index]
            if tx["to"] == ctx.contract and data[:4] == selector:  # type: ignore[index]
                out.append(data)
    return out


def _ops(engine: Engine) -> list[ChainOp]:
    with Session(engine) as s:
        return list(s.exec(select(ChainOp).order_by(ChainOp.id)).all())


@pytest.mark.slow
def test_kill9_at_each_writer_step_lands_each_operation_once(
    anvil: AnvilNode, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    assert anvil.rpc_url
    ctx = open_chain(chain=anvil.rpc_url, data_dir=data, operator_key=DEV_OPERATOR_KEY)
    url = f"sqlite:///{data / 'chainproof.db'}"
    upgrade(url)
    engine = make_engine(url)
    with Session(engine) as s:
        members = [identity.create_member(session=s, name=f"writer-org-{i}") for i in range(3)]
        member_ids = [int(m.id or 0) for m in members]
        for i, mid in enumerate(member_ids):
            digest = hash_bytes(f"writer-member-{i}".encode(), "sha256")
            submit_digests(session=s, algorithm="sha256", digests=[digest], member_id=mid)
        operator_digest = hash_bytes(b"writer-operator", "sha256")
        submit_digests(session=s, algorithm="sha256", digests=[operator_digest], member_id=None)

    # Admissions: each member's first batch waits for the writer to grant its role.
    for step in STEPS:
        _killed_at(anvil, data, step)

    def all_anchored() -> bool:
        with Session(engine) as s:
            return {e.status for e in s.exec(select(Evidence)).all()} == {"anchored"}

    _run_until(anvil, data, all_anchored)

    # Revocations, enqueued by this process as an API replica would: one of the operator's
    # own anchor (revokeLeaf), three of members' (revokeLeafWithSignature, relayed).
    admin = Viewer(is_admin=True)
    with Session(engine) as s:
        ids = [e.public_id for e in s.exec(select(Evidence).order_by(col(Evidence.id))).all()]
        for evidence_id in ids:
            op = revoke_evidence(
                session=s, chain=ctx, evidence_id=evidence_id, viewer=admin, reason="错误版本"
            )
            assert op.status == "queued"
    for step in STEPS:
        _killed_at(anvil, data, step)

    def all_settled() -> bool:
        return all(op.status in ("confirmed", "failed") for op in _ops(engine))

    _run_until(anvil, data, all_settled)

    ops = _ops(engine)
    assert [(op.kind, op.status) for op in ops] == [("grant_member", "confirmed")] * 3 + [
        ("revoke_leaf", "confirmed")
    ] * 4, [(op.kind, op.status, op.error) for op in ops]
    registry = ctx.registry
    with Session(engine) as s:
        addresses = [str(s.get(Member, mid).chain_address) for mid in member_ids]  # type: ignore[union-attr]
        # One grantRole transaction per member (the deployment granted the operator its
        # own), and each member holds the role.
        grants = [
            g
            for g in _txs_to(ctx, GRANT_ROLE)
            if g[4 + 32 + 12 : 4 + 64] != bytes(HexBytes(ctx.sender.address))
        ]
        granted = [Web3.to_checksum_address(g[4 + 32 + 12 : 4 + 64]) for g in grants]
        assert all(g[4:36] == SUBMITTER_ROLE for g in grants)
        assert sorted(granted) == sorted(Web3.to_checksum_address(a) for a in addresses)
        assert all(registry.is_member(a) for a in addresses)
        # One revocation transaction and one LeafRevoked event per document.
        assert len(_txs_to(ctx, REVOKE_LEAF)) == 1
        assert len(_txs_to(ctx, REVOKE_SIGNED)) == 3
        events = [
            r
            for r in registry.revocation_events(from_block=ctx.deployment.block_number)
            if r["event"] == "LeafRevoked"
        ]
        leaves = sorted(e.leaf_hash for e in s.exec(select(Evidence)).all())
        assert sorted(str(e["leaf"]) for e in events) == leaves
        assert {e.status for e in s.exec(select(Evidence)).all()} == {"revoked"}
        indexed = s.exec(select(RevokedLeaf)).all()
        assert sorted((r.leaf_hash, r.tx_hash) for r in indexed) == sorted(
            (str(e["leaf"]), str(e["tx_hash"])) for e in events
        )
    # The operations say which transaction carried them: the one the chain holds.
    assert {op.tx_hash for op in ops if op.kind == "revoke_leaf"} == {
        str(e["tx_hash"]) for e in events
    }
    ctx.stop()


def test_worker_publishes_trace_heads(anvil: AnvilNode, tmp_path: Path) -> None:
    """`chainproof worker` runs the trace head publisher too (issue 15): in the replicas +
    worker setup nothing else would ever put a head on chain."""
    data = tmp_path / "data"
    assert anvil.rpc_url
    ctx = open_chain(chain=anvil.rpc_url, data_dir=data, operator_key=DEV_OPERATOR_KEY)
    url = f"sqlite:///{data / 'chainproof.db'}"
    upgrade(url)
    engine = make_engine(url)
    key, head = "0x" + secrets.token_hex(32), "0x" + secrets.token_hex(32)
    with Session(engine) as s:
        s.add(
            TraceNode(
                kind="item",
                uri=f"https://id.example/01/{key[2:16]}",
                code=f"item-{key[2:16]}",
                salt="0x" + "00" * 32,
                chain_key=key,
                head=head,
                count=3,
            )
        )
        s.commit()

    def published() -> bool:
        with Session(engine) as s:
            node = s.exec(select(TraceNode).where(TraceNode.chain_key == key)).one()
            return node.published_count == 3

    proc = worker(
        data,
        chain=anvil.rpc_url,
        log=data / "worker.log",
        CHAINPROOF_TRACE_PUBLISH_INTERVAL_MS="50",
    ).start()
    try:
        deadline = time.monotonic() + 60
        while not published():
            assert proc.alive(), proc.tail()
            assert time.monotonic() < deadline, proc.tail()
            time.sleep(0.1)
    finally:
        assert proc.stop() == 0, proc.tail()
    on_chain = trace_chain(ctx, data_dir=data).client.head_of(key)
    assert (on_chain.head, on_chain.count) == (head, 3)
    ctx.stop()


def test_a_stuck_transaction_is_replaced_and_lands_once(anvil: AnvilNode, tmp_path: Path) -> None:
    """A grant stuck in the pool (no block comes) is signed again at its nonce with higher
    fees; whichever of the two is mined, the operation confirms once, with that hash."""
    data = tmp_path / "data"
    assert anvil.rpc_url
    ctx = open_chain(chain=anvil.rpc_url, data_dir=data, operator_key=DEV_OPERATOR_KEY)
    url = f"sqlite:///{data / 'chainproof.db'}"
    upgrade(url)
    engine = make_engine(url)
    writer = ChainWriter(
        engine=engine, chain=ctx, kinds=evidence_kinds(member_secret=None), stuck_after=3600.0
    )
    member = Account.create().address
    with Session(engine) as s:
        op = enqueue(s, kind="grant_member", payload={"address": member})
    w3 = ctx.w3
    w3.provider.make_request("evm_setAutomine", [False])  # type: ignore[arg-type]
    try:
        assert writer.step()  # signed and sent; no block comes
        with Session(engine) as s:
            first = s.get(ChainOp, op.id)
            assert first is not None and first.status == "sent" and first.replaced == []
            first_hash = first.tx_hash
        writer.stuck_after = 0.0  # from now on, pending at all counts as stuck
        assert writer.step()  # still pending: replaced at the same nonce, higher fees
        with Session(engine) as s:
            again = s.get(ChainOp, op.id)
            assert again is not None and again.replaced == [first_hash]
            assert again.tx_hash != first_hash and again.nonce == first.nonce
    finally:
        w3.provider.make_request("evm_setAutomine", [True])  # type: ignore[arg-type]
    w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    writer.drain(timeout=30)
    with Session(engine) as s:
        done = s.get(ChainOp, op.id)
        assert done is not None and done.status == "confirmed", done
    grants = [
        g
        for g in _txs_to(ctx, GRANT_ROLE)
        if Web3.to_checksum_address(g[4 + 32 + 12 : 4 + 64]) == member
    ]
    assert len(grants) == 1
    receipt = w3.eth.get_transaction_receipt(done.tx_hash)  # type: ignore[arg-type]
    assert receipt["status"] == 1 and ctx.registry.is_member(member)
    ctx.stop()


@pytest.mark.slow
def test_on_postgres_a_standby_worker_takes_over_the_key(
    anvil: AnvilNode, tmp_path: Path, postgres_database_url: str
) -> None:
    """Two workers on one PostgreSQL, each with its own data dir (two hosts): one leads the
    key (advisory lock), the other stands by; SIGKILL the leader and the standby sends what
    is enqueued next, each operation exactly once. The takeover time is printed (-s)."""
    assert anvil.rpc_url
    first, second = tmp_path / "host-1", tmp_path / "host-2"
    ctx = open_chain(chain=anvil.rpc_url, data_dir=first, operator_key=DEV_OPERATOR_KEY)
    # Deployments are files in the data dir (issue 15 moves them into the database).
    shutil.copytree(first / "deployments", second / "deployments")
    upgrade(postgres_database_url)
    engine = make_engine(postgres_database_url)
    env = {"CHAINPROOF_DATABASE_URL": postgres_database_url}

    def start(data: Path) -> Proc:
        return worker(data, chain=anvil.rpc_url or "", log=data / "worker.log", **env).start()

    def confirmed(op_id: int | None) -> Callable[[], bool]:
        def check() -> bool:
            with Session(engine) as s:
                op = s.get(ChainOp, op_id)
                return op is not None and op.status == "confirmed"

        return check

    def wait(done: Callable[[], bool], procs: list[Proc], timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            for p in procs:
                assert p.alive(), p.tail()
            assert time.monotonic() < deadline, "\n".join(p.tail() for p in procs)
            time.sleep(0.05)

    leader = start(first)
    standby: Proc | None = None
    try:
        wait(lambda: "batching every" in leader.text(), [leader])
        standby = start(second)
        wait(lambda: "standing by" in standby.text(), [leader, standby])
        members = [Account.create().address for _ in range(2)]
        with Session(engine) as s:
            before = enqueue(s, kind="grant_member", payload={"address": members[0]})
        wait(confirmed(before.id), [leader, standby])

        leader.kill()
        killed = time.monotonic()
        with Session(engine) as s:
            after = enqueue(s, kind="grant_member", payload={"address": members[1]})
        wait(confirmed(after.id), [standby])
        took_over = time.monotonic() - killed
        print(f"standby took the key over and confirmed a grant {took_over:.2f} s after SIGKILL")
        assert "this process takes over" in standby.text()
    finally:
        if standby is not None:
            standby.stop()
        leader.kill()
    granted = [Web3.to_checksum_address(g[4 + 32 + 12 : 4 + 64]) for g in _txs_to(ctx, GRANT_ROLE)]
    assert sorted(a for a in granted if a in members) == sorted(members)
    ctx.stop()
    engine.dispose()
