"""``chainproof`` subprocesses forked from a preloaded server (:mod:`tests._zygote`) instead
of exec'd: the same command line, process, signals and exit status, without 2-3 s of imports
per start. :class:`Forked` answers the part of ``subprocess.Popen`` the tests use."""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from ._zygote import read_line

_ZYGOTE = Path(__file__).with_name("_zygote.py")
_lock = threading.Lock()
_server: tuple[subprocess.Popen[bytes], str] | None = None


def _socket_path() -> str:
    """The fork server of this test process, started on first use; it ends with us (its
    stdin is our pipe: EOF when this process exits, however it exits)."""
    global _server
    with _lock:
        if _server is None or _server[0].poll() is not None:
            where = tempfile.mkdtemp(prefix="chainproof-zygote-")
            path = os.path.join(where, "sock")
            with open(os.path.join(where, "zygote.log"), "ab") as log:
                proc = subprocess.Popen(
                    [sys.executable, "-u", str(_ZYGOTE), path],
                    stdin=subprocess.PIPE,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env={**os.environ, "PYTHONUNBUFFERED": "1"},
                    # Its own session: a signal to the test process's group is not for it.
                    start_new_session=True,
                )
            deadline = time.monotonic() + 120
            while not os.path.exists(path):
                if proc.poll() is not None:
                    raise RuntimeError(f"the fork server exited ({proc.returncode})")
                if time.monotonic() > deadline:
                    raise RuntimeError("the fork server did not start in 120 s")
                time.sleep(0.02)
            _server = (proc, path)
            atexit.register(_stop, proc, where)
        return _server[1]


def _stop(proc: subprocess.Popen[bytes], where: str) -> None:
    assert proc.stdin is not None
    proc.stdin.close()  # EOF: it kills what is left of its children and exits
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    shutil.rmtree(where, ignore_errors=True)


class Forked:
    """A child of the fork server: ``pid``, ``poll``, ``wait``, ``send_signal``, ``kill``,
    ``terminate``, ``returncode`` as ``subprocess.Popen`` has them."""

    def __init__(self, args: list[str], conn: socket.socket, pid: int) -> None:
        self.args, self.pid = args, pid
        self.returncode: int | None = None
        self._conn, self._buffer = conn, b""

    def _read(self, timeout: float | None) -> None:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.returncode is None:
            if self._buffer.endswith(b"\n"):
                self.returncode = int(self._buffer)
                self._conn.close()
                return
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not select.select([self._conn], [], [], left)[0]:
                return
            chunk = self._conn.recv(64)
            if not chunk:
                raise RuntimeError(f"the fork server went away while {self.pid} ran")
            self._buffer += chunk

    def poll(self) -> int | None:
        self._read(0)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        self._read(timeout)
        if self.returncode is None:
            raise subprocess.TimeoutExpired(self.args, timeout or 0)
        return self.returncode

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:  # never a pid the server has reaped (it may be reused)
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


def _connect() -> socket.socket:
    """A connection to the fork server; if it has died, what it said, and a new one."""
    for attempt in range(2):
        path = _socket_path()
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            conn.connect(path)
            return conn
        except OSError as exc:
            conn.close()
            log = Path(path).with_name("zygote.log")
            said = log.read_text(errors="replace")[-3000:] if log.exists() else ""
            if attempt:
                raise RuntimeError(f"no fork server at {path} ({exc}):\n{said}") from exc
            print(f"the fork server at {path} is gone ({exc}); its log:\n{said}", file=sys.stderr)
            _restart()
    raise AssertionError("unreachable")


def _restart() -> None:
    global _server
    with _lock:
        if _server is not None:
            _server[0].kill()
            _server[0].wait()
            _server = None


def can_fork(argv: list[str]) -> bool:
    """Whether ``argv`` is a command line the fork server runs: the ``chainproof`` console
    script, or ``python -m chainproof...`` with this interpreter."""
    if argv[:1] == [str(Path(sys.executable).parent / "chainproof")]:
        return True
    return (
        len(argv) >= 3
        and argv[0] == sys.executable
        and argv[1] == "-m"
        and argv[2].split(".")[0] == "chainproof"
    )


def spawn(
    argv: list[str],
    *,
    env: dict[str, str],
    cwd: Path | str,
    stdout: Path,
    stderr: Path | None = None,
    new_session: bool = False,
) -> Forked:
    """Runs ``argv`` (a ``chainproof`` command line) in a forked child; its output appended
    to ``stdout`` (and ``stderr``, the same file when not given)."""
    if not can_fork(argv):
        raise ValueError(f"not a chainproof command line: {argv[:3]}")
    conn = _connect()
    request = {
        "argv": [str(a) for a in argv],
        "env": env,
        "cwd": str(cwd),
        "stdout": str(stdout),
        "stderr": str(stderr or stdout),
        "new_session": new_session,
    }
    conn.sendall(json.dumps(request).encode() + b"\n")
    try:
        line = read_line(conn)
    except EOFError as exc:
        raise RuntimeError("the fork server closed without forking") from exc
    head, _, rest = line.partition(b"\n")
    child = Forked([str(a) for a in argv], conn, int(head))
    child._buffer = rest
    return child


def run(
    argv: list[str], *, env: dict[str, str], cwd: Path | str, timeout: float
) -> subprocess.CompletedProcess[str]:
    """``subprocess.run(argv, capture_output=True, text=True)``, forked."""
    with tempfile.TemporaryDirectory(prefix="chainproof-run-") as where:
        out, err = Path(where, "out"), Path(where, "err")
        child = spawn(argv, env=env, cwd=cwd, stdout=out, stderr=err)
        try:
            code = child.wait(timeout)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
            raise
        return subprocess.CompletedProcess(
            argv, code, out.read_text(errors="replace"), err.read_text(errors="replace")
        )
