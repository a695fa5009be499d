"""Verifiable random draws (issue #21) on two real chains, Anvil and Ganache.

One chain serves the module (each kind in turn); every test gets its own app and SQLite
database. The app runs without its batcher or revealer threads: tests anchor with
``Batcher(...).drain()``, mine blocks and reveal with ``reveal_due`` at the moments they
choose, so "committed", "drawn" and "void" are states they control. ``chainproof draw
verify`` runs in process against the app served over HTTP, the node's JSON-RPC URL and a
trust anchor read from the chain the test deployed.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select
from starlette.exceptions import StarletteDeprecationWarning
from typer.testing import CliRunner

from chainproof import identity
from chainproof.api.app import create_app
from chainproof.chain.context import ChainContext, open_chain
from chainproof.chain.nodes import free_port
from chainproof.cli import draw as draw_cli
from chainproof.config import DEV_OPERATOR_KEY, Settings
from chainproof.draws import selection
from chainproof.draws.models import Draw
from chainproof.draws.service import reveal_due
from chainproof.evidence.batcher import Batcher
from chainproof.store import db

from ..conftest import node_binary_present, require
from ..factories import pinned, served

with warnings.catch_warnings():
    warnings.filterwarnings(
        "ignore",
        message="Using `httpx` with `starlette.testclient`",
        category=StarletteDeprecationWarning,
    )
    from fastapi.testclient import TestClient

pytestmark = pytest.mark.chain

CANDIDATES = [f"专家{i:02d}" for i in range(40)]


@pytest.fixture(scope="module", params=["anvil", "ganache"])
def chain(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ChainContext]:
    """A managed node with EvidenceRegistry deployed (Anvil, then Ganache), shared by the
    module's apps."""
    kind: str = request.param
    require(node_binary_present(kind), f"the {kind} binary is missing from node_modules")
    context = open_chain(
        chain=kind,
        data_dir=tmp_path_factory.mktemp(f"draws-{kind}"),
        operator_key=DEV_OPERATOR_KEY,
        port=free_port(),
    )
    try:
        yield context
    finally:
        context.stop()


@dataclass
class Organiser:
    """An app on the module's chain, its keys, and the moves a test makes on the chain."""

    client: TestClient
    settings: Settings
    engine: Engine
    chain: ChainContext
    keys: dict[str, dict[str, str]]
    trust_file: Path

    def key(self, org: str, role: str) -> dict[str, str]:
        with db.open_session(self.settings.resolved_database_url) as session:
            _, key = identity.create_api_key(session=session, org=org, role=role)
        return {"Authorization": f"Bearer {key}"}

    def drain(self) -> None:
        Batcher(engine=self.engine, chain=self.chain, batch_size=100, interval_ms=10).drain()

    def mine(self, blocks: int) -> None:
        provider = self.chain.w3.provider
        if self.chain.node.kind == "anvil":
            provider.make_request("anvil_mine", [hex(blocks)])  # type: ignore[arg-type]
        else:
            provider.make_request("evm_mine", [{"blocks": blocks}])  # type: ignore[arg-type]

    @property
    def head(self) -> int:
        return int(self.chain.w3.eth.block_number)

    def reveal(self) -> int:
        with Session(self.engine) as session:
            return reveal_due(
                session=session,
                w3=self.chain.w3,
                secret_key=self.settings.secret_key.get_secret_value(),
                confirmations=1,
            )

    def create(self, who: str = "reviewer", **body: Any) -> Any:
        payload = {"title": "专家抽取", "candidates": CANDIDATES, "count": 5, "blocks_ahead": 4}
        return self.client.post("/api/v1/draws", headers=self.keys[who], json=payload | body)

    def get(self, draw_id: str) -> dict[str, Any]:
        response = self.client.get(f"/api/v1/draws/{draw_id}")
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer

    def drawn(self, **body: Any) -> dict[str, Any]:
        """A draw taken all the way: committed, anchored, target mined, revealed."""
        created = self.create(**body)
        assert created.status_code == 201, created.text
        self.drain()
        self.mine(max(0, created.json()["target_block"] - self.head + 1))
        assert self.reveal() == 1
        return self.get(created.json()["id"])

    def tamper(self, draw_id: str, **fields: Any) -> None:
        """Changes the server's stored draw, as a dishonest operator would."""
        with Session(self.engine) as session:
            row = session.exec(select(Draw).where(Draw.public_id == draw_id)).one()
            for name, value in fields.items():
                setattr(row, name, value)
            session.add(row)
            session.commit()


@pytest.fixture
def organiser(chain: ChainContext, tmp_path: Path) -> Iterator[Organiser]:
    data = tmp_path / "data"
    settings = Settings(
        env="test",
        data_dir=data,
        database_url=f"sqlite:///{data / 'chainproof.db'}",
        chain="embedded",
    )
    trust_file = tmp_path / "trust.json"
    trust_file.write_text(json.dumps(pinned(chain.w3, chain.contract).document()))
    with ExitStack() as stack:
        client = stack.enter_context(
            TestClient(create_app(settings, chain=chain, run_batcher=False))
        )
        engine = db.make_engine(settings.resolved_database_url)
        stack.callback(engine.dispose)
        made = Organiser(client, settings, engine, chain, {}, trust_file)
        made.keys = {
            "reviewer": made.key("中国—东盟区块链创新中心", "reviewer"),
            "admin": made.key("平台运营方", "admin"),
            "submitter": made.key("广西示范科技有限公司", "submitter"),
        }
        yield made


def verify_cli(organiser: Organiser, draw_id: str, *, trust: Path | None = None) -> Any:
    assert organiser.chain.node.rpc_url is not None
    with served(organiser.client.app) as url:
        return CliRunner().invoke(
            draw_cli.app,
            [
                "verify",
                draw_id,
                "--server",
                url,
                "--rpc",
                organiser.chain.node.rpc_url,
                "--trust",
                str(trust or organiser.trust_file),
                "--json",
            ],
        )


def test_a_draw_is_committed_then_drawn_and_the_cli_recomputes_it(organiser: Organiser) -> None:
    head = organiser.head
    created = organiser.create(blocks_ahead=5)
    assert created.status_code == 201, created.text
    draw = created.json()
    assert draw["status"] == "committed"
    assert draw["target_block"] == head + 5
    assert draw["secret"] is None and draw["selected"] is None  # nothing known before
    assert draw["commitments"]["candidates_hash"] == selection.candidates_hash(CANDIDATES)
    early = verify_cli(organiser, draw["id"])
    assert early.exit_code == 1, early.stdout + early.stderr
    assert json.loads(early.stdout)["valid"] is False

    organiser.drain()
    assert organiser.reveal() == 0  # anchored, but the target block is not there yet
    assert organiser.get(draw["id"])["status"] == "committed"
    organiser.mine(draw["target_block"] - organiser.head + 1)
    assert organiser.reveal() == 1
    done = organiser.get(draw["id"])
    assert done["status"] == "drawn"
    assert done["commitments"]["anchor_block"] < done["target_block"]
    block_hash = bytes(organiser.chain.w3.eth.get_block(draw["target_block"])["hash"])
    assert done["block_hash"] == "0x" + block_hash.hex()
    secret = bytes.fromhex(done["secret"][2:])
    assert selection.secret_commitment(secret) == draw["commitments"]["secret_commitment"]
    assert len(done["selected"]) == 5 and set(done["selected"]) <= set(CANDIDATES)

    result = verify_cli(organiser, draw["id"])
    assert result.exit_code == 0, result.stdout + result.stderr
    assert json.loads(result.stdout) == {
        "valid": True,
        "selected": done["selected"],
        "reason": None,
    }


def test_a_changed_candidate_list_or_secret_is_refused(organiser: Organiser) -> None:
    done = organiser.drawn()
    draw_id = done["id"]
    original = done["selected"]
    secret = bytes.fromhex(done["secret"][2:])
    block_hash = bytes.fromhex(done["block_hash"][2:])
    changed_list = [*CANDIDATES[1:], CANDIDATES[0]]  # same names, another order
    other_secret = bytes(31) + b"\x01"
    seed = selection.seed_of(block_hash, secret)
    assert selection.select(changed_list, 5, seed) != original
    assert selection.select(CANDIDATES, 5, selection.seed_of(block_hash, other_secret)) != original

    # The server publishes the changed list with the selection it gives: refused.
    organiser.tamper(
        draw_id,
        candidates=changed_list,
        selected=selection.select(changed_list, 5, seed),
    )
    result = verify_cli(organiser, draw_id)
    assert result.exit_code == 1
    verdict = json.loads(result.stdout)
    assert verdict["valid"] is False and "candidates_hash" in verdict["reason"]

    # Another secret (with its own selection): its commitment is not the one on chain.
    organiser.tamper(
        draw_id,
        candidates=CANDIDATES,
        secret="0x" + other_secret.hex(),
        selected=selection.select(CANDIDATES, 5, selection.seed_of(block_hash, other_secret)),
    )
    result = verify_cli(organiser, draw_id)
    assert result.exit_code == 1
    assert "secret_commitment" in json.loads(result.stdout)["reason"]

    # The true secret but a hand-picked selection.
    organiser.tamper(draw_id, secret=done["secret"], selected=[*original[1:], CANDIDATES[-1]])
    result = verify_cli(organiser, draw_id)
    assert result.exit_code == 1
    verdict = json.loads(result.stdout)
    assert verdict["selected"] == original and "not the recomputed one" in verdict["reason"]

    organiser.tamper(draw_id, selected=original)  # and back: valid again
    assert verify_cli(organiser, draw_id).exit_code == 0


def test_a_look_alike_registry_is_refused(organiser: Organiser, tmp_path: Path) -> None:
    done = organiser.drawn()
    anchor = json.loads(organiser.trust_file.read_text())
    anchor["registry_code_hash"] = "0x" + "00" * 32  # pinned to code that is not there
    wrong = tmp_path / "wrong-trust.json"
    wrong.write_text(json.dumps(anchor))
    result = verify_cli(organiser, done["id"], trust=wrong)
    assert result.exit_code == 1
    assert "receipt does not verify" in json.loads(result.stdout)["reason"]


def test_a_reveal_past_the_256_block_window_uses_the_real_block_hash(
    organiser: Organiser,
) -> None:
    created = organiser.create(blocks_ahead=3).json()
    organiser.drain()
    # The server was away for 300 blocks: BLOCKHASH would answer zero for the target now.
    organiser.mine(created["target_block"] - organiser.head + 300)
    assert organiser.head - created["target_block"] > 256
    assert organiser.reveal() == 1
    done = organiser.get(created["id"])
    real = bytes(organiser.chain.w3.eth.get_block(created["target_block"])["hash"])
    assert done["status"] == "drawn" and done["block_hash"] == "0x" + real.hex()
    assert verify_cli(organiser, created["id"]).exit_code == 0


def test_a_commitment_anchored_at_or_after_the_target_block_voids_the_draw(
    organiser: Organiser,
) -> None:
    created = organiser.create(blocks_ahead=2).json()
    organiser.mine(3)  # the target block passes before the record is anchored
    organiser.drain()
    assert organiser.reveal() == 1
    void = organiser.get(created["id"])
    assert void["status"] == "void"
    assert void["commitments"]["anchor_block"] >= void["target_block"]
    assert void["secret"] is None and void["selected"] is None  # never revealed
    assert "draw again" in void["void_reason"]
    result = verify_cli(organiser, created["id"])
    assert result.exit_code == 1


def test_only_reviewers_and_admins_commit_and_everyone_reads(organiser: Organiser) -> None:
    assert organiser.create("submitter").status_code == 403
    anonymous = organiser.client.post(
        "/api/v1/draws", json={"title": "x", "candidates": ["a"], "count": 1, "blocks_ahead": 2}
    )
    assert anonymous.status_code == 401
    by_admin = organiser.create("admin")
    assert by_admin.status_code == 201
    assert organiser.client.get(f"/api/v1/draws/{by_admin.json()['id']}").status_code == 200
    assert organiser.client.get("/api/v1/draws/not-a-draw").status_code == 404


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"candidates": ["a", "b", "a"]}, "appears twice"),
        ({"candidates": ["a", "b"], "count": 3}, "count must be"),
        ({"blocks_ahead": 1}, "blocks_ahead"),
        ({"candidates": []}, "candidates"),
    ],
)
def test_ambiguous_draws_are_refused(
    organiser: Organiser, body: dict[str, Any], needle: str
) -> None:
    response = organiser.create(**body)
    assert response.status_code == 422
    assert needle in response.text


def test_the_reviewer_draws_applications_for_a_spot_audit(organiser: Organiser) -> None:
    """The review queue (applications submitted) are the candidates, by id."""
    subsidy = "/api/v1/subsidy"
    deadline = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    opened = organiser.client.post(
        f"{subsidy}/rounds",
        headers=organiser.keys["admin"],
        json={"code": "draws-1", "name": "抽查批次", "deadline": deadline},
    )
    assert opened.status_code == 201, opened.text
    ids = []
    for n in range(3):
        unit = organiser.key(f"抽查单位{n}", "submitter")
        body = {
            "round": "draws-1",
            "scope_category": "区块链+农业",
            "scope_field": "农产品溯源",
            "project_name": f"农产品溯源链{n}",
            "summary": "农产品溯源。",
            "requests": ["cash", "cloud"],
            "self_investment_wan": "60",
            "headcount": 8,
            "packages": ["platform-user-basic"],
        }
        created = organiser.client.post(f"{subsidy}/applications", headers=unit, json=body)
        assert created.status_code == 201, created.text
        ids.append(created.json()["id"])
    response = organiser.client.post(
        f"{subsidy}/spot-audits",
        headers=organiser.keys["reviewer"],
        json={"status": "draft", "count": 2, "blocks_ahead": 3},
    )
    assert response.status_code == 201, response.text
    draw = response.json()
    assert draw["candidates"] == [f"application-{i}" for i in ids]
    assert draw["purpose"] == "spot_audit"
    organiser.drain()
    organiser.mine(draw["target_block"] - organiser.head + 1)
    assert organiser.reveal() == 1
    assert verify_cli(organiser, draw["id"]).exit_code == 0
    refused = organiser.client.post(
        f"{subsidy}/spot-audits",
        headers=organiser.keys["submitter"],
        json={"status": "draft", "count": 1, "blocks_ahead": 3},
    )
    assert refused.status_code == 403


def test_an_organiser_held_secret_is_revealed_by_the_organiser(organiser: Organiser) -> None:
    secret = bytes(range(100, 132))
    commitment = selection.secret_commitment(secret)
    created = organiser.create(secret_commitment=commitment, blocks_ahead=3)
    assert created.status_code == 201, created.text
    draw = created.json()
    assert draw["commitments"]["secret_commitment"] == commitment
    reveal = f"/api/v1/draws/{draw['id']}/reveal"
    headers = organiser.keys["reviewer"]
    organiser.drain()
    early = organiser.client.post(reveal, headers=headers, json={"secret": "0x" + secret.hex()})
    assert early.status_code == 409 and "too early" in early.text
    organiser.mine(draw["target_block"] - organiser.head + 1)
    assert organiser.reveal() == 0  # the server holds no secret: it waits
    assert organiser.get(draw["id"])["status"] == "committed"
    wrong = organiser.client.post(reveal, headers=headers, json={"secret": "0x" + "11" * 32})
    assert wrong.status_code == 409 and "does not match" in wrong.text
    assert organiser.client.post(reveal, json={"secret": "0x" + secret.hex()}).status_code == 401
    done = organiser.client.post(reveal, headers=headers, json={"secret": "0x" + secret.hex()})
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "drawn" and done.json()["secret"] == "0x" + secret.hex()
    assert verify_cli(organiser, draw["id"]).exit_code == 0
