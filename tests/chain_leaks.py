"""A pytest plugin: a test run that leaves an Anvil or Ganache running fails.

The process that runs the session (the xdist controller, or the only process with ``-n 0``)
puts a marker unique to this run in its environment before any worker starts; workers,
servers, watchdogs and nodes inherit it. When the session ends, after every worker has
exited, any live chain process whose environment carries this run's marker is a leak: the
run fails, naming each, and each is killed by its pid. Processes of other runs on the same
machine (other markers, or none) are never counted nor touched.

``PYTEST_CHAIN_LEAK_GRACE`` (seconds, default 10): how long the check waits for chains
whose owner just exited to stop (a watchdog sends SIGTERM; Anvil then saves its state).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from chainproof.chain.processes import ProcessInfo, describe, environ_value, is_chain_argv, process

MARKER = "PYTEST_CHAINPROOF_RUN"  # not CHAINPROOF_*: the test harnesses strip those
_run = pytest.StashKey[str]()


def pytest_configure(config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):
        return  # an xdist worker: it carries its controller's marker
    run = f"{os.getpid()}-{secrets.token_hex(8)}"
    os.environ[MARKER] = run
    config.stash[_run] = run


def chains_of_run(run: str) -> list[ProcessInfo]:
    """Live Anvil/Ganache processes (and their watchdogs) started under marker ``run``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        info = process(int(entry.name))
        ours = info is not None and environ_value(info.pid, MARKER) == run
        if ours and info is not None and is_chain_argv(info.argv):
            found.append(info)
    return found


@pytest.hookimpl(wrapper=True)
def pytest_sessionfinish(session: pytest.Session) -> Iterator[None]:
    result = yield  # after every other plugin's: xdist has shut its workers down by now
    run = session.config.stash.get(_run, None)
    if run is None:
        return result
    grace = float(os.environ.get("PYTEST_CHAIN_LEAK_GRACE", "10"))
    deadline = time.monotonic() + grace
    leaks = chains_of_run(run)
    while leaks and time.monotonic() < deadline:
        time.sleep(0.2)
        leaks = chains_of_run(run)
    if leaks:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        lines = [
            f"{len(leaks)} chain process(es) of this test run outlived it ({grace:g} s grace):"
        ]
        lines += [f"  {describe(info)}" for info in leaks]
        lines.append("  (killed now; a test or fixture did not stop the chain it started)")
        for info in leaks:
            with contextlib.suppress(ProcessLookupError):
                os.kill(info.pid, signal.SIGKILL)  # started by this run: found by its marker
        for line in lines:
            if reporter is not None:
                reporter.write_line(line, red=True, bold=True)
            else:
                print(line)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    return result
