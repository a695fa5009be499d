"""JSON-RPC calls a batch costs on a real node, counted by a proxy in front of Anvil.

The chain id of a node never changes under a running provider, yet web3's middleware and the
sender asked for it before every call that builds or validates a transaction: 7 of the 16.6
calls a batch made (issue 17). ChainProof's providers cache ``eth_chainId`` (chain/nodes.py).
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session

from chainproof.chain.context import open_chain
from chainproof.chain.nodes import Node, make_node
from chainproof.config import DEV_OPERATOR_KEY
from chainproof.digests import hash_bytes
from chainproof.evidence.batcher import Batcher
from chainproof.evidence.intake import submit_digests
from chainproof.store.db import make_engine, upgrade

from ..conftest import node_binary_present, require

pytestmark = pytest.mark.chain


class CountingProxy:
    """Forwards JSON-RPC posts to ``upstream`` and counts each method, batches included."""

    def __init__(self, upstream: str) -> None:
        self.calls: Counter[str] = Counter()
        self.alone: Counter[str] = Counter()  # calls sent on their own, not in a batch
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                payload = json.loads(body)
                with proxy._lock:
                    for call in payload if isinstance(payload, list) else [payload]:
                        proxy.calls[call["method"]] += 1
                    if isinstance(payload, dict):
                        proxy.alone[payload["method"]] += 1
                answer = httpx.post(
                    upstream, content=body, headers={"Content-Type": "application/json"}
                )
                self.send_response(answer.status_code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def snapshot(self) -> tuple[Counter[str], Counter[str]]:
        with self._lock:
            return Counter(self.calls), Counter(self.alone)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture(scope="module")
def anvil(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    require(node_binary_present("anvil"), "the anvil binary is missing from node_modules")
    node = make_node("anvil", data_dir=tmp_path_factory.mktemp("rpc-calls-anvil"))
    node.start()
    try:
        yield node
    finally:
        node.stop()


def test_a_batch_asks_the_chain_id_only_to_check_the_chain(anvil: Node, tmp_path: Path) -> None:
    assert anvil.rpc_url is not None
    proxy = CountingProxy(anvil.rpc_url)
    chain = open_chain(chain=proxy.url, data_dir=tmp_path, operator_key=DEV_OPERATOR_KEY)
    try:
        url = f"sqlite:///{tmp_path / 'cp.db'}"
        upgrade(url)
        engine = make_engine(url)
        batches = 4
        digests = [hash_bytes(f"rpc-{i}".encode(), "sha256") for i in range(batches * 5)]
        with Session(engine) as s:
            submit_digests(session=s, algorithm="sha256", digests=digests, member_id=None)
        batcher = Batcher(engine=engine, chain=chain, batch_size=5, interval_ms=10)
        before, before_alone = proxy.snapshot()
        batcher.drain(timeout=120)
        after, after_alone = proxy.snapshot()
        spent, alone = after - before, after_alone - before_alone
    finally:
        chain.stop()
        proxy.close()
    per_batch = {method: n / batches for method, n in spent.items()}
    print(f"JSON-RPC calls per batch: {sum(spent.values()) / batches:.1f} {per_batch}")
    assert spent["eth_sendRawTransaction"] == batches  # the batches were really anchored
    # Before the cache: about 5 per batch, each a request of its own. What is left is the
    # chain context's identity check (chain id + genesis + the registry's code in one
    # uncached JSON-RPC batch), as often as its status expires: time, not batches, sets it.
    assert alone["eth_chainId"] == 0, per_batch
    assert spent["eth_chainId"] <= spent["eth_getCode"], per_batch
