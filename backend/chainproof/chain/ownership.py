"""Whose is the chain of a data directory: the record ``<dir>/chain.json`` and what it means.

A managed node (Anvil, Ganache) writes, once it answers, which process runs it (the
watchdog's pid: the node's process group), its port and start time, and which server
started it. Before a node starts on the directory, :func:`inspect` reads the record and
checks it against ``/proc`` (pid *and* start time *and* boot, and a chain's command line),
never the pid alone:

=========  ==========================================================================
``none``   no record, or it names a process that is gone: start a node
``orphan`` the chain runs but its server is gone: stop it cleanly, then start ours
``served`` the chain runs and its server (another process, or this one) is alive:
           never touched; refuse to start a second node on the same state
=========  ==========================================================================

Why stop an orphan rather than adopt it: an adopted chain has no watchdog tied to the new
server (a crash of it would leak the chain again) and no log or handle of ours, and SIGTERM
makes Anvil dump its state (Ganache closes its database), so the node we start next loads
the same chain: nothing is lost by stopping it.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from chainproof import file_locks
from chainproof.chain import processes
from chainproof.chain.processes import ProcessInfo

__all__ = [
    "RECORD_FILE",
    "ChainRecord",
    "Found",
    "claim",
    "inspect",
    "read_record",
    "reclaim_orphan",
    "remove_record",
    "stop_recorded",
    "write_record",
]

RECORD_FILE = "chain.json"
_LOCK_FILE = "chain.lock"
FORMAT = "chainproof-chain/1"


@dataclass(frozen=True)
class ChainRecord:
    kind: str
    pid: int  # the watchdog: leads the node's process group
    start: int | None  # its start time, clock ticks since boot (None off Linux)
    boot_id: str | None
    port: int
    rpc_url: str
    started_at: str  # ISO 8601, for people
    argv: list[str]
    server_pid: int
    server_start: int | None
    server_argv: list[str]
    format: str = FORMAT

    @classmethod
    def for_process(cls, *, kind: str, pid: int, port: int, argv: list[str]) -> ChainRecord:
        """The record of the node ``pid`` just started by this process."""
        me = processes.process(os.getpid())
        chain = processes.process(pid)
        return cls(
            kind=kind,
            pid=pid,
            start=chain.start if chain else None,
            boot_id=processes.boot_id(),
            port=port,
            rpc_url=f"http://127.0.0.1:{port}",
            started_at=datetime.now(UTC).isoformat(timespec="seconds"),
            argv=list(argv),
            server_pid=os.getpid(),
            server_start=me.start if me else None,
            server_argv=list(me.argv) if me else [],
        )


@dataclass(frozen=True)
class Found:
    """What :func:`inspect` found: the record, its state, and the live processes."""

    state: Literal["none", "orphan", "served"]
    record: ChainRecord | None = None
    chain: ProcessInfo | None = None
    server: ProcessInfo | None = None

    def describe(self, directory: Path) -> str:
        rec = self.record
        if rec is None or self.chain is None:
            return f"no chain runs for {directory}"
        server = (
            f"its server {processes.describe(self.server)} is running"
            if self.server is not None
            else f"its server (pid {rec.server_pid}) is gone"
        )
        return (
            f"the {rec.kind} chain of {directory} (pid {rec.pid}, {rec.rpc_url}, since "
            f"{rec.started_at}) runs; {server}"
        )


def read_record(directory: Path) -> ChainRecord | None:
    """The record, or ``None`` when there is none or it cannot be read (treated as gone)."""
    try:
        data = json.loads((directory / RECORD_FILE).read_text())
        if data.get("format") != FORMAT:
            return None
        return ChainRecord(**data)
    except (OSError, ValueError, TypeError):
        return None


def write_record(directory: Path, record: ChainRecord) -> Path:
    path = directory / RECORD_FILE
    tmp = path.with_name(f".{RECORD_FILE}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(asdict(record), indent=2) + "\n")
    os.replace(tmp, path)  # atomic: a crash never leaves half a record
    return path


def remove_record(directory: Path, pid: int) -> None:
    """Removes the record if it still names ``pid`` (a newer node may have replaced it)."""
    record = read_record(directory)
    if record is not None and record.pid == pid:
        with contextlib.suppress(FileNotFoundError):
            (directory / RECORD_FILE).unlink()


def _same(record_start: int | None, record_boot: str | None, info: ProcessInfo | None) -> bool:
    """``info`` is the process the record names, not a later one that got the same pid."""
    if info is None:
        return False
    if record_boot is not None and record_boot != processes.boot_id():
        return False
    return record_start is None or info.start is None or info.start == record_start


def inspect(directory: Path) -> Found:
    """What runs for ``directory``'s record now (see the module docstring)."""
    record = read_record(directory)
    if record is None:
        return Found("none")
    chain = processes.process(record.pid)
    if not _same(record.start, record.boot_id, chain):
        return Found("none", record)
    assert chain is not None
    if chain.argv and not processes.is_chain_argv(chain.argv):
        return Found("none", record)  # the pid is a chain no more (unknown start time)
    server = processes.process(record.server_pid)
    if not _same(record.server_start, record.boot_id, server):
        return Found("orphan", record, chain)
    return Found("served", record, chain, server)


def stop_recorded(found: Found, timeout: float = 15.0) -> bool:
    """SIGTERM the recorded chain's process group (SIGCONT too: a stopped process cannot
    act on it), SIGKILL after ``timeout``; True once no process of it is left."""
    assert found.record is not None and found.chain is not None
    pgid = found.record.pid
    for sig in (signal.SIGTERM, signal.SIGCONT):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, sig)
    if not _wait_gone(found, timeout):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)
        if not _wait_gone(found, 5.0):
            return False
    return True


def _wait_gone(found: Found, timeout: float) -> bool:
    assert found.record is not None
    deadline = time.monotonic() + timeout
    while True:
        alive = _same(found.record.start, found.record.boot_id, processes.process(found.record.pid))
        # The node under the watchdog may outlive it for a moment (it is saving its state).
        alive = alive or _group_alive(found.record.pid)
        if not alive:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)


def _group_alive(pgid: int) -> bool:
    """A member of the group still runs (zombies do not count)."""
    return any(processes.process(pid) is not None for pid in _group_members(pgid))


def _group_members(pgid: int) -> list[int]:
    members = []
    for entry in Path("/proc").glob("[0-9]*"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid:
                members.append(int(entry.name))
    return members if Path("/proc/self").exists() else [pgid]


def reclaim_orphan(directory: Path) -> str | None:
    """Stops ``directory``'s chain if its server is gone; returns what was done and why
    (``None``: nothing to do). A chain whose server is alive is left alone."""
    found = inspect(directory)
    if found.state == "none":
        if found.record is not None:
            with contextlib.suppress(FileNotFoundError):
                (directory / RECORD_FILE).unlink()  # names a process that is gone
        return None
    if found.state != "orphan":
        return None
    assert found.record is not None and found.chain is not None
    what = (
        f"the {found.record.kind} chain of {directory} (pid {found.record.pid}, port "
        f"{found.record.port}) outlived its server (pid {found.record.server_pid}, gone): "
        "stopping it cleanly (SIGTERM: it saves its state) and starting our own on the same "
        "state; adopting it would leave a chain no process of ours watches"
    )
    if not stop_recorded(found):
        return what + f"; it did not stop: end process group {found.record.pid} yourself"
    remove_record(directory, found.record.pid)
    return what


@contextlib.contextmanager
def claim(directory: Path) -> Iterator[None]:
    """Holds ``<dir>/chain.lock`` while a node is checked for, started and recorded, so two
    processes starting on one directory at once do not both start a node."""
    with file_locks.exclusive(directory / _LOCK_FILE):
        yield
