"""A fork server for the suite's ``chainproof`` subprocesses (run as a script by
:mod:`tests.forked`).

Starting ``chainproof serve`` or ``worker`` costs 2-3 s of CPU before the command runs, nearly
all of it imports (web3, py_ecc, SQLAlchemy, FastAPI, pydantic models); the suite starts
hundreds of them on a two-core machine, so that was a third of its time. This process imports
once, then forks a child per request that runs the real command line (``chainproof.cli.main``)
in a process of its own: its own pid, session (when asked), working directory, environment,
log file and exit status, SIGKILLed for real by the crash tests. Preloading is what gunicorn's
``--preload`` and Android's zygote do; what differs from an exec'd process is only
``/proc/PID/cmdline`` (this script's), which the tests about process identity avoid by
asking for a real exec (``Proc(exec_=True)``).

Protocol, on a Unix socket: one JSON request per connection ({argv, env, cwd, stdout,
stderr, new_session}); the answer is the child's pid, then, when it has exited, its return
code as ``subprocess`` gives it (negative: killed by that signal), each a line. One thread:
forking is only safe from a process with no other thread.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import random
import selectors
import signal
import socket
import sys
import threading
from typing import Any


def preload() -> None:
    """Everything ``chainproof serve`` imports, so no child pays for it."""
    import httpx

    import chainproof.api.app
    import chainproof.cli
    import chainproof.cli.server
    import chainproof.runtime  # noqa: F401

    httpx.Client().close()  # its transports import httpcore and h11 on first use


def run_child(request: dict[str, Any], inherited: list[int]) -> None:
    """In the forked child: become the requested process, run the command, exit as Python
    would (non-daemon threads joined, atexit run, streams flushed)."""
    code = 1
    try:
        signal.set_wakeup_fd(-1)
        for fd in inherited:  # the server's sockets and pipe: not this process's business
            os.close(fd)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        if request["new_session"]:
            os.setsid()
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND
        out = os.open(request["stdout"], flags, 0o644)
        err = out if request["stderr"] == request["stdout"] else os.open(request["stderr"], flags)
        os.dup2(out, 1)
        os.dup2(err, 2)
        random.seed()  # the parent's generator state would repeat in every child
        try:
            run_command(list(request["argv"]))
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            if exc.code is not None and not isinstance(exc.code, int):
                print(exc.code, file=sys.stderr)
        except KeyboardInterrupt:
            code = 130
        threading._shutdown()  # type: ignore[attr-defined]  # what interpreter exit does
        atexit._run_exitfuncs()
    except BaseException:  # anything left: print it, as Python would
        import traceback

        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code & 0xFF)


def run_command(argv: list[str]) -> None:
    """``python -m MODULE args`` as runpy runs it, else the ``chainproof`` console script."""
    if len(argv) >= 3 and argv[1] == "-m":
        import runpy

        sys.argv = [argv[2], *argv[3:]]
        runpy.run_module(argv[2], run_name="__main__", alter_sys=True)
        return
    from chainproof.cli import main

    sys.argv = argv
    main()


def serve(path: str) -> None:
    preload()
    if threading.active_count() != 1:  # a fork would copy another thread's held locks
        raise RuntimeError(f"threads after the preload: {threading.enumerate()}")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(64)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    os.set_blocking(wake_r, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)  # wakes the selector through the pipe
    signal.signal(signal.SIGTERM, _exit_on_term)
    children: dict[int, socket.socket] = {}
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ, "accept")
    selector.register(wake_r, selectors.EVENT_READ, "child")
    selector.register(sys.stdin, selectors.EVENT_READ, "parent")  # EOF: the suite is gone
    try:
        while True:
            for key, _ in selector.select():
                if key.data == "parent" and not os.read(sys.stdin.fileno(), 1):
                    return
                if key.data == "child":
                    try:
                        while os.read(wake_r, 512):
                            pass
                    except BlockingIOError:
                        pass
                    reap(children)
                if key.data == "accept":
                    conn, _ = listener.accept()
                    try:
                        request = json.loads(read_line(conn))
                    except (OSError, EOFError, ValueError) as exc:  # one bad request only
                        print(f"zygote: a request failed: {exc!r}", file=sys.stderr)
                        conn.close()
                        continue
                    sys.stdout.flush()
                    sys.stderr.flush()
                    pid = os.fork()
                    if pid == 0:
                        selector.close()
                        fds = [listener.fileno(), conn.fileno(), wake_r, wake_w]
                        run_child(request, fds + [c.fileno() for c in children.values()])
                    children[pid] = conn
                    try:
                        conn.sendall(f"{pid}\n".encode())
                    except OSError as exc:  # the asker is gone: its child is nobody's
                        print(f"zygote: {pid}'s asker left: {exc!r}", file=sys.stderr)
                        os.kill(pid, signal.SIGKILL)
            reap(children)
    finally:
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def _exit_on_term(signum: int, frame: Any) -> None:
    print("zygote: SIGTERM, exiting", file=sys.stderr)
    sys.exit(0)


def reap(children: dict[int, socket.socket]) -> None:
    while children:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        conn = children.pop(pid, None)
        if conn is not None:
            # OSError: the suite side closed; nobody waits for this one.
            with contextlib.suppress(OSError):
                conn.sendall(f"{os.waitstatus_to_exitcode(status)}\n".encode())
            conn.close()


def read_line(conn: socket.socket) -> bytes:
    """What ``conn`` sends up to a newline (and whatever came in the same reads after it:
    both sides of the protocol split on the first newline)."""
    data = b""
    while not data.endswith(b"\n"):
        chunk = conn.recv(65536)
        if not chunk:
            raise EOFError("the other side closed before a newline")
        data += chunk
    return data


if __name__ == "__main__":
    try:
        serve(sys.argv[1])
    except BaseException:
        import traceback

        traceback.print_exc()  # into zygote.log, which tests/forked.py shows on a failure
        raise
