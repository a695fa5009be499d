"""Measurement 3: time to anchor, from the 202 to ``anchored``, at a steady request rate.

Requests of one digest each go out on a fixed schedule (R per second, by a few client
threads so a slow answer does not delay the next). Each 202's wall-clock time is compared
with the ``anchored_at`` the batcher writes when the batch's receipt has its confirmations.
Baseline: one transaction per document, sent and awaited (send → receipt) through web3.py.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import cast

from eth_account import Account
from eth_utils import keccak
from sqlmodel import col, select
from web3.types import TxParams

from benchmarks.ingest import wait_anchored
from benchmarks.results import Result, percentile
from benchmarks.stack import Server, fresh_chain, request_json
from chainproof.config import DEV_OPERATOR_KEY
from chainproof.receipts import evidence_leaf_hash
from chainproof.store.db import open_session
from chainproof.store.models import Evidence


def steady(server: Server, *, rate: float, seconds: float, clients: int = 4) -> list[float]:
    total = int(rate * seconds)
    accepted: dict[str, float] = {}
    lock = threading.Lock()
    headers = {"Authorization": f"Bearer {server.api_key}", "Content-Type": "application/json"}
    t0 = time.perf_counter() + 0.2

    def worker(c: int) -> None:
        conn = server.connection()
        for k in range(c, total, clients):
            wait = t0 + k / rate - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            body = json.dumps({"algorithm": "sha256", "digests": ["0x" + os.urandom(32).hex()]})
            status, answer = request_json(
                conn, "POST", "/api/v1/evidence/digests", body.encode(), headers
            )
            at = time.time()
            if status != 202:
                raise RuntimeError(f"answered {status}: {answer}")
            with lock:
                accepted[str(answer["items"][0]["id"])] = at
        conn.close()

    threads = [threading.Thread(target=worker, args=(c,)) for c in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wait_anchored(server, list(accepted), timeout=120)
    with open_session(server.database_url) as s:
        rows = s.exec(
            select(Evidence.public_id, Evidence.anchored_at).where(
                col(Evidence.public_id).in_(list(accepted))
            )
        ).all()
    return [
        r[1].timestamp() - accepted[r[0]] for r in rows if r[1] is not None and r[0] is not None
    ]


def one_tx_latency(workdir: Path, *, docs: int) -> list[float]:
    """Seconds from sending a document's own anchoring transaction to its receipt."""
    with fresh_chain(workdir) as chain:
        w3 = chain.w3
        acct = Account.from_key(DEV_OPERATOR_KEY)
        fees = chain.sender.fee_fields()
        nonce = w3.eth.get_transaction_count(acct.address, "pending")
        meta = keccak(text="bench")
        out = []
        for i in range(docs):
            leaf = evidence_leaf_hash("sha256", os.urandom(32), os.urandom(32))
            t0 = time.perf_counter()
            params = {"from": acct.address, "nonce": nonce + i, "gas": 120_000, **fees}
            fn = chain.registry.contract.functions.anchor(leaf, 1, meta)
            tx = fn.build_transaction(cast(TxParams, params))
            h = w3.eth.send_raw_transaction(acct.sign_transaction(tx).raw_transaction)
            w3.eth.wait_for_transaction_receipt(h, timeout=60, poll_latency=0.01)
            out.append(time.perf_counter() - t0)
        return out


def measure(server: Server, workdir: Path, *, quick: bool) -> list[Result]:
    rate, seconds = (20.0, 3.0) if quick else (50.0, 20.0)
    samples = steady(server, rate=rate, seconds=seconds)
    base = one_tx_latency(workdir / "latency-baseline", docs=20 if quick else 100)
    out = []
    for p in (50, 95, 99):
        out.append(
            Result(
                measurement="latency",
                name=f"time to anchor p{p} at {rate:g} req/s",
                value=percentile(samples, p),
                unit="s",
                baseline=percentile(base, p),
                baseline_name="own tx send→receipt",
                better="lower",
                target=2.0 if p == 99 else None,
                target_text="<= 2 s" if p == 99 else "",
                notes=f"{len(samples)} documents",
            )
        )
    return out
