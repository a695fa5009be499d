"""Network monitoring (issue 25): with two RPC endpoints of which one is stopped, the health
summary in ``GET /api/v1/chain`` and the detail in ``GET /api/v1/chain/network`` show it down
and the other healthy; the shipped Grafana dashboard names only metrics ``/metrics`` exposes."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from chainproof.api.app import create_app
from chainproof.chain.context import ChainContext, open_chain
from chainproof.chain.endpoints import pool_of
from chainproof.chain.managed import AnvilNode
from chainproof.config import DEV_OPERATOR_KEY, Settings
from tests.apps import Api, TestClient, assert_error
from tests.consortium import MakeProxy

pytestmark = pytest.mark.chain

DASHBOARD = Path(__file__).parents[2] / "deploy" / "grafana" / "chainproof-network.json"
_METRIC = re.compile(r"\bchainproof_[a-z_]+\b")


@pytest.fixture
def two_endpoints(
    network: AnvilNode, make_proxy: MakeProxy, tmp_path: Path
) -> Iterator[tuple[ChainContext, list[int]]]:
    up, down = make_proxy(network), make_proxy(network)
    ctx = open_chain(
        chain=f"{up.url},{down.url}", data_dir=tmp_path / "chain", operator_key=DEV_OPERATOR_KEY
    )
    pool = pool_of(ctx.node)
    assert pool is not None
    pool.check_interval = 0.05
    down.drop = True  # the second node falls over after the deployment
    pool.check()
    try:
        yield ctx, [up.port, down.port]
    finally:
        ctx.stop()


def test_one_endpoint_down_shows_down_and_the_dashboard_matches_the_metrics(
    two_endpoints: tuple[ChainContext, list[int]], tmp_path: Path
) -> None:
    ctx, (up_port, down_port) = two_endpoints
    settings = Settings(
        env="test",
        data_dir=tmp_path / "app",
        database_url=f"sqlite:///{tmp_path / 'cp.db'}",
        chain="anvil",
        metrics_public=True,
        batch_size=10,
        batch_interval_ms=50,
    )
    with TestClient(create_app(settings, chain=ctx)) as client:
        api = Api(client=client, settings=settings)
        submitter = api.key("甲", "submitter")
        made = api.upload(submitter, ("a.txt", b"network monitoring"))
        assert made.status_code == 202, made.text
        [item] = made.json()["items"]
        api.wait_anchored(item["id"], submitter)  # gas and latency figures exist

        summary = client.get("/api/v1/chain").json()["network"]
        assert summary["endpoints"] == 2 and summary["healthy"] == 1
        assert summary["ok"] is False and summary["head"] >= 1

        assert_error(client.get("/api/v1/chain/network"), 401)
        assert_error(client.get("/api/v1/chain/network", headers=submitter), 403)
        for role in ("admin", "auditor"):
            detail = client.get("/api/v1/chain/network", headers=api.key("运营方", role))
            assert detail.status_code == 200, detail.text
        body = detail.json()
        states = {e["endpoint"]: e for e in body["endpoints"]}
        up = states[f"http://127.0.0.1:{up_port}"]
        down = states[f"http://127.0.0.1:{down_port}"]
        assert up["state"] == "preferred" and up["head"] >= 1 and up["latency_ms"] is not None
        assert down["state"] == "down" and down["reason"].startswith("no answer")
        assert any(f"127.0.0.1:{down_port} is down" in w for w in body["warnings"])
        assert body["writer"] == "leading" and body["gas_today"] > 0
        assert body["signer_balance_wei"] > 0

        exposed = client.get("/metrics").text
    names = {
        line.split("{")[0].split(" ")[0]
        for line in exposed.splitlines()
        if line and not line.startswith("#")
    }
    assert f'chainproof_rpc_endpoint_healthy{{endpoint="#1 http://127.0.0.1:{down_port}"}} 0.0' in (
        exposed
    )
    assert "chainproof_rpc_endpoint_lag_blocks" in names
    assert "chainproof_rpc_endpoint_latency_seconds" in names
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    named = {
        m
        for panel in dashboard["panels"]
        for t in panel["targets"]
        for m in _METRIC.findall(t["expr"])
    }
    assert len(named) >= 12
    assert named <= names, f"the dashboard names metrics /metrics lacks: {sorted(named - names)}"
