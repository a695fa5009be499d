"""Measurement 2: digests per second from the first request until all are anchored.

Bulk: concurrent clients POST /api/v1/evidence/digests with 10,000 digests each. Single:
concurrent clients POST /api/v1/evidence with one small file each. Baseline: one anchoring
transaction per document sent straight through web3.py (signed locally, pipelined, then
every receipt awaited) on a fresh Anvil.
"""

from __future__ import annotations

import http.client
import json
import os
import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from eth_account import Account
from eth_utils import keccak
from hexbytes import HexBytes
from web3.types import TxParams

from benchmarks.load import run_load
from benchmarks.results import Result
from benchmarks.stack import Server, fresh_chain
from chainproof.config import DEV_OPERATOR_KEY
from chainproof.receipts import evidence_leaf_hash

BULK = 10_000


@dataclass
class Ingested:
    """What the ingest runs leave behind for the verify measurement: anchored digests."""

    digests: list[str] = field(default_factory=list)
    retries: int = 0  # bulk requests answered 503 and sent again
    retry_reasons: list[str] = field(default_factory=list)


def anchored_between(server: Server, lo: str, hi: str) -> int:
    """Anchored rows whose public id is in [lo, hi]: UUIDv7 ids sort by creation time, so
    the rows of an earlier measurement on the same server sort before this one's."""
    db = sqlite3.connect(f"file:{server.data_dir / 'chainproof.db'}?mode=ro", uri=True)
    try:
        row = db.execute(
            "SELECT count(*) FROM evidence WHERE status = 'anchored' AND public_id BETWEEN ? AND ?",
            (lo, hi),
        ).fetchone()
        return int(row[0])
    finally:
        db.close()


def wait_anchored(server: Server, ids: list[str], *, timeout: float) -> float:
    """Polls the server's database until every id is anchored; returns perf_counter then."""
    lo, hi = min(ids), max(ids)
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if anchored_between(server, lo, hi) >= len(ids):
            return time.perf_counter()
        time.sleep(0.01)
    raise TimeoutError(f"{len(ids)} documents were not all anchored within {timeout}s")


def _post(
    conn: http.client.HTTPConnection, path: str, body: bytes, headers: dict[str, str]
) -> tuple[int, bytes]:
    conn.request("POST", path, body=body, headers=headers)
    resp = conn.getresponse()
    return resp.status, resp.read()


def _auth(server: Server, content_type: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {server.api_key}", "Content-Type": content_type}


def bulk(server: Server, *, clients: int, per_client: int, out: Ingested) -> tuple[float, float]:
    """(digests/s until anchored, digests/s until accepted)."""
    bodies: list[list[tuple[bytes, list[str]]]] = []
    for _ in range(clients):
        mine = []
        for _ in range(per_client):
            digests = ["0x" + os.urandom(32).hex() for _ in range(BULK)]
            body = json.dumps({"algorithm": "sha256", "digests": digests}).encode()
            mine.append((body, digests))
        bodies.append(mine)
    headers = _auth(server, "application/json")
    answers: list[bytes] = []
    retried: list[str] = []
    lock = threading.Lock()

    def client(c: int) -> None:
        conn = server.connection()
        for body, _ in bodies[c]:
            for _attempt in range(10):
                status, raw = _post(conn, "/api/v1/evidence/digests", body, headers)
                if status == 202:
                    break
                if status != 503:
                    raise RuntimeError(f"bulk ingest answered {status}: {raw[:500]!r}")
                # 503 is "try again" (a busy database): a well-behaved client retries.
                with lock:
                    retried.append(raw[:300].decode(errors="replace"))
                time.sleep(0.2)
            else:
                raise RuntimeError(f"bulk ingest kept answering 503: {retried[-1]}")
            with lock:
                answers.append(raw)
        conn.close()

    t0 = time.perf_counter()
    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    accepted_at = time.perf_counter()
    if len(answers) != clients * per_client:
        raise RuntimeError("a bulk client failed (see above)")
    out.retries += len(retried)
    if retried:
        out.retry_reasons.append(retried[0])
    ids = [item["id"] for b in answers for item in json.loads(b)["items"]]
    total = clients * per_client * BULK
    assert len(ids) == total
    done = wait_anchored(server, ids, timeout=600)
    for mine in bodies:
        for _, digests in mine:
            out.digests.extend(digests)
    return total / (done - t0), total / (accepted_at - t0)


def single(server: Server, *, clients: int, per_client: int) -> float:
    boundary = "benchboundary" + uuid.uuid4().hex
    headers = {
        "Authorization": f"Bearer {server.api_key}",
        "Content-Type": f"multipart/form-data; boundary={boundary}",
    }

    def body() -> bytes:
        content = os.urandom(1024)
        return (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="d.bin"\r\n'
                "Content-Type: application/octet-stream\r\n\r\n"
            ).encode()
            + content
            + f"\r\n--{boundary}--\r\n".encode()
        )

    payloads = [[body() for _ in range(per_client)] for _ in range(clients)]
    t0 = time.perf_counter()
    res = run_load(
        server.connection,
        lambda c, i: ("POST", "/api/v1/evidence", payloads[c][i], headers),
        clients=clients,
        per_client=per_client,
        keep_bodies=True,
    )
    if set(res.statuses) != {202}:
        bad = [b[:500] for b in res.bodies if b'"items"' not in b]
        raise RuntimeError(f"uploads answered {res.statuses}: {bad[:1]!r}")
    ids = [item["id"] for b in res.bodies for item in json.loads(b)["items"]]
    done = wait_anchored(server, ids, timeout=600)
    return len(ids) / (done - t0)


def one_tx_per_doc(workdir: Path, *, docs: int) -> float:
    """Documents/s anchoring each in its own transaction straight through web3.py."""
    with fresh_chain(workdir) as chain:
        w3 = chain.w3
        acct = Account.from_key(DEV_OPERATOR_KEY)
        fees = chain.sender.fee_fields()
        nonce = w3.eth.get_transaction_count(acct.address, "pending")
        chain_id = w3.eth.chain_id
        meta = keccak(text="bench")
        fn_template = chain.registry.contract.functions.anchor
        t0 = time.perf_counter()
        hashes = []
        for i in range(docs):
            leaf = evidence_leaf_hash("sha256", os.urandom(32), os.urandom(32))
            params = {
                "from": acct.address,
                "nonce": nonce + i,
                "gas": 120_000,
                "chainId": chain_id,
                **fees,
            }
            tx = fn_template(leaf, 1, meta).build_transaction(cast(TxParams, params))
            signed = acct.sign_transaction(tx)
            hashes.append(w3.eth.send_raw_transaction(signed.raw_transaction))
        for h in hashes:
            r = w3.eth.wait_for_transaction_receipt(h, timeout=600, poll_latency=0.01)
            assert r["status"] == 1, HexBytes(h).to_0x_hex()
        return docs / (time.perf_counter() - t0)


def measure(server: Server, workdir: Path, *, quick: bool, out: Ingested) -> list[Result]:
    base = one_tx_per_doc(workdir / "ingest-baseline", docs=100 if quick else 1_000)
    bulk_rate, accept_rate = bulk(
        server, clients=2 if quick else 4, per_client=1 if quick else 5, out=out
    )
    single_rate = single(server, clients=4 if quick else 8, per_client=25 if quick else 250)

    def row(name: str, value: float, target: float | None = None, notes: str = "") -> Result:
        return Result(
            measurement="ingest",
            name=name,
            value=value,
            unit="docs/s",
            baseline=base,
            baseline_name="1 tx per doc, web3.py",
            better="higher",
            target=target,
            target_text=f">= {target:,.0f}" if target else "",
            notes=notes,
        )

    return [
        row(
            "bulk digests/s until anchored",
            bulk_rate,
            50_000,
            notes=f"accepted (202) at {accept_rate:,.0f}/s; {out.retries} requests retried"
            + (f" after 503: {out.retry_reasons[0]}" if out.retry_reasons else ""),
        ),
        row("bulk digests/s until accepted (202)", accept_rate),
        row("single uploads/s until anchored", single_rate),
    ]
