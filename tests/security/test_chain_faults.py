"""Chain faults against a real ``chainproof serve --chain <url>`` and a test-owned Anvil.

* the node stops while a batch is in flight: uploads still get 202, ``/readyz`` is 503 and
  says the node is unreachable, the batcher waits (without flooding the log) and resumes
  once the node is back from its state file; every document is anchored exactly once and
  every receipt verifies;
* the node answers JSON-RPC errors, garbage or HTTP 500 (through a fault-injecting proxy):
  the same, and no verdict is made up;
* the node hangs: the server must still answer its probes promptly;
* the node is reset to a fresh chain under the running server: detected, ``chain_mismatch``
  and never ``anchored``, a message naming ``chainproof contracts deploy --new``; that
  recovery, as docs/operations.md describes it (``contracts deploy --new``, then
  ``chainproof reanchor``, which keeps the old times as claims in a file), then anchors
  everything on the new chain.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func
from sqlmodel import col, select

from chainproof import identity
from chainproof.audit.models import AuditEntry
from chainproof.chain.managed import AnvilNode
from chainproof.chain.nodes import free_port, http_web3
from chainproof.receipts import Receipt, verify_receipt
from chainproof.store import db
from chainproof.store.models import Batch, Evidence

from ..conftest import node_binary_present, require
from ..factories import pinned
from . import _procs

pytestmark = pytest.mark.chain


@pytest.fixture
def anvil(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[AnvilNode]:
    """A persisted Anvil the test owns; ``parametrize("anvil", [1], indirect=True)`` gives
    it 1 s blocks, so that a batch stays in flight a while."""
    require(node_binary_present("anvil"), "anvil is missing from node_modules (run `make install`)")
    node = AnvilNode(
        state_file=tmp_path / "anvil" / "state.json",
        port=free_port(),
        block_time=getattr(request, "param", None),
    )
    node.start()
    try:
        yield node
    finally:
        node.stop()


_DOCUMENTS = col(Evidence.member_id).is_not(None)


class Server:
    """A ``chainproof serve`` process, its database and a submitter key."""

    def __init__(self, proc: _procs.Proc, data: Path) -> None:
        self.proc = proc
        self.data = data
        self.db_url = f"sqlite:///{data / 'chainproof.db'}"
        self.headers: dict[str, str] = {}

    def key(self) -> dict[str, str]:
        if not self.headers:
            with db.open_session(self.db_url) as session:
                _, key = identity.create_api_key(
                    session=session, org="示范企业甲", role="submitter"
                )
            self.headers = {"Authorization": f"Bearer {key}"}
        return self.headers

    def submit(self, n: int, tag: str) -> list[dict[str, Any]]:
        digests = [f"0x{i:060x}{sum(tag.encode()) & 0xFFFF:04x}" for i in range(n)]
        r = httpx.post(
            f"{self.proc.url}/api/v1/evidence/digests",
            json={"digests": digests},
            headers=self.key(),
            timeout=30,
        )
        assert r.status_code == 202, r.text
        items: list[dict[str, Any]] = r.json()["items"]
        return items

    def count(self, *statuses: str) -> int:
        """The submitter's documents (not the audit log's own records, of no member: issue
        25 makes `contracts deploy` an entry)."""
        with db.open_session(self.db_url) as s:
            q = select(func.count()).select_from(Evidence).where(_DOCUMENTS)
            if statuses:
                q = q.where(col(Evidence.status).in_(statuses))
            return int(s.exec(q).one())

    def batches(self, status: str) -> int:
        with db.open_session(self.db_url) as s:
            q = select(func.count()).select_from(Batch).where(Batch.status == status)
            return int(s.exec(q).one())

    def wait(self, what: str, condition: Callable[[], bool], timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            assert self.proc.alive(), self.proc.tail()
            assert time.monotonic() < deadline, f"timed out waiting for {what}\n{self.proc.tail()}"
            time.sleep(0.1)

    def ready(self) -> httpx.Response:
        return httpx.get(f"{self.proc.url}/readyz", timeout=20)

    def receipts(self) -> list[Receipt]:
        out = []
        with db.open_session(self.db_url) as s:
            ids = [e.public_id for e in s.exec(select(Evidence).where(_DOCUMENTS)).all()]
        for evidence_id in ids:
            r = httpx.get(
                f"{self.proc.url}/api/v1/evidence/{evidence_id}/receipt",
                headers=self.key(),
                timeout=10,
            )
            assert r.status_code == 200, r.text
            out.append(Receipt.from_dict(r.json()))
        return out


StartServer = Callable[[str], Server]


@pytest.fixture
def start(tmp_path: Path) -> Iterator[StartServer]:
    """Starts ``chainproof serve --chain URL`` on ``tmp_path/data``; stops all at the end."""
    running: list[_procs.Proc] = []

    def go(chain: str) -> Server:
        data = tmp_path / "data"
        proc = _procs.serve(
            data,
            chain=chain,
            log=tmp_path / "serve.log",
            CHAINPROOF_BATCH_SIZE="10",
            CHAINPROOF_BATCH_INTERVAL_MS="50",
        ).start()
        running.append(proc)
        proc.wait_http("/healthz")
        return Server(proc, data)

    yield go
    for proc in running:
        proc.stop()


def assert_anchored_once(server: Server, rpc_url: str) -> None:
    """Every document anchored, each in exactly one on-chain batch; every receipt valid."""
    w3 = http_web3(rpc_url)
    receipts = server.receipts()
    assert receipts and len({r.digest for r in receipts}) == len(receipts)
    for receipt in receipts:
        verdict = verify_receipt(receipt, w3, trust=pinned(w3, receipt.contract))
        assert verdict.valid, verdict.reason
    with db.open_session(server.db_url) as s:
        confirmed = s.exec(select(Batch).where(Batch.status == "confirmed")).all()
        audit = s.exec(  # the audit log's records are anchored in batches of their own
            select(func.count())
            .select_from(Evidence)
            .where(
                col(Evidence.member_id).is_(None),
                col(Evidence.batch_id).in_([b.id for b in confirmed]),
            )
        ).one()
    assert sum(b.leaf_count for b in confirmed) == len(receipts) + audit


@pytest.mark.slow
@pytest.mark.parametrize("anvil", [1], indirect=True, ids=["1s-blocks"])
def test_node_stopped_mid_batch_then_back_from_its_state_file(
    anvil: AnvilNode, start: StartServer
) -> None:
    assert anvil.rpc_url
    server = start(anvil.rpc_url)
    server.wait("ready", lambda: server.ready().status_code == 200)
    first = server.submit(25, "before")
    server.wait("a batch in flight", lambda: server.batches("sent") > 0, timeout=30)
    anvil.stop()  # SIGTERM: Anvil writes its state file; the pending transaction is lost
    down_at = time.monotonic()

    accepted = server.submit(5, "while down")
    assert {i["status"] for i in accepted} == {"queued"}
    ready = server.ready()
    assert ready.status_code == 503, ready.text
    body = ready.json()
    assert body["checks"]["chain"]["ok"] is False
    assert "unreachable" in body["checks"]["chain"]["detail"], body
    # Verification of an anchored document needs the chain: 503, never a made-up verdict.
    if server.count("anchored"):
        with db.open_session(server.db_url) as s:
            digest = s.exec(select(Evidence.digest).where(Evidence.status == "anchored")).first()
        v = httpx.post(f"{server.proc.url}/api/v1/verify", json={"digest": digest}, timeout=60)
        assert v.status_code == 503, v.text
    time.sleep(3)
    text = server.proc.text()
    pauses = text.count("batcher paused") + text.count("batcher step failed")
    assert 1 <= pauses <= 2 * (time.monotonic() - down_at) + 5, f"{pauses} lines: log flood?"

    anvil.start()  # same port, same state file
    server.wait("ready again", lambda: server.ready().status_code == 200)
    total = len(first) + len(accepted)
    server.wait("everything anchored", lambda: server.count("anchored") == total, timeout=90)
    assert anvil.rpc_url
    assert_anchored_once(server, anvil.rpc_url)


class FaultyRpc:
    """A JSON-RPC proxy in front of a node; ``mode`` picks the fault it injects:
    pass, error (JSON-RPC errors), garbage (HTML), http500, hang (until released)."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.mode = "pass"
        self.release = threading.Event()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                mode = proxy.mode
                if mode == "hang":
                    proxy.release.wait(60)
                    mode = "pass"
                if mode == "pass":
                    r = httpx.post(
                        proxy.upstream,
                        content=body,
                        timeout=30,
                        headers={"content-type": "application/json"},
                    )
                    self._answer(r.status_code, r.content)
                elif mode == "error":
                    request = json.loads(body)
                    batch = request if isinstance(request, list) else [request]
                    out = [
                        {
                            "jsonrpc": "2.0",
                            "id": q.get("id"),
                            "error": {"code": -32603, "message": "injected failure"},
                        }
                        for q in batch
                    ]
                    answer = out if isinstance(request, list) else out[0]
                    self._answer(200, json.dumps(answer).encode())
                elif mode == "garbage":
                    self._answer(200, b"<html>502 bad gateway</html>")
                else:
                    self._answer(500, b"internal error")

            def _answer(self, status: int, content: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def faulty(anvil: AnvilNode) -> Iterator[FaultyRpc]:
    assert anvil.rpc_url
    proxy = FaultyRpc(anvil.rpc_url)
    try:
        yield proxy
    finally:
        proxy.close()


@pytest.mark.slow
def test_rpc_errors_garbage_and_500s_are_503s_and_nothing_is_lost(
    anvil: AnvilNode, faulty: FaultyRpc, start: StartServer
) -> None:
    server = start(faulty.url)
    server.wait("ready", lambda: server.ready().status_code == 200)
    before = server.submit(10, "before")
    server.wait("anchored", lambda: server.count("anchored") == len(before))
    with db.open_session(server.db_url) as s:
        digest = s.exec(select(Evidence.digest)).first()
    total = len(before)
    first_id = before[0]["id"]
    for mode in ("error", "garbage", "http500"):
        faulty.mode = mode
        time.sleep(1.2)  # the chain status is cached for a second
        ready = server.ready()
        assert ready.status_code == 503, (mode, ready.text)
        assert ready.json()["checks"]["chain"]["ok"] is False
        total += len(server.submit(3, mode))
        v = httpx.post(f"{server.proc.url}/api/v1/verify", json={"digest": digest}, timeout=60)
        assert v.status_code == 503, (mode, v.status_code, v.text)
        r = httpx.get(f"{server.proc.url}/api/v1/evidence/{first_id}", timeout=10)
        assert r.status_code == 200  # the index still answers
    faulty.mode = "pass"
    server.wait("ready again", lambda: server.ready().status_code == 200)
    server.wait("all anchored", lambda: server.count("anchored") == total, timeout=90)
    assert anvil.rpc_url
    assert_anchored_once(server, anvil.rpc_url)
    assert "Traceback" not in server.proc.text()


@pytest.mark.slow
def test_a_hung_node_does_not_hang_the_probes(
    anvil: AnvilNode, faulty: FaultyRpc, start: StartServer
) -> None:
    server = start(faulty.url)
    server.wait("ready", lambda: server.ready().status_code == 200)
    faulty.mode = "hang"
    time.sleep(1.2)
    try:
        # The client's own deadline, not a timing assertion: a hung probe never answers.
        ready = httpx.get(f"{server.proc.url}/readyz", timeout=5)
        assert ready.status_code == 503, ready.text
        assert "unreachable" in ready.json()["checks"]["chain"]["detail"], ready.text
    finally:
        faulty.release.set()


@pytest.mark.slow
def test_node_reset_under_a_running_server_then_deploy_new(
    anvil: AnvilNode, start: StartServer, tmp_path: Path
) -> None:
    assert anvil.rpc_url and anvil.state_file
    url = anvil.rpc_url
    server = start(url)
    server.wait("ready", lambda: server.ready().status_code == 200)
    old = server.submit(10, "old chain")
    server.wait("anchored", lambda: server.count("anchored") == len(old))
    old_receipt = Receipt.from_dict(
        httpx.get(
            f"{server.proc.url}/api/v1/evidence/{old[0]['id']}/receipt", headers=server.key()
        ).json()
    )
    old_anchor = pinned(http_web3(url), old_receipt.contract)
    assert verify_receipt(old_receipt, http_web3(url), trust=old_anchor).valid

    anvil.stop()
    anvil.state_file.unlink()  # the reset: same URL, brand-new chain
    time.sleep(1.1)  # Anvil's genesis is its start second: make it another one
    anvil.start()

    server.wait("mismatch detected", lambda: server.ready().status_code == 503, timeout=30)
    ready = server.ready().json()
    assert ready["error"]["code"] == "chain_mismatch", ready
    reason = ready["checks"]["chain"]["detail"]
    assert "contracts deploy --new" in reason, reason
    verdict = httpx.post(
        f"{server.proc.url}/api/v1/verify", json={"digest": old[0]["digest"]}, timeout=30
    ).json()
    assert verdict["verdict"] == "chain_mismatch", verdict  # never "anchored" on a reset chain
    queued = server.submit(4, "after reset")
    assert {i["status"] for i in queued} == {"queued"}
    time.sleep(1.5)
    assert server.count("queued") >= len(queued), "anchored on a chain that is not ours?"
    assert "batcher paused: chain is not usable" in server.proc.text()
    checked = httpx.post(
        f"{server.proc.url}/api/v1/receipts/verify",
        json=old_receipt.model_dump(mode="json", exclude_none=True),
        timeout=30,
    ).json()
    assert checked["valid"] is False, checked

    # The documented recovery: stop, `chainproof contracts deploy --new`, start again.
    server.proc.stop()
    deployed = _procs.run_cli(
        "contracts", "deploy", "--chain", url, "--new",
        env=_procs.cli_env(CHAINPROOF_DATA_DIR=server.data), cwd=tmp_path,
    )  # fmt: skip
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    assert "retired the old record" in deployed.stdout
    with db.open_session(server.db_url) as s:  # the operator's deployment is audited (25)
        [entry] = s.exec(select(AuditEntry).where(AuditEntry.action == "deployment.record")).all()
    assert entry.actor.startswith("cli:") and '"contract":"EvidenceRegistry"' in entry.record
    with db.open_session(server.db_url) as s:
        old_times = {
            e.public_id: b.block_timestamp
            for e, b in s.exec(select(Evidence, Batch).where(Evidence.batch_id == Batch.id)).all()
            if b.status == "confirmed"
        }
    assert len(old_times) == len(old), "the old anchors are still in the index"
    env = _procs.cli_env(CHAINPROOF_DATA_DIR=server.data)
    dry = _procs.run_cli("reanchor", "--chain", url, "--dry-run", env=env, cwd=tmp_path)
    assert dry.returncode == 0 and f"would re-queue {len(old)} documents" in dry.stdout, dry
    moved = _procs.run_cli("reanchor", "--chain", url, env=env, cwd=tmp_path)
    assert moved.returncode == 0, moved.stdout + moved.stderr
    assert f"re-queued {len(old)} documents" in moved.stdout, moved.stdout
    assert "claims, not proofs" in moved.stdout
    [claims_file] = (server.data / "reanchor").glob("claims-*.json")
    claims = json.loads(claims_file.read_text())
    assert "not proofs" in claims["note"]
    kept = {c["evidence_id"]: c["claimed_anchor"]["block_timestamp"] for c in claims["claims"]}
    assert kept == old_times, "the old times are kept as claims, one per document"
    assert server.count("queued") == len(old) + len(queued)
    again = _procs.run_cli("reanchor", "--chain", url, env=env, cwd=tmp_path)
    assert "nothing to re-anchor" in again.stdout, again.stdout  # idempotent
    server = start(url)
    server.wait("ready on the new chain", lambda: server.ready().status_code == 200)
    total = len(old) + len(queued)
    server.wait("all anchored anew", lambda: server.count("anchored") == total, timeout=90)
    assert_anchored_once(server, url)
    # The receipt from the old chain stays invalid here: no false verdict either way.
    assert not verify_receipt(old_receipt, http_web3(url), trust=old_anchor).valid
    new_anchor = pinned(http_web3(url), old_receipt.contract)  # the new genesis: still no
    assert not verify_receipt(old_receipt, http_web3(url), trust=new_anchor).valid
