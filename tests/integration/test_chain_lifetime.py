"""A managed chain never outlives its server (issue 26), seen from outside: real
``chainproof serve`` / ``demo`` / ``chain`` processes, SIGKILLed as a crash, an OOM kill or a
CI timeout would, and ``/proc`` read afterwards.

Each server runs in its own session, as a terminal or a CI job starts it, and the kill
takes its whole process group; the chain lives in a session of its own (so that a Ctrl-C
stops the server first), so only the watchdog and the parent-death signal can end it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from chainproof.chain import ownership
from chainproof.chain.managed import AnvilNode
from chainproof.chain.nodes import free_port, http_web3, rpc_chain_id
from chainproof.chain.processes import ProcessInfo, is_chain_argv, process
from chainproof.client import ChainProofClient
from chainproof.digests import hash_bytes
from chainproof.receipts import Receipt, verify_receipt
from chainproof.trust import TrustAnchor

from ..conftest import node_binary_present, require
from ..security import _procs

pytestmark = [pytest.mark.chain, pytest.mark.slow]
GONE_WITHIN = 5.0  # the bound: no process of the chain left this long after the kill
STOPPED = (0, -signal.SIGTERM)  # uvicorn re-raises SIGTERM once it has shut down cleanly


@pytest.fixture(autouse=True)
def _anvil_installed() -> None:
    require(node_binary_present("anvil"), "anvil is missing from node_modules (run `make install`)")


def chain_processes(data_dir: Path) -> list[ProcessInfo]:
    """Live chain processes (a node or its watchdog) whose command line names the data
    directory's chain state (``anvil-state.json`` or ``ganache-db``)."""
    states = {str(data_dir / "anvil-state.json"), str(data_dir / "ganache-db")}
    found = []
    for entry in Path("/proc").iterdir():
        info = process(int(entry.name)) if entry.name.isdigit() else None
        if info is not None and is_chain_argv(info.argv) and states & set(info.argv):
            found.append(info)
    return found


def left_after(data_dir: Path, timeout: float) -> list[ProcessInfo]:
    """The chain processes still alive after up to ``timeout`` seconds (none: returns early)."""
    deadline = time.monotonic() + timeout
    while (left := chain_processes(data_dir)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


def end(*procs: _procs.Proc) -> None:
    """Teardown: whatever a failed assertion left running, by its own pid or group."""
    for proc in procs:
        if proc.alive() and proc.new_session and proc.proc is not None:
            proc.kill_group()
        proc.stop()


def submitter_key(data_dir: Path) -> str:
    made = _procs.run_cli(
        "keys", "create", "--org", "Acme", "--role", "submitter",
        env=_procs.cli_env(CHAINPROOF_DATA_DIR=data_dir),
        cwd=data_dir.parent,
    )  # fmt: skip
    assert made.returncode == 0, made.stdout + made.stderr
    return made.stdout.strip().splitlines()[-1]


def test_a_killed_server_leaves_no_chain_and_its_documents_verify_after_a_restart(
    tmp_path: Path,
) -> None:
    data, chain_port = tmp_path / "data", free_port()
    extra = ("--chain-port", str(chain_port))
    log = tmp_path / "serve.log"
    first = _procs.serve(data, chain="anvil", log=log, extra=extra, new_session=True)
    second = _procs.serve(data, chain="anvil", log=log, extra=extra, port=free_port())
    try:
        first.start().wait_http("/readyz")
        key = submitter_key(data)
        digest = hash_bytes(b"anchored before the crash", "sha256")
        with ChainProofClient(first.url, api_key=key) as client:
            (item,) = client.anchor_digests("sha256", [digest])
            client.wait_anchored([item["id"]], timeout=60, poll=0.1)
            receipt = client.receipt(item["id"])
        anchor = TrustAnchor.fetch(first.url)
        assert chain_processes(data), "no managed anvil?"

        first.kill_group()
        left = left_after(data, GONE_WITHIN)
        assert left == [], f"the chain outlived its server by {GONE_WITHIN}s: {left}"

        # Restart on the same data directory and port: the chain is the one anchored on.
        second.start().wait_http("/readyz")
        with ChainProofClient(second.url) as client:
            assert client.verify_digest("sha256", digest)["verdict"] == "anchored"
        w3 = http_web3(f"http://127.0.0.1:{chain_port}")
        # Pinned to the anchor the first server published (what a verifier kept).
        verdict = verify_receipt(Receipt.model_validate(receipt), w3, trust=anchor)
        assert verdict.valid, verdict.reason
        assert second.stop() in STOPPED, second.tail()
        assert left_after(data, GONE_WITHIN) == []
    finally:
        end(first, second)


def test_a_killed_demo_leaves_no_chain_and_the_demo_starts_again(tmp_path: Path) -> None:
    data, chain_port = tmp_path / "demo", free_port()

    def demo(name: str) -> _procs.Proc:
        port = free_port()
        argv = [*_procs.CLI, "demo", "--port", str(port), "--data-dir", str(data)]
        return _procs.Proc(
            argv=[*argv, "--chain-port", str(chain_port)],
            env=_procs.cli_env(),
            log=tmp_path / f"{name}.log",
            cwd=tmp_path,
            url=f"http://127.0.0.1:{port}",
            new_session=True,
        )

    first, again = demo("first"), demo("again")
    try:
        first.start().wait_http("/healthz")
        assert rpc_chain_id(f"http://127.0.0.1:{chain_port}") == 31337
        first.kill_group()
        left = left_after(data, GONE_WITHIN)
        assert left == [], f"the chain outlived the demo by {GONE_WITHIN}s: {left}"

        again.start().wait_http("/healthz")
        assert rpc_chain_id(f"http://127.0.0.1:{chain_port}") == 31337
        assert again.stop() in STOPPED, again.tail()  # SIGTERM: the server, then its chain
        assert left_after(data, GONE_WITHIN) == []
    finally:
        end(first, again)


def test_a_node_started_from_a_thread_that_ends_lives_on(tmp_path: Path) -> None:
    """The parent-death signal follows the *thread* that forked: a server starts its node
    from a worker thread (uvicorn runs the lifespan's start-up in anyio's pool, whose idle
    threads end), and the node must not die with that thread. (A guard on the design: the
    code before issue 26 had no such signal, so it passed this too.)"""
    node = AnvilNode(state_file=tmp_path / "anvil-state.json", port=free_port())
    starter = threading.Thread(target=node.start)
    starter.start()
    starter.join()
    try:
        time.sleep(1.0)  # a parent-death signal would have come at once
        assert node.is_running() and node.rpc_url is not None
        assert rpc_chain_id(node.rpc_url) == 31337
    finally:
        node.stop()
    assert chain_processes(tmp_path) == []


def chain_up(data: Path, port: int, log: Path, kind: str = "anvil") -> _procs.Proc:
    """``chainproof chain up``: a foreground chain, its own server; returned once it answers."""
    argv = [*_procs.CLI, "chain", "up", "--data-dir", str(data), "--port", str(port)]
    argv += ["--kind", kind]
    up = _procs.Proc(argv=argv, env=_procs.cli_env(), log=log, cwd=data.parent).start()
    deadline = time.monotonic() + 60
    while "Press Ctrl-C" not in up.text():
        assert up.alive() and time.monotonic() < deadline, up.tail()
        time.sleep(0.05)
    return up


@pytest.mark.parametrize("kind", ["anvil", "ganache"])
def test_a_killed_chain_up_leaves_no_node(tmp_path: Path, kind: str) -> None:
    """Every managed kind runs under the watchdog: ``chain up`` SIGKILLed, its node ends."""
    require(node_binary_present(kind), f"{kind} is missing from node_modules")
    data = tmp_path / "data"
    up = chain_up(data, free_port(), tmp_path / "up.log", kind)
    try:
        assert chain_processes(data), f"no managed {kind}?"
        up.kill()
        left = left_after(data, GONE_WITHIN)
        assert left == [], f"the {kind} outlived `chain up` by {GONE_WITHIN}s: {left}"
    finally:
        end(up)


def orphan(up: _procs.Proc, data: Path) -> list[ProcessInfo]:
    """Makes ``up``'s chain an orphan: its watchdog frozen (SIGSTOP), its server SIGKILLed.
    On Linux nothing else leaves one behind; elsewhere a lost watchdog would."""
    record = ownership.read_record(data)
    assert record is not None and record.server_pid == up.pid
    os.kill(record.pid, signal.SIGSTOP)
    up.kill()
    chain = chain_processes(data)
    assert len(chain) == 2 and ownership.inspect(data).state == "orphan"
    return chain


def test_chain_status_and_stop(tmp_path: Path) -> None:
    """The commands run in process (they only read /proc and send signals); the chain, its
    watchdog and its server are real processes."""
    from typer.testing import CliRunner

    from chainproof.cli.chain import app

    data, port = tmp_path / "data", free_port()

    def chain(*args: str) -> tuple[int, str]:
        done = CliRunner().invoke(app, [*args, "--data-dir", str(data)], terminal_width=400)
        return done.exit_code, done.output

    code, said = chain("status")
    assert code == 1 and "no chain runs for" in said, said
    up = chain_up(data, port, tmp_path / "up.log")
    try:
        code, said = chain("status")
        assert code == 0, said
        assert f"anvil at http://127.0.0.1:{port}  chain id 31337" in said
        assert f"pid {up.pid} (" in said and ": running" in said

        code, said = chain("stop")  # its server (`chain up`) runs: not ours to stop
        assert code == 2, said
        assert "stop that server instead" in said and f"kill {up.pid}" in said
        assert rpc_chain_id(f"http://127.0.0.1:{port}") == 31337

        before = orphan(up, data)
        code, said = chain("status")
        assert code == 0 and f"pid {up.pid}: GONE" in said, said

        code, said = chain("stop")
        assert code == 0, said
        assert "stopped the anvil chain" in said
        assert all(process(info.pid) is None for info in before)
        assert ownership.read_record(data) is None
        with pytest.raises(httpx.HTTPError):
            rpc_chain_id(f"http://127.0.0.1:{port}", timeout=1.0)
    finally:
        end(up)
        for info in chain_processes(data):
            os.kill(info.pid, signal.SIGKILL)  # this test's own, found by its data dir


def test_a_server_stops_an_orphaned_chain_and_never_touches_a_live_servers(
    tmp_path: Path,
) -> None:
    data, port = tmp_path / "data", free_port()
    up = chain_up(data, port, tmp_path / "up.log")
    # The orphan's port: it is free only once the orphan is stopped, before the port rule.
    serve = _procs.serve(
        data, chain="anvil", log=tmp_path / "serve.log", extra=("--chain-port", str(port))
    )
    try:
        running = {info.pid: info.start for info in chain_processes(data)}
        refused = _procs.run_cli(*serve.argv[1:], env=serve.env, cwd=tmp_path, timeout=60)
        assert refused.returncode == 2, refused.stdout + refused.stderr
        assert f"its server pid {up.pid} (" in refused.stderr
        assert f"share it with --chain http://127.0.0.1:{port}" in refused.stderr
        assert {info.pid: info.start for info in chain_processes(data)} == running  # untouched

        before = orphan(up, data)
        serve.start().wait_http("/readyz")
        assert "outlived its server" in serve.text() and "stopping it cleanly" in serve.text()
        assert all(process(info.pid) is None for info in before)
        record = ownership.read_record(data)
        assert record is not None and record.server_pid == serve.pid
        assert serve.stop() in STOPPED, serve.tail()
        assert left_after(data, GONE_WITHIN) == []
    finally:
        end(up, serve)
        for info in chain_processes(data):
            os.kill(info.pid, signal.SIGKILL)  # this test's own, found by its data dir


LEAKY_TEST = """
import subprocess
from pathlib import Path


def test_leaves_an_anvil_behind():
    anvil = subprocess.Popen([{anvil!r}, "--port", "{port}", "--silent"], start_new_session=True)
    Path({pid_file!r}).write_text(str(anvil.pid))
"""


def test_the_leak_check_fails_a_run_that_leaves_a_chain_behind(tmp_path: Path) -> None:
    """tests/chain_leaks.py, in a pytest run of its own whose one test starts an Anvil and
    leaves it: that run fails, names the Anvil, and ends it."""
    from chainproof.chain.managed import anvil_binary

    root = Path(__file__).resolve().parents[2]
    pid_file = tmp_path / "anvil.pid"
    (tmp_path / "test_leaky.py").write_text(
        LEAKY_TEST.format(anvil=str(anvil_binary(root)), port=free_port(), pid_file=str(pid_file))
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")]),
        "PYTEST_CHAIN_LEAK_GRACE": "1",
    }
    run = [sys.executable, "-m", "pytest", "-p", "tests.chain_leaks", "-p", "no:cacheprovider"]
    done = subprocess.run(
        [*run, "-q", "test_leaky.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    pid = int(pid_file.read_text())
    leaked = process(pid)
    try:
        assert done.returncode == pytest.ExitCode.TESTS_FAILED, done.stdout + done.stderr
        assert "1 passed" in done.stdout  # the test itself passed: the check failed the run
        assert "1 chain process(es) of this test run outlived it" in done.stdout
        assert f"pid {pid} (" in done.stdout
        assert process(pid) is None  # killed by the check
    finally:
        if leaked is not None and process(pid) == leaked:  # not a reused pid
            os.kill(pid, signal.SIGKILL)  # the nested run's own, by the pid it wrote
