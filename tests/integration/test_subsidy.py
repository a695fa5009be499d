"""The worked case end to end: 2023 subsidy applications on a real chain.

One chain serves the module (embedded, then a managed Anvil); every test gets its own app,
SQLite database and data directory. The app runs without its batcher thread: tests anchor
what is queued with ``Batcher(...).drain()`` at the moments they choose, so "pending" and
"anchored" are states they control. The subsidy router is included here as the lead will
include it in ``api/app.py``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import select
from typer.testing import CliRunner

from chainproof import identity
from chainproof.api.app import create_app
from chainproof.chain.context import ChainContext, open_chain
from chainproof.chain.nodes import free_port
from chainproof.cli import subsidy as subsidy_cli
from chainproof.config import DEV_OPERATOR_KEY, Settings
from chainproof.evidence.batcher import Batcher
from chainproof.receipts import Receipt, verify_receipt
from chainproof.store import db
from chainproof.subsidy.models import Transition

from ..conftest import node_binary_present, require
from ..factories import pinned, served

pytestmark = pytest.mark.chain

APPLICANT_A = "广西示范科技有限公司"
APPLICANT_B = "南宁链上农业有限公司"
CENTER = "中国—东盟区块链创新中心"
FORM = "2023年区块链示范应用申报书（示范科技）".encode() * 40
CONTRACT = "采购合同 HT-2023-007 区块链平台建设 120万元".encode() * 40
INVOICE = "增值税发票 No.45012345 金额 120万元".encode() * 40
B_INVOICE = "增值税发票 No.45099999 农产品溯源平台 60万元".encode() * 40


@pytest.fixture(scope="module", params=["embedded", "anvil"])
def chain(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ChainContext]:
    """A chain with EvidenceRegistry deployed (in process, then a managed Anvil), shared by
    the module's apps."""
    kind: str = request.param
    require(node_binary_present(kind), f"the {kind} binary is missing from node_modules")
    context = open_chain(
        chain=kind,
        data_dir=tmp_path_factory.mktemp(f"chain-{kind}"),
        operator_key=DEV_OPERATOR_KEY,
        port=free_port() if kind != "embedded" else None,
    )
    try:
        yield context
    finally:
        context.stop()


def subsidy_app(settings: Settings, chain: ChainContext) -> FastAPI:
    """The API (which includes the subsidy router); no batcher."""
    return create_app(settings, chain=chain, run_batcher=False)


@dataclass
class Case:
    """A running app, its keys by who holds them, and a way to anchor what is queued."""

    client: TestClient
    settings: Settings
    engine: Engine
    chain: ChainContext
    keys: dict[str, dict[str, str]]

    def drain(self) -> None:
        """Anchors everything queued (one batch per 100 documents)."""
        Batcher(engine=self.engine, chain=self.chain, batch_size=100, interval_ms=10).drain()

    def key(self, org: str, role: str) -> dict[str, str]:
        with db.open_session(self.settings.resolved_database_url) as session:
            _, key = identity.create_api_key(session=session, org=org, role=role)
        return {"Authorization": f"Bearer {key}"}

    def post(self, path: str, who: str | None, **kwargs: Any) -> Any:
        headers = self.keys[who] if who else {}
        return self.client.post(f"/api/v1/subsidy{path}", headers=headers, **kwargs)

    def get(self, path: str, who: str | None, **kwargs: Any) -> Any:
        headers = self.keys[who] if who else {}
        return self.client.get(f"/api/v1/subsidy{path}", headers=headers, **kwargs)

    def ok(self, response: Any, status: int = 200) -> Any:
        assert response.status_code == status, response.text
        return response.json()

    def new_round(self, code: str, deadline: datetime) -> None:
        body = {"code": code, "name": f"测试批次 {code}", "deadline": deadline.isoformat()}
        self.ok(self.post("/rounds", "admin", json=body), 201)

    def new_application(self, who: str, round_code: str, **fields: Any) -> dict[str, Any]:
        body = {
            "round": round_code,
            "scope_category": "政务",
            "scope_field": "可信存证",
            "project_name": "桂链电子证照存证平台",
            "summary": "基于桂链的电子证照可信存证与核验。",
            "requests": ["cash", "cloud"],
            "self_investment_wan": 120,
            "headcount": 15,
            "packages": ["platform-admin-pro"],
            **fields,
        }
        created: dict[str, Any] = self.ok(self.post("/applications", who, json=body), 201)
        return created

    def attach(self, who: str, application_id: int, kind: str, *files: tuple[str, bytes]) -> Any:
        return self.post(
            f"/applications/{application_id}/documents",
            who,
            data={"kind": kind},
            files=[("file", (name, content)) for name, content in files],
        )

    def acceptance_doc(
        self,
        application_id: int,
        content: bytes,
        amount: str,
        number: str,
        issuer: str,
        **extra: str,
    ) -> dict[str, Any]:
        fields = {"kind": "发票", "amount_wan": amount, "number": number, "issuer": issuer}
        fields.update(extra)
        response = self.post(
            f"/applications/{application_id}/acceptance/documents",
            self.owner[application_id],
            data=fields,
            files={"file": ("invoice.pdf", content)},
        )
        created: dict[str, Any] = self.ok(response, 201)
        return created

    def move(self, application_id: int, who: str, to: str, comment: str | None = None) -> Any:
        body = {"to": to, **({"comment": comment} if comment else {})}
        return self.post(f"/applications/{application_id}/transitions", who, json=body)

    def check_files(self, application_id: int, *files: tuple[str, bytes]) -> dict[str, Any]:
        response = self.post(
            f"/applications/{application_id}/integrity-check",
            "reviewer",
            files=[("file", f) for f in files],
        )
        answer: dict[str, Any] = self.ok(response)
        return answer

    owner: dict[int, str] = field(default_factory=dict)  # application id → who


@pytest.fixture
def case(chain: ChainContext, tmp_path: Path) -> Iterator[Case]:
    """An app on the module's chain with keys for two applicant units, a reviewer, an admin."""
    data = tmp_path / "data"
    settings = Settings(
        env="test",
        data_dir=data,
        database_url=f"sqlite:///{data / 'chainproof.db'}",
        chain="embedded",
    )
    with ExitStack() as stack:
        client = stack.enter_context(TestClient(subsidy_app(settings, chain)))
        engine = db.make_engine(settings.resolved_database_url)
        stack.callback(engine.dispose)
        made = Case(client=client, settings=settings, engine=engine, chain=chain, keys={})
        made.keys = {
            "a": made.key(APPLICANT_A, "submitter"),
            "b": made.key(APPLICANT_B, "submitter"),
            "reviewer": made.key(CENTER, "reviewer"),
            "admin": made.key("平台运营方", "admin"),
        }
        yield made


def error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()["error"]
    assert body["code"] and body["message"]
    return body


def sha256(content: bytes) -> str:
    return "0x" + hashlib.sha256(content).hexdigest()


def receipt_of(case: Case, evidence_id: str) -> Receipt:
    # As a reviewer: the records of an application (its documents, manifests and trail)
    # are theirs to read, whichever member's key anchored them.
    response = case.client.get(
        f"/api/v1/evidence/{evidence_id}/receipt", headers=case.keys["reviewer"]
    )
    assert response.status_code == 200, response.text
    return Receipt.from_dict(response.json())


def submitted_pair(case: Case, round_code: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Applications of A (申报书 + 合同 + 发票) and B (合同), both submitted, not anchored."""
    a = case.new_application("a", round_code)
    case.owner[a["id"]] = "a"
    case.ok(case.attach("a", a["id"], "申报书", ("申报书.pdf", FORM)), 201)
    case.ok(case.attach("a", a["id"], "合同", ("合同.pdf", CONTRACT)), 201)
    case.ok(case.attach("a", a["id"], "发票", ("发票.pdf", INVOICE)), 201)
    b = case.new_application(
        "b",
        round_code,
        scope_category="区块链+农业",
        scope_field="农产品溯源",
        project_name="农产品溯源链",
        self_investment_wan="60",
        headcount=8,
        packages=["platform-user-basic", "platform-user-flagship"],
    )
    case.owner[b["id"]] = "b"
    case.ok(case.attach("b", b["id"], "发票", ("b-发票.pdf", B_INVOICE)), 201)
    a = case.ok(case.post(f"/applications/{a['id']}/submit", "a", json={"comment": "提交"}))
    b = case.ok(case.post(f"/applications/{b['id']}/submit", "b"))
    return a, b


# --- the whole case ---------------------------------------------------------------------------


def test_the_2023_case_end_to_end(case: Case) -> None:
    rounds = case.ok(case.get("/rounds", None))
    assert any(r["code"] == "2023" and r["closed"] for r in rounds)  # the seeded round
    case.new_round("2023-open", datetime.now(UTC) + timedelta(days=30))

    # A draft, its documents, and an illegal move before submission.
    a, b = submitted_pair(case, "2023-open")
    assert a["status"] == "submitted" and a["applicant"] == APPLICANT_A
    assert [d["kind"] for d in a["documents"]] == ["申报书", "合同", "发票"]
    assert a["allowed_transitions"] == []  # the applicant waits for the reviewer now

    # Submission froze the package: its manifest is one receipt for all of it.
    [manifest] = a["manifests"]
    case.drain()
    receipt = receipt_of(case, manifest["evidence_id"])
    assert verify_receipt(
        receipt, case.chain.w3, trust=pinned(case.chain.w3, case.chain.contract)
    ).valid
    body = case.get(f"/applications/{a['id']}/manifest", "a")
    assert body.status_code == 200
    assert sha256(body.content) == receipt.digest == manifest["digest"]
    frozen = json.loads(body.content)
    assert [d["digest"] for d in frozen["documents"]] == [
        sha256(FORM),
        sha256(CONTRACT),
        sha256(INVOICE),
    ]
    assert frozen["fields"]["self_investment_wan"] == "120"
    assert frozen["applicant"] == APPLICANT_A

    # The reviewer's integrity check: the exact files, a modified one, another application's.
    modified = bytearray(CONTRACT)
    modified[7] ^= 0x01
    checked = case.check_files(
        a["id"],
        ("申报书.pdf", FORM),
        ("合同.pdf", CONTRACT),
        ("发票.pdf", INVOICE),
        ("合同-改.pdf", bytes(modified)),
        ("b-发票.pdf", B_INVOICE),
    )
    results = [(r["name"], r["result"]) for r in checked["rows"]]
    assert results == [
        ("申报书.pdf", "match"),
        ("合同.pdf", "match"),
        ("发票.pdf", "match"),
        ("合同-改.pdf", "unknown"),
        ("b-发票.pdf", "other_application"),
    ]
    assert checked["all_match"] is False
    form_row = checked["rows"][0]
    assert form_row["verdict"] == "anchored"
    assert form_row["document"]["kind"] == "申报书"
    assert form_row["anchor"]["block_number"] >= 1 and form_row["anchor"]["tx_hash"]
    assert checked["rows"][4]["application"]["id"] == b["id"]
    assert checked["rows"][4]["application"]["applicant"] == APPLICANT_B  # reviewers see all
    exact = case.check_files(
        a["id"], ("申报书.pdf", FORM), ("合同.pdf", CONTRACT), ("manifest.json", body.content)
    )
    assert exact["all_match"] is True
    assert exact["rows"][2]["document"] == {
        "id": None,
        "kind": "manifest",
        "phase": "application",
        "filename": None,
    }

    # A file anchored through the evidence API but in no application.
    case.ok(
        case.client.post(
            "/api/v1/evidence", headers=case.keys["a"], files={"file": ("x.pdf", b"loose file")}
        ),
        202,
    )
    case.drain()
    [loose] = case.check_files(a["id"], ("x.pdf", b"loose file"))["rows"]
    assert loose["result"] == "anchored_elsewhere" and loose["verdict"] == "anchored"

    # The lifecycle, enforced: who may move, and where to.
    illegal = error(case.move(a["id"], "reviewer", "accepted"), 409)
    assert illegal["code"] == "illegal_transition" and illegal["allowed"] == ["under_review"]
    error(case.move(a["id"], "a", "under_review"), 403)  # the applicant cannot review itself
    case.ok(case.move(a["id"], "reviewer", "under_review", "开始评审"))
    approved = case.ok(case.move(a["id"], "reviewer", "approved", "同意立项"))
    assert approved["allowed_transitions"] == []  # the reviewer waits for acceptance now
    again = error(case.move(a["id"], "reviewer", "approved"), 409)
    assert again["allowed"] == ["acceptance_submitted"]

    # B is approved too, and declares an acceptance invoice A will reuse by number + issuer.
    case.ok(case.move(b["id"], "reviewer", "under_review"))
    case.ok(case.move(b["id"], "reviewer", "approved"))
    case.acceptance_doc(b["id"], b"B acceptance invoice", "30", "No. 888 001", "某科技公司")

    # Acceptance: 100 + 70 = 170 万元 < 3 × 60 = 180 万元: fails, citing the rule.
    case.acceptance_doc(a["id"], b"invoice 1001", "100", "No.1001", "广西某软件有限公司")
    case.acceptance_doc(a["id"], b"invoice 1002", "70", "No.1002", "广西某软件有限公司")
    pending = case.ok(case.get(f"/applications/{a['id']}/acceptance", "reviewer"))
    assert pending["proven_wan"] == 0  # nothing counts before it is anchored
    case.drain()
    short = case.ok(case.get(f"/applications/{a['id']}/acceptance", "reviewer"))
    assert short["passed"] is False and short["proven_wan"] == 170
    assert short["required_wan"] == 180 and short["cash_subsidy_wan"] == 60
    assert "三、（一）1（验收）" in short["reasons"][0] and "3倍" in short["reasons"][0]
    assert "170" in short["reasons"][0] and "180" in short["reasons"][0]

    # 15 more (same number + issuer as B's) and 5 more (the very file B submitted): 190 ≥ 180.
    reused_number = case.acceptance_doc(a["id"], b"invoice 888", "15", "NO.888001", "某科技公司")
    reused_file = case.acceptance_doc(a["id"], B_INVOICE, "5", "No.45099999", "南宁某农业公司")
    twice = case.acceptance_doc(a["id"], b"invoice 1001", "100", "No.1001-copy", "别的公司")
    case.drain()
    enough = case.ok(case.get(f"/applications/{a['id']}/acceptance", "reviewer"))
    assert enough["passed"] is True and enough["proven_wan"] == 190
    by_id = {d["id"]: d for d in enough["documents"]}
    assert [r["id"] for r in by_id[reused_number["id"]]["reused"]] == [b["id"]]
    assert [r["id"] for r in by_id[reused_file["id"]]["reused"]] == [b["id"]]
    assert by_id[twice["id"]]["counted"] is False and by_id[twice["id"]]["duplicate_of"]
    assert all(d["verdict"] == "anchored" for d in enough["documents"])

    # Acceptance submitted and decided; every step of the trail verifies on chain.
    case.ok(case.post(f"/applications/{a['id']}/acceptance/submit", "a"))
    accepted = case.ok(case.move(a["id"], "reviewer", "accepted", "验收通过"))
    assert accepted["status"] == "accepted" and len(accepted["manifests"]) == 2
    case.drain()
    trail = case.ok(case.get(f"/applications/{a['id']}/transitions", "a"))
    assert trail["ok"] is True, trail["reasons"]
    steps = [(e["from_status"], e["to_status"]) for e in trail["entries"]]
    assert steps == [
        ("draft", "submitted"),
        ("submitted", "under_review"),
        ("under_review", "approved"),
        ("approved", "acceptance_submitted"),
        ("acceptance_submitted", "accepted"),
    ]
    previous = None
    for entry in trail["entries"]:
        assert entry["prev"] == previous
        receipt = receipt_of(case, entry["evidence_id"])
        assert receipt.digest == entry["record_hash"]
        assert verify_receipt(
            receipt, case.chain.w3, trust=pinned(case.chain.w3, case.chain.contract)
        ).valid
        previous = entry["record_hash"]
    assert [e["actor"] for e in trail["entries"]] == [
        APPLICANT_A,
        CENTER,
        CENTER,
        APPLICANT_A,
        CENTER,
    ]

    # The reviewer's report puts it all together.
    report = case.ok(case.get(f"/applications/{a['id']}/report", "reviewer"))
    assert report["late"] is False and report["trail"]["ok"] is True
    assert report["acceptance"]["passed"] is True
    assert {m["phase"]: (m["verdict"], m["body_ok"]) for m in report["manifests"]} == {
        "application": ("anchored", True),
        "acceptance": ("anchored", True),
    }
    docs = report["documents"]
    assert all(d["verdict"] == "anchored" for d in docs)
    assert [d["late"] for d in docs if d["phase"] == "application"] == [False, False, False]
    assert sum(1 for d in docs if d["reused"]) == 2
    checks = {c["name"]: c for c in report["rule_checks"]}
    assert checks["cash_subsidy"]["ok"] is True and checks["cash_subsidy"]["value_wan"] == 60
    assert checks["cash_requires_cloud"]["ok"] is True
    assert checks["packages_within_cap"]["ok"] is True
    assert checks["acceptance_outlook"]["ok"] is False  # 120 declared < 180 required
    error(case.get(f"/applications/{a['id']}/report", "a"), 403)  # reviewers only


# --- late, permissions, refusals ------------------------------------------------------------


def test_anything_anchored_after_the_deadline_is_late(case: Case) -> None:
    case.new_round("2023-late", datetime(2023, 6, 30, 17, 0, tzinfo=UTC))
    a, _ = submitted_pair(case, "2023-late")
    case.drain()
    report = case.ok(case.get(f"/applications/{a['id']}/report", "reviewer"))
    assert report["round"]["closed"] is True
    assert report["late"] is True
    [manifest] = report["manifests"]
    assert manifest["late"] is True and manifest["verdict"] == "anchored"
    assert all(d["late"] is True for d in report["documents"])
    # Moving the deadline past the anchors makes the same package on time (computed on read).
    later = {"deadline": (datetime.now(UTC) + timedelta(days=1)).isoformat()}
    case.ok(
        case.client.patch(
            "/api/v1/subsidy/rounds/2023-late", json=later, headers=case.keys["admin"]
        )
    )
    again = case.ok(case.get(f"/applications/{a['id']}/report", "reviewer"))
    assert again["late"] is False


def test_applicants_see_and_change_only_their_own_draft(case: Case) -> None:
    case.new_round("2023-perm", datetime.now(UTC) + timedelta(days=30))
    a = case.new_application("a", "2023-perm")
    path = f"/applications/{a['id']}"
    # One project per unit and round.
    twice = error(case.post("/applications", "a", json={**_fields(), "round": "2023-perm"}), 409)
    assert "每个单位只能申报1个项目" in twice["message"]
    # Another unit sees nothing, changes nothing; reviewers see; reviewers do not apply.
    error(case.get(path, "b"), 404)
    error(case.attach("b", a["id"], "申报书", ("x.pdf", b"x")), 404)
    assert [x["id"] for x in case.ok(case.get("/applications", "b"))] == []
    assert case.ok(case.get(path, "reviewer"))["id"] == a["id"]
    error(case.post("/applications", "reviewer", json=_fields()), 403)
    error(case.get(path, None), 401)
    # Blocking rules refuse submission with the guide's words.
    case.ok(
        case.client.patch(
            f"/api/v1/subsidy{path}", json={"requests": ["cash"]}, headers=case.keys["a"]
        )
    )
    refused = error(case.post(f"{path}/submit", "a"), 409)
    assert "申报现金补贴时须同时申报区块链云资源补贴" in refused["message"]
    assert "合同或发票" in refused["message"]
    # A scope the guide does not list, a bad document type: 422 naming the choices.
    scope = {"scope_category": "政务", "scope_field": "保险"}
    bad_scope = error(
        case.client.patch(f"/api/v1/subsidy{path}", json=scope, headers=case.keys["a"]), 422
    )
    assert "可信存证" in bad_scope["message"]
    error(case.attach("a", a["id"], "照片", ("x.jpg", b"x")), 422)
    # A wrong file comes out of the draft again (its evidence stays anchored).
    [wrong] = case.ok(case.attach("a", a["id"], "其他", ("wrong.pdf", b"wrong")), 201)
    gone = case.client.delete(
        f"/api/v1/subsidy{path}/documents/{wrong['id']}", headers=case.keys["a"]
    )
    assert gone.status_code == 204, gone.text
    assert case.ok(case.get(path, "a"))["documents"] == []
    # A submitted package is frozen.
    case.ok(
        case.client.patch(
            f"/api/v1/subsidy{path}", json={"requests": ["cash", "cloud"]}, headers=case.keys["a"]
        )
    )
    case.ok(case.attach("a", a["id"], "合同", ("合同.pdf", CONTRACT)), 201)
    case.ok(case.post(f"{path}/submit", "a"))
    error(case.attach("a", a["id"], "其他", ("late.pdf", b"late")), 409)
    frozen = case.client.patch(
        f"/api/v1/subsidy{path}", json={"headcount": 99}, headers=case.keys["a"]
    )
    error(frozen, 409)


def test_accepting_against_a_failed_check_needs_a_reason(case: Case) -> None:
    case.new_round("2023-acc", datetime.now(UTC) + timedelta(days=30))
    a, _ = submitted_pair(case, "2023-acc")
    case.ok(case.move(a["id"], "reviewer", "under_review"))
    case.ok(case.move(a["id"], "reviewer", "approved"))
    error(case.post(f"/applications/{a['id']}/acceptance/submit", "a"), 409)  # no invoices yet
    case.acceptance_doc(a["id"], b"only invoice", "50", "No.1", "某公司")
    case.ok(case.post(f"/applications/{a['id']}/acceptance/submit", "a"))
    case.drain()
    refused = error(case.move(a["id"], "reviewer", "accepted"), 409)
    assert "3" in refused["message"] and "comment" in refused["message"]
    failed = case.ok(case.move(a["id"], "reviewer", "acceptance_failed", "投资不足3倍"))
    assert failed["status"] == "acceptance_failed" and failed["allowed_transitions"] == []
    case.drain()
    trail = case.ok(case.get(f"/applications/{a['id']}/transitions", "reviewer"))
    assert trail["ok"] is True
    last = json.loads(_record_of(case, trail["entries"][-1]["evidence_id"]))
    assert last["acceptance_check"]["passed"] is False
    assert last["acceptance_check"]["proven_wan"] == "50"


def _record_of(case: Case, evidence_id: str) -> str:
    """The transition record whose digest the evidence's receipt carries."""
    receipt = receipt_of(case, evidence_id)
    with db.open_session(case.settings.resolved_database_url) as session:
        row = session.exec(select(Transition).where(Transition.record_hash == receipt.digest)).one()
        return row.record


def _fields() -> dict[str, Any]:
    return {
        "scope_category": "工业",
        "scope_field": "工业互联网",
        "project_name": "第二个项目",
        "requests": ["cloud"],
        "headcount": 5,
        "packages": ["platform-user-basic"],
    }


# --- the rules through the API ----------------------------------------------------------------


def test_assess_answers_with_reasons_and_refuses_nonsense(case: Case) -> None:
    answer = case.ok(
        case.post(
            "/assess",
            None,
            json={
                "self_investment_wan": 120,
                "headcount": 15,
                "training": {"class_size": 45, "days": 2, "certified": 24},
                "packages": ["platform-admin-pro", "platform-user-basic"],
            },
        )
    )
    assert answer["cash_subsidy_wan"] == 60
    assert answer["acceptance_min_investment_wan"] == 180
    assert answer["cloud_subsidy_cap_wan"] == 50
    assert answer["training_subsidy_wan"] is None
    assert answer["packages_total_wan"] == 50 and answer["packages_within_cap"] is True
    assert any("25" in f for f in answer["training_failed"])
    assert any(
        r.startswith("三、（一）1: 自费投资金额 120 万元 > 100 且 ≤ 150（含）")
        for r in answer["reasons"]
    )
    empty = case.ok(case.post("/assess", None, json={}))
    assert empty == {**empty, "cash_subsidy_wan": None, "reasons": []}
    for bad in (
        {"self_investment_wan": -1},
        {"self_investment_wan": 1e12},
        {"self_investment_wan": "1.0000001"},
        {"headcount": -3},
        {"training": {"class_size": 30, "days": 2, "certified": 31}},
        {"packages": ["platinum"]},
        {"unknown": 1},
    ):
        error(case.post("/assess", None, json=bad), 422)
    catalog = case.ok(case.get("/catalog", None))
    assert "可信存证" in catalog["scopes"]["政务"]
    assert {p["code"]: p["price_wan"] for p in catalog["packages"]}["crosschain-data"] is None


def test_every_endpoint_has_an_example_in_the_openapi(case: Case) -> None:
    schema = case.client.get("/openapi.json").json()
    paths = {p: ops for p, ops in schema["paths"].items() if p.startswith("/api/v1/subsidy")}
    assert len(paths) >= 14
    components = schema["components"]["schemas"]

    def has_example(node: Any) -> bool:
        if not isinstance(node, dict):
            return False
        if "example" in node or "examples" in node:
            return True
        ref = node.get("$ref") or (node.get("items") or {}).get("$ref")
        if ref:
            return has_example(components[ref.rsplit("/", 1)[1]])
        return any(has_example(v) for v in node.get("anyOf", []))

    for path, operations in paths.items():
        for method, op in operations.items():
            bodies = [c for c in op.get("requestBody", {}).get("content", {}).values()]
            answers = [
                c
                for code, r in op["responses"].items()
                if code.startswith("2")
                for c in r.get("content", {}).values()
            ]
            shown = [*bodies, *answers]
            if method == "delete":
                continue  # 204: no body either way
            assert any(has_example(c) or has_example(c.get("schema")) for c in shown), (
                f"{method.upper()} {path} has no example"
            )


# --- the CLI against a live server -----------------------------------------------------------


@pytest.fixture
def live_case(case: Case) -> Iterator[tuple[Case, str]]:
    """The case's app served over HTTP by uvicorn on a free port, in a thread."""
    with served(case.client.app) as url:
        yield case, url


def test_cli_check_a_folder(live_case: tuple[Case, str], tmp_path: Path) -> None:
    case, url = live_case
    case.new_round("2023-cli", datetime.now(UTC) + timedelta(days=30))
    a, _ = submitted_pair(case, "2023-cli")
    case.drain()
    folder = tmp_path / "in-front-of-me"
    (folder / "sub").mkdir(parents=True)
    (folder / "申报书.pdf").write_bytes(FORM)
    (folder / "sub" / "合同.pdf").write_bytes(CONTRACT)
    (folder / ".DS_Store").write_bytes(b"ignored")
    key = case.keys["reviewer"]["Authorization"].removeprefix("Bearer ")
    args = ["check", str(folder), "--application", str(a["id"]), "--server", url, "--api-key", key]

    good = CliRunner().invoke(subsidy_cli.app, args)
    assert good.exit_code == 0, good.output
    assert "2 of 2 files match" in good.stdout and "合同" in good.stdout

    (folder / "发票-改.pdf").write_bytes(INVOICE + b" ")
    bad = CliRunner().invoke(subsidy_cli.app, [*args, "--json"])
    assert bad.exit_code == 1, bad.output
    rows = json.loads(bad.stdout)["rows"]
    assert {r["name"]: r["result"] for r in rows} == {
        "申报书.pdf": "match",
        "sub/合同.pdf": "match",
        "发票-改.pdf": "unknown",
    }

    refused = CliRunner().invoke(subsidy_cli.app, [*args[:-1], "cpk_" + "x" * 43])
    assert refused.exit_code == 2 and "API key" in refused.stderr
