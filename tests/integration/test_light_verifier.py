"""A receipt verifies without the server (issue 16): the verifier's modules and the CLI's
``verify-receipt`` import nothing of FastAPI, SQLModel, SQLAlchemy, Starlette or alembic,
and everything they do import is installed by ``pip install chainproof`` (the base
dependencies, without the ``server`` extra).

Checked in fresh interpreters (subprocesses) against a receipt anchored on a real Anvil the
subprocess reaches over JSON-RPC: what a third party would run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from importlib.metadata import PackageNotFoundError, packages_distributions, requires
from pathlib import Path

import pytest
from eth_utils import keccak
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from chainproof.config import find_project_root
from chainproof.merkle import StandardMerkleTree
from chainproof.receipts import LEAF_TYPES, MetadataSection
from chainproof.receipts.metadata import metadata_salt, metadata_text

from ..conftest import Deployed
from ..factories import pinned, receipt_from

pytestmark = pytest.mark.chain

ROOT = find_project_root()
NONCE = keccak(text="light-nonce")
SERVER_PARTS = ("fastapi", "sqlmodel", "sqlalchemy", "starlette", "alembic", "uvicorn")
# The interpreter's own modules and what Python ships: not a dependency of anyone's.
_STDLIB = set(sys.stdlib_module_names) | {"__main__", "_distutils_hack", "chainproof"}


@pytest.fixture
def receipt_files(deployed: Deployed, tmp_path: Path) -> Iterator[tuple[str, Path, Path]]:
    """A genuine receipt anchored on the node and its pinned trust anchor, as files, with
    the node's RPC URL."""
    if deployed.node.rpc_url is None:
        pytest.skip("an in-process chain: a second process cannot reach it (Anvil runs this)")
    values = [["sha256", keccak(text=f"light-{i}"), keccak(text=f"salt-{i}")] for i in range(3)]
    # The receipt is a typed one (issue 25): its salt commits to a business type and metadata.
    text = metadata_text("contract", {"contract_no": "HT-2023-118", "amount_wan": 60})
    values[1][2] = metadata_salt(NONCE, text)
    tree = StandardMerkleTree.of(values, list(LEAF_TYPES))
    mined = deployed.client().anchor(deployed.sender(deployed.admin), tree.root, 3, bytes(32))
    block = deployed.w3.eth.get_block(mined.block_number)
    receipt = receipt_from(
        algorithm="sha256",
        digest=values[1][1],
        salt=values[1][2],
        proof=tree.get_proof(1),
        root=tree.root,
        chain_id=deployed.w3.eth.chain_id,
        contract=deployed.deployment.address,
        tx_hash=mined.tx_hash,
        block_number=mined.block_number,
        block_hash=mined.block_hash,
        block_timestamp=int(block["timestamp"]),
        submitter=deployed.admin.address,
    ).model_copy(update={"metadata": MetadataSection(text=text, nonce="0x" + NONCE.hex())})
    receipt_path, anchor_path = tmp_path / "receipt.json", tmp_path / "anchor.json"
    receipt_path.write_text(receipt.to_json())
    anchor = pinned(deployed.w3, deployed.deployment.address)
    anchor_path.write_text(anchor.model_dump_json())
    yield deployed.node.rpc_url, receipt_path, anchor_path


def _run(
    script: str, rpc: str, receipt: Path, anchor: Path
) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """``script`` in a fresh interpreter with (rpc, receipt, anchor) as its arguments, as
    on a base install (every module of a distribution `pip install chainproof` does not
    bring is unimportable there), and the top-level modules it had loaded when it exited."""
    modules = receipt.with_name("modules.json")
    prologue = (
        "import atexit, json, sys\n"
        f"atexit.register(lambda: open({str(modules)!r}, 'w').write("
        "json.dumps(sorted({m.split('.')[0] for m in sys.modules}))))\n"
        f"BLOCKED = frozenset({sorted(_not_in_the_base_install())!r})\n"
        "class _NotInstalled:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.partition('.')[0] in BLOCKED:\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
        "        return None\n"
        "sys.meta_path.insert(0, _NotInstalled())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", prologue + script, rpc, str(receipt), str(anchor)],
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200"},
    )
    return done, set(json.loads(modules.read_text()))


def _base_closure() -> set[str]:
    """Every distribution ``pip install chainproof`` brings: the base dependencies of
    pyproject.toml and, read from their installed metadata, theirs (no extras)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    env = default_environment()
    todo = [Requirement(r) for r in project["dependencies"]]
    seen: set[str] = set()
    while todo:
        req = todo.pop()
        name = canonicalize_name(req.name)
        if name in seen or (
            req.marker is not None and not req.marker.evaluate({**env, "extra": ""})
        ):
            continue
        seen.add(name)
        try:
            todo += [Requirement(r) for r in requires(name) or []]
        except PackageNotFoundError:
            continue
    return seen


def _not_in_the_base_install() -> set[str]:
    """The top-level modules of installed distributions outside :func:`_base_closure`:
    what a base install would not have (optional imports of our dependencies, such as
    structlog's greenlet or httpx's click, then take their fallback, as they would there)."""
    closure = _base_closure()
    blocked: set[str] = set()
    for module, dists in packages_distributions().items():
        if module in _STDLIB or any(canonicalize_name(d) in closure for d in dists):
            continue
        blocked.add(module)
    return blocked


VERIFY = """
import sys
from web3 import Web3
from chainproof.receipts import Receipt, verify_receipt
from chainproof.trust import TrustAnchor
rpc, receipt, anchor = sys.argv[1], sys.argv[2], sys.argv[3]
w3 = Web3(Web3.HTTPProvider(rpc))
verdict = verify_receipt(
    Receipt.from_json(open(receipt).read()), w3,
    trust=TrustAnchor.from_json(open(anchor).read()),
)
print("VALID" if verdict.valid else "INVALID", [c[0] for c in verdict.checks if not c[1]])
"""
CLI = """
import sys
from chainproof.cli import main
sys.argv = ["chainproof", "verify-receipt", sys.argv[2], "--rpc", sys.argv[1],
            "--trust", sys.argv[3]]
main()
"""


@pytest.mark.parametrize("chain_node", ["anvil"], indirect=True)
@pytest.mark.parametrize(("what", "script"), [("library", VERIFY), ("cli", CLI)])
def test_verifying_a_receipt_needs_nothing_of_the_server(
    receipt_files: tuple[str, Path, Path], what: str, script: str
) -> None:
    rpc, receipt, anchor = receipt_files
    done, modules = _run(script, rpc, receipt, anchor)
    assert done.returncode == 0, done.stdout + done.stderr
    if what == "library":
        assert done.stdout.startswith("VALID"), done.stdout + done.stderr
    else:
        assert "VALID" in done.stdout.upper() and "INVALID" not in done.stdout.upper()
        assert '"contract_no":"HT-2023-118"' in done.stdout  # the proven metadata, shown
    assert not set(SERVER_PARTS) & modules, f"{what} imported {set(SERVER_PARTS) & modules}"


def test_the_server_is_an_extra_of_the_package() -> None:
    """`pip install chainproof` brings none of the server; `chainproof[server]` brings it."""
    closure = _base_closure()
    assert not {canonicalize_name(p) for p in SERVER_PARTS} & closure, closure
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    server = {
        canonicalize_name(Requirement(r).name) for r in project["optional-dependencies"]["server"]
    }
    assert {"fastapi", "sqlmodel", "alembic", "uvicorn"} <= server
