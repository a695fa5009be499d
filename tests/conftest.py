"""Shared fixtures: compiled contracts, real chains (embedded, Anvil, Ganache), isolation.

Chain tests run against all three node kinds through one parametrized fixture; each test is
isolated by ``evm_snapshot``/``evm_revert`` (or eth-tester's snapshots) on a shared node.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from hypothesis import HealthCheck, settings
from web3 import Web3

from chainproof.chain.compiler import ContractArtifact, load_artifact
from chainproof.chain.deployments import Deployment, deploy_registry
from chainproof.chain.managed import anvil_binary, ganache_binary
from chainproof.chain.nodes import Node, make_node, use_port_range
from chainproof.chain.registry import EvidenceRegistryClient
from chainproof.chain.sender import TxSender
from chainproof.config import find_project_root
from chainproof.errors import NodeStartError

pytest_plugins = [
    "tests.pg",  # PostgreSQL server fixtures (one server per session)
    "tests.chain_leaks",  # fails the run if a chain started by it outlives it
    "tests.consortium",  # several endpoints, fault proxies (issue 18)
    "tests.apps",  # the embedded chain a module shares, apps on it (chain, start_api, api...)
]

# Hypothesis' per-example deadline is a timed assertion: on a shared, loaded machine it
# failed Merkle property tests that were correct. Speed is measured by `make bench`.
# "ci" (the default, and what CI and `make mutation` run) is derandomised: every run draws the
# same examples (a seed fixed per test), so a weak property cannot pass one run by luck and
# fail the next, and a mutant is killed or not by the tests rather than by the draw. "explore"
# draws fresh random examples and keeps failures in .hypothesis/ for replay: use it to hunt
# (`pytest --hypothesis-profile=explore`, or HYPOTHESIS_PROFILE=explore).
settings.register_profile("ci", deadline=None, derandomize=True, database=None)
settings.register_profile("explore", deadline=None)
# `make mutation` runs each module's tests once per mutant (hundreds of times) on one worker:
# the same derandomised draws as "ci", fewer of them. A mutant that only a later example
# would catch counts as surviving, so the score it reports is a lower bound.
settings.register_profile(
    "mutation",
    parent=settings.get_profile("ci"),
    max_examples=25,
    # Timing health checks fail a run for the machine's load, not for the code.
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

REQUIRE_ALL = os.environ.get("CHAINPROOF_REQUIRE_ALL") == "1"
ROOT = find_project_root()
CHAIN_KINDS = ("embedded", "anvil", "ganache")


# Ports for the nodes and servers tests start: a block per xdist worker, below the kernel's
# ephemeral range (32768-60999 here). Kernel-picked ports raced: a test that killed a server
# to restart it on the same chain port found that port taken by another worker's Anvil
# (CI, stop 15). Blocks are disjoint across workers and never handed to outgoing
# connections; each starts at a random offset so two suites on one host rarely meet.
PORT_BLOCK, PORT_BASE = 1_500, 20_000


def pytest_configure(config: pytest.Config) -> None:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    index = int(worker[2:]) + 1 if worker.startswith("gw") and worker[2:].isdigit() else 0
    first = PORT_BASE + (index % 8) * PORT_BLOCK
    use_port_range(first, first + PORT_BLOCK - 1, start=first + secrets.randbelow(PORT_BLOCK))


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto``: two workers per core (``--maxprocesses`` in pyproject caps it at 4). Most
    of the suite waits on subprocesses, nodes and sockets rather than computing: on the two
    cores here four workers ran it in 505 s, two in 631 s."""
    return 2 * (os.cpu_count() or 1)


@pytest.hookimpl(trylast=True)  # after pytest's own grouping by fixture
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Long scenarios first, dealt out among the xdist workers (stable otherwise), so that no
    worker runs a minute-long test alone at the end of the run, nor all of them in a row."""
    workers = int(getattr(config, "workerinput", {}).get("workercount", 1))
    steal = config.getoption("dist", "load") == "worksteal"
    items[:] = deal_slow_first(items, first_runs(len(items), workers, worksteal=steal))


def first_runs(count: int, workers: int, *, worksteal: bool = False) -> list[int]:
    """The sizes of the runs of *consecutive* items xdist 3.8 sends each worker first.
    ``load`` (the default): ``count // workers // 4`` each, more as workers finish (all of
    them at once, round robin, below two per worker: then no runs). ``worksteal``: the
    whole collection in ``workers`` parts; idle workers take from the ends of the others."""
    if workers <= 1 or count < 2 * workers:
        return []
    if not worksteal:
        return [max(count // workers // 4, 2)] * workers
    sizes: list[int] = []
    for w in range(workers):
        sizes.append((count - sum(sizes)) // (workers - w))
    return sizes


def deal_slow_first(items: list[pytest.Item], runs: list[int]) -> list[pytest.Item]:
    """``items`` ordered so that each of the first ``runs`` starts with its share of the
    ``slow`` tests.

    With every slow test simply sorted first, they all fell in worker 0's first run, which
    ran them back to back: ~80 % of one worker's share of the suite at stop 14, so a few
    more slow tests would have made that one worker set the wall time. Here each run starts
    with a share of them, a module's slow tests together (its module fixtures start once),
    each module to the share with the fewest so far, and is filled up with the others in
    their order (pytest's grouping by fixture kept); the rest follows unchanged. Every
    worker collects the same items and knows ``workercount``, so all compute the same
    order, as xdist requires. No runs (one process): slow first.
    """
    slow = [i for i in items if i.get_closest_marker("slow") is not None]
    rest = [i for i in items if i.get_closest_marker("slow") is None]
    shares: list[list[pytest.Item]] = [[] for _ in runs]
    for module in dict.fromkeys(i.nodeid.split("::")[0] for i in slow):
        smallest = min(shares, key=len) if shares else []
        smallest += [i for i in slow if i.nodeid.split("::")[0] == module]
    if not runs or any(len(share) > size for share, size in zip(shares, runs, strict=True)):
        return slow + rest
    order: list[pytest.Item] = []
    for share, size in zip(shares, runs, strict=True):
        fill = size - len(share)
        order += share + rest[:fill]
        rest = rest[fill:]
    return order + rest


def require(condition: bool, reason: str) -> None:
    """Skip loudly when an optional system part is missing; fail under CHAINPROOF_REQUIRE_ALL."""
    if condition:
        return
    if REQUIRE_ALL:
        pytest.fail(f"CHAINPROOF_REQUIRE_ALL=1 and {reason}")
    pytest.skip(f"SKIPPED LOUDLY: {reason}")


def node_binary_present(kind: str) -> bool:
    finder = {"anvil": anvil_binary, "ganache": ganache_binary}.get(kind)
    if finder is None:
        return True
    try:
        finder(ROOT)
    except NodeStartError:
        return False
    return shutil.which("node") is not None


@pytest.fixture(scope="session")
def registry_artifact() -> ContractArtifact:
    """EvidenceRegistry compiled from contracts/ (cached by source hash)."""
    return load_artifact("EvidenceRegistry")


@pytest.fixture(scope="session", params=CHAIN_KINDS)
def chain_node(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Node]:
    """A running node of each kind, shared by the session (isolated per test by snapshots)."""
    kind: str = request.param
    require(
        node_binary_present(kind),
        f"the {kind} binary is missing from node_modules (run `make install`)",
    )
    node = make_node(kind, data_dir=tmp_path_factory.mktemp(f"node-{kind}"))
    node.start()
    try:
        yield node
    finally:
        node.stop()


@dataclass
class Deployed:
    """A deployed EvidenceRegistry with its admin (also a member) and spare dev accounts."""

    node: Node
    w3: Web3
    deployment: Deployment
    admin: LocalAccount
    others: list[LocalAccount]
    artifact: ContractArtifact

    def client(self) -> EvidenceRegistryClient:
        return EvidenceRegistryClient(self.w3, self.deployment.address, self.artifact.abi)

    def sender(self, account: LocalAccount) -> TxSender:
        return TxSender(self.w3, account)


@pytest.fixture(scope="session")
def deployed_session(chain_node: Node, registry_artifact: ContractArtifact) -> Deployed:
    w3 = chain_node.web3()
    accounts = chain_node.dev_accounts()
    deployment = deploy_registry(w3, accounts[0], registry_artifact)
    assert w3.eth.get_code(Web3.to_checksum_address(deployment.address))
    return Deployed(chain_node, w3, deployment, accounts[0], accounts[1:], registry_artifact)


@pytest.fixture
def deployed(deployed_session: Deployed) -> Iterator[Deployed]:
    """The session's registry, rolled back after the test (snapshot/revert)."""
    snap = deployed_session.node.snapshot()
    try:
        yield deployed_session
    finally:
        deployed_session.node.revert(snap)


@pytest.fixture
def fresh_account() -> LocalAccount:
    """A key that holds no role and no ether."""
    return Account.create()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """An empty ChainProof data directory."""
    d = tmp_path / "data"
    d.mkdir()
    return d
