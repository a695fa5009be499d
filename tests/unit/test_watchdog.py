"""chain/watchdog.py, each way of noticing a dead parent on its own, with ``sleep`` as the
node: the parent-death signal with the pipe held open elsewhere, the pipe with the parent
alive, the race guard, and the node's exit status passed through."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from chainproof.chain.managed import WATCHDOG
from chainproof.chain.processes import children, process

WATCH = [sys.executable, "-I", "-S", str(WATCHDOG)]
# A parent that starts a watchdog over `sleep 300` on the pipe fd it is given, prints the
# watchdog's pid, and waits. Only the test holds the pipe's write end.
PARENT = f"""
import os, subprocess, sys
fd = int(sys.argv[1])
dog = subprocess.Popen({WATCH!r} + [str(os.getpid()), "--", "sleep", "300"],
                       stdin=fd, start_new_session=True)
print(dog.pid, flush=True)
sys.stdin.read()
"""


def gone_within(pids: list[int], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while any(process(pid) is not None for pid in pids):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@pytest.fixture
def watched() -> Iterator[tuple[subprocess.Popen[str], int, int, int]]:
    """(parent, watchdog pid, sleep pid, the pipe's write end)."""
    read, write = os.pipe()
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, str(read)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, pass_fds=(read,),
    )  # fmt: skip
    os.close(read)
    assert parent.stdout is not None
    dog = int(parent.stdout.readline())
    deadline = time.monotonic() + 10
    while not (nodes := children(dog)):
        assert time.monotonic() < deadline, "the watchdog started no node"
        time.sleep(0.02)
    started = [process(dog), nodes[0]]
    try:
        yield parent, dog, nodes[0].pid, write
    finally:
        for info in started:  # this test's own, if an assertion left them (same start time:
            if info is not None and process(info.pid) == info:  # not a reused pid)
                os.kill(info.pid, signal.SIGKILL)
        parent.kill()
        parent.communicate()
        with contextlib.suppress(OSError):  # the pipe test closed it already
            os.close(write)


def test_the_parent_death_signal_alone_stops_the_node(
    watched: tuple[subprocess.Popen[str], int, int, int],
) -> None:
    parent, dog, node, _write = watched  # the pipe stays open: only the signal can tell
    parent.kill()
    parent.wait()
    assert gone_within([dog, node])


def test_the_pipe_alone_stops_the_node(
    watched: tuple[subprocess.Popen[str], int, int, int],
) -> None:
    parent, dog, node, write = watched
    os.close(write)  # EOF, while the parent still runs
    assert gone_within([dog, node])  # the watchdog: exited, a zombie until its parent reaps
    assert parent.poll() is None


def test_a_parent_dead_before_the_signal_was_set_starts_no_node() -> None:
    done = subprocess.run(
        [*WATCH, "1", "--", "sleep", "300"],  # pid 1 is not our parent: as if ours had died
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert done.returncode == 1
    assert "died before the node started" in done.stdout


@pytest.mark.parametrize(("script", "status"), [("exit 3", 3), ("kill -TERM $$", -15)])
def test_the_watchdog_exits_with_the_nodes_status(script: str, status: int) -> None:
    with subprocess.Popen(
        [*WATCH, str(os.getpid()), "--", "sh", "-c", script], stdin=subprocess.PIPE
    ) as dog:  # the pipe stays open (EOF would stop the node): the node ends on its own
        assert dog.wait(timeout=30) == status
