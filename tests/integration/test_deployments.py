"""Deployment records: reused on the next start, refused loudly when their chain is gone."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_account import Account
from eth_utils import keccak
from sqlmodel import Session
from typer.testing import CliRunner

from chainproof.chain.compiler import ContractArtifact, load_artifact
from chainproof.chain.context import open_chain
from chainproof.chain.deployments import (
    HonouredRegistry,
    ensure_registry,
    honoured_registries,
    load_record,
    record_path,
)
from chainproof.chain.managed import AnvilNode, free_port
from chainproof.chain.registry import registry_version
from chainproof.chain.trust_anchor import server_trust_anchor
from chainproof.cli import app
from chainproof.config import DEV_OPERATOR_KEY
from chainproof.digests import hash_bytes
from chainproof.errors import ChainMismatchError, ConfigError
from chainproof.evidence.batcher import Batcher, LeaderLock
from chainproof.evidence.intake import submit_digests
from chainproof.evidence.reanchor import reanchor_index
from chainproof.evidence.service import build_receipt, reindex
from chainproof.evidence.verify import OPERATOR, verify_digest
from chainproof.identity import create_member
from chainproof.receipts import verify_receipt
from chainproof.store.db import make_engine, upgrade

from ..conftest import node_binary_present, require

pytestmark = pytest.mark.chain


@pytest.fixture
def anvil_state(tmp_path: Path) -> Path:
    """Where a persisted Anvil keeps its chain."""
    require(node_binary_present("anvil"), "anvil is missing from node_modules (run `make install`)")
    return tmp_path / "anvil-state.json"


def test_record_is_reused_across_restarts(
    anvil_state: Path, tmp_path: Path, registry_artifact: ContractArtifact
) -> None:
    node = AnvilNode(state_file=anvil_state, port=free_port())
    with node:
        account = node.dev_accounts()[0]
        first, created = ensure_registry(
            node.web3(), deployer=account, artifact=registry_artifact, data_dir=tmp_path
        )
        assert created
    record = json.loads(record_path(tmp_path, first.chain_id).read_text())
    assert record["address"] == first.address and record["genesis_hash"] == first.genesis_hash
    with node:  # same state file: same chain, same contract, no second deployment
        again, created = ensure_registry(
            node.web3(), deployer=account, artifact=registry_artifact, data_dir=tmp_path
        )
    assert not created and again == first


def test_reset_chain_is_refused_with_one_clear_error(
    anvil_state: Path, tmp_path: Path, registry_artifact: ContractArtifact
) -> None:
    port = free_port()
    node = AnvilNode(state_file=anvil_state, port=port)
    with node:
        ensure_registry(
            node.web3(),
            deployer=node.dev_accounts()[0],
            artifact=registry_artifact,
            data_dir=tmp_path,
        )
    anvil_state.unlink()  # the node comes back as a brand-new chain
    with node, pytest.raises(ChainMismatchError) as exc:
        ensure_registry(
            node.web3(),
            deployer=node.dev_accounts()[0],
            artifact=registry_artifact,
            data_dir=tmp_path,
        )
    message = exc.value.message
    assert "genesis" in message or "no contract code" in message
    assert "contracts deploy --new" in message  # the error names the way out


def test_contracts_deploy_new_retires_the_record(
    anvil_state: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    monkeypatch.setenv("CHAINPROOF_DATA_DIR", str(data))
    from chainproof.config import get_settings

    get_settings.cache_clear()
    runner = CliRunner()
    try:
        first = runner.invoke(app, ["contracts", "deploy", "--chain", "anvil"])
        assert first.exit_code == 0, first.output
        (data / "anvil-state.json").unlink()
        refused = runner.invoke(app, ["contracts", "deploy", "--chain", "anvil"])
        assert refused.exit_code == 2
        # A worker leads the operator key (its writer owns the nonces): no second nonce
        # owner deploys beside it; the record stays as it was.
        signer = Account.from_key(get_settings().operator_key.get_secret_value()).address
        leader = LeaderLock(data, signer)
        leader.acquire()
        try:
            raced = runner.invoke(app, ["contracts", "deploy", "--chain", "anvil", "--new"])
        finally:
            leader.release()
        assert raced.exit_code == 2 and "nonces" in raced.output, raced.output
        assert not list((data / "deployments").glob("*.retired-*.json"))
        redeployed = runner.invoke(app, ["contracts", "deploy", "--chain", "anvil", "--new"])
        assert redeployed.exit_code == 0, redeployed.output
        assert "retired the old record" in redeployed.output
        assert len(list((data / "deployments").glob("*.retired-*.json"))) == 1
        assert load_record(data, 31337) is not None
    finally:
        get_settings.cache_clear()


@pytest.fixture
def anvil_url() -> Iterator[str]:
    """The URL of a running Anvil without a state file (used as an external node)."""
    require(node_binary_present("anvil"), "anvil is missing from node_modules (run `make install`)")
    node = AnvilNode(port=free_port())
    node.start()
    try:
        assert node.rpc_url is not None
        yield node.rpc_url
    finally:
        node.stop()


def test_upgrade_to_v2_keeps_v1_receipts_verifying(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, anvil_url: str
) -> None:
    """Documents anchored on a v1 registry, then ``contracts deploy --upgrade`` on the same
    Anvil (reached by URL: no restart involved): v1 stays honoured (its record, its code
    hash in ``honoured_registries``), its receipts still verify (receipts.py picks v1's
    calls by the registry's version) and the server still says "anchored" for them; new
    documents anchor on v2."""
    rpc = anvil_url
    data = tmp_path / "data"
    monkeypatch.setenv("CHAINPROOF_DATA_DIR", str(data))
    from chainproof.config import get_settings

    get_settings.cache_clear()
    url = f"sqlite:///{tmp_path / 'cp.db'}"
    upgrade(url)
    engine = make_engine(url)
    with Session(engine) as s:
        member_id = create_member(session=s, name="甲公司").id
        old_docs = [
            *submit_digests(session=s, algorithm="sha256", digests=_docs(2, "v1"), member_id=None),
            *submit_digests(
                session=s, algorithm="sha256", digests=_docs(2, "v1m"), member_id=member_id
            ),
        ]
    v1 = open_chain(
        chain=rpc,
        data_dir=data,
        operator_key=DEV_OPERATOR_KEY,
        artifact=load_artifact("EvidenceRegistryV1"),
    )
    try:
        assert v1.registry.version == 1 and v1.deployment.version == 1
        assert registry_version(v1.w3, v1.contract) == 1  # no version(): a revert reads as 1
        Batcher(engine=engine, chain=v1, batch_size=100, interval_ms=10, member_secret="s").drain()
        v1_address = v1.contract
        v1_code_hash = "0x" + keccak(bytes(v1.w3.eth.get_code(v1_address))).hex()
    finally:
        v1.stop()
    with Session(engine) as s:
        old_receipts = [
            build_receipt(session=s, evidence_id=a.public_id, viewer=OPERATOR) for a in old_docs
        ]
    assert {r.contract for r in old_receipts} == {v1_address}

    try:
        upgraded = CliRunner().invoke(app, ["contracts", "deploy", "--chain", rpc, "--upgrade"])
        assert upgraded.exit_code == 0, upgraded.output
        assert (
            "upgraded" in upgraded.output
            and f"honoured: EvidenceRegistry v1 at {v1_address}" in (upgraded.output)
        )
        again = CliRunner().invoke(app, ["contracts", "deploy", "--chain", rpc, "--upgrade"])
        assert again.exit_code == 2 and "nothing to upgrade" in again.output
    finally:
        get_settings.cache_clear()

    v2 = open_chain(chain=rpc, data_dir=data, operator_key=DEV_OPERATOR_KEY)
    try:
        assert v2.registry.version == 2 and v2.contract != v1_address
        assert [d.address for d in v2.honoured] == [v1_address]
        assert honoured_registries(
            data_dir=data, chain_id=v2.chain_id, genesis_hash=v2.deployment.genesis_hash
        ) == [HonouredRegistry(address=v1_address, code_hash=v1_code_hash, version=1)]
        assert load_record(data, v2.chain_id).version == 2  # type: ignore[union-attr]
        # The anchor the upgraded server publishes lists v1 among its past registries, so a
        # verifier pinned to it accepts v1's receipts (with v1's calls).
        anchor = server_trust_anchor(v2, data_dir=data, public_rpc_url=None)
        assert anchor.registry == v2.contract and anchor.registry_version == 2
        assert [(p.address, p.code_hash, p.version) for p in anchor.past_registries] == [
            (v1_address, v1_code_hash, 1)
        ]
        for receipt in old_receipts:  # third-party verification, v1's calls
            verdict = verify_receipt(receipt, v2.w3, trust=anchor)
            assert verdict.valid, verdict.reason  # v2's calls would revert on v1
        with Session(engine) as s:  # the server's own verdict, on the v1 registry
            for digest in _docs(2, "v1"):
                found = verify_digest(db=s, chain=v2, algorithm="sha256", digest=digest)
                assert found["verdict"] == "anchored", found
            new_docs = submit_digests(
                session=s, algorithm="sha256", digests=_docs(2, "v2m"), member_id=member_id
            )
        Batcher(engine=engine, chain=v2, batch_size=100, interval_ms=10, member_secret="s").drain()
        with Session(engine) as s:
            for a in new_docs:
                receipt = build_receipt(session=s, evidence_id=a.public_id, viewer=OPERATOR)
                assert receipt.contract == v2.contract
                verdict = verify_receipt(receipt, v2.w3, trust=anchor)
                assert verdict.valid, verdict.reason
            # v1's batches are not "stale" for `chainproof reanchor`: v1 is honoured.
            _, requeued, stale = reanchor_index(
                session=s,
                w3=v2.w3,
                chain_id=v2.chain_id,
                contract=v2.contract,
                claims_dir=tmp_path / "claims",
                dry_run=True,
                honoured=[d.address for d in v2.honoured],
            )
            assert (requeued, stale) == (0, 0)
            # The index rebuilds from both registries' events.
            assert reindex(session=s, chain=v2)["indexed"] == 3  # two v1 batches, one v2
    finally:
        v2.stop()


def _docs(n: int, tag: str) -> list[bytes]:
    return [hash_bytes(f"{tag}-{i}".encode(), "sha256") for i in range(n)]


def test_contracts_transfer_admin_begins_the_two_step_transfer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, anvil_url: str
) -> None:
    """Deployed without CHAINPROOF_REGISTRY_ADMIN (development), the operator key is the
    admin and `contracts deploy` says so; `contracts transfer-admin` starts moving it to an
    offline key, which holds nothing until it accepts after the delay."""
    monkeypatch.setenv("CHAINPROOF_DATA_DIR", str(tmp_path / "data"))
    from chainproof.config import get_settings

    get_settings.cache_clear()
    offline = "0x000000000000000000000000000000000000dEaD"
    try:
        runner = CliRunner()
        deployed = runner.invoke(app, ["contracts", "deploy", "--chain", anvil_url])
        assert deployed.exit_code == 0, deployed.output
        assert "EvidenceRegistry v2" in deployed.output
        assert "admin is the operator's online key" in deployed.output
        begun = runner.invoke(
            app, ["contracts", "transfer-admin", "--chain", anvil_url, "--to", offline]
        )
        assert begun.exit_code == 0, begun.output
        assert f"admin transfer to {offline} begun" in begun.output
        again = runner.invoke(
            app, ["contracts", "transfer-admin", "--chain", anvil_url, "--to", "x"]
        )
        assert again.exit_code == 2 and "not an address" in again.output
    finally:
        get_settings.cache_clear()
    ctx = open_chain(chain=anvil_url, data_dir=tmp_path / "data", operator_key=DEV_OPERATOR_KEY)
    try:
        functions = ctx.registry.contract.functions
        assert functions.pendingDefaultAdmin().call()[0] == offline
        assert ctx.registry.default_admin() == ctx.operator.address  # until it accepts
    finally:
        ctx.stop()


def test_production_deploys_only_with_an_offline_admin(tmp_path: Path, anvil_url: str) -> None:
    """F19: in production a new registry never gets the operator's online key as admin;
    an existing deployment starts as before."""
    data = tmp_path / "data"
    operator = Account.from_key(DEV_OPERATOR_KEY)
    for admin in (None, operator.address):
        with pytest.raises(ConfigError, match="CHAINPROOF_REGISTRY_ADMIN"):
            open_chain(
                chain=anvil_url,
                data_dir=data,
                operator_key=DEV_OPERATOR_KEY,
                registry_admin=admin,
                require_offline_admin=True,
            )
    assert load_record(data, 31337) is None  # nothing was deployed
    offline = Account.create().address
    ctx = open_chain(
        chain=anvil_url,
        data_dir=data,
        operator_key=DEV_OPERATOR_KEY,
        registry_admin=offline,
        require_offline_admin=True,
    )
    try:
        assert ctx.registry.default_admin() == offline
        assert not ctx.registry.is_admin(operator.address)
        assert ctx.registry.is_member(operator.address)  # it anchors its own documents
    finally:
        ctx.stop()
    again = open_chain(  # recorded now: no deployment, no admin needed
        chain=anvil_url, data_dir=data, operator_key=DEV_OPERATOR_KEY, require_offline_admin=True
    )
    again.stop()
