"""Deployment records: reused on the next start, refused loudly when their chain is gone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chainproof.chain.compiler import ContractArtifact
from chainproof.chain.deployments import ensure_registry, load_record, record_path
from chainproof.chain.managed import AnvilNode, free_port
from chainproof.cli import app
from chainproof.errors import ChainMismatchError

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
        redeployed = runner.invoke(app, ["contracts", "deploy", "--chain", "anvil", "--new"])
        assert redeployed.exit_code == 0, redeployed.output
        assert "retired the old record" in redeployed.output
        assert len(list((data / "deployments").glob("*.retired-*.json"))) == 1
        assert load_record(data, 31337) is not None
    finally:
        get_settings.cache_clear()
