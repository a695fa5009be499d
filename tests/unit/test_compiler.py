"""Tests for ``chainproof.chain.compiler`` and ``chainproof contracts``: real solcjs, no mocks.

Each solcjs compilation costs ~2-3 s, so the tests share one compiled copy of the project
(``project_root`` + ``compiled``) and only compile again where a miss is the point. Nothing
is deployed here: the ``check`` command reads code from a stub JSON-RPC server.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import solcx
from typer.testing import CliRunner

from chainproof.chain.compiler import (
    CompileResult,
    ContractArtifact,
    _load_entry,
    compile_contracts,
    load_artifact,
    runtime_matches,
    runtime_mismatch,
)
from chainproof.cli.contracts import app
from chainproof.config import find_project_root, get_settings
from chainproof.errors import CompilerError

REPO = find_project_root()
ADDRESS = "0x5FbDB2315678afecb367f032d93F642f64180aa3"


def _copy_project(dest: Path) -> Path:
    """A checkout at ``dest``: its own contracts/, the toolchain symlinked from the repo."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copytree(REPO / "contracts", dest / "contracts")
    for name in ("node_modules", "bin", "package.json", "package-lock.json"):
        (dest / name).symlink_to(REPO / name)
    return dest


@pytest.fixture(scope="module")
def project_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private copy of the project, so edits elsewhere in the repo cannot race the tests."""
    return _copy_project(tmp_path_factory.mktemp("project"))


@pytest.fixture(scope="module")
def compiled(project_root: Path) -> CompileResult:
    """The project compiled once with solcjs (a cache miss), cached under its .cache/."""
    return compile_contracts(root=project_root)


@pytest.fixture(scope="module")
def registry(compiled: CompileResult) -> ContractArtifact:
    """The EvidenceRegistry artifact."""
    return compiled.contracts["EvidenceRegistry"]


@pytest.fixture
def cli_env(project_root: Path, tmp_path: Path) -> Iterator[dict[str, str]]:
    """Environment pointing the CLI at ``project_root`` and an empty data directory (no
    deployment records); the settings cache is reset around."""
    get_settings.cache_clear()
    yield {"CHAINPROOF_PROJECT_ROOT": str(project_root), "CHAINPROOF_DATA_DIR": str(tmp_path)}
    get_settings.cache_clear()


@pytest.fixture
def rpc_codes() -> Iterator[tuple[str, dict[str, str]]]:
    """A stub JSON-RPC server answering eth_getCode from a dict (address -> 0x code), and
    eth_chainId (Anvil's), which the check uses to find a deployment record."""
    codes: dict[str, str] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            assert request["method"] in ("eth_getCode", "eth_chainId"), request
            if request["method"] == "eth_chainId":
                result = hex(31337)
            else:
                result = codes.get(request["params"][0].lower(), "0x")
            body = json.dumps({"jsonrpc": "2.0", "id": request["id"], "result": result})
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", codes
    server.shutdown()
    server.server_close()
    thread.join()


def _deployed_like(artifact: ContractArtifact, fill: int = 0xAB) -> bytes:
    """The runtime code as a constructor leaves it: every immutable range filled in."""
    code = bytearray.fromhex(artifact.runtime_bytecode[2:])
    for ranges in artifact.immutable_references.values():
        for r in ranges:
            code[r["start"] : r["start"] + r["length"]] = bytes([fill]) * r["length"]
    return bytes(code)


def test_compiles_with_solcjs(compiled: CompileResult, registry: ContractArtifact) -> None:
    assert not compiled.cached
    assert compiled.compiler.startswith("solcjs 0.8.37+commit.")
    assert compiled.version.startswith("0.8.37+commit.")
    # Every contract under contracts/ is compiled (other contracts may join these two).
    assert {"EvidenceRegistry", "IEvidenceRegistry"} <= set(compiled.contracts)
    assert registry.source == "contracts/EvidenceRegistry.sol"
    assert registry.bytecode.startswith("0x") and len(registry.bytecode) > 10_000
    assert registry.runtime_bytecode.startswith("0x") and len(registry.runtime_bytecode) > 10_000
    # EIP712 keeps its cached domain separator, chain id, name and version in immutables.
    assert registry.immutable_references
    assert compiled.contracts["IEvidenceRegistry"].runtime_bytecode == "0x"


def test_abi_has_the_functions_and_custom_errors(registry: ContractArtifact) -> None:
    functions = {e["name"] for e in registry.abi if e["type"] == "function"}
    errors = {e["name"] for e in registry.abi if e["type"] == "error"}
    events = {e["name"] for e in registry.abi if e["type"] == "event"}
    assert {"anchor", "anchorWithSignature", "getAnchor", "verify", "revokeRoot"} <= functions
    assert {"revokeLeaf", "isIncluded", "isLeafRevoked", "isMember"} <= functions
    assert {"version", "revokeLeafWithSignature", "beginDefaultAdminTransfer"} <= functions
    assert {
        "EmptyRoot",
        "ZeroLeafCount",
        "RootAlreadyAnchored",
        "UnknownRoot",
        "RootAlreadyRevoked",
        "LeafAlreadyRevoked",
        "InvalidProof",
        "SignatureExpired",
        "InvalidSigner",
        "NotMember",
    } <= errors
    assert {"Anchored", "RootRevoked", "LeafRevoked"} <= events


def test_second_call_is_a_cache_hit(project_root: Path, compiled: CompileResult) -> None:
    # `cached` says no compiler ran; how long that takes is not asserted (a loaded machine).
    again = compile_contracts(root=project_root)
    assert again.cached
    assert again.contracts == compiled.contracts
    assert (again.compiler, again.version) == (compiled.compiler, compiled.version)


def test_cache_does_not_depend_on_the_checkout_location(
    project_root: Path, compiled: CompileResult, tmp_path: Path
) -> None:
    elsewhere = _copy_project(tmp_path / "elsewhere")
    again = compile_contracts(root=elsewhere, cache_dir=project_root / ".cache" / "contracts")
    assert again.cached
    assert again.contracts == compiled.contracts


def test_changed_source_misses_the_cache(
    project_root: Path, registry: ContractArtifact, tmp_path: Path
) -> None:
    changed = _copy_project(tmp_path / "changed")
    source = changed / "contracts" / "EvidenceRegistry.sol"
    source.write_text(source.read_text() + "\n// a comment changes only the metadata hash\n")
    cache = shutil.copytree(project_root / ".cache" / "contracts", tmp_path / "cache")

    result = compile_contracts(root=changed, cache_dir=cache)

    assert not result.cached
    new = result.contracts["EvidenceRegistry"]
    assert new.runtime_bytecode != registry.runtime_bytecode
    # Same code, different source text: check reports it rather than calling it a match.
    assert not runtime_matches(registry, new.runtime_bytecode)
    reason = runtime_mismatch(registry, new.runtime_bytecode)
    assert reason is not None and "metadata hash" in reason


def test_changed_dependency_invalidates_the_entry(project_root: Path, tmp_path: Path) -> None:
    [entry_path] = (project_root / ".cache" / "contracts").glob("*.json")
    assert _load_entry(entry_path, project_root) is not None
    entry = json.loads(entry_path.read_text())
    assert any(name.startswith("node_modules/@openzeppelin/") for name in entry["dependencies"])
    first = next(iter(entry["dependencies"]))
    entry["dependencies"][first] = "0" * 64  # as if node_modules were upgraded
    tampered = tmp_path / entry_path.name
    tampered.write_text(json.dumps(entry))
    assert _load_entry(tampered, project_root) is None


def test_syntax_error_names_the_file(tmp_path: Path) -> None:
    root = _copy_project(tmp_path / "broken")
    (root / "contracts" / "Broken.sol").write_text(
        "// SPDX-License-Identifier: MIT\npragma solidity 0.8.37;\ncontract Broken { uint x }\n"
    )
    with pytest.raises(CompilerError, match=r"contracts/Broken\.sol:3"):
        compile_contracts(root=root)
    assert not (root / ".cache").exists()


def test_load_artifact(project_root: Path, registry: ContractArtifact) -> None:
    assert load_artifact("EvidenceRegistry", root=project_root) == registry
    with pytest.raises(CompilerError, match="no contract named 'Nope'"):
        load_artifact("Nope", root=project_root)


def test_missing_native_solc_is_a_clear_error(project_root: Path, tmp_path: Path) -> None:
    with pytest.raises(CompilerError, match="does not exist or is not executable"):
        compile_contracts(root=project_root, solc=tmp_path / "solc")


def test_no_compiler_tells_to_run_npm_ci(tmp_path: Path) -> None:
    if solcx.get_installed_solc_versions() or get_settings().solc:
        pytest.skip("a native solc is configured here")
    (tmp_path / "contracts").mkdir()
    shutil.copy(REPO / "contracts" / "IEvidenceRegistry.sol", tmp_path / "contracts")
    with pytest.raises(CompilerError, match="npm install"):
        compile_contracts(root=tmp_path)


def test_runtime_matches_ignores_immutables_only(registry: ContractArtifact) -> None:
    deployed = _deployed_like(registry)
    assert deployed != bytes.fromhex(registry.runtime_bytecode[2:])
    assert runtime_matches(registry, deployed)
    assert runtime_matches(registry, "0x" + deployed.hex())
    assert runtime_matches(registry, registry.runtime_bytecode)

    # One byte outside the immutables: a different program.
    immutable = {
        i
        for ranges in registry.immutable_references.values()
        for r in ranges
        for i in range(r["start"], r["start"] + r["length"])
    }
    offset = next(i for i in range(100, len(deployed)) if i not in immutable)
    altered = bytearray(deployed)
    altered[offset] ^= 0xFF
    assert not runtime_matches(registry, bytes(altered))
    assert runtime_mismatch(registry, bytes(altered)) == f"code differs from byte {offset} on"

    assert not runtime_matches(registry, deployed + b"\x00")
    assert not runtime_matches(registry, b"")
    # Without its immutable map the filled-in code no longer matches: the map is needed.
    assert not runtime_matches(replace(registry, immutable_references={}), deployed)


def test_solc_shim_answers_like_native_solc() -> None:
    out = subprocess.run(
        [str(REPO / "bin" / "solc"), "--version"], capture_output=True, text=True, check=True
    ).stdout
    assert out.startswith("solc, the solidity compiler commandline interface\nVersion: 0.8.37+")
    unknown = subprocess.run([str(REPO / "bin" / "solc"), "--bin"], capture_output=True)
    assert unknown.returncode == 1


def test_cli_build_prints_compiler_and_sizes(
    compiled: CompileResult, cli_env: dict[str, str]
) -> None:
    result = CliRunner().invoke(app, ["build"], env=cli_env)
    assert result.exit_code == 0, result.output
    assert compiled.compiler in result.output
    assert "cache: hit" in result.output
    size = (len(compiled.contracts["EvidenceRegistry"].runtime_bytecode) - 2) // 2
    assert "EvidenceRegistry" in result.output and f"{size:,}" in result.output


def test_cli_build_error_is_one_red_line_and_exit_2(tmp_path: Path) -> None:
    get_settings.cache_clear()
    try:
        env = {"CHAINPROOF_PROJECT_ROOT": str(tmp_path), "CHAINPROOF_SOLC": str(tmp_path / "x")}
        result = CliRunner().invoke(app, ["build"], env=env)
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2
    assert result.output.startswith("error: solc binary ")
    assert result.output.count("\n") == 1
    assert "Traceback" not in result.output


def test_cli_check(
    compiled: CompileResult,
    registry: ContractArtifact,
    cli_env: dict[str, str],
    rpc_codes: tuple[str, dict[str, str]],
) -> None:
    url, codes = rpc_codes
    runner = CliRunner()
    check = ["check", "--rpc", url, "--address", ADDRESS]

    codes[ADDRESS.lower()] = "0x" + _deployed_like(registry).hex()
    result = runner.invoke(app, check, env=cli_env)
    assert result.exit_code == 0, result.output
    assert "matches the sources" in result.output

    altered = bytearray(_deployed_like(registry))
    altered[10] ^= 0xFF
    codes[ADDRESS.lower()] = "0x" + altered.hex()
    result = runner.invoke(app, check, env=cli_env)
    assert result.exit_code == 1
    assert "is not our contract: code differs from byte 10 on" in result.output

    del codes[ADDRESS.lower()]
    result = runner.invoke(app, check, env=cli_env)
    assert result.exit_code == 1
    assert "no code at the address" in result.output


def test_cli_check_unreachable_node_exits_2(
    compiled: CompileResult, cli_env: dict[str, str]
) -> None:
    check = ["check", "--rpc", "http://127.0.0.1:9", "--address", ADDRESS]
    result = CliRunner().invoke(app, check, env=cli_env)
    assert result.exit_code == 2
    assert result.output.startswith("error: cannot read the code at")
    assert "Traceback" not in result.output
