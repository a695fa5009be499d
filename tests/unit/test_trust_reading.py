"""trust.py word for word (issue 27: what mutation testing found unasserted): each refusal a
verifier reads when an anchor is not one, both sides of each size bound (file and HTTP), which
sources count as URLs, and the anchor's summary line.

A plain HTTP server in a thread stands in for an operator's web server; everything else is
local files. The anchors against a real chain are in test_receipt_verdicts.py.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import tracemalloc
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from chainproof.errors import InvalidInputError
from chainproof.trust import (
    MAX_ANCHOR_BYTES,
    TRUST_ANCHOR_FORMAT,
    WELL_KNOWN_PATH,
    TrustAnchor,
    well_known_url,
)

from .conftest import AnswerHandler

REGISTRY = "0x5FbDB2315678afecb367f032d93F642f64180aa3"


def good() -> dict[str, Any]:
    return {
        "format": TRUST_ANCHOR_FORMAT,
        "chain_id": 31337,
        "genesis_hash": "0x" + "ab" * 32,
        "registry": REGISTRY,
        "registry_code_hash": "0x" + "cd" * 32,
        "registry_version": 2,
        "trace_registry": None,
        "trace_registry_code_hash": None,
        "rpc_url": None,
        "past_registries": [],
    }


def padded(size: int) -> bytes:
    """A valid anchor document of exactly ``size`` bytes (JSON allows trailing spaces)."""
    text = json.dumps(good()).encode()
    assert len(text) <= size
    return text + b" " * (size - len(text))


def refusal(call: Any, *args: Any) -> str:
    with pytest.raises(InvalidInputError) as info:
        call(*args)
    message: str = info.value.message
    return message


# --- the document -------------------------------------------------------------------------


def test_what_is_not_an_anchor_document_reads_so() -> None:
    assert refusal(TrustAnchor.from_dict, [good()]) == ("invalid trust anchor: not a JSON object")
    assert refusal(TrustAnchor.from_dict, {**good(), "format": "chainproof-trust-anchor/2"}) == (
        "invalid trust anchor: format is 'chainproof-trust-anchor/2', not "
        "'chainproof-trust-anchor/1'"
    )
    no_format = {k: v for k, v in good().items() if k != "format"}
    assert refusal(TrustAnchor.from_dict, no_format) == (
        "invalid trust anchor: format is None, not 'chainproof-trust-anchor/1'"
    )
    try:
        json.loads("{nope")
    except ValueError as exc:
        expected = f"invalid trust anchor: not JSON ({exc})"
    assert refusal(TrustAnchor.from_json, "{nope") == expected
    assert refusal(TrustAnchor.from_json, b"\xff\xfe\xfd").startswith(
        "invalid trust anchor: not JSON ("
    )


def test_a_model_error_without_a_field_is_the_anchors() -> None:
    traced = {**good(), "trace_registry": REGISTRY}
    assert refusal(TrustAnchor.from_dict, traced) == (
        "invalid trust anchor: anchor: trace_registry and trace_registry_code_hash go together"
    )


def test_five_problems_are_shown_then_counted_without_inputs_or_context() -> None:
    fields = ("chain_id", "genesis_hash", "registry", "registry_code_hash", "registry_version")
    for n in (1, 5, 6, 7):
        broken = {
            k: v for k, v in good().items() if k not in (*fields, "rpc_url", "past_registries")[:n]
        }
        with pytest.raises(InvalidInputError) as info:
            TrustAnchor.from_dict(broken)
        errors = info.value.details["errors"]
        assert len(errors) == n
        assert all(set(e) == {"type", "loc", "msg"} for e in errors), errors
        shown = "; ".join(f"{e['loc'][0]}: Field required" for e in errors[:5])
        more = f"; and {n - 5} more" if n > 5 else ""
        assert info.value.message == f"invalid trust anchor: {shown}{more}"
    with pytest.raises(InvalidInputError) as info:
        TrustAnchor.from_dict({**good(), "chain_id": 0})
    assert info.value.details["errors"][0].keys() == {"type", "loc", "msg"}


def test_the_summary_names_chain_genesis_registry_and_code() -> None:
    anchor = TrustAnchor.from_dict(good())
    assert anchor.summary() == (
        f"chain 31337 (genesis {'0x' + 'ab' * 32}), registry {REGISTRY} (code {'0x' + 'cd' * 32})"
    )


def test_the_current_registry_wins_over_a_past_entry_at_its_address() -> None:
    past = {"address": REGISTRY, "code_hash": "0x" + "ee" * 32, "version": 1}
    anchor = TrustAnchor.from_dict({**good(), "past_registries": [past]})
    assert anchor.honoured() == {REGISTRY: ("0x" + "cd" * 32, 2)}


# --- files --------------------------------------------------------------------------------


def test_a_file_of_exactly_the_bound_reads_and_one_byte_more_does_not(tmp_path: Path) -> None:
    path = tmp_path / "anchor.json"
    path.write_bytes(padded(MAX_ANCHOR_BYTES))
    assert TrustAnchor.from_file(path).registry == REGISTRY
    path.write_bytes(padded(MAX_ANCHOR_BYTES + 1))
    assert refusal(TrustAnchor.from_file, path) == (
        f"{path} is over {MAX_ANCHOR_BYTES} bytes: not an anchor"
    )
    missing = tmp_path / "missing.json"
    assert refusal(TrustAnchor.load, str(missing)) == (
        f"cannot read trust anchor {missing}: No such file or directory"
    )


# --- URLs ---------------------------------------------------------------------------------


def test_only_http_and_https_urls_with_a_host_are_urls() -> None:
    for url in ("file:///etc/passwd", "ftp://example.org/a.json", "https://", "example.org"):
        assert refusal(well_known_url, url) == f"not an http(s) URL: {url!r}"
    assert well_known_url("http://example.org") == "http://example.org" + WELL_KNOWN_PATH
    assert well_known_url("https://example.org//") == "https://example.org" + WELL_KNOWN_PATH
    # Only slashes come off the end: a base path ending in other characters keeps them.
    assert well_known_url("https://example.org/BOX") == (
        "https://example.org/BOX" + WELL_KNOWN_PATH
    )
    assert well_known_url("https://example.org/a.json") == "https://example.org/a.json"
    assert well_known_url("https://example.org/a.jsonx") == (
        "https://example.org/a.jsonx" + WELL_KNOWN_PATH
    )


def test_an_answer_of_exactly_the_bound_reads_and_one_byte_more_does_not(http_server: str) -> None:
    AnswerHandler.answers = {
        "/at/bound.json": (200, padded(MAX_ANCHOR_BYTES)),
        "/over/bound.json": (200, padded(MAX_ANCHOR_BYTES + 1)),
        "/gone/bound.json": (410, json.dumps(good()).encode()),
    }
    assert TrustAnchor.fetch(http_server + "/at/bound.json").registry == REGISTRY
    over = http_server + "/over/bound.json"
    assert refusal(TrustAnchor.fetch, over) == (
        f"{over} sent over {MAX_ANCHOR_BYTES} bytes: not a trust anchor"
    )
    gone = http_server + "/gone/bound.json"
    assert refusal(TrustAnchor.load, gone) == f"{gone} answered HTTP 410, not a trust anchor"


def test_an_https_source_is_fetched_not_opened_as_a_file() -> None:
    with socket.socket() as sock:  # a port nothing listens on (bound, never listening)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        for scheme in ("http", "https"):
            base = f"{scheme}://127.0.0.1:{port}"
            message = refusal(TrustAnchor.load, base)
            assert message.startswith(
                f"cannot fetch the trust anchor from {base}{WELL_KNOWN_PATH}: ConnectError: "
            ), message


class _Slow(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        time.sleep(2.5)  # under httpx's own 5 s default: only the timeout asked for gives up
        body = json.dumps(good()).encode()
        try:
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:  # the client gave up, as it should have
            pass

    def log_message(self, *args: Any) -> None:
        pass


def test_a_slow_server_is_given_up_on_after_the_timeout_asked_for() -> None:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Slow)
    httpd.daemon_threads = True  # shutting down does not wait for the sleeping answer
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}/anchor.json"
    try:
        message = refusal(lambda: TrustAnchor.fetch(url, timeout=0.5))
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert message.startswith(f"cannot fetch the trust anchor from {url}: ReadTimeout: "), message


def test_an_oversized_file_is_refused_without_reading_it_whole(tmp_path: Path) -> None:
    path = tmp_path / "huge.json"
    with path.open("wb") as f:
        f.truncate(64 * 1024 * 1024)  # sparse: 64 MiB of zeros, no disk used
    tracemalloc.start()
    try:
        assert refusal(TrustAnchor.from_file, path).endswith("bytes: not an anchor")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * MAX_ANCHOR_BYTES, peak
