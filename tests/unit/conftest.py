"""The app on an in-process chain, for unit tests of what the API serves (its OpenAPI
document, HEAD): one per test module, no batcher."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from fastapi.testclient import TestClient

from chainproof.api.app import create_app
from chainproof.chain.context import ChainContext
from chainproof.config import Settings
from chainproof.merkle import _leaf_encoder


@pytest.fixture(scope="module")
def client(chain: ChainContext, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The app on the module's embedded chain (``tests/apps.py``), no batcher."""
    tmp: Path = tmp_path_factory.mktemp("app")
    settings = Settings(
        env="test", data_dir=tmp, database_url=f"sqlite:///{tmp / 'db.sqlite'}", chain="embedded"
    )
    with TestClient(create_app(settings, chain=chain, run_batcher=False)) as test_client:
        yield test_client


@pytest.fixture(autouse=True)
def _fresh_leaf_encoders() -> None:
    """Each test builds the leaf encoders it uses, instead of finding them cached by an
    earlier test: `make mutation` maps each function to the tests that call it, and a test
    served from the cache would not count as exercising the encoder it relies on."""
    _leaf_encoder.cache_clear()


class AnswerHandler(BaseHTTPRequestHandler):
    """Answers GETs from ``answers`` (path -> (status, body)); a 301/302 points at the
    well-known path (the trust-anchor reading tests)."""

    answers: ClassVar[dict[str, tuple[int, bytes]]] = {}

    def do_GET(self) -> None:
        status, body = self.answers.get(self.path, (404, b"no"))
        self.send_response(status)
        if status in (301, 302):
            self.send_header("Location", "/.well-known/chainproof.json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def http_server() -> Iterator[str]:
    """A plain HTTP server answering from ``AnswerHandler.answers``."""
    server = HTTPServer(("127.0.0.1", 0), AnswerHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
