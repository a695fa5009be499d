"""Sealed bids through the API and the bidder's CLI (issue #21), on a managed Anvil.

The server deploys the TenderRegistry on first use and organises with the operator's key;
bidders commit with ``chainproof tender commit`` (the file hashed and the commitment signed
locally), the chain's clock is moved past each deadline, and ``tender verify`` checks what the
server shows against the chain.
"""

from __future__ import annotations

import json
import threading
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from fastapi import Request
from sqlmodel import Session, select
from starlette.exceptions import StarletteDeprecationWarning
from typer.testing import CliRunner

from chainproof import identity
from chainproof.api.app import create_app
from chainproof.api.deps import RuntimeDep, get_session
from chainproof.chain.context import ChainContext, open_chain
from chainproof.chain.nodes import free_port
from chainproof.cli import app as cli_app
from chainproof.config import DEV_OPERATOR_KEY, Settings
from chainproof.digests import keccak256
from chainproof.evidence.batcher import LeaderLock
from chainproof.runtime import send_now
from chainproof.store import db
from chainproof.store.ops import ChainOp
from chainproof.tenders import commitments as c

from ..conftest import node_binary_present, require
from ..factories import served

with warnings.catch_warnings():
    warnings.filterwarnings(
        "ignore",
        message="Using `httpx` with `starlette.testclient`",
        category=StarletteDeprecationWarning,
    )
    from fastapi.testclient import TestClient

pytestmark = pytest.mark.chain


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChainContext]:
    require(node_binary_present("anvil"), "the anvil binary is missing from node_modules")
    context = open_chain(
        chain="anvil",
        data_dir=tmp_path_factory.mktemp("tenders"),
        operator_key=DEV_OPERATOR_KEY,
        port=free_port(),
    )
    try:
        yield context
    finally:
        context.stop()


def _advance(chain: ChainContext, seconds: int) -> None:
    chain.w3.provider.make_request("evm_increaseTime", [seconds])  # type: ignore[arg-type]
    chain.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]


def _lead_once(runtime: Any, leader: LeaderLock, polled: threading.Event) -> None:
    """Stands in for the key's leader: once the CLI polls the operation a 202 named, gives
    the lock up and sends it, as a worker's writer would."""
    assert polled.wait(60), "the CLI never polled an operation"
    leader.release()
    with Session(runtime.engine) as s:
        op = s.exec(select(ChainOp).where(ChainOp.kind == "tender_commit")).one()
    assert send_now(runtime.engine, runtime.chain, runtime.settings, [op], timeout=30)


def test_a_tender_from_opening_to_award(chain: ChainContext, tmp_path: Path) -> None:
    data = tmp_path / "data"
    settings = Settings(
        env="test", data_dir=data, database_url=f"sqlite:///{data / 'cp.db'}", chain="embedded"
    )
    runner = CliRunner()
    app = create_app(settings, chain=chain, run_batcher=False)
    with TestClient(app) as client:
        with db.open_session(settings.resolved_database_url) as session:
            _, key = identity.create_api_key(session=session, org="交易中心", role="admin")
        admin = {"Authorization": f"Bearer {key}"}
        now = int(chain.w3.eth.get_block("latest")["timestamp"])

        def at(ts: int) -> str:
            return datetime.fromtimestamp(ts, UTC).isoformat()

        body = {
            "reference": "GXZC2026-001",
            "title": "区块链平台建设项目",
            "commit_deadline": at(now + 3600),
            "reveal_deadline": at(now + 7200),
            "document_digest": "0x" + keccak256(b"tender documents").hex(),
        }
        assert client.post("/api/v1/tenders", json=body).status_code == 401
        opened = client.post("/api/v1/tenders", json=body, headers=admin)
        assert opened.status_code == 201, opened.text

        a, b = Account.create(), Account.create()
        a_key, a_bid = tmp_path / "a.key", tmp_path / "a-bid.pdf"
        a_key.write_text(a.key.hex())
        a_bid.write_bytes("投标文件 A: 报价 1,200,000 元".encode() * 50)
        with served(client.app) as url:
            # Another process leads the operator key (its writer sends): the relay answers
            # 202 with the operation, and the CLI follows it until the leader confirms it.
            runtime = app.state.runtime
            leader = LeaderLock(data, chain.sender.address)
            leader.acquire()
            polled = threading.Event()

            def watched(request: Request, rt: RuntimeDep) -> Iterator[Any]:
                if "/operations/" in request.url.path:
                    polled.set()
                yield from get_session(rt)

            app.dependency_overrides[get_session] = watched
            sent = threading.Thread(target=_lead_once, args=(runtime, leader, polled), daemon=True)
            sent.start()
            result = runner.invoke(
                cli_app,
                [
                    *("tender", "commit", str(a_bid), "--tender", "GXZC2026-001"),
                    *("--key-file", str(a_key), "--server", url),
                ],
            )
            sent.join()
            app.dependency_overrides.clear()
            assert result.exit_code == 0, result.stdout + result.stderr
            assert ": queued" in result.stderr and ": confirmed" in result.stderr, result.stderr
            record = a_bid.with_name(f"{a_bid.name}.GXZC2026-001.bid.json")
            kept = json.loads(record.read_text())

            # B commits through the API; the server cannot alter it (the signature binds it).
            b_salt, b_digest = c.new_salt(), keccak256(b"B's bid")
            tid = c.tender_id("GXZC2026-001")
            b_commit = c.commitment(tid, b.address, b_digest, b_salt)
            registry = client.get("/api/v1/tenders/GXZC2026-001").json()["registry"]
            sig = c.sign_commitment(
                b, chain_id=chain.chain_id, registry=registry, tender=tid, commitment=b_commit
            )
            relayed = {"bidder": b.address, "signature": "0x" + sig.hex()}
            swapped = client.post(
                "/api/v1/tenders/GXZC2026-001/commitments",
                json={**relayed, "commitment": "0x" + keccak256(b"other").hex()},
            )
            assert swapped.status_code == 409 and "BadSignature" in swapped.text
            ok = client.post(
                "/api/v1/tenders/GXZC2026-001/commitments",
                json={**relayed, "commitment": "0x" + b_commit.hex()},
            )
            assert ok.status_code == 200, ok.text

            # Before opening: commitments with block times, no bid anyone could read.
            view = client.get("/api/v1/tenders/GXZC2026-001").json()
            assert [x["bidder"] for x in view["commitments"]] == [a.address, b.address]
            assert view["openings"] == [] and kept["bid_digest"] not in json.dumps(view)
            early = runner.invoke(
                cli_app, ["tender", "reveal", str(a_bid), "--record", str(record), "--server", url]
            )
            assert early.exit_code == 1 and "RevealNotOpen" in early.stderr

            _advance(chain, 3601)
            late = Account.create()
            late_commit = c.commitment(tid, late.address, keccak256(b"late"), c.new_salt())
            late_sig = c.sign_commitment(
                late, chain_id=chain.chain_id, registry=registry, tender=tid, commitment=late_commit
            )
            refused = client.post(
                "/api/v1/tenders/GXZC2026-001/commitments",
                json={
                    "bidder": late.address,
                    "commitment": "0x" + late_commit.hex(),
                    "signature": "0x" + late_sig.hex(),
                },
            )
            assert refused.status_code == 409 and "CommitClosed" in refused.text

            opened_a = runner.invoke(
                cli_app, ["tender", "reveal", str(a_bid), "--record", str(record), "--server", url]
            )
            assert opened_a.exit_code == 0, opened_a.stdout + opened_a.stderr
            mismatch = client.post(
                "/api/v1/tenders/GXZC2026-001/reveals",
                json={
                    "bidder": b.address,
                    "bid_digest": "0x" + keccak256(b"a better bid").hex(),
                    "salt": "0x" + b_salt.hex(),
                },
            )
            assert mismatch.status_code == 409 and "CommitmentMismatch" in mismatch.text
            view = client.get("/api/v1/tenders/GXZC2026-001").json()
            assert [o["bidDigest"] for o in view["openings"]] == [kept["bid_digest"]]
            assert [f["bidder"] for f in view["flags"]] == [b.address]  # flagged on the page

            _advance(chain, 3601)
            award = client.post(
                "/api/v1/tenders/GXZC2026-001/award",
                json={
                    "report_digest": "0x" + keccak256(b"evaluation report").hex(),
                    "award_digest": "0x" + keccak256(b"award: A").hex(),
                },
                headers=admin,
            )
            assert award.status_code == 200, award.text
            assert client.get("/api/v1/tenders/GXZC2026-001").json()["award"] is not None

            # The trust anchor pins the TenderRegistry; tender verify believes only that one.
            anchor = client.get("/.well-known/chainproof.json").json()
            assert anchor["tender_registry"] == registry
            assert chain.node.rpc_url is not None

            def verify(trust: str) -> Any:
                return runner.invoke(
                    cli_app,
                    [
                        *("tender", "verify", "--tender", "GXZC2026-001", "--server", url),
                        *("--rpc", chain.node.rpc_url or "", "--trust", trust, "--json"),
                    ],
                )

            verified = verify(url)
            assert verified.exit_code == 0, verified.stdout + verified.stderr
            assert json.loads(verified.stdout) == {"valid": True, "problems": []}
            # An anchor pinning another registry (a look-alike's, say) refuses this one.
            other = tmp_path / "other-anchor.json"
            other.write_text(json.dumps({**anchor, "tender_registry": anchor["registry"]}))
            refused_pin = verify(str(other))
            assert refused_pin.exit_code == 1, refused_pin.stdout + refused_pin.stderr
            assert "is not the pinned" in json.loads(refused_pin.stdout)["problems"][0]
