"""Traceability through the API on an embedded chain: roles, capture, lineage, recall,
on-chain heads, and a server that hides an item's newest event."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from biip.checksums import gs1_standard_check_digit
from fastapi.testclient import TestClient
from sqlmodel import func, select
from typer.testing import CliRunner

from chainproof import identity
from chainproof.api.app import create_app
from chainproof.audit.models import AuditEntry
from chainproof.chain.context import ChainContext
from chainproof.chain.nodes import free_port
from chainproof.cli import trace as trace_cli
from chainproof.config import Settings
from chainproof.store import db
from chainproof.store.models import Evidence, Member
from chainproof.trace.models import TraceEvent, TraceNode
from tests.factories import hide_newest_event, served


def gln(payload: str) -> str:
    return payload + str(gs1_standard_check_digit(payload))


def gtin(payload: str) -> str:
    return payload + str(gs1_standard_check_digit(payload))


FARM, PLANT, SHOP, LAB = (
    gln("950600013400"),
    gln("950600013401"),
    gln("950600013402"),
    gln("950600013403"),
)
NOODLE, SNAIL, BAG = gtin("0950600013500"), gtin("0950600013501"), gtin("0950600013502")
DL = "https://id.gs1.org"


class Api:
    def __init__(self, client: TestClient, settings: Settings) -> None:
        self.client = client
        self.url = settings.resolved_database_url
        self.admin = self.key("运营方", "admin")

    def key(self, org: str, role: str = "submitter") -> dict[str, str]:
        with db.open_session(self.url) as s:
            _, key = identity.create_api_key(session=s, org=org, role=role)
        return {"Authorization": f"Bearer {key}"}

    def org(
        self, name: str, role: str, glns: list[str], prefixes: list[str] | None = None
    ) -> dict[str, str]:
        headers = self.key(name)
        with db.open_session(self.url) as s:
            member = s.exec(select(Member).where(Member.name == name)).one()
        r = self.client.post(
            "/api/v1/trace/orgs",
            json={"member_id": member.id, "role": role, "glns": glns, "prefixes": prefixes or []},
            headers=self.admin,
        )
        assert r.status_code == 200, r.text
        return headers

    def count(self, table: Any) -> int:
        with db.open_session(self.url) as s:
            return int(s.exec(select(func.count()).select_from(table)).one())

    def capture(self, headers: dict[str, str], *events: dict[str, Any]) -> Any:
        return self.client.post("/api/v1/trace/capture", json=document(*events), headers=headers)

    def publish(self) -> dict[str, Any]:
        r = self.client.post("/api/v1/trace/publish", headers=self.admin)
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body


@pytest.fixture
def api(chain: ChainContext, tmp_path: Path) -> Iterator[Api]:
    """An app without background threads: heads are published by POST /trace/publish."""
    settings = Settings(
        env="test",
        data_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'cp.db'}",
        chain="embedded",
    )
    with TestClient(create_app(settings, chain=chain, run_batcher=False)) as client:
        yield Api(client, settings)


def document(*events: dict[str, Any]) -> dict[str, Any]:
    return {
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2024-11-20T08:00:00+08:00",
        "epcisBody": {"eventList": list(events)},
    }


def event(kind: str, step: str, at: str, where: str, **fields: Any) -> dict[str, Any]:
    e = {
        "type": kind,
        "eventTime": at,
        "eventTimeZoneOffset": "+08:00",
        "bizStep": step,
        "readPoint": {"id": f"{DL}/414/{where}"},
        **fields,
    }
    if kind != "TransformationEvent":
        e.setdefault("action", "OBSERVE")
    return e


def lot(g: str, value: str) -> str:
    return f"{DL}/01/{g}/10/{value}"


def bag(serial: str) -> str:
    return f"{DL}/01/{BAG}/21/{serial}"


def ship(at: str, where: str, to: str, **fields: Any) -> dict[str, Any]:
    """A shipping event handing its things to the org owning GLN ``to``."""
    dest = [{"type": "location", "destination": f"{DL}/414/{to}"}]
    return event("ObjectEvent", "shipping", at, where, destinationList=dest, **fields)


@pytest.fixture
def scenario(api: Api) -> dict[str, Any]:
    """螺蛳粉: noodle and snail-broth lots → production line → bags → shop, each hand-over a
    shipping event naming the receiver and its receiving event."""
    producer = api.org("柳州原料厂", "producer", [FARM], [NOODLE[1:13], SNAIL[1:13]])
    processor = api.org("螺蛳粉工厂", "processor", [PLANT], [BAG[1:13]])
    retailer = api.org("南宁超市", "retailer", [SHOP])
    regulator = api.org("市场监管局", "regulator", [LAB])
    q = [
        {"epcClass": lot(NOODLE, "N1"), "quantity": 100, "uom": "KGM"},
        {"epcClass": lot(SNAIL, "S1"), "quantity": 50, "uom": "KGM"},
    ]
    r = api.capture(
        producer,
        event(
            "ObjectEvent",
            "commissioning",
            "2024-11-01T08:00:00+08:00",
            FARM,
            action="ADD",
            quantityList=q,
        ),
        ship("2024-11-01T16:00:00+08:00", FARM, PLANT, quantityList=q),
    )
    assert r.status_code == 201, r.text
    r = api.capture(
        processor,
        event("ObjectEvent", "receiving", "2024-11-02T08:00:00+08:00", PLANT, quantityList=q),
        event(
            "TransformationEvent",
            "commissioning",
            "2024-11-02T09:00:00+08:00",
            PLANT,
            inputQuantityList=q,
            outputEPCList=[bag("B001"), bag("B002")],
        ),
        ship("2024-11-02T18:00:00+08:00", PLANT, SHOP, epcList=[bag("B001")]),
    )
    assert r.status_code == 201, r.text
    r = api.capture(
        retailer,
        event("ObjectEvent", "receiving", "2024-11-03T10:00:00+08:00", SHOP, epcList=[bag("B001")]),
    )
    assert r.status_code == 201, r.text
    return {
        "producer": producer,
        "processor": processor,
        "retailer": retailer,
        "regulator": regulator,
    }


def test_capture_is_idempotent_and_anchors_each_event_once(api: Api, scenario: Any) -> None:
    before = (api.count(TraceEvent), api.count(Evidence))
    again = api.capture(
        scenario["retailer"],
        event("ObjectEvent", "receiving", "2024-11-03T10:00:00+08:00", SHOP, epcList=[bag("B001")]),
    )
    assert again.status_code == 201
    assert again.json()["events"][0]["created"] is False
    # Six events, each anchored once; besides them, the audit log's records of the admin
    # setting the orgs up (issue 25, docs/audit.md) are evidence too.
    assert (api.count(TraceEvent), api.count(Evidence)) == before == (6, 6 + api.count(AuditEntry))
    hashed = api.client.post(
        "/api/v1/trace/hash",
        json=document(
            event(
                "ObjectEvent", "receiving", "2024-11-03T10:00:00+08:00", SHOP, epcList=[bag("B001")]
            )
        ),
    )
    assert hashed.json()["events"][0]["event_hash"] == again.json()["events"][0]["event_hash"]


def test_roles_and_locations_are_enforced(api: Api, scenario: Any) -> None:
    wrong_step = api.capture(
        scenario["retailer"],
        event(
            "ObjectEvent",
            "commissioning",
            "2024-11-04T10:00:00+08:00",
            SHOP,
            action="ADD",
            epcList=[bag("B003")],
        ),
    )
    assert wrong_step.status_code == 403
    assert "may not record bizStep 'commissioning'" in wrong_step.json()["error"]["message"]
    wrong_place = api.capture(
        scenario["retailer"],
        event(
            "ObjectEvent", "receiving", "2024-11-04T10:00:00+08:00", PLANT, epcList=[bag("B002")]
        ),
    )
    assert wrong_place.status_code == 403
    assert "is not one of your org's" in wrong_place.json()["error"]["message"]
    assert api.count(TraceEvent) == 6


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"bizStep": "unloading_party"}, "is not a CBV 2.0 bizStep"),
        ({"eventTime": "2024-13-45T99:00:00+08:00"}, "not an RFC 3339 date-time"),
        ({"action": None}, "'action' is a required property"),
    ],
)
def test_invalid_documents_are_422_with_the_reason_and_store_nothing(
    api: Api, scenario: Any, change: dict[str, Any], reason: str
) -> None:
    before = (api.count(TraceEvent), api.count(Evidence), api.count(TraceNode))
    bad = event("ObjectEvent", "receiving", "2024-11-05T10:00:00+08:00", SHOP, epcList=[bag("B9")])
    for k, v in change.items():
        if v is None:
            bad.pop(k)
        else:
            bad[k] = v
    r = api.capture(scenario["retailer"], bad)
    assert r.status_code == 422
    assert reason in r.json()["error"]["message"]
    assert (api.count(TraceEvent), api.count(Evidence), api.count(TraceNode)) == before


def test_transformation_lineage_and_recall_reach_every_item(api: Api, scenario: Any) -> None:
    keyholder = scenario["retailer"]
    back = api.client.get(f"/api/v1/trace/lineage/01/{BAG}/21/B001", headers=keyholder).json()
    assert {n["uri"] for n in back["backward"]} == {lot(NOODLE, "N1"), lot(SNAIL, "S1")}
    # A retailer may not recall; the regulator may.
    denied = api.client.post(
        "/api/v1/trace/recalls", json={"lot": lot(NOODLE, "N1"), "reason": "x"}, headers=keyholder
    )
    assert denied.status_code == 403
    r = api.client.post(
        "/api/v1/trace/recalls",
        json={"lot": f"01/{NOODLE}/10/N1", "reason": "米粉批次微生物超标"},
        headers=scenario["regulator"],
    )
    assert r.status_code == 201, r.text
    rid = r.json()["recall_id"]
    report = api.client.get(f"/api/v1/trace/recalls/{rid}", headers=keyholder).json()
    assert {i["uri"] for i in report["affected_items"]} == {bag("B001"), bag("B002")}
    csv = api.client.get(f"/api/v1/trace/recalls/{rid}?format=csv", headers=keyholder)
    assert csv.headers["content-type"].startswith("text/csv")
    assert bag("B002") in csv.text and csv.text.startswith("relation,kind,code")
    published = api.publish()
    assert published["recalls"] == 1
    view = api.client.get(f"/api/v1/trace/items/01/{BAG}/21/B002").json()
    assert view["badge"] == "recalled"
    assert view["recalls"][0]["on_chain"] is True
    # The other input lot is not recalled, but the bag made from both is.
    assert api.client.get(f"/api/v1/trace/items/01/{SNAIL}/10/S1").json()["badge"] != "recalled"


def test_a_hidden_newest_event_is_reported_incomplete(api: Api, scenario: Any) -> None:
    path = f"01/{BAG}/21/B001"
    assert api.client.get(f"/api/v1/trace/items/{path}").json()["badge"] == "unverifiable"
    assert api.publish()["heads"] >= 4
    view = api.client.get(f"/api/v1/trace/items/{path}").json()
    assert view["badge"] == "verified", view["badge_reason"]
    assert view["onchain"]["count"] == 3 and view["onchain"]["head"] == view["head"]
    # The server "forgets" the item's newest event (the shop's receipt).
    hide_newest_event(api.url, uri=bag("B001"))
    view = api.client.get(f"/api/v1/trace/items/{path}").json()
    assert view["badge"] == "incomplete"
    assert "holds 3 events" in view["badge_reason"]
    page = api.client.get(f"/t/{path}")
    assert page.status_code == 200
    assert 'data-badge="incomplete"' in page.text
    qr = api.client.get(f"/api/v1/trace/qr/{path}?format=svg")
    assert qr.status_code == 200 and qr.text.lstrip().startswith(("<?xml", "<svg"))
    png = api.client.get(f"/api/v1/trace/qr/{path}")
    assert png.content.startswith(b"\x89PNG")


def test_demo_seed_is_idempotent_and_verifies(
    api: Api, chain: ChainContext, tmp_path: Path
) -> None:
    from chainproof.trace.demo import seed_trace_demo

    engine = db.make_engine(api.url)
    try:
        first = seed_trace_demo(engine=engine, chain=chain, data_dir=tmp_path)
        counts = (api.count(TraceEvent), api.count(Evidence), api.count(TraceNode))
        second = seed_trace_demo(engine=engine, chain=chain, data_dir=tmp_path)
        assert (api.count(TraceEvent), api.count(Evidence), api.count(TraceNode)) == counts
    finally:
        engine.dispose()
    assert first.published_heads > 0 and second.published_heads == 0
    assert first.scan_paths == second.scan_paths and len(first.scan_paths) == 6
    for path in (first.scan_paths[0], first.scan_paths[-1]):
        view = api.client.get("/api/v1/trace/items/" + path.removeprefix("/t/")).json()
        assert view["badge"] == "verified", view["badge_reason"]
        assert len(view["events"]) >= 2


def test_an_admin_key_writes_only_what_its_orgs_role_allows(api: Api, scenario: Any) -> None:
    """Writers by role hold for admins too; admins still manage roles and locations."""
    receiving = event(
        "ObjectEvent", "receiving", "2024-11-06T10:00:00+08:00", LAB, epcList=[bag("B002")]
    )
    no_role = api.capture(api.admin, receiving)
    assert no_role.status_code == 403
    assert "no trace role" in no_role.json()["error"]["message"]
    recall = api.client.post(
        "/api/v1/trace/recalls", json={"lot": lot(SNAIL, "S1"), "reason": "x"}, headers=api.admin
    )
    assert recall.status_code == 403
    items = api.client.post(
        "/api/v1/trace/items",
        json={"product": "x", "gtin": BAG, "serials": ["A1"]},
        headers=api.admin,
    )
    assert items.status_code == 403
    # The admin gives its own org a role (an admin ability it keeps) and is then held to it.
    lab2 = gln("950600013404")
    api_org = api.client.post(
        "/api/v1/trace/orgs",
        json={"member_id": _member_id(api, "运营方"), "role": "regulator", "glns": [lab2]},
        headers=api.admin,
    )
    assert api_org.status_code == 200, api_org.text
    not_its_step = api.capture(
        api.admin,
        event("ObjectEvent", "receiving", "2024-11-06T10:00:00+08:00", lab2, epcList=[bag("B2")]),
    )
    assert not_its_step.status_code == 403
    assert (
        "a regulator may not record bizStep 'receiving'" in not_its_step.json()["error"]["message"]
    )
    not_its_site = api.capture(
        api.admin,
        event("ObjectEvent", "inspecting", "2024-11-06T10:00:00+08:00", LAB, epcList=[bag("B002")]),
    )
    assert not_its_site.status_code == 403
    # A regulator creates nothing (it owns no prefix), but inspects anyone's items.
    unknown = api.capture(
        api.admin,
        event("ObjectEvent", "inspecting", "2024-11-06T10:00:00+08:00", lab2, epcList=[bag("B2")]),
    )
    assert unknown.status_code == 403, unknown.text
    before = api.count(TraceEvent)
    ok = api.capture(
        api.admin,
        event(
            "ObjectEvent", "inspecting", "2024-11-06T10:00:00+08:00", lab2, epcList=[bag("B002")]
        ),
    )
    assert ok.status_code == 201, ok.text
    assert api.count(TraceEvent) == before + 1


def _member_id(api: Api, name: str) -> int:
    with db.open_session(api.url) as s:
        member = s.exec(select(Member).where(Member.name == name)).one()
        assert member.id is not None
        return member.id


# --- the `chainproof trace` CLI against a live server ----------------------------------------


@pytest.fixture
def live_url(api: Api) -> Iterator[str]:
    """The test app served over HTTP (the CLI talks to a real server)."""
    with served(api.client.app) as url:
        yield url


def test_cli_hash_capture_show_and_recall(
    api: Api, scenario: Any, live_url: str, tmp_path: Path
) -> None:
    run = CliRunner().invoke
    retailer = scenario["retailer"]["Authorization"].removeprefix("Bearer ")
    doc = document(
        event(
            "ObjectEvent",
            "retail_selling",
            "2024-11-04T18:00:00+08:00",
            SHOP,
            epcList=[bag("B001")],
        )
    )
    path = tmp_path / "sold.jsonld"
    path.write_text(json.dumps(doc), encoding="utf-8")

    # Offline hash == the server's public hash endpoint (nothing stored by either).
    offline = run(trace_cli.app, ["hash", str(path)])
    assert offline.exit_code == 0, offline.output
    online = api.client.post("/api/v1/trace/hash", json=doc).json()["events"][0]["event_hash"]
    assert offline.stdout.split() == [online]

    # Capture: new once, known the second time (the legacy --url/--key spelling still works).
    args = ["capture", str(path), "--server", live_url, "--api-key", retailer]
    first = run(trace_cli.app, args)
    assert first.exit_code == 0, first.output
    assert first.stdout.split() == [online, "new"]
    again = run(trace_cli.app, ["capture", str(path), "--url", live_url, "--key", retailer])
    assert again.exit_code == 0 and again.stdout.split() == [online, "known"], again.output

    # Show: the history with its badge, each event's step and place.
    api.publish()
    shown = run(trace_cli.app, ["show", f"01/{BAG}/21/B001", "--server", live_url])
    assert shown.exit_code == 0, shown.output
    assert "[verified]" in shown.stdout and "retail_selling" in shown.stdout
    # Received, then sold: at the shop, named after its owner org (no place name given).
    assert shown.stdout.count(f"南宁超市 · {DL}/414/{SHOP}") == 2
    assert "2024-11-04 18:00 (UTC+08:00)" in shown.stdout

    # A wrong key: the server's message, exit 1; a server that is not there: exit 2.
    refused = run(trace_cli.app, [*args[:-1], "cpk_" + "x" * 43])
    assert refused.exit_code == 1 and "error 401" in refused.stderr
    gone = run(trace_cli.app, ["show", "x", "--server", f"http://127.0.0.1:{free_port()}"])
    assert gone.exit_code == 2 and "cannot reach" in gone.stderr

    # Recall the noodle lot: the bags made from it are affected; the CSV report lists them.
    regulator = scenario["regulator"]["Authorization"].removeprefix("Bearer ")
    report = tmp_path / "recall.csv"
    recalled = run(
        trace_cli.app,
        ["recall", f"01/{NOODLE}/10/N1", "--reason", "抽检不合格", "--server", live_url,
         "--api-key", regulator, "--report", str(report)],
    )  # fmt: skip
    assert recalled.exit_code == 0, recalled.output
    assert "2 items affected" in recalled.stdout
    rows = list(csv.DictReader(report.read_text(encoding="utf-8").splitlines()))
    affected = {r["code"] for r in rows if r["relation"] == "downstream" and r["kind"] == "item"}
    assert affected == {f"01/{BAG}/21/B001", f"01/{BAG}/21/B002"}
    assert api.client.get(f"/api/v1/trace/items/01/{BAG}/21/B002").json()["badge"] == "recalled"


def test_cli_admits_prefixes_and_lifts_a_recall(api: Api, scenario: Any, live_url: str) -> None:
    """`chainproof trace prefix add --org NAME PREFIX` (admin) lets an org register under a
    new prefix; `chainproof trace lift LOT --reason …` lifts a recall, which the next
    publish puts on chain and the item's history then shows."""
    run = CliRunner().invoke
    admin = api.admin["Authorization"].removeprefix("Bearer ")
    retail_gtin = gtin("0950600013600")
    refused = api.client.post(
        "/api/v1/trace/items",
        json={"product": "自有品牌", "gtin": retail_gtin, "serials": ["R1"]},
        headers=scenario["processor"],
    )
    assert refused.status_code == 403, refused.text
    added = run(
        trace_cli.app,
        ["prefix", "add", "--org", "螺蛳粉工厂", retail_gtin[1:12], "--server", live_url,
         "--api-key", admin],
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    assert retail_gtin[1:12] in added.stdout and BAG[1:13] in added.stdout
    # Another org's prefix overlapping it is refused (409): no code falls under two orgs.
    clash = run(
        trace_cli.app,
        ["prefix", "add", "--org", "柳州原料厂", retail_gtin[1:10], "--server", live_url,
         "--api-key", admin],
    )  # fmt: skip
    assert clash.exit_code == 1 and "error 409" in clash.stderr
    registered = api.client.post(
        "/api/v1/trace/items",
        json={"product": "自有品牌", "gtin": retail_gtin, "serials": ["R1"]},
        headers=scenario["processor"],
    )
    assert registered.status_code == 201, registered.text

    producer = scenario["producer"]["Authorization"].removeprefix("Bearer ")
    noodle = f"01/{NOODLE}/10/N1"
    r = api.client.post(
        "/api/v1/trace/recalls",
        json={"lot": noodle, "reason": "抽检不合格"},
        headers=scenario["producer"],
    )
    assert r.status_code == 201, r.text
    # Only the owner or a regulator lifts; the processor that used the lot does not.
    processor = scenario["processor"]["Authorization"].removeprefix("Bearer ")
    denied = run(
        trace_cli.app,
        ["lift", noodle, "--reason", "x", "--server", live_url, "--api-key", processor],
    )
    assert denied.exit_code == 1 and "error 403" in denied.stderr
    lifted = run(
        trace_cli.app,
        ["lift", noodle, "--reason", "复检合格", "--server", live_url, "--api-key", producer],
    )
    assert lifted.exit_code == 0, lifted.output
    assert "lifted at" in lifted.stdout
    published = api.publish()
    assert (published["recalls"], published["lifts"]) == (1, 1)
    shown = run(trace_cli.app, ["show", f"01/{BAG}/21/B002", "--server", live_url])
    assert shown.exit_code == 0, shown.output
    assert "[recalled]" not in shown.stdout
    assert "抽检不合格" in shown.stdout and "lifted" in shown.stdout and "复检合格" in shown.stdout
    view = api.client.get(f"/api/v1/trace/items/01/{BAG}/21/B002").json()
    (entry,) = view["recalls"]
    assert entry["lift_on_chain"] and entry["chain_recalled_at"] == 0
    assert entry["chain_lifted_at"] > 0


def test_platform_codes_come_from_the_orgs_own_namespace(api: Api, scenario: Any) -> None:
    """Items without a GTIN get platform codes in their org's namespace (CP + 1-4
    characters, admitted by an admin); a platform lot in another org's namespace, or codes
    for an org without one, are refused."""
    member = _member_id(api, "柳州原料厂")
    admitted = api.client.post(
        f"/api/v1/trace/orgs/{member}/prefixes", json={"prefix": "cpk7"}, headers=api.admin
    )
    assert admitted.status_code == 200, admitted.text
    assert "CPK7" in admitted.json()["prefixes"]
    items = api.client.post(
        "/api/v1/trace/items",
        json={"product": "散装米粉", "count": 3, "lot": "CPK7A000000001"},
        headers=scenario["producer"],
    )
    assert items.status_code == 201, items.text
    made = items.json()["items"]
    assert len(made) == 3 and all(i["code"].startswith("CPK7") for i in made)
    assert all(len(i["code"]) == 14 for i in made)
    no_namespace = api.client.post(
        "/api/v1/trace/items", json={"product": "x", "count": 1}, headers=scenario["processor"]
    )
    assert no_namespace.status_code == 403, no_namespace.text
    processor = _member_id(api, "螺蛳粉工厂")
    assert (
        api.client.post(
            f"/api/v1/trace/orgs/{processor}/prefixes", json={"prefix": "CPM"}, headers=api.admin
        ).status_code
        == 200
    )
    # An overlapping namespace (CPK7 is the producer's) is refused to another org.
    clash = api.client.post(
        f"/api/v1/trace/orgs/{processor}/prefixes", json={"prefix": "CPK"}, headers=api.admin
    )
    assert clash.status_code == 409, clash.text
    foreign_lot = api.client.post(
        "/api/v1/trace/items",
        json={"product": "x", "count": 1, "lot": "CPK7A000000002"},
        headers=scenario["processor"],
    )
    assert foreign_lot.status_code == 403, foreign_lot.text
    not_admin = api.client.post(
        f"/api/v1/trace/orgs/{processor}/prefixes",
        json={"prefix": "CPZ"},
        headers=scenario["processor"],
    )
    assert not_admin.status_code == 403
