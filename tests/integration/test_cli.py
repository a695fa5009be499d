"""The ``chainproof`` command end to end: real processes, a real Anvil, a real server.

One server (``chainproof serve --chain anvil``) runs for the module; the tests drive it with
the CLI as a user would, in subprocesses, and read its answers from exit codes and output.
The last test stops it with SIGINT and checks that no Anvil is left behind.

The commands come from ``.venv/bin/chainproof`` once ``serve``, ``anchor`` and ``keys`` are
wired into ``chainproof.cli``; until then from a launcher that wires them the same way.
Error paths that need no server run in process through typer's ``CliRunner``.
"""

from __future__ import annotations

import hashlib
import json
import os
import pty
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import typer
from typer.testing import CliRunner

from chainproof.chain.nodes import free_port, rpc_chain_id
from chainproof.cli import evidence as evidence_cli
from chainproof.client import ChainProofClient, ClientError, ServerUnreachableError
from chainproof.config import find_project_root
from chainproof.receipts import Receipt

from .. import forked

ROOT = find_project_root()
VENV_BIN = Path(sys.executable).parent
START_TIMEOUT = 120.0  # a cold start compiles the contracts (~2 s) on a loaded 2-core box
STOP_TIMEOUT = 10.0
# The receipt of docs/receipt.md's example (its on-chain fields are made up).
_EXAMPLE = re.search(r"```json\n(.*?)```", (ROOT / "docs" / "receipt.md").read_text(), re.S)
assert _EXAMPLE is not None
RECEIPT_EXAMPLE = _EXAMPLE.group(1)

# Wires the commands in exactly as cli/__init__.py is meant to, for as long as it does not.
_LAUNCHER = """
from chainproof.cli import app
from chainproof.cli import evidence, keys, server
names = {c.name for c in app.registered_commands}
groups = {g.name for g in app.registered_groups}
if "serve" not in names:
    server.register(app)
if "anchor" not in names:
    evidence.register(app)
if "keys" not in groups:
    app.add_typer(keys.app, name="keys")
app()
"""


def _cli_argv() -> list[str]:
    from chainproof.cli import app

    names = {c.name for c in app.registered_commands}
    groups = {g.name for g in app.registered_groups}
    wired = {"serve", "worker", "reindex", "status", "anchor", "verify", "receipt"} <= names
    if wired and "keys" in groups:
        return [str(VENV_BIN / "chainproof")]
    return [sys.executable, "-c", _LAUNCHER]


CLI = _cli_argv()


def _env(**settings: str | Path) -> dict[str, str]:
    """This environment without any CHAINPROOF_* of the caller's, plus ``settings``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHAINPROOF_")}
    env.update({k: str(v) for k, v in settings.items()})
    env["PYTHONUNBUFFERED"] = "1"
    return env


def run_cli(
    *args: str | Path, env: dict[str, str], cwd: Path, timeout: float = 120.0
) -> subprocess.CompletedProcess[str]:
    """A one-shot command, forked from the preloaded server (tests/forked.py). Servers and
    workers here are exec'd: these tests read their command lines in /proc."""
    return forked.run([*CLI, *map(str, args)], env=env, cwd=cwd, timeout=timeout)


def processes_mentioning(text: str) -> list[tuple[int, str]]:
    """Live processes whose command line contains ``text`` (``pgrep -f`` without pgrep)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue  # it exited while we looked
        if text in cmdline and state != "Z":
            found.append((int(entry.name), cmdline.strip()))
    return found


def sha256_hex(path: Path) -> str:
    return "0x" + hashlib.sha256(path.read_bytes()).hexdigest()


MISSING = "01943b2e-7c00-7a3f-9d21-000000000000"  # a well-formed public id never issued


def row_id(table: str, digest: str) -> str:
    """The evidence's public id on the line of ``anchor``'s table that shows ``digest``."""
    for line in table.splitlines():
        if digest in line:
            match = re.match(r"\s*([0-9a-f-]{36})\s", line)  # anchored: linear (redos_check)
            assert match, f"no id at the start of {line!r}"
            return match.group(1)
    raise AssertionError(f"{digest} is not in the table:\n{table}")


@dataclass
class ServerProcess:
    """A ``chainproof serve`` (or ``worker``) subprocess and what it was started with."""

    proc: subprocess.Popen[bytes]
    url: str
    data_dir: Path
    log: Path
    env: dict[str, str]

    def log_tail(self, size: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-size:]

    def stop(self, sig: int = signal.SIGINT, timeout: float = STOP_TIMEOUT) -> float:
        """Sends ``sig``; returns how long it took to exit (kills it and fails after timeout)."""
        if self.proc.poll() is not None:
            return 0.0
        started = time.monotonic()
        self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            pytest.fail(
                f"pid {self.proc.pid} ignored signal {sig} for {timeout}s:\n{self.log_tail()}"
            )
        return time.monotonic() - started


def start_server(
    data_dir: Path, *extra: str, settings: dict[str, str] | None = None
) -> ServerProcess:
    """``chainproof serve`` on a free port, returned once ``/readyz`` answers 200."""
    port = free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    env = _env(
        CHAINPROOF_BATCH_INTERVAL_MS="50",
        CHAINPROOF_BATCH_SIZE="100",
        **(settings or {}),
    )
    log = data_dir.parent / f"{data_dir.name}-serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*CLI, "serve", "--port", str(port), "--data-dir", str(data_dir), *extra],
            env=env,
            cwd=data_dir.parent,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = ServerProcess(proc, f"http://127.0.0.1:{port}", data_dir, log, env)
    deadline = time.monotonic() + START_TIMEOUT
    last = "no answer"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"chainproof serve exited with {proc.returncode}:\n{server.log_tail()}")
        try:
            response = httpx.get(f"{server.url}/readyz", timeout=2.0)
            if response.status_code == 200:
                return server
            last = f"{response.status_code} {response.text[:300]}"
        except httpx.HTTPError as exc:
            last = f"{type(exc).__name__}: {exc}"
        time.sleep(0.2)
    server.stop(signal.SIGTERM)
    pytest.fail(f"not ready after {START_TIMEOUT}s ({last}):\n{server.log_tail()}")


def direct_key(data_dir: Path, role: str = "submitter", org: str = "Acme") -> str:
    """A key written straight into the server's database, as ``keys create`` writes it, for
    suites that test something else: each ``keys create`` is a process importing the CLI
    (seconds on a loaded machine). This module's ``submitter_key``, test_chain_lifetime and
    test_secrets prove the command itself."""
    from chainproof import identity
    from chainproof.store import db

    with db.open_session(f"sqlite:///{data_dir / 'chainproof.db'}") as session:
        return identity.create_api_key(session=session, org=org, role=role)[1]


def create_key(data_dir: Path, cwd: Path, role: str = "submitter", org: str = "Acme") -> str:
    result = run_cli(
        "keys", "create", "--org", org, "--role", role,
        env=_env(CHAINPROOF_DATA_DIR=data_dir),
        cwd=cwd,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    key = result.stdout.strip().splitlines()[-1]
    assert key.startswith("cpk_"), result.stdout
    return key


# ---- fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """``chainproof serve --chain anvil`` with a fresh data dir, shared by the module.

    The last test stops it on purpose; this teardown only makes sure nothing outlives it.
    """
    data_dir = tmp_path_factory.mktemp("cli") / "data"
    running = start_server(data_dir, "--chain", "anvil")
    try:
        yield running
    finally:
        running.stop(signal.SIGTERM)
        for pid, cmdline in processes_mentioning(str(data_dir)):
            os.kill(pid, signal.SIGKILL)  # a leftover of the server under test, never ours
            pytest.fail(f"left running after the server stopped: {pid} {cmdline}")


@pytest.fixture(scope="module")
def submitter_key(server: ServerProcess) -> str:
    """A submitter API key of member Acme, made by ``chainproof keys create``."""
    return create_key(server.data_dir, server.data_dir.parent)


@pytest.fixture(scope="module")
def rpc_url(server: ServerProcess) -> str:
    """Where a third party verifies: the server's public RPC URL (the managed Anvil's)."""
    info = httpx.get(f"{server.url}/api/v1/chain", timeout=10).json()
    assert info["chain_id"] == 31337
    return str(info["rpc_url"])


@pytest.fixture
def user_env(server: ServerProcess, submitter_key: str) -> dict[str, str]:
    """The environment of a user of this server, key included."""
    return _env(CHAINPROOF_SERVER=server.url, CHAINPROOF_API_KEY=submitter_key)


# ---- no server needed ----------------------------------------------------------------------


def _evidence_app() -> typer.Typer:
    app = typer.Typer()
    evidence_cli.register(app)
    return app


@pytest.mark.parametrize(
    "args",
    [
        ["anchor", "{file}"],
        ["verify", "{file}"],
        ["receipt", MISSING],
    ],
)
def test_an_unreachable_server_is_one_red_line_and_exit_2(tmp_path: Path, args: list[str]) -> None:
    file = tmp_path / "doc.txt"
    file.write_text("hello")
    url = f"http://127.0.0.1:{free_port()}"
    argv = [a.replace("{file}", str(file)) for a in args]
    result = CliRunner().invoke(_evidence_app(), [*argv, "--server", url])
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"cannot reach the ChainProof server at {url}" in lines[0]
    assert "chainproof serve" in lines[0]
    assert "Traceback" not in result.stderr


def test_anchor_refuses_a_missing_file_before_any_request(tmp_path: Path) -> None:
    result = CliRunner().invoke(_evidence_app(), ["anchor", str(tmp_path / "nope.pdf")])
    assert result.exit_code == 2
    assert "nope.pdf: no such file" in result.stderr


def test_verify_receipt_exits_2_on_unreadable_files_and_unreachable_nodes(
    tmp_path: Path,
) -> None:
    runner, app = CliRunner(), _evidence_app()
    dead_rpc = f"http://127.0.0.1:{free_port()}"
    garbage = tmp_path / "garbage.json"
    garbage.write_text('{"version": 1')
    missing = runner.invoke(app, ["verify-receipt", str(tmp_path / "no.json"), "--rpc", dead_rpc])
    assert missing.exit_code == 2 and "cannot read" in missing.stderr
    broken = runner.invoke(app, ["verify-receipt", str(garbage), "--rpc", dead_rpc])
    assert broken.exit_code == 2 and "is not a ChainProof receipt" in broken.stderr
    receipt = tmp_path / "receipt.json"
    receipt.write_text(RECEIPT_EXAMPLE)
    bad_anchor = runner.invoke(
        app, ["verify-receipt", str(receipt), "--rpc", dead_rpc, "--trust", str(garbage)]
    )
    assert bad_anchor.exit_code == 2 and "no trust anchor from" in bad_anchor.stderr
    no_server = runner.invoke(
        app, ["verify-receipt", str(receipt), "--rpc", dead_rpc, "--trust", dead_rpc]
    )
    assert no_server.exit_code == 2 and "cannot fetch the trust anchor" in no_server.stderr


def test_client_turns_the_error_envelope_into_client_error() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            409, json={"error": {"code": "conflict", "message": "evidence 7 is queued"}}
        )

    client = ChainProofClient("http://cp.test", transport=httpx.MockTransport(answer))
    with client, pytest.raises(ClientError) as caught:
        client.receipt(MISSING)
    assert (caught.value.status, caught.value.code) == (409, "conflict")
    assert caught.value.message == "evidence 7 is queued"
    assert "HTTP 409" in str(caught.value)


def test_client_says_where_it_could_not_connect() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with ChainProofClient(url) as client, pytest.raises(ServerUnreachableError) as caught:
        client.chain_info()
    assert caught.value.status is None
    assert str(caught.value).startswith(f"cannot reach the ChainProof server at {url}")


# ---- against a running server --------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.chain
def test_anchor_wait_verify_receipt_and_verify_it_without_the_server(
    server: ServerProcess, user_env: dict[str, str], rpc_url: str, tmp_path: Path
) -> None:
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("甲方 application form, version 1\n")
    b.write_text("acceptance invoice 2023-0042\n")

    # Names relative to cwd, as people type them: a long absolute temp path would fold over
    # two lines of the table (rich's `overflow="fold"`) and split the name from its row.
    anchored = run_cli(
        "anchor", a.name, b.name, "--wait", "--timeout", "60", env=user_env, cwd=tmp_path
    )
    assert anchored.returncode == 0, anchored.stderr
    assert "Traceback" not in anchored.stderr
    for path in (a, b):
        line = next(ln for ln in anchored.stdout.splitlines() if sha256_hex(path) in ln)
        assert "anchored" in line and path.name in line
    a_id = row_id(anchored.stdout, sha256_hex(a))

    verified = run_cli("verify", a, env=user_env, cwd=tmp_path)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "anchored" in verified.stdout
    assert sha256_hex(a) in verified.stdout

    changed = tmp_path / "a-changed.txt"
    changed.write_text(a.read_text() + " ")
    rejected = run_cli("verify", changed, env=user_env, cwd=tmp_path)
    assert rejected.returncode == 1, rejected.stdout + rejected.stderr
    assert "not found" in rejected.stdout

    receipt_file = tmp_path / "r.json"
    fetched = run_cli("receipt", a_id, "-o", receipt_file, env=user_env, cwd=tmp_path)
    assert fetched.returncode == 0, fetched.stderr
    receipt = Receipt.from_json(receipt_file.read_text())
    assert receipt.digest == sha256_hex(a)
    assert receipt.chain_id == 31337

    # The trust anchor, pinned once (by URL: the CLI fetches the well-known document).
    pinned_by_url = run_cli(
        "verify-receipt", receipt_file, "--rpc", rpc_url, "--trust", server.url,
        env=_env(), cwd=tmp_path,
    )  # fmt: skip
    assert pinned_by_url.returncode == 0, pinned_by_url.stdout + pinned_by_url.stderr
    anchor_file = tmp_path / "anchor.json"
    anchor_file.write_bytes(httpx.get(f"{server.url}/.well-known/chainproof.json").content)

    # No server from here on: only the receipt, the pinned anchor and a JSON-RPC endpoint.
    offline_env = _env()
    pin = ("--trust", anchor_file)
    valid = run_cli(
        "verify-receipt", receipt_file, "--rpc", rpc_url, *pin, env=offline_env, cwd=tmp_path
    )
    assert valid.returncode == 0, valid.stdout + valid.stderr
    assert "VALID" in valid.stdout and "✗" not in valid.stdout
    # Without an anchor: every check runs and passes, and still no "valid" (exit 3).
    unpinned = run_cli(
        "verify-receipt", receipt_file, "--rpc", rpc_url, env=offline_env, cwd=tmp_path
    )
    assert unpinned.returncode == 3, unpinned.stdout + unpinned.stderr
    assert "NOT PINNED" in unpinned.stdout and "VALID" not in unpinned.stdout
    assert "✗" not in unpinned.stdout and "not pinned" in unpinned.stdout

    tampered = json.loads(receipt_file.read_text())
    tampered["digest"] = sha256_hex(changed)  # claim the receipt proves the changed file
    bad_file = tmp_path / "tampered.json"
    bad_file.write_text(json.dumps(tampered))
    invalid = run_cli(
        "verify-receipt", bad_file, "--rpc", rpc_url, *pin, env=offline_env, cwd=tmp_path
    )
    assert invalid.returncode == 1, invalid.stdout + invalid.stderr
    assert "INVALID" in invalid.stdout
    assert "not the receipt's digest" in invalid.stdout  # the reason, not just a verdict

    # Revocation through the CLI: the chain then refuses the receipt and verify says revoked.
    revoked = run_cli(
        "revoke", a_id, "--reason", "错误版本 wrong version", env=user_env, cwd=tmp_path
    )
    assert revoked.returncode == 0, revoked.stdout + revoked.stderr
    after = run_cli("verify", a, env=user_env, cwd=tmp_path)
    assert after.returncode == 1 and "revoked" in after.stdout
    stale = run_cli(
        "verify-receipt", receipt_file, "--rpc", rpc_url, *pin, env=offline_env, cwd=tmp_path
    )
    assert stale.returncode == 1 and "revoked" in stale.stdout
    refused = run_cli("revoke", a_id, "--reason", "again", env=user_env, cwd=tmp_path)
    assert refused.returncode == 2 and "revoked already" in refused.stderr


@pytest.mark.chain
def test_anchoring_needs_an_api_key(server: ServerProcess, tmp_path: Path) -> None:
    doc = tmp_path / "doc.txt"
    doc.write_text("no key")
    result = run_cli("anchor", doc, env=_env(CHAINPROOF_SERVER=server.url), cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "HTTP 401" in result.stderr and "CHAINPROOF_API_KEY" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.chain
def test_client_library_round_trip(
    server: ServerProcess, submitter_key: str, tmp_path: Path
) -> None:
    doc = tmp_path / "big.bin"
    with doc.open("wb") as out:  # several upload chunks, so progress is reported in steps
        out.write(os.urandom(300_000))
    seen: list[tuple[int, int]] = []
    with ChainProofClient(server.url, api_key=submitter_key) as client:
        [item] = client.anchor_files(
            [doc], label="client test", on_upload=lambda d, t: seen.append((d, t))
        )
        assert item["digest"] == sha256_hex(doc) and item["status"] in ("queued", "batched")
        assert seen[-1] == (doc.stat().st_size, doc.stat().st_size)
        assert len(seen) > 2

        [by_digest] = client.anchor_digests("sha256", ["0x" + "ab" * 32])
        progress: list[tuple[int, int]] = []
        states = client.wait_anchored(
            [item["id"], by_digest["id"]],
            timeout=60,
            poll=0.1,
            on_progress=lambda d, t: progress.append((d, t)),
        )
        assert {s["status"] for s in states.values()} == {"anchored"}
        assert progress[-1] == (2, 2)
        assert states[item["id"]]["anchor"]["chain_id"] == 31337

        assert client.verify_file(doc)["verdict"] == "anchored"
        receipt = client.receipt(item["id"])
        assert client.verify_receipt(receipt)["valid"] is True
        with pytest.raises(ClientError) as missing:
            client.get_evidence(MISSING)
        assert missing.value.status == 404
        with pytest.raises(ClientError, match="public id"):
            client.get_evidence("1/../../keys")  # never reaches a URL


@pytest.mark.chain
def test_status_shows_the_chain_the_contract_and_the_queue(
    server: ServerProcess, rpc_url: str, tmp_path: Path
) -> None:
    info = httpx.get(f"{server.url}/api/v1/chain", timeout=10).json()
    result = run_cli(
        "status", "--data-dir", server.data_dir, "--server", server.url, env=_env(), cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert "chain 31337" in result.stdout
    assert info["contract"] in result.stdout
    assert re.search(r"anchored \d+", result.stdout)
    assert f"{server.url} ready" in result.stdout


@pytest.mark.chain
def test_reindex_gets_every_deleted_anchor_back(
    server: ServerProcess, submitter_key: str, rpc_url: str, tmp_path: Path
) -> None:
    with ChainProofClient(server.url, api_key=submitter_key) as client:
        items = client.anchor_digests("sha256", ["0x" + f"{i:064x}" for i in range(1, 4)])
        client.wait_anchored([i["id"] for i in items], timeout=60, poll=0.1)
    db = server.data_dir / "chainproof.db"
    with sqlite3.connect(db) as conn:
        before = {row[0] for row in conn.execute("SELECT root FROM anchor_record")}
        conn.execute("DELETE FROM anchor_record")
    assert before

    # The server's own Anvil is its: a second one on the same state file is refused...
    refused = run_cli(
        "reindex", "--data-dir", server.data_dir, "--chain", "anvil", env=_env(), cwd=tmp_path
    )
    assert refused.returncode == 2 and "already running" in refused.stderr
    # ...while its node, by URL, is fine.
    result = run_cli(
        "reindex", "--data-dir", server.data_dir, "--chain", rpc_url, env=_env(), cwd=tmp_path
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Anchored events" in result.stdout
    with sqlite3.connect(db) as conn:
        after = {row[0] for row in conn.execute("SELECT root FROM anchor_record")}
    assert before <= after


@pytest.mark.slow
@pytest.mark.chain
def test_pending_documents_time_out_then_a_worker_anchors_them(
    server: ServerProcess, rpc_url: str, tmp_path: Path
) -> None:
    """A second server without a batcher on the same Anvil (by URL): documents stay queued
    (--wait times out, no receipt yet) until ``chainproof worker`` runs; neither process
    starts a node of its own, and stopping them leaves the first server's Anvil running."""
    data_dir = tmp_path / "data2"
    api_only = start_server(data_dir, "--chain", rpc_url, "--no-batcher")
    try:
        key = create_key(data_dir, tmp_path, org="Beta")
        env = _env(CHAINPROOF_SERVER=api_only.url, CHAINPROOF_API_KEY=key)
        doc = tmp_path / "c.txt"
        doc.write_text("queued until a worker runs")

        waited = run_cli("anchor", doc, "--wait", "--timeout", "1", env=env, cwd=tmp_path)
        assert waited.returncode == 1, waited.stdout + waited.stderr
        assert "timed out" in waited.stderr
        evidence_id = row_id(waited.stdout, sha256_hex(doc))
        pending = run_cli(
            "receipt", str(evidence_id), "-o", tmp_path / "c.json", env=env, cwd=tmp_path
        )
        assert pending.returncode == 1, pending.stdout + pending.stderr
        assert "not anchored yet" in pending.stderr
        assert not (tmp_path / "c.json").exists()

        log = tmp_path / "worker.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [*CLI, "worker", "--data-dir", str(data_dir), "--chain", rpc_url],
                env=api_only.env,
                cwd=tmp_path,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        worker = ServerProcess(proc, "", data_dir, log, api_only.env)
        try:
            deadline = time.monotonic() + 60
            while True:
                verdict = run_cli("verify", doc, env=env, cwd=tmp_path)
                if verdict.returncode == 0:
                    break
                assert proc.poll() is None, worker.log_tail()
                assert time.monotonic() < deadline, verdict.stdout + worker.log_tail()
                time.sleep(0.3)
            anchors = [p for p in processes_mentioning("anvil") if str(data_dir) in p[1]]
            assert anchors == [], "a worker or server with --chain URL started its own node"
        finally:
            took = worker.stop(signal.SIGTERM)
        assert proc.returncode == 0, worker.log_tail()
        assert took < STOP_TIMEOUT
        assert "Traceback" not in worker.log_tail()
    finally:
        api_only.stop(signal.SIGTERM)
    assert processes_mentioning(str(data_dir)) == []
    assert rpc_chain_id(rpc_url) == 31337  # the first server's Anvil was left alone


# ---- progress bars: on a terminal, never under --json, never in a pipe ---------------------


def run_cli_on_a_terminal(
    *args: str | Path, env: dict[str, str], cwd: Path, timeout: float = 120.0
) -> tuple[int, str, str]:
    """Runs the command with stderr on a pseudo-terminal (stdout stays a pipe, as when a
    script reads the answer); returns (exit code, what the terminal showed, stdout)."""
    master, slave = pty.openpty()
    env = {**env, "TERM": "xterm-256color", "COLUMNS": "120"}
    with subprocess.Popen(
        [*CLI, *map(str, args)],
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=slave,
    ) as proc:
        os.close(slave)
        shown = bytearray()
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            shown += chunk
        os.close(master)
        assert proc.stdout is not None
        stdout = proc.stdout.read().decode()
        code = proc.wait(timeout)
    return code, shown.decode(errors="replace"), stdout


def _bar_shown(terminal: str, description: str) -> bool:
    """The task's description drawn beside a bar (rich's ━ segments)."""
    return description in terminal and "━" in terminal


@pytest.mark.chain
def test_verify_shows_hashing_progress_on_a_terminal_only(
    server: ServerProcess, user_env: dict[str, str], tmp_path: Path
) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(8 * 1024 * 1024))
    code, terminal, stdout = run_cli_on_a_terminal("verify", big, env=user_env, cwd=tmp_path)
    assert code == 1, terminal  # a document never anchored
    assert _bar_shown(terminal, "hashing"), terminal
    assert "not found" in stdout
    code, terminal, stdout = run_cli_on_a_terminal(
        "verify", big, "--json", env=user_env, cwd=tmp_path
    )
    assert code == 1 and json.loads(stdout)["verdict"] == "not_found"
    assert "hashing" not in terminal and "━" not in terminal, terminal
    piped = run_cli("verify", big, env=user_env, cwd=tmp_path)
    assert piped.returncode == 1 and "hashing" not in piped.stderr and "━" not in piped.stderr


@pytest.mark.chain
def test_subsidy_check_shows_hashing_progress_on_a_terminal_only(
    server: ServerProcess, tmp_path: Path
) -> None:
    reviewer = create_key(server.data_dir, server.data_dir.parent, role="reviewer", org="审核")
    env = _env(CHAINPROOF_SERVER=server.url, CHAINPROOF_API_KEY=reviewer)
    folder = tmp_path / "申报材料"
    folder.mkdir()
    for name in ("申报书.pdf", "发票.pdf"):
        (folder / name).write_bytes(os.urandom(2 * 1024 * 1024))
    # No application 999999: the files are hashed (with a bar) before the server says so.
    args = ("subsidy", "check", folder, "--application", "999999")
    code, terminal, _ = run_cli_on_a_terminal(*args, env=env, cwd=tmp_path)
    assert code == 2 and "999999" in terminal, terminal
    assert _bar_shown(terminal, "hashing 2 files"), terminal
    code, terminal, _ = run_cli_on_a_terminal(*args, "--json", env=env, cwd=tmp_path)
    assert code == 2 and "hashing" not in terminal and "━" not in terminal, terminal
    piped = run_cli(*args, env=env, cwd=tmp_path)
    assert piped.returncode == 2 and "hashing" not in piped.stderr


@pytest.mark.chain
def test_reindex_and_reanchor_show_progress_on_a_terminal_only(
    server: ServerProcess, submitter_key: str, rpc_url: str, tmp_path: Path
) -> None:
    with ChainProofClient(server.url, api_key=submitter_key) as client:
        items = client.anchor_digests("sha256", ["0x" + f"{i:064x}" for i in range(40, 43)])
        client.wait_anchored([i["id"] for i in items], timeout=60, poll=0.1)
    reindex = ("reindex", "--data-dir", server.data_dir, "--chain", rpc_url)
    code, terminal, stdout = run_cli_on_a_terminal(*reindex, env=_env(), cwd=tmp_path)
    assert code == 0 and "Anchored events" in stdout, terminal
    assert _bar_shown(terminal, "indexing events"), terminal
    piped = run_cli(*reindex, env=_env(), cwd=tmp_path)
    assert piped.returncode == 0 and "indexing" not in piped.stderr
    # --dry-run: every batch is on this chain, so it only checks them (and changes nothing).
    reanchor = ("reanchor", "--dry-run", "--data-dir", server.data_dir, "--chain", rpc_url)
    code, terminal, stdout = run_cli_on_a_terminal(*reanchor, env=_env(), cwd=tmp_path)
    assert code == 0 and "nothing to re-anchor" in stdout, terminal
    assert _bar_shown(terminal, "checking batches on chain"), terminal
    piped = run_cli(*reanchor, env=_env(), cwd=tmp_path)
    assert piped.returncode == 0 and "checking" not in piped.stderr


@pytest.mark.chain
def test_anchor_shows_no_progress_under_json(
    server: ServerProcess, user_env: dict[str, str], tmp_path: Path
) -> None:
    doc = tmp_path / "doc.txt"
    doc.write_bytes(os.urandom(1024))
    code, terminal, _ = run_cli_on_a_terminal("anchor", doc, env=user_env, cwd=tmp_path)
    assert code == 0 and _bar_shown(terminal, "upload"), terminal
    code, terminal, stdout = run_cli_on_a_terminal(
        "anchor", doc, "--json", env=user_env, cwd=tmp_path
    )
    assert code == 0 and json.loads(stdout)[0]["status"], terminal
    assert "upload" not in terminal and "━" not in terminal, terminal


@pytest.mark.chain
def test_sigint_stops_the_server_and_its_anvil(server: ServerProcess, rpc_url: str) -> None:
    """Runs last (file order): Ctrl-C must stop the API, the batcher and the managed node."""
    assert processes_mentioning(str(server.data_dir / "anvil-state.json")), "no managed Anvil?"
    took = server.stop(signal.SIGINT)
    assert took < STOP_TIMEOUT, f"took {took:.1f}s to stop"
    assert processes_mentioning(str(server.data_dir)) == []
    with pytest.raises(httpx.HTTPError):
        rpc_chain_id(rpc_url, timeout=1.0)
    assert "Traceback" not in server.log_tail(20_000)


def test_serve_keeps_its_chain_on_a_stable_port(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Receipts are checked against the node's URL: `serve --chain anvil` puts the node on
    the standard port when it is free; when a process that is not this data directory's
    chain holds it, the node moves to a free port and the line names that process (pid and
    command line); a port the user chose is never moved but refused, naming the holder;
    an external node is left as given."""
    import io
    import socket

    from rich.console import Console

    from chainproof.cli import server as server_cli  # `server` here is the fixture
    from chainproof.config import get_settings

    standard = free_port()
    monkeypatch.setattr(server_cli, "STANDARD_RPC_PORT", standard)
    for name in ("CHAINPROOF_CHAIN", "CHAINPROOF_CHAIN_PORT", "CHAINPROOF_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)  # settings_with writes them; undone after
    me = f"pid {os.getpid()} ("
    try:
        chosen = server_cli._choose_chain_port(
            server_cli.settings_with(chain="anvil", data_dir=tmp_path)
        )
        assert chosen.chain_port == standard

        monkeypatch.delenv("CHAINPROOF_CHAIN_PORT")
        with socket.socket() as held:
            held.bind(("127.0.0.1", standard))
            held.listen()
            taken = server_cli.settings_with(chain="anvil")
            err = io.StringIO()
            monkeypatch.setattr(server_cli, "_err", Console(file=err, width=400))
            moved = server_cli._choose_chain_port(taken).chain_port
            assert moved is not None and moved != standard
            said = err.getvalue()
            assert f"port {standard} is held by {me}" in said, said
            assert f"gets port {moved}" in said

            monkeypatch.delenv("CHAINPROOF_CHAIN_PORT")
            pinned_taken = server_cli.settings_with(chain="anvil", chain_port=standard)
            with pytest.raises(typer.Exit) as refused:
                server_cli._choose_chain_port(pinned_taken)
            assert refused.value.exit_code == 2
            assert f"cannot start anvil on port {standard}: it is held by {me}" in err.getvalue()

        # Another free port, not standard + 1: a parallel test's node may hold the neighbour.
        other = free_port()
        pinned = server_cli.settings_with(chain="ganache", chain_port=other)
        assert server_cli._choose_chain_port(pinned).chain_port == other
        monkeypatch.delenv("CHAINPROOF_CHAIN_PORT")
        external = server_cli.settings_with(chain="http://127.0.0.1:9")
        assert server_cli._choose_chain_port(external).chain_port is None
    finally:
        get_settings.cache_clear()
