"""The EPCIS 2.0 REST binding at /epcis (issue 24.3), over HTTP on an embedded chain: discovery,
capture jobs (rollback and proceed), single events, queries paged back, problem+json errors,
and company-prefix admission. Every /epcis route is new: each test fails on main (404)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sqlmodel import func, select

from chainproof import identity
from chainproof.api.app import create_app
from chainproof.chain.context import ChainContext, open_chain
from chainproof.config import DEV_OPERATOR_KEY, Settings
from chainproof.errors import InvalidInputError
from chainproof.store import db
from chainproof.store.models import Evidence, Member, utcnow
from chainproof.trace import epcis, epcis_conformance, epcis_jobs, epcis_store, epcis_webhooks
from chainproof.trace.epcis_models import EpcisCapture, EpcisEvent

ROOT = Path(__file__).resolve().parents[2]
GS1 = ROOT / "tests" / "data" / "epcis" / "gs1"
CTX = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
REFUSED = {"WithFullCombinationOfFields/transformation_event_all_possible_fields.jsonld"}
# Three examples reuse another example's eventID for a different event: one repository holds
# one event per eventID (a second is refused, 409), so they go into a second repository.
CLASHING = {
    "Example-Type-sourceOrDestination,measurement,bizTransaction.jsonld",
    "WithFullCombinationOfFields/object_event_all_possible_fields.jsonld",
    "WithSensorData/SensorDataExample17.jsonld",
}


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChainContext]:
    """An embedded chain with EvidenceRegistry deployed."""
    context = open_chain(
        chain="embedded", data_dir=tmp_path_factory.mktemp("chain"), operator_key=DEV_OPERATOR_KEY
    )
    try:
        yield context
    finally:
        context.stop()


class Repo:
    """The app, an admin key, and orgs with admitted company prefixes."""

    def __init__(self, client: TestClient, settings: Settings) -> None:
        self.client = client
        self.url = settings.resolved_database_url
        self.admin = self.key("运营方", "admin")

    def key(self, org: str, role: str = "submitter") -> dict[str, str]:
        with db.open_session(self.url) as s:
            _, key = identity.create_api_key(session=s, org=org, role=role)
        return {"Authorization": f"Bearer {key}"}

    def org(self, name: str, prefixes: list[str]) -> dict[str, str]:
        headers = self.key(name)
        with db.open_session(self.url) as s:
            member = s.exec(select(Member).where(Member.name == name)).one()
        r = self.client.post(
            "/api/v1/trace/orgs",
            json={"member_id": member.id, "role": "producer", "glns": [], "prefixes": prefixes},
            headers=self.admin,
        )
        assert r.status_code == 200, r.text
        return headers

    def count(self) -> int:
        with db.open_session(self.url) as s:
            return int(s.exec(select(func.count()).select_from(EpcisEvent)).one())

    def evidence(self) -> int:
        with db.open_session(self.url) as s:
            return int(s.exec(select(func.count()).select_from(Evidence)).one())

    def capture(self, headers: dict[str, str], body: Any, **extra: str) -> Any:
        return self.client.post(
            "/epcis/capture",
            content=json.dumps(body),
            headers={**headers, "Content-Type": "application/ld+json", **extra},
        )

    def job(self, headers: dict[str, str], location: str) -> dict[str, Any]:
        r = self.client.get(location, headers=headers)
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body

    def pages(self, headers: dict[str, str], url: str) -> list[dict[str, Any]]:
        out = []
        while url:
            r = self.client.get(url, headers=headers)
            assert r.status_code == 200, r.text
            out.append(r.json())
            link = r.headers.get("Link", "")
            url = link[1 : link.index(">")] if 'rel="next"' in link else ""
        return out


@pytest.fixture
def repo(chain: ChainContext, tmp_path: Path) -> Iterator[Repo]:
    """A fresh database on the module's chain; no batcher (anchoring is not under test)."""
    settings = Settings(
        env="test",
        data_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'cp.db'}",
        chain="embedded",
    )
    with TestClient(create_app(settings, chain=chain, run_batcher=False)) as client:
        yield Repo(client, settings)


def _examples() -> list[str]:
    return sorted(p.relative_to(GS1).as_posix() for p in GS1.rglob("*.jsonld"))


def _prefixes_for(docs: list[dict[str, Any]]) -> list[str]:
    """The company prefixes GS1's examples use (7 digits of a longer key)."""
    found = set()
    for doc in docs:
        for event in epcis_conformance.read_body(doc).events:
            for epc, _ in epcis_store.epcs_of(event):
                key = epcis_store.company_key(epc)
                if key:
                    digits = "".join(c for c in key if c.isdigit())[:7]
                    if len(digits) >= 4:
                        found.add(digits)
    return sorted(found)


def _event(**fields: Any) -> dict[str, Any]:
    event = {
        "@context": [CTX, {"ext1": "https://ns.example.org/ext1/"}],
        "type": "ObjectEvent",
        "eventTime": "2024-05-01T08:30:00+08:00",
        "eventTimeZoneOffset": "+08:00",
        "epcList": ["urn:epc:id:sgtin:9521234.054321.7"],
        "action": "ADD",
        "bizStep": "commissioning",
        "readPoint": {"id": "urn:epc:id:sgln:9521234.00001.0"},
    }
    event.update(fields)
    return event


def _document(*events: dict[str, Any]) -> dict[str, Any]:
    return {
        "@context": [CTX, {"ext1": "https://ns.example.org/ext1/"}],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2024-05-01T09:00:00+08:00",
        "epcisBody": {
            "eventList": [{k: v for k, v in e.items() if k != "@context"} for e in events]
        },
    }


def test_discovery_answers_the_gs1_headers(repo: Repo) -> None:
    for path in ("/epcis/", "/epcis/capture", "/epcis/events"):
        r = repo.client.options(path)
        assert r.status_code == 204, (path, r.text)
        assert r.headers["GS1-EPCIS-Version"] == "2.0.0"
        assert r.headers["GS1-CBV-Version"] == "2.0.0"
        assert r.headers["GS1-EPCIS-Capture-Limit"] == str(epcis.MAX_EVENTS)
        assert int(r.headers["GS1-EPCIS-Capture-File-Size-Limit"]) > 0
        assert r.headers["GS1-Capture-Error-Behaviour"] == "rollback, proceed"
        assert "GS1-Extensions" in r.headers


@pytest.mark.parametrize("batch", ["all but the clashing", "the clashing"])
def test_every_gs1_example_through_a_job_and_paged_back(repo: Repo, batch: str) -> None:
    docs = {
        name: json.loads((GS1 / name).read_text())
        for name in _examples()
        if (name in CLASHING) == (batch == "the clashing")
    }
    accepted = {n: d for n, d in docs.items() if n not in REFUSED}
    headers = repo.org("GS1 examples", _prefixes_for(list(accepted.values())))
    expected: set[str] = set()
    for name, doc in docs.items():
        if doc["type"] not in ("EPCISDocument", "EPCISQueryDocument"):
            continue
        r = repo.capture(headers, doc)
        if name in REFUSED:
            assert r.status_code == 400, (name, r.text)
            assert r.headers["content-type"].startswith("application/problem+json")
            assert "protected term redefinition" in r.json()["detail"]
            continue
        assert r.status_code == 202, (name, r.text)
        job = repo.job(headers, r.headers["Location"])
        assert job["running"] is False and job["success"] is True, (name, job["errors"])
        for h in epcis.hash_events(doc):
            expected.add(str(h.event.get("eventID") or h.event_hash))
    pages = repo.pages(headers, "/epcis/events?perPage=7")
    assert len(pages) >= len(expected) // 7
    got = []
    for page in pages:
        epcis_conformance.read_body(page)  # each page validates against GS1's schema
        got += [e["eventID"] for e in page["epcisBody"]["queryResults"]["resultsBody"]["eventList"]]
    assert len(got) == len(set(got)), "an event came back twice"
    assert set(got) == expected, "an event was lost or invented"
    assert repo.count() == len(expected)


def test_user_vocabularies_a_query_document_and_a_bare_event_are_captured(repo: Repo) -> None:
    headers = repo.org("Vocab Co", ["9521234"])
    for step in ("http://epcis.example.org/hc/bizstep/summarising_discharge", "ext1:sampling"):
        r = repo.client.post(
            "/epcis/events",
            content=json.dumps(_event(bizStep=step, eventTime="2024-05-02T08:00:00Z")),
            headers={**headers, "Content-Type": "application/ld+json"},
        )
        assert r.status_code == 201, r.text
        assert r.headers["Location"].startswith("/epcis/events/ni%3A%2F%2F%2Fsha-256%3B")
        back = repo.client.get(r.headers["Location"], headers=headers)
        assert back.status_code == 200, back.text
        (event,) = back.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
        assert event["bizStep"] == step
        (h,) = epcis.hash_events(_event(bizStep=step, eventTime="2024-05-02T08:00:00Z"))
        assert event["eventID"] == h.event_hash  # a client recomputes it
    query = json.loads((GS1 / "EPCISQueryDocument.jsonld").read_text())
    headers2 = repo.org("Query Co", _prefixes_for([query]))
    r = repo.capture(headers2, query)
    assert r.status_code == 202, r.text
    assert repo.job(headers2, r.headers["Location"])["success"] is True


def test_an_un_namespaced_ilmd_field_is_a_400_problem_saying_where(repo: Repo) -> None:
    headers = repo.org("Ilmd Co", ["9521234"])
    r = repo.capture(headers, _document(_event(ilmd={"lotNumber": "L1"})))
    assert r.status_code == 400
    problem = r.json()
    assert r.headers["content-type"].startswith("application/problem+json")
    assert problem["type"] == "epcisException:ValidationException"
    assert "/epcisBody/eventList/0/ilmd" in problem["detail"]
    assert repo.count() == 0


def test_rollback_stores_nothing_when_one_event_is_refused_and_proceed_stores_the_rest(
    repo: Repo,
) -> None:
    headers = repo.org("Rollback Co", ["9521234"])
    good = [_event(eventTime=f"2024-05-0{d}T08:00:00Z") for d in (1, 2)]
    foreign = _event(epcList=["urn:epc:id:sgtin:4012345.011111.9876"])  # not our prefix
    doc = _document(good[0], foreign, good[1])
    before = repo.evidence()
    r = repo.capture(headers, doc)  # rollback is the default
    assert r.status_code == 202, r.text
    job = repo.job(headers, r.headers["Location"])
    assert job["running"] is False and job["success"] is False
    assert job["captureErrorBehaviour"] == "rollback"
    assert job["errors"][0]["type"] == "epcisException:SecurityException"
    assert "4012345" in job["errors"][0]["title"]
    assert (repo.count(), repo.evidence()) == (0, before)
    r = repo.capture(headers, doc, **{"GS1-Capture-Error-Behaviour": "proceed"})
    job = repo.job(headers, r.headers["Location"])
    assert job["running"] is False and job["success"] is False
    assert [e["instance"] for e in job["errors"]] == ["/epcisBody/eventList/1"]
    assert (repo.count(), repo.evidence()) == (2, before + 2)
    r = repo.capture(headers, doc, **{"GS1-Capture-Error-Behaviour": "proceed"})
    assert repo.count() == 2  # captured again: nothing doubled


def test_xml_is_415_and_unknown_parameters_are_refused(repo: Repo) -> None:
    headers = repo.org("Xml Co", ["9521234"])
    r = repo.client.post(
        "/epcis/capture",
        content=b"<epcis:EPCISDocument/>",
        headers={**headers, "Content-Type": "application/xml"},
    )
    assert r.status_code == 415
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "JSON-LD" in r.json()["detail"]
    r = repo.client.get("/epcis/events?EQ_whatever=1", headers=headers)
    assert r.status_code == 400 and "EQ_whatever" in r.json()["detail"]
    assert repo.client.get("/epcis/events").status_code == 401


def test_queries_filter_and_page_and_one_org_sees_only_its_events(repo: Repo) -> None:
    mine = repo.org("Query A", ["9521234"])
    other = repo.org("Query B", ["9529999"])
    events = [
        _event(eventTime=f"2024-05-{d:02d}T08:00:00Z", bizStep=s)
        for d, s in ((1, "commissioning"), (2, "shipping"), (3, "shipping"))
    ]
    assert repo.capture(mine, _document(*events)).status_code == 202
    theirs = _event(epcList=["urn:epc:id:sgtin:9529999.054321.1"], bizStep="shipping")
    assert repo.capture(other, _document(theirs)).status_code == 202
    pages = repo.pages(mine, "/epcis/events?EQ_bizStep=shipping&perPage=1")
    assert len(pages) == 2
    times = [
        p["epcisBody"]["queryResults"]["resultsBody"]["eventList"][0]["eventTime"] for p in pages
    ]
    assert times == ["2024-05-02T08:00:00Z", "2024-05-03T08:00:00Z"]
    epc = quote("urn:epc:id:sgtin:9521234.054321.7", safe="")
    r = repo.client.get(f"/epcis/epcs/{epc}/events", headers=mine)
    assert len(r.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]) == 3
    r = repo.client.get("/epcis/bizSteps", headers=mine)
    assert r.json()["member"] == ["commissioning", "shipping"]
    r = repo.client.get("/epcis/events?GE_eventTime=2024-05-02T00:00:00Z", headers=other)
    assert len(r.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]) == 0
    someone_elses = pages[0]["epcisBody"]["queryResults"]["resultsBody"]["eventList"][0]
    r = repo.client.get(f"/epcis/events/{quote(someone_elses['eventID'], safe='')}", headers=other)
    assert r.status_code == 404
    assert r.json()["type"] == "epcisException:NoSuchNameException"


def test_invalid_hash_document_is_still_refused_on_the_trace_route() -> None:
    """The same checks back /api/v1/trace: nothing the binding refuses is taken there."""
    with pytest.raises(InvalidInputError):
        epcis.hash_events(_document(_event(ilmd={"lotNumber": "L1"})))


def test_prefixes_cli_admits_what_capture_then_accepts(repo: Repo) -> None:
    """`chainproof prefixes add --org ORG PREFIX…` and `prefixes list`, against a served app:
    an event under a prefix is refused (403) until the prefix is admitted."""
    from typer.testing import CliRunner

    from chainproof.cli import app as cli
    from tests.factories import served

    headers = repo.org("CLI Co", ["9521234"])
    foreign = _event(epcList=["urn:epc:id:sgtin:9527777.054321.1"])
    post = {**headers, "Content-Type": "application/ld+json"}
    refused = repo.client.post("/epcis/events", content=json.dumps(foreign), headers=post)
    assert refused.status_code == 403, refused.text
    assert refused.json()["type"] == "epcisException:SecurityException"
    admin_key = repo.admin["Authorization"].removeprefix("Bearer ")
    with served(repo.client.app) as url:
        run = CliRunner().invoke
        added = run(
            cli,
            [
                "prefixes",
                "add",
                "--org",
                "CLI Co",
                "9527777",
                "9528888",
                "--url",
                url,
                "--key",
                admin_key,
            ],
        )
        assert added.exit_code == 0, added.output
        listed = run(cli, ["prefixes", "list", "--org", "CLI Co", "--url", url, "--key", admin_key])
        assert listed.exit_code == 0, listed.output
        assert listed.output.split() == ["9521234", "9527777", "9528888"]
    accepted = repo.client.post("/epcis/events", content=json.dumps(foreign), headers=post)
    assert accepted.status_code == 201, accepted.text


def test_named_queries_are_created_run_paged_and_deleted(repo: Repo) -> None:
    headers = repo.org("Named Co", ["9521234"])
    events = [
        _event(eventTime=f"2024-05-{d:02d}T08:00:00Z", bizStep=s)
        for d, s in ((1, "shipping"), (2, "receiving"), (3, "shipping"), (4, "shipping"))
    ]
    assert repo.capture(headers, _document(*events)).status_code == 202
    body = {"name": "shipped", "query": {"EQ_bizStep": ["shipping"], "eventType": ["ObjectEvent"]}}
    r = repo.client.post("/epcis/queries", json=body, headers=headers)
    assert r.status_code == 201, r.text
    assert r.headers["Location"] == "/epcis/queries/shipped"
    again = repo.client.post("/epcis/queries", json=body, headers=headers)
    assert again.status_code == 409
    assert again.json()["type"] == "epcisException:ResourceAlreadyExistsException"
    assert repo.client.get("/epcis/queries/shipped", headers=headers).json() == body
    pages = repo.pages(headers, "/epcis/queries/shipped/events?perPage=2")
    assert [len(p["epcisBody"]["queryResults"]["resultsBody"]["eventList"]) for p in pages] == [
        2,
        1,
    ]
    assert pages[0]["epcisBody"]["queryResults"]["queryName"] == "shipped"
    bad = {"name": "odd", "query": {"EQ_whatever": ["1"]}}
    assert repo.client.post("/epcis/queries", json=bad, headers=headers).status_code == 400
    assert repo.client.delete("/epcis/queries/shipped", headers=headers).status_code == 204
    assert repo.client.get("/epcis/queries/shipped/events", headers=headers).status_code == 404


class _Clock:
    """The jobs' lease clock, moved by the test: leases lapse without waiting for them."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now


def _lease_until(url: str, capture_id: str) -> tuple[datetime, int]:
    with db.open_session(url) as s:
        job = s.get(EpcisCapture, capture_id)
        assert job is not None and job.lease_until is not None
        return job.lease_until.replace(tzinfo=None), job.attempts


def test_a_job_longer_than_its_lease_keeps_it_and_a_dead_runners_job_is_taken_over(
    repo: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A runner's heartbeat renews its lease while the job runs: another runner trying
    through four lease lengths never claims it. A claim whose runner died (no heartbeat) is
    taken over once the lease lapses, and the job finishes once."""
    repo.org("Lease Co", ["9521234"])
    with db.open_session(repo.url) as s:
        member = s.exec(select(Member).where(Member.name == "Lease Co")).one()
    engine = db.make_engine(repo.url)
    clock, lease = _Clock(), 30.0

    def job(day: int) -> str:
        doc = _document(*(_event(eventTime=f"2024-06-{day:02d}T0{h}:00:00Z") for h in (1, 2)))
        with db.open_session(repo.url) as s:
            created = epcis_jobs.create_job(
                session=s,
                member_id=member.id,
                document=doc,
                behaviour="rollback",
                hashed=epcis.hash_events(doc),
            )
        return created.capture_id

    entered, release = threading.Event(), threading.Event()
    real_insert = epcis_store._insert

    def long_insert(*args: Any) -> None:
        if not entered.is_set():  # the first job stays in its transaction until released
            entered.set()
            assert release.wait(60)
        real_insert(*args)

    monkeypatch.setattr(epcis_store, "_insert", long_insert)
    first = job(1)
    runner = threading.Thread(
        target=epcis_jobs.run_job,
        args=(engine, first),
        kwargs={"lease": lease, "heartbeat": 0.01, "clock": clock},
    )
    runner.start()
    try:
        assert entered.wait(60)
        for _ in range(4):
            clock.now += timedelta(seconds=lease * 2 / 3)
            deadline = time.monotonic() + 30
            wanted = (clock.now + timedelta(seconds=lease - 1)).replace(tzinfo=None)
            while _lease_until(repo.url, first)[0] < wanted:  # renewed from the new time
                assert time.monotonic() < deadline, "the lease was not renewed"
                time.sleep(0.005)
            epcis_jobs.run_job(engine, first, lease=lease, clock=clock)  # another runner
            assert _lease_until(repo.url, first)[1] == 1  # not claimed again
    finally:
        release.set()
        runner.join(60)
    second = job(2)
    assert epcis_jobs._claim(engine, second, lease, clock) == 1  # its runner dies here
    epcis_jobs.resume_stale(engine, lease=lease, clock=clock)
    assert _lease_until(repo.url, second)[1] == 1  # its lease still holds
    clock.now += timedelta(seconds=lease + 1)
    epcis_jobs.resume_stale(engine, lease=lease, clock=clock)
    engine.dispose()
    with db.open_session(repo.url) as s:
        jobs = {j.capture_id: j for j in s.exec(select(EpcisCapture)).all()}
        stored = s.exec(select(EpcisEvent.capture_id)).all()
    assert (jobs[first].running, jobs[first].success, jobs[first].attempts) == (False, True, 1)
    assert (jobs[second].running, jobs[second].success, jobs[second].attempts) == (False, True, 2)
    assert sorted(stored) == sorted([first, first, second, second])


def test_place_quantity_and_sensor_parameters_filter_and_page(repo: Repo) -> None:
    """WD_readPoint / WD_bizLocation (no master-data hierarchy: the place itself), the
    quantity comparisons and the sensor parameters of EPCIS 2.0 section 8.2.7.1, paged over
    events a filter inside the body skips. Each was a 400 before ("not supported")."""
    mine = repo.org("Sensor Co", ["9521234"])
    cls = "urn:epc:class:lgtin:9521234.054321.L1"

    def reading(day: int, celsius: float, quantity: float, place: str) -> dict[str, Any]:
        return _event(
            eventTime=f"2024-07-{day:02d}T08:00:00Z",
            readPoint={"id": f"urn:epc:id:sgln:9521234.0000{place}.0"},
            quantityList=[{"epcClass": cls, "quantity": quantity, "uom": "KGM"}],
            sensorElementList=[
                {
                    "sensorMetadata": {"deviceID": "urn:epc:id:giai:9521234.T1"},
                    "sensorReport": [
                        {"type": "gs1:Temperature", "value": celsius, "uom": "CEL"},
                        {"type": "AbsoluteHumidity", "value": 40 + day, "uom": "A93"},
                    ],
                }
            ],
        )

    days = [reading(1, 4.0, 10, "1"), reading(2, 15.5, 25, "2"), reading(3, 21.0, 5, "1")]
    # No sensor, no quantity, elsewhere:
    days.append(
        _event(
            eventTime="2024-07-04T08:00:00Z", readPoint={"id": "urn:epc:id:sgln:9521234.00003.0"}
        )
    )
    assert repo.capture(mine, _document(*days)).status_code == 202

    def times(query: str) -> list[str]:
        return [
            e["eventTime"][8:10]
            for p in repo.pages(mine, f"/epcis/events?{query}&perPage=1")
            for e in p["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
        ]

    place = quote("urn:epc:id:sgln:9521234.00001.0", safe="")
    assert times(f"WD_readPoint={place}") == ["01", "03"]
    assert times(f"WD_bizLocation={place}") == []
    assert times("GE_quantity=10") == ["01", "02"]
    assert times("GT_quantity=5&LT_quantity=25") == ["01"]
    assert times("EQ_quantity=5") == ["03"]
    assert times("GE_value_CEL=15.5") == ["02", "03"]
    assert times("EQ_type=Temperature&LT_value_CEL=15") == ["01"]
    # One report must meet every sensor parameter: no Temperature report is in A93.
    assert times(f"EQ_type={quote('https://gs1.org/voc/Temperature')}&GE_value_A93=0") == []
    assert times("EQ_type=AbsoluteHumidity&GE_value_A93=43") == ["03"]
    assert times(f"EQ_deviceID={quote('urn:epc:id:giai:9521234.T1')}") == ["01", "02", "03"]
    assert times("EXISTS_sensorElement=false") == ["04"]
    r = repo.client.get("/epcis/events?GE_value_CEL=warm", headers=mine)
    assert r.status_code == 400 and "not a number" in r.json()["detail"]


@pytest.fixture(scope="module")
def captured(chain: ChainContext, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One repository, captured once for the parameter cases below: four events in a first
    job (event days 01-04: error declarations, a persistent disposition, an ilmd, a
    transformation) and a fifth (day 30 of the month before) in a second, recorded later."""
    tmp = tmp_path_factory.mktemp("params")
    settings = Settings(
        env="test", data_dir=tmp, database_url=f"sqlite:///{tmp / 'cp.db'}", chain="embedded"
    )
    with TestClient(create_app(settings, chain=chain, run_batcher=False)) as client:
        repo = Repo(client, settings)
        headers = repo.org("Param Co", ["9521234"])
        first = [
            _event(
                eventTime="2024-07-01T08:00:00Z",
                errorDeclaration={
                    "declarationTime": "2024-08-01T00:00:00Z",
                    "reason": "incorrect_data",
                    "correctiveEventIDs": ["urn:uuid:4a6e1b2c-0d3f-4c5e-8a9b-1c2d3e4f5a6b"],
                },
                persistentDisposition={
                    "set": ["completeness_verified"],
                    "unset": ["completeness_inferred"],
                },
                bizTransactionList=[{"type": "po", "bizTransaction": PO}],
                **{"ext1:temperature": 4.5, "ext1:logger": {"ext1:serial": "S-1"}},
            ),
            _event(
                eventTime="2024-07-02T08:00:00Z",
                errorDeclaration={
                    "declarationTime": "2024-08-05T00:00:00Z",
                    "reason": "https://ref.gs1.org/cbv/ER-did_not_occur",
                },
                ilmd={"ext1:lot": "L1"},
                sourceList=[{"type": "owning_party", "source": PARTY}],
                destinationList=[{"type": "location", "destination": PLACE}],
            ),
            {
                "type": "TransformationEvent",
                "eventTime": "2024-07-03T08:00:00Z",
                "eventTimeZoneOffset": "+00:00",
                "transformationID": "urn:epc:id:gdti:9521234.00001.1",
                "inputEPCList": ["urn:epc:id:sgtin:9521234.054321.8"],
                "outputEPCList": ["urn:epc:id:sgtin:9521234.054321.9"],
            },
            _event(eventTime="2024-07-04T08:00:00Z", **{"ext1:temperature": 21}),
        ]
        for doc in (_document(*first), _document(_event(eventTime="2024-06-30T08:00:00Z"))):
            r = repo.capture(headers, doc)
            assert r.status_code == 202, r.text
            assert repo.job(headers, r.headers["Location"])["success"] is True
        yield repo, headers


PO = "urn:epcglobal:cbv:bt:9521234000017:PO1"
PARTY = "urn:epc:id:pgln:9521234.00000"
PLACE = "urn:epc:id:sgln:9521234.00009.0"
# query → the event days answered, page by page (perPage=2 unless given), or a refusal's status
PARAMETER_CASES: list[tuple[str, list[str] | int]] = [
    ("EXISTS_errorDeclaration=true", ["01", "02"]),
    ("EXISTS_errorDeclaration=false", ["03", "04", "30"]),
    ("GE_errorDeclarationTime=2024-08-02T00:00:00Z", ["02"]),
    ("LT_errorDeclarationTime=2024-08-02T00:00:00Z", ["01"]),
    ("EQ_errorReason=incorrect_data", ["01"]),
    ("EQ_errorReason=urn:epcglobal:cbv:er:did_not_occur", ["02"]),
    ("EQ_correctiveEventID=urn:uuid:4a6e1b2c-0d3f-4c5e-8a9b-1c2d3e4f5a6b", ["01"]),
    ("EQ_persistentDisposition_set=completeness_verified", ["01"]),
    ("EQ_persistentDisposition_unset=https://ref.gs1.org/cbv/Disp-completeness_inferred", ["01"]),
    ("EQ_persistentDisposition_set=completeness_inferred", []),
    ("EQ_transformationID=urn:epc:id:gdti:9521234.00001.1", ["03"]),
    ("EXISTS_ilmd=true", ["02"]),
    (f"EQ_bizTransaction_po={PO}", ["01"]),
    (f"EQ_bizTransaction_urn:epcglobal:cbv:btt:po={PO}", ["01"]),
    (f"EQ_bizTransaction_inv={PO}", []),
    (f"EQ_source_owning_party={PARTY}", ["02"]),
    (f"EQ_destination_https://ref.gs1.org/cbv/SDT-location={PLACE}", ["02"]),
    (f"EQ_destination_location={PARTY}", []),
    ("EXISTS_transformationID=false&EXISTS_persistentDisposition=false", ["02", "04", "30"]),
    ("EQ_ILMD_ext1:lot=L1", ["02"]),
    ("EQ_ILMD_https://ns.example.org/ext1/lot=L1", ["02"]),  # the IRI, as GS1 names it
    ("EXISTS_ILMD_ext1:lot=false", ["01", "03", "04", "30"]),
    ("EQ_ext1:temperature=4.5", ["01"]),
    ("GT_https://ns.example.org/ext1/temperature=10", ["04"]),
    ("LE_ext1:temperature=4.5", ["01"]),
    ("EQ_INNER_ext1:serial=S-1", ["01"]),
    ("EQ_ext1:serial=S-1", []),  # not a field of the event itself
    ("orderBy=eventTime", ["04", "03", "02", "01", "30"]),  # DESC unless ASC is asked
    ("orderBy=eventTime&orderDirection=ASC", ["30", "01", "02", "03", "04"]),
    ("orderBy=recordTime", ["30", "04", "03", "02", "01"]),  # ties: the later capture first
    ("orderBy=recordTime&orderDirection=ASC&perPage=1", ["01", "02", "03", "04", "30"]),
    ("orderBy=eventTime&EXISTS_errorDeclaration=true&perPage=1", ["02", "01"]),
    ("eventCountLimit=3", ["01", "02", "03"]),
    ("orderBy=eventTime&orderDirection=ASC&eventCountLimit=2&perPage=1", ["30", "01"]),
    ("maxEventCount=5", ["01", "02", "03", "04", "30"]),
    ("maxEventCount=4", 413),
    ("EXISTS_errorDeclaration=true&maxEventCount=1", 413),
    ("orderBy=ilmd", 400),
    ("eventCountLimit=2&maxEventCount=2", 400),
]


@pytest.mark.parametrize(("query", "expected"), PARAMETER_CASES)
def test_error_declaration_transformation_and_result_parameters(
    captured: Any, query: str, expected: list[str] | int
) -> None:
    """The last standard parameters of EPCIS 2.0 section 8.2.7.1, each a 400 ("not
    supported") before: filters read inside the stored event (user extension fields by IRI
    or by CURIE, expanded with each event's own context), orderBy/orderDirection paged
    by keyset tokens (every event once, in order, across pages), eventCountLimit over all
    pages, maxEventCount refusing with QueryTooLargeException."""
    repo, headers = captured
    url = f"/epcis/events?{query}" + ("" if "perPage" in query else "&perPage=2")
    if isinstance(expected, int):
        r = repo.client.get(url, headers=headers)
        assert r.status_code == expected, r.text
        kind = "QueryTooLargeException" if expected == 413 else "ValidationException"
        assert r.json()["type"] == f"epcisException:{kind}"
        return
    days = [
        e["eventTime"][8:10]
        for p in repo.pages(headers, url)
        for e in p["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    ]
    assert days == expected


def test_an_order_token_is_refused_for_another_order_and_initial_record_time_reaches_back(
    captured: Any,
) -> None:
    repo, headers = captured
    r = repo.client.get("/epcis/events?orderBy=eventTime&perPage=1", headers=headers)
    token = r.headers["Link"].split("nextPageToken=")[1].split(">")[0]
    r = repo.client.get(f"/epcis/events?orderBy=recordTime&nextPageToken={token}", headers=headers)
    assert r.status_code == 400 and "nextPageToken" in r.json()["detail"]
    with db.open_session(repo.url) as s:
        everyone = list(s.exec(select(EpcisEvent).order_by(EpcisEvent.id)).all())
        org = s.exec(select(Member).where(Member.name == "Param Co")).one().id
        ours = [e for e in everyone if e.member_id == org]  # the walk below adds others
        times = sorted({e.record_time for e in ours})
        assert len(ours) == 5 and len(times) == 2  # two captures
        newest = everyone[-1].id

        def cursor(initial: str | None) -> int:
            body = {"dest": "http://127.0.0.1:9/hook", "stream": True}
            if initial is not None:
                body["initialRecordTime"] = initial
            sub = epcis_webhooks.subscribe(
                session=s, member_id=None, query_name="q", query={}, body=body, allow_private=True
            )
            return sub.cursor

        second = times[1].replace(tzinfo=times[1].tzinfo or UTC).isoformat()
        assert cursor(None) == newest  # new events only
        assert cursor("2000-01-01T00:00:00Z") == everyone[0].id - 1  # every event
        assert cursor(second) == ours[-1].id - 1  # the second capture's event on
        assert cursor("2100-01-01T00:00:00Z") == newest


def test_an_ordered_walk_is_stable_while_events_are_captured(captured: Any) -> None:
    """Keyset paging: events captured mid-walk neither repeat nor shift what the walk still
    answers (an offset would answer day 10 again once day 05 arrived before it). Another
    org's events: the shared repository's cases do not see them."""
    repo, _ = captured
    other = repo.org("Order Co", ["9527777"])

    def day(d: int) -> dict[str, Any]:
        return _event(
            eventTime=f"2024-09-{d:02d}T08:00:00Z", epcList=["urn:epc:id:sgtin:9527777.054321.1"]
        )

    assert repo.capture(other, _document(day(10), day(20), day(30))).status_code == 202
    url, seen = "/epcis/events?orderBy=eventTime&orderDirection=ASC&perPage=1", []
    while url:
        r = repo.client.get(url, headers=other)
        page = r.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
        seen += [e["eventTime"][8:10] for e in page]
        if len(seen) == 1:  # mid-walk: one before the walk's position, one after it
            assert repo.capture(other, _document(day(5), day(25))).status_code == 202
        link = r.headers.get("Link", "")
        url = link[1 : link.index(">")] if 'rel="next"' in link else ""
    assert seen == ["10", "20", "25", "30"]
