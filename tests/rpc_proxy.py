"""A fault-injecting JSON-RPC proxy for tests: placed in front of a real node (Anvil), it
answers as that node would, except for the faults a test switches on while it runs:

* ``delay``: seconds slept before each answer (a slow or overloaded node);
* ``drop``: the connection is closed without an answer (a node that fell over);
* ``head_lag``: the head reported ``head_lag`` blocks behind the real one (``eth_blockNumber``
  and the ``latest`` block: a node that stopped importing);
* ``chain_id``: another chain id (a node of another network);
* ``forged``: block number -> block hash to report for that height instead of the real one
  (a node on a minority fork, or a lying one);
* ``client_version``: another ``web3_clientVersion`` (Anvil passing for a Besu node).

Threaded (one thread per connection): a delayed answer does not hold up the others. Batch
requests get the same treatment, element by element. No production code imports this.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from chainproof.chain.nodes import free_port


class RpcProxy:
    """``RpcProxy(upstream).start()``; ``url`` is where clients talk to it."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.delay = 0.0
        self.drop = False
        self.head_lag = 0
        self.chain_id: int | None = None
        self.forged: dict[int, str] = {}
        self.client_version: str | None = None
        self.requests = 0  # answered or dropped, for tests that check a node was not used
        self.sent_raw = 0  # eth_sendRawTransaction calls relayed (where the writes went)
        self._http = httpx.Client(timeout=30.0)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"

    def heal(self) -> None:
        """All faults off."""
        self.delay, self.drop, self.head_lag, self.chain_id = 0.0, False, 0, None
        self.forged = {}
        self.client_version = None

    # ---- serving ------------------------------------------------------------------------

    def start(self) -> RpcProxy:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass  # quiet: tests read the node's answers, not an access log

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with proxy._lock:
                    proxy.requests += 1
                if proxy.drop:
                    self.close_connection = True
                    return  # no status line: the client sees the connection die
                if proxy.delay:
                    threading.Event().wait(proxy.delay)
                out = json.dumps(proxy.answer(json.loads(body))).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        # A short poll: shutdown() waits for it, once per proxy per test.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        self._http.close()

    def __enter__(self) -> RpcProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- rewriting ----------------------------------------------------------------------

    def answer(self, request: Any) -> Any:
        if isinstance(request, list):
            return [self._one(r) for r in request]
        return self._one(request)

    def _call(self, method: str, params: list[Any]) -> Any:
        body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
        return self._http.post(self.upstream, json=body).json().get("result")

    def _one(self, request: dict[str, Any]) -> dict[str, Any]:
        method = request.get("method")
        params = list(request.get("params") or [])
        if method == "eth_sendRawTransaction":
            with self._lock:
                self.sent_raw += 1
        if method == "web3_clientVersion" and self.client_version is not None:
            return {"jsonrpc": "2.0", "id": request.get("id"), "result": self.client_version}
        if method == "eth_chainId" and self.chain_id is not None:
            return {"jsonrpc": "2.0", "id": request.get("id"), "result": hex(self.chain_id)}
        if method == "eth_blockNumber" and self.head_lag:
            head = int(self._call("eth_blockNumber", []), 16)
            result = hex(max(0, head - self.head_lag))
            return {"jsonrpc": "2.0", "id": request.get("id"), "result": result}
        if method == "eth_getBlockByNumber" and params and params[0] == "latest" and self.head_lag:
            head = int(self._call("eth_blockNumber", []), 16)
            params[0] = hex(max(0, head - self.head_lag))
        response = self._http.post(self.upstream, json={**request, "params": params}).json()
        result = response.get("result")
        if method in ("eth_getBlockByNumber", "eth_getBlockByHash") and isinstance(result, dict):
            number = int(result.get("number", "0x0"), 16)
            if number in self.forged:
                response["result"] = {**result, "hash": self.forged[number]}
        return dict(response)
