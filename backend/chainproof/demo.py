"""Demo data from the source: the 2023 subsidy guide's worked case, seeded through the API.

Applicant units in Guangxi (member orgs with their own submitter keys) and the China–ASEAN
Blockchain Innovation Center as reviewer go through the public HTTP API, exactly as a user
would (``seed_demo``): a 2023 round, and four applications at different points of their
life (``CASES``):

* one submitted;
* one under review, whose files pass the reviewer's integrity check;
* two in acceptance: one whose invoices reach 3 × its cash subsidy, one below, which also
  reuses an invoice (number + issuer) of the first: flagged for the reviewer.

The document texts are short stand-ins written from the guide (``shared/seeds/000_*.txt``);
they are written under ``{data_dir}/demo-documents/`` so they can be dropped on the check
page. Seeding is idempotent: every step looks at what is there first, and the keys are kept
in ``{data_dir}/demo-keys.json`` so a restart prints the same ones (they are made again
only when the database no longer knows them).
"""

from __future__ import annotations

import hashlib
import importlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import httpx

from chainproof.accounts.demo import DemoPerson, seed_people

REVIEWER_ORG: Final = "中国—东盟区块链创新中心"
ROUND_CODE: Final = "2023-demo"
ROUND_NAME: Final = "中国—东盟区块链创新中心2023年专项补贴项目（演示批次）"
KEYS_FILE: Final = "demo-keys.json"
DOCS_DIR: Final = "demo-documents"
STAGES: Final = ("submitted", "under_review", "acceptance_submitted")


@dataclass(frozen=True)
class Invoice:
    name: str
    kind: str  # 合同 or 发票
    amount_wan: str
    number: str
    issuer: str


@dataclass(frozen=True)
class Case:
    """One applicant unit's application and how far the demo takes it."""

    org: str
    category: str
    scope_field: str
    project: str
    investment_wan: str
    headcount: int
    packages: tuple[str, ...]
    documents: tuple[tuple[str, str], ...]  # (kind, file name)
    stage: str  # one of STAGES
    invoices: tuple[Invoice, ...] = ()

    def text(self, name: str) -> str:
        """The stand-in text of one of its files (deterministic: the same bytes every run)."""
        return (
            f"中国—东盟区块链创新中心2023年专项补贴项目 · {name}\n"
            f"申报单位：{self.org}\n"
            f"支持范围：区块链+{self.category} —— {self.scope_field}\n"
            f"项目名称：{self.project}\n"
            f"自费投资金额：{self.investment_wan}万元；研发及实施人员：{self.headcount}人\n"
        )


SUPPLIER: Final = "南宁数链信息技术有限公司"
CASES: Final = (
    Case(
        org="广西桂链示范科技有限公司",
        category="农业",
        scope_field="农产品溯源",
        project="融安金桔一物一码区块链溯源示范应用",
        investment_wan="120",
        headcount=18,
        packages=("platform-admin-pro",),
        documents=(("申报书", "申报书.txt"), ("合同", "采购合同-HT-2023-0815.txt")),
        stage="acceptance_submitted",
        invoices=(
            Invoice("验收发票-00881234.txt", "发票", "100", "00881234", SUPPLIER),
            Invoice("验收发票-00881235.txt", "发票", "85", "00881235", SUPPLIER),
        ),
    ),
    Case(
        org="广西北部湾电子证照服务有限公司",
        category="政务",
        scope_field="电子证照",
        project="桂链电子证照可信存证平台",
        investment_wan="45",
        headcount=9,
        packages=("platform-user-pro",),
        documents=(("申报书", "申报书.txt"), ("发票", "发票-45012300.txt")),
        stage="acceptance_submitted",
        invoices=(
            Invoice("验收发票-00990001.txt", "发票", "25", "00990001", "广西某软件有限公司"),
            # The same number + issuer as the first unit's invoice: flagged as reused.
            Invoice("验收发票-00881234-副本.txt", "发票", "20", "00881234", SUPPLIER),
        ),
    ),
    Case(
        org="柳州智造工业互联网有限公司",
        category="工业",
        scope_field="工业产品追溯",
        project="柳州螺蛳粉预包装产品工业追溯链",
        investment_wan="80",
        headcount=25,
        packages=("platform-admin-basic", "platform-user-basic"),
        documents=(
            ("申报书", "申报书.txt"),
            ("合同", "采购合同-LZ-2023-031.txt"),
            ("人员名单", "研发及实施人员名单.txt"),
        ),
        stage="under_review",
    ),
    Case(
        org="桂林山水文旅数字科技有限公司",
        category="服务业",
        scope_field="旅游信用管理",
        project="桂林漓江旅游信用区块链管理平台",
        investment_wan="28",
        headcount=7,
        packages=("platform-user-basic",),
        documents=(("申报书", "申报书.txt"), ("发票", "发票-45030011.txt")),
        stage="submitted",
    ),
)


@dataclass
class DemoKeys:
    admin: str
    reviewer: str
    applicants: dict[str, str]  # org → submitter key
    # Trace org → submitter key: captures EPCIS events for that org's locations.
    trace: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> str:
        body = {
            "admin": self.admin,
            "reviewer": self.reviewer,
            "applicants": self.applicants,
            "trace": self.trace,
        }
        return json.dumps(body, ensure_ascii=False, indent=2) + "\n"


def demo_people() -> list[tuple[str, str, str]]:
    """(email, org, role) of the people who sign in on the demo's pages."""
    people = [
        ("admin@demo.chainproof.cn", REVIEWER_ORG, "admin"),
        ("reviewer@demo.chainproof.cn", REVIEWER_ORG, "reviewer"),
    ]
    people += [
        (f"applicant{i}@demo.chainproof.cn", case.org, "submitter")
        for i, case in enumerate(CASES, start=1)
    ]
    return people


def trace_orgs() -> list[str]:
    """The trace demo's organisations, when the trace package ships its seeder."""
    try:
        module = importlib.import_module("chainproof.trace.demo")
    except ImportError:
        return []
    return list(module.ORGS)


@dataclass
class DemoResult:
    keys: DemoKeys
    applications: dict[str, int]  # org → application id
    statuses: dict[str, str]
    integrity_all_match: bool | None
    documents_dir: Path
    urls: dict[str, str]
    created: int = 0  # how many things this run made (0 on a rerun)
    notes: list[str] = field(default_factory=list)
    people: list[DemoPerson] = field(default_factory=list)  # who signs in on the pages


Say = Callable[[str], None]


def _doc_path(data_dir: Path, case: Case, name: str) -> Path:
    return data_dir / DOCS_DIR / case.org / name


def write_documents(data_dir: Path) -> Path:
    """Writes every case's files (UTF-8) under ``{data_dir}/demo-documents/{org}/``."""
    for case in CASES:
        names = [n for _, n in case.documents] + [i.name for i in case.invoices]
        for name in names:
            path = _doc_path(data_dir, case, name)
            path.parent.mkdir(parents=True, exist_ok=True)
            text = case.text(name)
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                path.write_text(text, encoding="utf-8")
    return data_dir / DOCS_DIR


def load_or_create_keys(
    data_dir: Path, database_url: str, *, works: Callable[[str], bool]
) -> DemoKeys:
    """The keys of ``demo-keys.json`` when the server still knows them, else new ones."""
    from chainproof.identity import create_api_key
    from chainproof.store.db import open_session

    path = data_dir / KEYS_FILE
    if path.exists():
        raw = json.loads(path.read_text(encoding="utf-8"))
        kept = DemoKeys(
            raw["admin"], raw["reviewer"], dict(raw["applicants"]), dict(raw.get("trace", {}))
        )
        wanted = {c.org for c in CASES}
        every = [kept.admin, kept.reviewer, *kept.applicants.values(), *kept.trace.values()]
        if (
            set(kept.applicants) == wanted
            and set(kept.trace) == set(trace_orgs())
            and all(works(k) for k in every)
        ):
            return kept
    with open_session(database_url) as session:
        _, admin = create_api_key(session=session, org=REVIEWER_ORG, role="admin")
        _, reviewer = create_api_key(session=session, org=REVIEWER_ORG, role="reviewer")
        applicants = {
            c.org: create_api_key(session=session, org=c.org, role="submitter")[1] for c in CASES
        }
        # The trace seeder registers these members as trace orgs (create_member is
        # idempotent, so the key may come first).
        trace = {
            org: create_api_key(session=session, org=org, role="submitter")[1]
            for org in trace_orgs()
        }
    keys = DemoKeys(admin, reviewer, applicants, trace)
    path.write_text(keys.to_json(), encoding="utf-8")
    path.chmod(0o600)  # demo keys, but keys: readable by their owner only
    return keys


class _Api:
    """The JSON API with one key per call; any non-2xx answer is an error with its message."""

    def __init__(self, base_url: str) -> None:
        self.http = httpx.Client(base_url=base_url + "/api/v1", timeout=60)

    def call(self, method: str, path: str, key: str | None, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        response = self.http.request(method, path, headers=headers, **kwargs)
        if response.status_code >= 300:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text[:300]}")
        return response.json() if response.content else None

    def works(self, key: str) -> bool:
        headers = {"Authorization": f"Bearer {key}"}
        return self.http.get("/subsidy/applications", headers=headers).status_code == 200

    def wait_anchored(self, evidence_ids: list[str], timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        for evidence_id in evidence_ids:
            while self.call("GET", f"/evidence/{evidence_id}", None)["status"] != "anchored":
                if time.monotonic() > deadline:
                    raise RuntimeError(f"evidence {evidence_id} was not anchored in {timeout} s")
                time.sleep(0.1)


def _ensure_round(api: _Api, keys: DemoKeys) -> int:
    if any(r["code"] == ROUND_CODE for r in api.call("GET", "/subsidy/rounds", None)):
        return 0
    # The guide gives no deadline; the demo's round closes a year after it is first seeded.
    deadline = (datetime.now(UTC) + timedelta(days=365)).replace(microsecond=0)
    body = {"code": ROUND_CODE, "name": ROUND_NAME, "deadline": deadline.isoformat()}
    api.call("POST", "/subsidy/rounds", keys.admin, json=body)
    return 1


def _advance(api: _Api, keys: DemoKeys, data_dir: Path, case: Case, say: Say) -> tuple[int, int]:
    """Takes one case as far as its stage; returns (application id, things made)."""
    me = keys.applicants[case.org]
    made = 0
    mine = api.call("GET", "/subsidy/applications", me, params={"round": ROUND_CODE})
    if mine:
        app = mine[0]
    else:
        body = {
            "round": ROUND_CODE,
            "scope_category": case.category,
            "scope_field": case.scope_field,
            "project_name": case.project,
            "summary": f"{case.org}：区块链+{case.category}（{case.scope_field}）示范应用。",
            "requests": ["cash", "cloud"],
            "self_investment_wan": case.investment_wan,
            "headcount": case.headcount,
            "packages": list(case.packages),
        }
        app = api.call("POST", "/subsidy/applications", me, json=body)
        say(f"  created application #{app['id']} · {case.org}")
        made += 1
    app_id: int = app["id"]
    path = f"/subsidy/applications/{app_id}"
    if app["status"] == "draft":
        have = {d["filename"] for d in app["documents"]}
        for kind, name in case.documents:
            if name not in have:
                content = _doc_path(data_dir, case, name).read_bytes()
                api.call(
                    "POST",
                    path + "/documents",
                    me,
                    data={"kind": kind},
                    files=[("file", (name, content))],
                )
                made += 1
        app = api.call("POST", path + "/submit", me, json={"comment": "提交申报材料"})
        made += 1
    target = STAGES.index(case.stage)
    if app["status"] == "submitted" and target >= 1:
        app = api.call(
            "POST",
            path + "/transitions",
            keys.reviewer,
            json={"to": "under_review", "comment": "开始评审"},
        )
        made += 1
    if app["status"] == "under_review" and target >= 2:
        app = api.call(
            "POST",
            path + "/transitions",
            keys.reviewer,
            json={"to": "approved", "comment": "同意立项"},
        )
        made += 1
    if app["status"] == "approved":
        have = {d["filename"] for d in app["documents"] if d["phase"] == "acceptance"}
        for inv in case.invoices:
            if inv.name not in have:
                content = _doc_path(data_dir, case, inv.name).read_bytes()
                fields = {
                    "kind": inv.kind,
                    "amount_wan": inv.amount_wan,
                    "number": inv.number,
                    "issuer": inv.issuer,
                }
                api.call(
                    "POST",
                    path + "/acceptance/documents",
                    me,
                    data=fields,
                    files={"file": (inv.name, content)},
                )
                made += 1
        app = api.call("GET", path, me)
        # Only anchored invoices count towards the 3× rule: wait for them before freezing.
        api.wait_anchored([d["evidence_id"] for d in app["documents"]])
        app = api.call("POST", path + "/acceptance/submit", me, json={"comment": "提交验收材料"})
        made += 1
    return app_id, made


def _integrity(api: _Api, keys: DemoKeys, data_dir: Path, case: Case, app_id: int) -> bool:
    """The reviewer's check of the exact files of ``case`` (digests only, as the page sends)."""
    files = [
        {
            "name": name,
            "digest": "0x"
            + hashlib.sha256(_doc_path(data_dir, case, name).read_bytes()).hexdigest(),
        }
        for _, name in case.documents
    ]
    body = {"algorithm": "sha256", "files": files}
    answer = api.call(
        "POST", f"/subsidy/applications/{app_id}/integrity-check", keys.reviewer, json=body
    )
    return bool(answer["all_match"])


def _seed_trace(base_url: str, database_url: str, say: Say) -> dict[str, str]:
    """Trace demo items (issue #5's seeder), when the trace package ships one.

    It writes through the trace services on the same database; without a chain handle here,
    the app's publisher puts the items' heads on chain moments later.
    """
    try:
        module = importlib.import_module("chainproof.trace.demo")
    except ImportError as exc:
        say(f"trace demo: not seeded ({exc})")
        return {}
    from chainproof.store.db import make_engine

    engine = make_engine(database_url)
    try:
        seeded = module.seed_trace_demo(engine=engine)
    finally:
        engine.dispose()
    paths = list(getattr(seeded, "scan_paths", []))
    return {f"scan page {i}": f"{base_url}{p}" for i, p in enumerate(paths[:2], 1)}


def seed_demo(*, base_url: str, data_dir: Path, database_url: str, say: Say = print) -> DemoResult:
    """Seeds the worked case through the API at ``base_url``; safe to run again."""
    api = _Api(base_url)
    try:
        docs = write_documents(data_dir)
        keys = load_or_create_keys(data_dir, database_url, works=api.works)
        made = _ensure_round(api, keys)
        ids: dict[str, int] = {}
        for case in CASES:
            ids[case.org], n = _advance(api, keys, data_dir, case, say)
            made += n
        every = api.call(
            "GET", "/subsidy/applications", keys.reviewer, params={"round": ROUND_CODE}
        )
        api.wait_anchored([d["evidence_id"] for a in every for d in a["documents"]])
        statuses = {a["applicant"]: a["status"] for a in every}
        reviewed = next(c for c in CASES if c.stage == "under_review")
        all_match = _integrity(api, keys, data_dir, reviewed, ids[reviewed.org])
        first = ids[CASES[0].org]
        urls = {
            "home": f"{base_url}/",
            "verify": f"{base_url}/verify",
            "review queue": f"{base_url}/review",
            "an application": f"{base_url}/applications/{first}",
            "integrity check": f"{base_url}/applications/{ids[reviewed.org]}/check",
            "a report": f"{base_url}/applications/{first}/report",
            "explorer": f"{base_url}/explorer",
            "Swagger UI": f"{base_url}/docs",
        }
        urls.update(_seed_trace(base_url, database_url, say))
        from chainproof.licences.demo import seed_licences

        licences = seed_licences(
            base_url=base_url, admin_key=keys.admin, database_url=database_url, say=say
        )
        made += len(licences)
        people = seed_people(data_dir, database_url, demo_people())
        return DemoResult(keys, ids, statuses, all_match, docs, urls, made, people=people)
    finally:
        api.http.close()
