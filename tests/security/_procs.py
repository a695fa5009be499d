"""Real processes for the security suite: ``chainproof serve`` / ``worker`` and one-shot
commands, each with its output in a log file the test can search.

Nothing here kills by name: every process is started here and stopped by its own pid.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from chainproof.chain.nodes import free_port

from .. import forked

VENV_BIN = Path(sys.executable).parent
CLI = [str(VENV_BIN / "chainproof")]


def cli_env(**settings: str | Path) -> dict[str, str]:
    """This environment without the caller's CHAINPROOF_* (nor a failpoint), plus ``settings``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHAINPROOF_")}
    env.update({k: str(v) for k, v in settings.items()})
    env["PYTHONUNBUFFERED"] = "1"
    return env


@dataclass
class Proc:
    """A ``chainproof`` subprocess; its stdout and stderr go to ``log`` (appended)."""

    argv: list[str]
    env: dict[str, str]
    log: Path
    cwd: Path
    url: str = ""
    proc: subprocess.Popen[bytes] | forked.Forked | None = None
    starts: int = field(default=0)
    new_session: bool = False  # its own process group, as a terminal or a CI job gives it
    # Exec the CLI for real instead of forking it from the preloaded server (tests/forked.py):
    # for the tests that read the process's identity (/proc/PID/cmdline) or its imports.
    exec_: bool = False

    def start(self) -> Proc:
        if not self.exec_ and self.argv[:1] == CLI:
            self.proc = forked.spawn(
                self.argv, env=self.env, cwd=self.cwd, stdout=self.log,
                new_session=self.new_session,
            )  # fmt: skip
            self.starts += 1
            return self
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                self.argv,
                env=self.env,
                cwd=self.cwd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=self.new_session,
            )
        self.starts += 1
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL, as a power cut would, then reap it."""
        if self.alive():
            assert self.proc is not None
            self.proc.send_signal(signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait(timeout=30)

    def kill_group(self) -> None:
        """SIGKILL its whole process group (a crash, an OOM kill, a CI timeout), then reap it.
        Only for a process started with ``new_session``: the group is then its own."""
        assert self.proc is not None and self.new_session
        if self.alive():
            os.killpg(self.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM (graceful), SIGKILL after ``timeout``; returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def tail(self, size: int = 3000) -> str:
        return self.text()[-size:]

    def wait_http(self, path: str = "/healthz", *, ok: int = 200, timeout: float = 90.0) -> None:
        """Polls ``url + path`` until it answers ``ok``; fails with the log tail otherwise."""
        deadline = time.monotonic() + timeout
        last = "no answer"
        # One client for the whole poll: each new one builds a TLS context (~10 ms of CPU).
        with httpx.Client(timeout=2.0) as client:
            while time.monotonic() < deadline:
                if not self.alive():
                    code = self.proc.returncode if self.proc else None
                    raise AssertionError(f"{self.argv} exited ({code}):\n{self.tail()}")
                try:
                    response = client.get(self.url + path)
                    if response.status_code == ok:
                        return
                    last = f"{response.status_code} {response.text[:300]}"
                except httpx.HTTPError as exc:
                    last = f"{type(exc).__name__}: {exc}"
                time.sleep(0.1)
        raise AssertionError(f"{self.url}{path} not {ok} after {timeout}s ({last}):\n{self.tail()}")

    def rss_kib(self, field_name: str = "VmRSS") -> int:
        """Resident memory (``VmRSS``) or its peak (``VmHWM``) of the process, in KiB."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
        raise AssertionError(f"no {field_name} for pid {self.pid}")


def serve(
    data_dir: Path,
    *,
    chain: str,
    log: Path,
    extra: tuple[str, ...] = (),
    port: int | None = None,
    new_session: bool = False,
    **settings: str | Path,
) -> Proc:
    """``chainproof serve`` on a free port (not started yet: call ``.start()``)."""
    port = port or free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    argv = [*CLI, "serve", "--port", str(port), "--data-dir", str(data_dir), "--chain", chain]
    return Proc(
        argv=[*argv, *extra],
        env=cli_env(**settings),
        log=log,
        cwd=data_dir.parent,
        url=f"http://127.0.0.1:{port}",
        new_session=new_session,
    )


def worker(data_dir: Path, *, chain: str, log: Path, **settings: str | Path) -> Proc:
    """``chainproof worker`` on ``data_dir``'s database and the node at ``chain`` (a URL)."""
    argv = [*CLI, "worker", "--data-dir", str(data_dir), "--chain", chain]
    return Proc(argv=argv, env=cli_env(**settings), log=log, cwd=data_dir.parent)


def run_cli(
    *args: str | Path, env: dict[str, str], cwd: Path, timeout: float = 120.0
) -> subprocess.CompletedProcess[str]:
    """A one-shot ``chainproof`` command; its output captured."""
    return forked.run([*CLI, *map(str, args)], env=env, cwd=cwd, timeout=timeout)


def exec_cli(
    *args: str | Path, env: dict[str, str], cwd: Path, timeout: float = 120.0
) -> subprocess.CompletedProcess[str]:
    """:func:`run_cli`, exec'd for real (a fresh interpreter: for tests of what it imports)."""
    return subprocess.run(
        [*CLI, *map(str, args)],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
