"""What the system says about a process: its start time, command line and environment, and
who listens on a TCP port. Read from Linux's ``/proc``; elsewhere these answer "unknown"
(``None``) and callers fall back to weaker checks, saying so.

A pid alone names nothing for long: the kernel hands it out again once the process is gone.
A process is identified here by its pid *and* its start time (clock ticks since boot,
``/proc/<pid>/stat`` field 22) *and* the boot it started in.
"""

from __future__ import annotations

import contextlib
import os
import shlex
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "ProcessInfo",
    "boot_id",
    "children",
    "describe",
    "environ_value",
    "is_chain_argv",
    "listeners",
    "process",
]

_PROC = Path("/proc")
_LISTEN = "0A"  # TCP_LISTEN in /proc/net/tcp's st column


@dataclass(frozen=True)
class ProcessInfo:
    """A live process: ``start`` is its start time in clock ticks since boot (Linux)."""

    pid: int
    start: int | None
    argv: tuple[str, ...]
    ppid: int | None = None

    @property
    def command(self) -> str:
        return shlex.join(self.argv) if self.argv else "?"


def boot_id() -> str | None:
    """This boot's id: start times from another boot mean nothing."""
    try:
        return (_PROC / "sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return None


def process(pid: int) -> ProcessInfo | None:
    """The live process ``pid`` (``None`` when gone or a zombie). Off Linux: a process that
    exists, with no start time nor command line."""
    if pid <= 0:
        return None
    if not _PROC.joinpath("self").exists():
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass
        return ProcessInfo(pid=pid, start=None, argv=())
    try:
        stat = (_PROC / str(pid) / "stat").read_text()
        raw = (_PROC / str(pid) / "cmdline").read_bytes()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after the last ')'.
    fields = stat.rsplit(")", 1)[1].split()
    if fields[0] in ("Z", "X"):  # dead, waiting to be reaped: no longer runs anything
        return None
    argv = tuple(part.decode(errors="replace") for part in raw.split(b"\0")[:-1])
    return ProcessInfo(pid=pid, start=int(fields[19]), argv=argv, ppid=int(fields[1]))


def children(pid: int) -> list[ProcessInfo]:
    """The live direct children of ``pid`` (Linux; empty elsewhere)."""
    found = []
    for entry in _pids():
        info = process(entry)
        if info is not None and info.ppid == pid:
            found.append(info)
    return found


def environ_value(pid: int, name: str) -> str | None:
    """``name`` in the environment ``pid`` started with (``None``: unset or unreadable)."""
    try:
        raw = (_PROC / str(pid) / "environ").read_bytes()
    except OSError:
        return None
    prefix = name.encode() + b"="
    for item in raw.split(b"\0"):
        if item.startswith(prefix):
            return item[len(prefix) :].decode(errors="replace")
    return None


def listeners(port: int) -> list[ProcessInfo]:
    """The processes holding a listening TCP socket on ``port`` (any address, IPv4 or IPv6).

    Sockets are matched to processes by inode through ``/proc/<pid>/fd``; processes we may
    not inspect are left out. Empty off Linux.
    """
    inodes = set()
    for table in ("net/tcp", "net/tcp6"):
        try:
            lines = (_PROC / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            local, state, inode = cols[1], cols[3], cols[9]
            if state == _LISTEN and int(local.rsplit(":", 1)[1], 16) == port:
                inodes.add(f"socket:[{inode}]")
    if not inodes:
        return []
    found = []
    for pid in _pids():
        with contextlib.suppress(OSError):
            fds = (_PROC / str(pid) / "fd").iterdir()
            if any(_readlink(fd) in inodes for fd in fds):
                info = process(pid)
                if info is not None:
                    found.append(info)
    return found


def describe(info: ProcessInfo, width: int = 160) -> str:
    """``pid N (command line)``, the command line cut to ``width`` characters."""
    command = info.command
    if len(command) > width:
        command = command[: width - 1] + "…"
    return f"pid {info.pid} ({command})"


def is_chain_argv(argv: tuple[str, ...] | list[str]) -> bool:
    """A node ChainProof runs (or its watchdog): an ``anvil`` binary or a ``ganache`` CLI."""
    if not argv:
        return False
    if Path(argv[0]).name == "anvil":
        return True
    # Ganache: `node …/ganache/dist/node/cli.js …` or the `node_modules/.bin/ganache` shim.
    head = argv[:3]
    if any(Path(part).name == "ganache" or "/ganache/" in part for part in head):
        return True
    # The watchdog: `python -I -S …/chainproof/chain/watchdog.py PARENT -- NODE_ARGV`.
    if "--" in argv and any(part.endswith("chain/watchdog.py") for part in argv[:5]):
        return is_chain_argv(argv[argv.index("--") + 1 :])
    return False


def _pids() -> list[int]:
    try:
        return [int(p.name) for p in _PROC.iterdir() if p.name.isdigit()]
    except OSError:
        return []


def _readlink(path: Path) -> str:
    try:
        return os.readlink(path)
    except OSError:
        return ""
