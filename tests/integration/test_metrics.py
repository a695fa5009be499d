"""/metrics, request ids and uvicorn's access log through structlog (issue 15, point 5).

The module's apps share one embedded chain (test_api's fixtures). The event metrics are one
registry per process, so tests compare a scrape before and after what they do.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn
from prometheus_client.parser import text_string_to_metric_families

from chainproof.api.app import create_app
from chainproof.chain.context import ChainContext
from chainproof.chain.nodes import free_port
from chainproof.config import Settings
from chainproof.logs import route_uvicorn_logs

from ..apps import Api, StartApi

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(api: Api, headers: dict[str, str]) -> Samples:
    answer = api.client.get("/metrics", headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(answer.text)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_metrics_need_an_admin_key(start_api: StartApi) -> None:
    server = start_api(run_batcher=False)
    assert server.client.get("/metrics").status_code == 401
    assert server.client.get("/metrics", headers=server.key("acme", "submitter")).status_code == 403
    assert server.client.get("/metrics", headers=server.key("ops", "admin")).status_code == 200
    # A server that is not the key's leader says so.
    samples = scrape(server, server.key("ops", "admin"))
    signer = server.client.get("/api/v1/chain").json()
    assert signer["chain_id"] > 0
    leaders = [v for (n, _), v in samples.items() if n == "chainproof_writer_leader"]
    assert leaders == [0.0]


def test_metrics_public_opens_them_to_anyone(start_api: StartApi) -> None:
    server = start_api(run_batcher=False, metrics_public=True)
    assert server.client.get("/metrics").status_code == 200


def test_metrics_follow_a_document_to_its_anchor_and_its_verification(api: Api) -> None:
    admin = api.key("ops", "admin")
    before = scrape(api, admin)
    submitter = api.key("acme", "submitter")
    [item] = api.upload(submitter, ("a.txt", secrets.token_bytes(32))).json()["items"]
    api.wait_anchored(item["id"])
    verdict = api.client.post("/api/v1/verify", json={"digest": item["digest"]})
    assert verdict.json()["verdict"] == "anchored"
    api.client.post("/api/v1/verify", json={"digest": "not hex"})  # a 4xx is timed too
    after = scrape(api, admin)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert value(after, "chainproof_evidence", status="anchored") >= 1
    assert value(after, "chainproof_evidence", status="queued") == 0
    assert grew("chainproof_batch_size_count") >= 1
    assert grew("chainproof_batch_size_sum") >= 1
    assert grew("chainproof_time_to_anchor_seconds_count") >= 1
    assert grew("chainproof_gas_per_tx_count", kind="anchor") >= 1
    assert grew("chainproof_gas_per_tx_sum", kind="anchor") > 21_000
    assert grew("chainproof_verify_seconds_count", route="/api/v1/verify", status="200") == 1
    assert grew("chainproof_verify_seconds_count", route="/api/v1/verify", status="422") == 1
    leaders = {
        dict(k[1])["signer"]: v for k, v in after.items() if k[0] == "chainproof_writer_leader"
    }
    assert list(leaders.values()) == [1.0]
    assert value(after, "chainproof_chain_head_block") >= 1
    assert value(after, "chainproof_chain_head_age_seconds") >= 0
    assert ("chainproof_blocks_since_last_anchor", frozenset()) in after
    assert ("chainproof_chain_ops", frozenset({("status", "queued")})) in after


def test_a_request_id_is_echoed_or_made(start_api: StartApi) -> None:
    server = start_api(run_batcher=False)
    mine = server.client.get("/healthz", headers={"X-Request-ID": "trace-42.a:b_c"})
    assert mine.headers["x-request-id"] == "trace-42.a:b_c"
    made = server.client.get("/healthz").headers["x-request-id"]
    assert len(made) == 32 and int(made, 16) >= 0
    # Not echoed (log injection, header games): replaced by an id of ours.
    for hostile in (b"a b", b"x" * 129, b"<script>", "\u00e9".encode(), b""):
        got = server.client.get("/healthz", headers={"X-Request-ID": hostile})
        assert got.headers["x-request-id"].encode() != hostile
        assert len(got.headers["x-request-id"]) == 32


@pytest.fixture
def served(chain: ChainContext, tmp_path: object) -> Iterator[str]:
    """The app under a real uvicorn, configured as ``chainproof serve`` runs it."""
    from pathlib import Path

    data = Path(str(tmp_path)) / "served"
    settings = Settings(
        env="test", data_dir=data, database_url=f"sqlite:///{data}/db.sqlite", chain="embedded"
    )
    data.mkdir()
    port = free_port()
    config = uvicorn.Config(
        create_app(settings, chain=chain, run_batcher=False),
        host="127.0.0.1",
        port=port,
        log_level="info",
        log_config=None,
    )
    # As `chainproof serve` starts: uvicorn's loggers through structlog. Another test's
    # uvicorn in this worker (its default log_config) may have rerouted them.
    route_uvicorn_logs()
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)


def test_access_log_lines_are_structlog_events_with_the_request_id(
    served: str, capsys: pytest.CaptureFixture[str]
) -> None:
    answer = httpx.get(f"{served}/healthz?probe=1", headers={"X-Request-ID": "access-log-7"})
    assert answer.status_code == 200
    time.sleep(0.2)  # the access line is written as the response starts; let it land
    lines = [line for line in capsys.readouterr().err.splitlines() if "access-log-7" in line]
    events = [json.loads(line) for line in lines]
    access = [e for e in events if e.get("access") is True]
    assert access, f"no structlog access line with the request id in: {lines}"
    assert access[0]["request_id"] == "access-log-7"
    assert access[0]["method"] == "GET" and access[0]["path"] == "/healthz?probe=1"
    assert access[0]["status"] == 200
    assert access[0]["event"] == "GET /healthz?probe=1 200"
