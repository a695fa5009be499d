"""Deployment records keep their build (ABI, compiler version, self-contained standard JSON
input), so a deployment stays ours after the sources move on (an OpenZeppelin or solc
upgrade), and ``chainproof contracts verify`` reproduces its code from the record.

Real solcjs and a real Anvil: the registry is deployed from a copy of contracts/, then a
source of that copy changes; nothing here is stubbed.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner
from web3 import Web3

from chainproof.chain.compiler import compile_contracts, runtime_mismatch
from chainproof.chain.deployments import (
    REGISTRY,
    SOURCES_CHANGED,
    SOURCES_CURRENT,
    check_deployment,
    deploy_registry,
    ensure_registry,
    input_path,
    load_record,
)
from chainproof.chain.nodes import Node, make_node
from chainproof.cli.contracts import app
from chainproof.config import find_project_root, get_settings
from chainproof.errors import ChainMismatchError

from ..conftest import node_binary_present, require

pytestmark = pytest.mark.chain

REPO = find_project_root()


@pytest.fixture(scope="module")
def anvil(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    require(node_binary_present("anvil"), "the anvil binary is missing from node_modules")
    node = make_node("anvil", data_dir=tmp_path_factory.mktemp("records-anvil"))
    node.start()
    try:
        yield node
    finally:
        node.stop()


def _project(dest: Path) -> Path:
    """A checkout with its own contracts/ (to edit), the toolchain linked from the repo."""
    dest.mkdir(parents=True)
    shutil.copytree(REPO / "contracts", dest / "contracts")
    for name in ("node_modules", "bin", "package.json"):
        (dest / name).symlink_to(REPO / name)
    # The repo's compile cache: keyed by the input's content (unit names are relative to the
    # root), so builds of unchanged sources, here or in other tests, are not compiled again.
    (REPO / ".cache").mkdir(exist_ok=True)
    (dest / ".cache").symlink_to(REPO / ".cache")
    return dest


def _cli(args: list[str], project: Path) -> tuple[int, str]:
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, args, env={"CHAINPROOF_PROJECT_ROOT": str(project)})
    finally:
        get_settings.cache_clear()
    return result.exit_code, " ".join(result.output.split())  # unwrapped


def test_a_deployment_from_an_older_build_still_checks_as_ours(anvil: Node, tmp_path: Path) -> None:
    project, data = _project(tmp_path / "project"), tmp_path / "data"
    w3, [deployer, *_] = anvil.web3(), anvil.dev_accounts()
    before = compile_contracts(root=project).contracts[REGISTRY]
    record, created = ensure_registry(w3, deployer=deployer, artifact=before, data_dir=data)
    assert created
    # The record keeps the build: ABI, exact compiler version, the input (by hash, beside it).
    saved = load_record(data, record.chain_id)
    assert saved is not None and saved.abi == before.abi
    assert saved.compiler_version == before.compiler_version
    assert saved.compiler_input is not None
    stored = json.loads(input_path(data, saved.compiler_input).read_text())
    assert any(name.startswith("node_modules/@openzeppelin/") for name in stored["sources"])
    rpc, address = str(anvil.rpc_url), record.address
    assert check_deployment(w3, saved, before, data_dir=data) == SOURCES_CURRENT

    # The sources move on after the deployment (as an OpenZeppelin upgrade would).
    source = project / "contracts" / "EvidenceRegistry.sol"
    source.write_text(source.read_text() + "\n// changed after the deployment\n")
    after = compile_contracts(root=project).contracts[REGISTRY]
    code = bytes(w3.eth.get_code(Web3.to_checksum_address(address)))
    assert runtime_mismatch(after, code) is not None  # today's build is not the deployed one

    # Still ours, for the server (no chain mismatch) and for `contracts check`...
    assert check_deployment(w3, saved, after, data_dir=data) == SOURCES_CHANGED
    again, created = ensure_registry(w3, deployer=deployer, artifact=after, data_dir=data)
    assert (again.address, created) == (address, False)
    code_, said = _cli(
        ["check", "--rpc", rpc, "--address", address, "--data-dir", str(data)], project
    )
    assert code_ == 0, said
    assert "is ours (its recorded compiler input" in said
    assert "sources changed since deployment" in said
    # ...and `contracts verify` rebuilds the deployed code from the record alone.
    code_, said = _cli(
        ["verify", "--rpc", rpc, "--address", address, "--data-dir", str(data)], project
    )
    assert code_ == 0 and "reproduced" in said and before.compiler_version in said, said

    # Another contract at another address is not ours, record or none.
    other = deploy_registry(
        w3, deployer, compile_contracts(root=project).contracts["EvidenceRegistryV1"]
    )
    code_, said = _cli(
        ["check", "--rpc", rpc, "--address", other.address, "--data-dir", str(data)], project
    )
    assert code_ == 1 and "is not our contract" in said, said
    foreign = type(saved)(**{**saved.__dict__, "address": other.address})
    with pytest.raises(ChainMismatchError, match="not our"):
        check_deployment(w3, foreign, after, data_dir=data)


def test_verify_refuses_an_altered_recorded_input(anvil: Node, tmp_path: Path) -> None:
    project, data = _project(tmp_path / "project"), tmp_path / "data"
    w3, [deployer, *_] = anvil.web3(), anvil.dev_accounts()
    artifact = compile_contracts(root=project).contracts[REGISTRY]
    record, _ = ensure_registry(w3, deployer=deployer, artifact=artifact, data_dir=data)
    assert record.compiler_input is not None
    path = input_path(data, record.compiler_input)
    altered = json.loads(path.read_text())
    altered["settings"]["optimizer"]["runs"] = 1
    path.write_text(json.dumps(altered))
    args = ["verify", "--rpc", str(anvil.rpc_url), "--address", record.address]
    code, said = _cli([*args, "--data-dir", str(data)], project)
    assert code == 2 and "does not match its hash" in said, said
