"""The install is reproducible: every Python package locked with hashes, the lock installed by
the Makefile, the embedded chain's pre-releases only in their extra, Node's version declared."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from chainproof.chain.nodes import free_port

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "requirements.lock"
SERVER_LOCK = ROOT / "requirements-server.lock"  # the runtime alone, for the Docker image


def _locked(lock: Path = LOCK) -> dict[str, str]:
    """name → version of every package in a lock file; each entry carries hashes."""
    locked: dict[str, str] = {}
    # An entry: "name==version[ ; marker] \\" then its "--hash=sha256:..." lines.
    for entry in re.split(r"\n(?=[^\s#])", lock.read_text()):
        if entry.startswith("#"):
            continue
        match = re.match(r"([A-Za-z0-9_.\-]+)==([^\s;]+)", entry)
        assert match, f"not a pinned entry: {entry[:80]!r}"
        assert re.search(r"--hash=sha256:[0-9a-f]{64}", entry), f"no hash: {entry[:80]!r}"
        locked[canonicalize_name(match[1])] = match[2]
    return locked


def _pyproject() -> dict:  # type: ignore[type-arg]
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_every_pinned_dependency_is_locked_at_its_pin() -> None:
    """A dependency added or bumped in pyproject.toml without `make lock` fails here."""
    project = _pyproject()["project"]
    locked = _locked()
    wanted = list(project["dependencies"])
    for extra in ("server", "embedded", "dev"):
        wanted += project["optional-dependencies"][extra]
    stale = []
    for line in wanted:
        req = Requirement(line)
        pins = [s.version for s in req.specifier if s.operator == "=="]
        assert pins, f"{line}: pin direct dependencies with =="
        name = canonicalize_name(req.name)
        if locked.get(name) != pins[0]:
            stale.append(f"{req.name}: pyproject {pins[0]}, lock {locked.get(name)}")
    assert not stale, "requirements.lock is out of date (make lock): " + "; ".join(stale)
    # Transitive dependencies are locked too, not only the direct ones.
    assert len(locked) > 2 * len(wanted)


def test_the_server_lock_is_the_runtime_part_of_the_full_lock() -> None:
    full, server = _locked(), _locked(SERVER_LOCK)
    assert {name: full.get(name) for name in server} == server
    project = _pyproject()["project"]
    for line in project["dependencies"] + project["optional-dependencies"]["server"]:
        assert canonicalize_name(Requirement(line).name) in server, line
    assert not {"pytest", "eth-tester", "uv"} & server.keys()
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "--require-hashes --no-deps -r requirements-server.lock" in dockerfile


def test_the_makefile_installs_the_lock_with_hashes() -> None:
    lines = (ROOT / "Makefile").read_text().splitlines()
    assert any(
        "pip install" in line and "--require-hashes" in line and "-r requirements.lock" in line
        for line in lines
    )
    assert any(line.startswith("$(PY_STAMP):") and "requirements.lock" in line for line in lines)


def test_the_embedded_chain_is_an_extra() -> None:
    project = _pyproject()["project"]
    runtime = {canonicalize_name(Requirement(r).name) for r in project["dependencies"]}
    embedded = {
        canonicalize_name(Requirement(r).name) for r in project["optional-dependencies"]["embedded"]
    }
    assert {"eth-tester", "py-evm"} <= embedded
    assert not {"eth-tester", "py-evm"} & runtime


def test_serving_the_embedded_chain_without_the_extra_names_it(tmp_path: Path) -> None:
    """eth-tester made unimportable in a real `chainproof serve` process: one line naming the
    extra, exit code 2, no traceback, nothing started."""
    script = (
        "import sys; sys.modules['eth_tester'] = None\n"
        "from chainproof.cli import main\n"
        "sys.argv = ['chainproof', *sys.argv[1:]]\n"
        "main()\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "backend"), "NO_COLOR": "1"}
    args = ["serve", "--chain", "embedded", "--data-dir", str(tmp_path), "--port", str(free_port())]
    done = subprocess.run(
        [sys.executable, "-c", script, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert "chainproof[embedded]" in done.stderr
    assert "Traceback" not in done.stderr
    assert "Started server process" not in done.stderr


def test_package_json_declares_node_and_npm() -> None:
    engines = json.loads((ROOT / "package.json").read_text())["engines"]
    assert engines["node"] == ">=20"
    assert "npm" in engines
