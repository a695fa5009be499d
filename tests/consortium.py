"""A pytest plugin: the chains and fault proxies the consortium tests share (issue 18).

One Anvil per session stands for the consortium network; each test puts its own
:class:`tests.rpc_proxy.RpcProxy` instances in front of it (one per "endpoint") and rolls the
chain back afterwards (snapshot/revert). A second Anvil, with its own genesis, is "another
network" that a misconfigured URL points at.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from chainproof.chain.managed import AnvilNode
from chainproof.chain.nodes import Node
from chainproof.config import get_settings

from .rpc_proxy import RpcProxy

MakeProxy = Callable[[Node], RpcProxy]


def _anvil(tmp: Path, **options: object) -> Iterator[AnvilNode]:
    node = AnvilNode(**options)  # type: ignore[arg-type]
    node.start()
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture(scope="session")
def network_anvil(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AnvilNode]:
    """The consortium chain of the session (automine; tests mine more blocks as they need)."""
    yield from _anvil(tmp_path_factory.mktemp("network"))


@pytest.fixture(scope="session")
def other_anvil(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AnvilNode]:
    """Another network with the same chain id (31337) and another genesis: Anvil's genesis
    time is its start second, and two Anvils started in the same second would be twins."""
    yield from _anvil(tmp_path_factory.mktemp("other"), extra_args=["--timestamp", "1000000000"])


@pytest.fixture
def network(network_anvil: AnvilNode) -> Iterator[AnvilNode]:
    """The session's network, rolled back after the test."""
    snap = network_anvil.snapshot()
    try:
        yield network_anvil
    finally:
        network_anvil.revert(snap)


@pytest.fixture
def make_proxy() -> Iterator[MakeProxy]:
    """Starts fault proxies in front of nodes; all stopped after the test."""
    started: list[RpcProxy] = []

    def make(node: Node) -> RpcProxy:
        assert node.rpc_url is not None
        proxy = RpcProxy(node.rpc_url).start()
        started.append(proxy)
        return proxy

    yield make
    for proxy in started:
        proxy.stop()


@pytest.fixture
def fresh_settings() -> Iterator[None]:
    """Settings read again from the environment (a test's monkeypatched CHAINPROOF_*)."""
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()
