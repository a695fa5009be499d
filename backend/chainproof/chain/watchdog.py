"""The parent of every node ChainProof starts: it ends the node when ChainProof goes away.

Run as ``python -I -S watchdog.py PARENT_PID -- NODE_ARGV...`` (standard library only: it
starts in ~30 ms and imports nothing of ChainProof), with a pipe from ChainProof on stdin
and the node's log on stdout/stderr. Two independent ways to notice that ChainProof died,
including by SIGKILL, where no exit hook of its own runs:

* **the stdin pipe**: its only write end is ChainProof's; when that process dies, however,
  the kernel closes it and a read here returns EOF. This works on every POSIX system.
* **the parent-death signal** (Linux ``PR_SET_PDEATHSIG``): the kernel sends SIGTERM here
  when the *thread* that spawned us exits, so ChainProof spawns from one long-lived thread
  (``managed._spawn``). If ChainProof died between the fork and the ``prctl``, the signal
  will never come: ``getppid()`` no longer names it, and we exit before starting the node.

Either way the node gets SIGTERM (Anvil dumps its state on it, Ganache closes its database),
then SIGKILL after a timeout. The node itself gets a parent-death signal from us (we are
single-threaded when we fork it), so a SIGKILLed watchdog does not orphan it either.

A SIGTERM, SIGINT or SIGHUP sent to us is passed on the same way; when the node exits we
exit with its status (a signal is re-raised), so ChainProof reports the node's own code.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import threading

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
STOP_TIMEOUT = 10.0


def set_parent_death_signal(sig: int) -> None:
    """Ask Linux to send ``sig`` to this process when its parent thread exits (no-op elsewhere)."""
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"prctl(PR_SET_PDEATHSIG): {os.strerror(err)}")


def _node_preexec() -> None:
    # In the forked child, before exec: we are its parent and we are single-threaded here.
    set_parent_death_signal(signal.SIGTERM)


def _watch_stdin(stop: threading.Event, reasons: list[str]) -> None:
    try:
        while os.read(0, 4096):
            pass
    except OSError:
        pass
    reasons.append("its parent process is gone (the pipe closed)")
    stop.set()


def main(argv: list[str]) -> int:
    if len(argv) < 4 or argv[2] != "--":
        print("usage: watchdog.py PARENT_PID -- NODE_ARGV...", file=sys.stderr)
        return 2
    parent = int(argv[1])
    node_argv = argv[3:]
    set_parent_death_signal(signal.SIGTERM)
    if os.getppid() != parent:
        print(f"chainproof watchdog: parent {parent} died before the node started", flush=True)
        return 1

    stop = threading.Event()
    reasons: list[str] = []

    def request_stop(signum: int, _frame: object) -> None:
        name = signal.Signals(signum).name
        gone = os.getppid() != parent  # the parent-death signal, not a stop request
        reasons.append(f"its parent process is gone ({name})" if gone else f"{name} received")
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, request_stop)
    try:
        node = subprocess.Popen(node_argv, stdin=subprocess.DEVNULL, preexec_fn=_node_preexec)
    except OSError as exc:
        print(f"chainproof watchdog: cannot run {node_argv[0]}: {exc}", flush=True)
        return 127
    threading.Thread(target=_watch_stdin, args=(stop, reasons), daemon=True).start()

    while node.poll() is None:
        if stop.wait(0.25):
            print(f"chainproof watchdog: stopping {node_argv[0]}: {reasons[0]}", flush=True)
            node.send_signal(signal.SIGTERM)
            try:
                node.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                node.kill()
                node.wait()
            break
    code = node.returncode
    if code < 0:  # killed by a signal: die of the same one, so our parent sees what it saw
        signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv))
