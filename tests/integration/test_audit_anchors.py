"""``chainproof audit verify --rpc URL --trust FILE`` (issue 25): the audit log's anchored
heads are checked as receipts against a real node and the server's published trust anchor;
an anchor pinned to another registry fails, naming the head."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlmodel import select

from chainproof.api.app import create_app
from chainproof.chain.context import open_chain
from chainproof.chain.managed import AnvilNode
from chainproof.config import DEV_OPERATOR_KEY, Settings
from chainproof.store import db
from chainproof.store.models import Evidence
from tests import forked
from tests.apps import Api, TestClient

pytestmark = pytest.mark.chain


def _verify(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CHAINPROOF_DATABASE_URL": url, "CHAINPROOF_ENV": "test"}
    return forked.run(
        [sys.executable, "-m", "chainproof.cli", "audit", "verify", *args],
        env=env,
        cwd=Path.cwd(),
        timeout=120,
    )


def test_anchored_heads_verify_against_the_node_and_the_pinned_anchor(
    network: AnvilNode, tmp_path: Path
) -> None:
    assert network.rpc_url is not None
    chain = open_chain(
        chain=network.rpc_url, data_dir=tmp_path / "c", operator_key=DEV_OPERATOR_KEY
    )
    settings = Settings(
        env="test",
        data_dir=tmp_path / "app",
        database_url=f"sqlite:///{tmp_path / 'cp.db'}",
        chain=network.rpc_url,
        batch_size=10,
        batch_interval_ms=50,
    )
    try:
        with TestClient(create_app(settings, chain=chain)) as client:
            api = Api(client=client, settings=settings)
            admin = api.key("运营方", "admin")
            for org in ("甲", "乙"):
                made = client.post(
                    "/api/v1/keys", json={"org": org, "role": "submitter"}, headers=admin
                )
                assert made.status_code == 201, made.text
            deadline = time.monotonic() + 60
            while api.anchored_count() < 2:  # the two audit records
                assert time.monotonic() < deadline, "audit records not anchored"
                time.sleep(0.05)
            anchor = client.get("/.well-known/chainproof.json").json()
    finally:
        chain.stop()
    trust = tmp_path / "trust.json"
    trust.write_text(json.dumps(anchor), encoding="utf-8")
    with db.open_session(settings.resolved_database_url) as session:
        names = [e.filename for e in session.exec(select(Evidence)).all()]
    assert names == ["audit-1.json", "audit-2.json"]

    ok = _verify(settings.resolved_database_url, "--rpc", network.rpc_url, "--trust", str(trust))
    assert ok.returncode == 0, ok.stderr
    assert "anchored in block" in ok.stdout and "intact: 2 entries" in ok.stdout

    anchor["registry"] = "0x" + "11" * 20  # pinned to another registry
    trust.write_text(json.dumps(anchor), encoding="utf-8")
    wrong = _verify(settings.resolved_database_url, "--rpc", network.rpc_url, "--trust", str(trust))
    assert wrong.returncode == 1
    assert "its anchor does not verify" in wrong.stderr and "BROKEN: entry " in wrong.stderr
