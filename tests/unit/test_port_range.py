"""``use_port_range``: ports handed out in turn from one range, a held one skipped. The suite
relies on it (tests/conftest.py gives each xdist worker its own block): with kernel-picked
ports, a server restarted on the port it had found it taken by another worker's node."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from chainproof.chain import nodes
from chainproof.chain.nodes import free_port, use_port_range
from chainproof.errors import ConfigError


@pytest.fixture
def scratch_range() -> Iterator[None]:
    kept = nodes._port_range
    yield
    nodes._port_range = kept


def test_ports_come_in_turn_from_the_range_and_a_held_one_is_skipped(scratch_range: None) -> None:
    first = 32_100  # between the suite's worker blocks (20000-31999) and the ephemeral range
    with socket.socket() as held:
        held.bind(("127.0.0.1", first + 1))
        held.listen()
        use_port_range(first, first + 3)
        taken = [free_port() for _ in range(4)]
    # first+1 is held: skipped; after the last the walk wraps to the first; once freed,
    # first+1 comes in its turn.
    assert taken == [first, first + 2, first + 3, first]
    assert free_port() == first + 1


def test_a_range_with_every_port_held_says_so(scratch_range: None) -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        port = held.getsockname()[1]
        use_port_range(port, port)
        with pytest.raises(ConfigError, match="no free port"):
            free_port()


def test_not_a_range_is_refused(scratch_range: None) -> None:
    with pytest.raises(ConfigError):
        use_port_range(5000, 4000)
    with pytest.raises(ConfigError):
        use_port_range(80, 90)
