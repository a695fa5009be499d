"""Recalls over HTTP are chain operations (issue 15): the answer carries the operation, the
recaller (and no other org) follows it at ``GET /api/v1/operations/{id}``, and a replica
that does not lead the signing key answers ``POST /trace/publish`` with 202 and leaves the
sending to the leader; once this process may lead, the same call sends it (200)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from chainproof.chain.context import ChainContext
from chainproof.cli import trace as trace_cli
from chainproof.config import Settings
from chainproof.evidence.batcher import LeaderLock
from chainproof.runtime import make_writer
from chainproof.store import db
from tests.factories import served

from .test_trace_api import NOODLE, Api, api, lot, scenario  # noqa: F401


def test_a_recall_is_an_operation_sent_by_whoever_leads_the_key(
    api: Api,  # noqa: F811
    scenario: Any,  # noqa: F811
    chain: ChainContext,
    tmp_path: Path,
) -> None:
    regulator, retailer = scenario["regulator"], scenario["retailer"]
    leader = LeaderLock(tmp_path, chain.sender.address)  # another process leads the key
    leader.acquire()
    try:
        r = api.client.post(
            "/api/v1/trace/recalls",
            json={"lot": lot(NOODLE, "N1"), "reason": "米粉批次微生物超标"},
            headers=regulator,
        )
        assert r.status_code == 201, r.text
        op = r.json()["operation"]
        assert (op["kind"], op["status"], op["tx_hash"]) == ("trace_recall", "queued", None)
        seen = api.client.get(f"/api/v1/operations/{op['id']}", headers=regulator)
        assert seen.status_code == 200 and seen.json()["status"] == "queued"
        # Another org does not learn of it (the same 404 as an id that does not exist).
        other = api.client.get(f"/api/v1/operations/{op['id']}", headers=retailer)
        assert other.status_code == 404
        waiting = api.client.post("/api/v1/trace/publish", headers=api.admin)
        assert waiting.status_code == 202, waiting.text
        body = waiting.json()
        assert op["id"] in {o["id"] for o in body["operations"]}
        assert (body["recalls"], body["tx_hashes"]) == (0, [])
    finally:
        leader.release()
    sent = api.client.post("/api/v1/trace/publish", headers=api.admin)
    assert sent.status_code == 200, sent.text
    done = sent.json()
    assert done["recalls"] == 1 and done["heads"] >= 1, done
    confirmed = api.client.get(f"/api/v1/operations/{op['id']}", headers=regulator).json()
    assert confirmed["status"] == "confirmed" and confirmed["tx_hash"] in done["tx_hashes"]
    report = api.client.get(
        f"/api/v1/trace/recalls/{r.json()['recall_id']}", headers=regulator
    ).json()
    assert report["on_chain_tx"] == confirmed["tx_hash"]
    assert chain.w3.eth.get_transaction_receipt(confirmed["tx_hash"])["status"] == 1


def test_the_cli_follows_a_recall_until_it_is_on_chain(
    api: Api,  # noqa: F811
    scenario: Any,  # noqa: F811
    chain: ChainContext,
    tmp_path: Path,
) -> None:
    """`chainproof trace recall --wait` names the operation and prints its status until the
    key's writer (here a thread standing in for the worker) has it confirmed."""
    settings = Settings(env="test", data_dir=tmp_path, database_url=api.url, chain="embedded")
    engine = db.make_engine(api.url)
    writer = make_writer(engine, chain, settings)
    writer.start()
    try:
        key = scenario["regulator"]["Authorization"].removeprefix("Bearer ")
        with served(api.client.app) as url:
            args = ["recall", lot(NOODLE, "N1"), "--reason", "抽检", "--wait"]
            out = CliRunner().invoke(trace_cli.app, [*args, "--url", url, "--key", key])
        assert out.exit_code == 0, out.output
        assert "on chain: operation" in out.output, out.output
        tx = out.output.rsplit("transaction ", 1)[1].strip()
        assert chain.w3.eth.get_transaction_receipt(tx)["status"] == 1  # type: ignore[arg-type]
    finally:
        writer.stop()
        engine.dispose()
