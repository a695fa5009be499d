"""TraceRegistry on every node kind: roles, custom-error reverts, forward-only heads; an API
replica never deploys it (it finds the leader's)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from sqlmodel import Session, col, select

from chainproof.api.errors import status_for
from chainproof.chain.compiler import load_artifact
from chainproof.chain.context import open_chain
from chainproof.chain.deployments import load_record, save_record
from chainproof.chain.nodes import free_port
from chainproof.chain.trace_registry import (
    PUBLISHER_ROLE,
    TraceRegistryClient,
    TraceRegistryNotDeployed,
    deploy_role,
    deploy_trace_registry,
    trace_chain,
)
from chainproof.config import DEV_OPERATOR_KEY, Settings
from chainproof.errors import ContractRevertError
from chainproof.runtime import start_runtime
from chainproof.store import db
from chainproof.store.shared_files import publish
from chainproof.trace.demo import seed_trace_demo
from chainproof.trace.heads import publish_pending
from chainproof.trace.models import TraceNode
from tests.conftest import Deployed, node_binary_present, require

K1, K2 = keccak(b"item-1"), keccak(b"item-2")
H1, H2 = keccak(b"head-1"), keccak(b"head-2")


def test_roles_reverts_and_forward_only_heads(
    deployed: Deployed, fresh_account: LocalAccount
) -> None:
    admin = deployed.sender(deployed.admin)
    d = deploy_trace_registry(deployed.w3, admin, load_artifact("TraceRegistry"))
    assert deployed.w3.eth.get_code(d.address)
    client = TraceRegistryClient(deployed.w3, d.address, load_artifact("TraceRegistry").abi)
    assert client.has_role(PUBLISHER_ROLE, deployed.admin.address)

    client.set_heads(admin, [K1, K2], [H1, H2], [1, 3])
    assert client.head_of(K1).count == 1 and client.head_of(K2).head == "0x" + H2.hex()
    client.set_heads(admin, [K1], [H1], [1])  # a retried batch is a no-op
    assert client.head_of(K1).count == 1

    def reverts(name: str, fn: object) -> None:
        with pytest.raises(ContractRevertError) as info:
            fn()  # type: ignore[operator]
        assert info.value.error_name == name

    reverts("StaleHead", lambda: client.set_heads(admin, [K2], [H1], [2]))
    reverts("LengthMismatch", lambda: client.set_heads(admin, [K1, K2], [H1], [2, 4]))
    reverts("EmptyBatch", lambda: client.set_heads(admin, [], [], []))
    reverts("EmptyHead", lambda: client.set_heads(admin, [K1], [b"\x00" * 32], [2]))
    reverts("ZeroKey", lambda: client.set_heads(admin, [b"\x00" * 32], [H1], [2]))
    stranger = deployed.sender(deployed.others[0])
    reverts("AccessControlUnauthorizedAccount", lambda: client.set_heads(stranger, [K1], [H2], [2]))
    reverts("AccessControlUnauthorizedAccount", lambda: client.recall(stranger, K1, H1))

    assert client.recalled_at(K1) == 0
    client.recall(admin, K1, H1)
    assert client.recalled_at(K1) > 0
    reverts("LotAlreadyRecalled", lambda: client.recall(admin, K1, H1))
    assert not client.has_role(PUBLISHER_ROLE, fresh_account.address)


def test_v2_lifts_a_recall_with_a_reason_and_keeps_its_history(deployed: Deployed) -> None:
    """TraceRegistry v2 (issue #14, finding 5): a recall can be lifted, with the hash of the
    reason in a RecallLifted event; the lot may be recalled again; version() says 2."""
    admin = deployed.sender(deployed.admin)
    artifact = load_artifact("TraceRegistry")
    d = deploy_trace_registry(deployed.w3, admin, artifact)
    client = TraceRegistryClient(deployed.w3, d.address, artifact.abi)
    assert client.version() == 2
    lot, why, why_lift = keccak(b"lot-1"), keccak(b"reason"), keccak(b"lift reason")

    with pytest.raises(ContractRevertError) as info:
        client.lift_recall(admin, lot, why_lift)
    assert info.value.error_name == "LotNotRecalled"

    client.recall(admin, lot, why)
    recalled = client.recall_of(lot)
    assert recalled.recalled_at > 0 and recalled.lifted_at == 0 and recalled.recalls == 1
    stranger = deployed.sender(deployed.others[0])
    with pytest.raises(ContractRevertError) as info:
        client.lift_recall(stranger, lot, why_lift)
    assert info.value.error_name == "AccessControlUnauthorizedAccount"

    mined = client.lift_recall(admin, lot, why_lift)
    receipt = deployed.w3.eth.get_transaction_receipt(mined.tx_hash)  # type: ignore[arg-type]
    (lifted,) = client.contract.events.RecallLifted().process_receipt(receipt)
    assert lifted["args"]["lotKey"] == lot and lifted["args"]["reasonHash"] == why_lift
    assert lifted["args"]["recalledAt"] == recalled.recalled_at
    assert lifted["args"]["lifter"] == deployed.admin.address
    state = client.recall_of(lot)
    assert state.recalled_at == 0 and state.lifted_at >= recalled.recalled_at
    assert client.recalled_at(lot) == 0

    client.recall(admin, lot, why)  # recalled again after the lift
    again = client.recall_of(lot)
    assert again.recalled_at > 0 and again.lifted_at == state.lifted_at and again.recalls == 2


def test_a_recorded_v1_deployment_is_replaced_by_v2_and_heads_republished(
    tmp_path: Path,
) -> None:
    """A server upgraded from TraceRegistry v1 (no lifts, no version()) finds its v1 record:
    it deploys v2 beside it, keeps the old record aside, and publishes every head there
    (migration 0005 marked them unpublished)."""
    require(node_binary_present("anvil"), "anvil is missing from node_modules (make install)")
    repo = Path(__file__).resolve().parents[2]
    old_root = tmp_path / "v1"
    shutil.copytree(repo / "tests/data/trace_registry_v1", old_root)
    for linked in ("node_modules", "bin"):
        (old_root / linked).symlink_to(repo / linked)
    v1 = load_artifact("TraceRegistry", root=old_root)
    data = tmp_path / "data"
    chain = open_chain(
        chain="anvil", data_dir=data, operator_key=DEV_OPERATOR_KEY, port=free_port()
    )
    try:
        old = deploy_trace_registry(chain.w3, chain.sender, v1)
        save_record(data, old)
        url = f"sqlite:///{tmp_path / 'cp.db'}"
        db.upgrade(url)
        engine = db.make_engine(url)
        seed_trace_demo(engine=engine)

        tc = trace_chain(chain, data_dir=data)
        assert tc.contract != old.address and tc.client.version() == 2
        assert list((data / "deployments").glob("TraceRegistry-*.retired-*.json"))
        assert load_record(data, tc.chain_id, "TraceRegistry") == tc.deployment
        published = publish_pending(engine=engine, chain=chain, data_dir=data)
        assert published.heads > 0
        with Session(engine) as s:
            node = s.exec(select(TraceNode).where(col(TraceNode.count) > 0)).first()
            assert node is not None and node.head
        assert tc.client.head_of(node.chain_key).head == node.head
        engine.dispose()
    finally:
        chain.stop()


@pytest.mark.parametrize("chain_node", ["anvil"], indirect=True)
def test_an_api_replica_finds_the_trace_registry_and_never_deploys_it(
    deployed: Deployed, tmp_path: Path
) -> None:
    """A `serve --no-batcher` replica (start_runtime with run_batcher=False) on a data dir
    and database with no TraceRegistry record: it sends nothing and answers "not deployed
    yet" (503), and finds the one the leader deployed once the record is in the database."""
    assert deployed.node.rpc_url is not None
    data = tmp_path / "replica"
    url = f"sqlite:///{tmp_path / 'cp.db'}"
    settings = Settings(env="test", data_dir=data, database_url=url, chain=deployed.node.rpc_url)
    runtime = start_runtime(settings, run_batcher=False)  # opens the chain as `serve` does
    chain = runtime.chain
    try:
        sent = chain.w3.eth.get_transaction_count(chain.sender.address)
        with pytest.raises(TraceRegistryNotDeployed, match="not deployed yet") as refused:
            trace_chain(chain, data_dir=data)
        assert status_for(refused.value) == 503
        assert chain.w3.eth.get_transaction_count(chain.sender.address) == sent  # no deploy

        # The leader (another host, another data dir) deploys and stores its record.
        leader_dir = tmp_path / "leader"
        record = deploy_trace_registry(chain.w3, chain.sender, load_artifact("TraceRegistry"))
        save_record(leader_dir, record)
        publish(runtime.engine, leader_dir, {})
        deploy_role(chain).every = 0.0  # no wait for the next look in the database
        assert trace_chain(chain, data_dir=data).contract == record.address
    finally:
        runtime.close()
