"""Every route × every principal × whose resource it is, against ``api/authz.py``'s table.

The routes come from the app's own route table (API and pages), so a route added without a
rule in :data:`chainproof.api.authz.RULES` fails :func:`test_every_route_has_a_rule`, and a
rule left behind by a removed route fails it too. Each route then gets its own test: every
principal (anonymous, a submitter of org A, a submitter of org B, a reviewer, an admin)
calls it on A's resource and on B's, and the answer must be what :func:`authz.decide`
says: 401, 403, a 404 that is indistinguishable from a resource that does not exist, or
allowed (no 401/403, no 5xx but a 503), with the owner's private metadata (labels, project
names) present exactly when the caller may see it.

A route needs a request sample below (:data:`SAMPLES`) when its rule depends on the owner;
routes whose rule ignores the owner are called with placeholder ids when they have none.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from chainproof import identity
from chainproof.api import authz
from chainproof.api.app import create_app
from chainproof.api.authz import ANONYMOUS, Outcome
from chainproof.chain.context import ChainContext
from chainproof.config import Settings
from chainproof.public_ids import new_public_id
from chainproof.recordings.links import genesis, link_of
from chainproof.store import db
from chainproof.store.models import Evidence
from chainproof.store.ops import ChainOp

from ..factories import wait_anchored

ORG_A = "示范企业甲"
ORG_B = "示范企业乙"
# principal → (role, org); the org decides which resources it owns.
PRINCIPALS: dict[str, tuple[str, str | None]] = {
    "anonymous": (ANONYMOUS, None),
    "submitter_a": ("submitter", "A"),
    "submitter_b": ("submitter", "B"),
    "reviewer": ("reviewer", None),
    "admin": ("admin", None),
}
ORG_NAMES = {"A": ORG_A, "B": ORG_B}
# Whose each resource owner is: "D" is a document of A's subsidy application (A owns it,
# and reviewers see it as A does: authz ``sees_reviewed``); A's and B's plain evidence
# belongs to no application, so reviewers are strangers to it.
OWNER_ORG = {"A": "A", "B": "B", "D": "A"}
REVIEWED = "D"
NOWHERE = 2**62  # an id no resource has
NOWHERE_EVIDENCE = new_public_id()  # a well-formed public id no evidence has

# Routes whose current behaviour breaks their rule: the test is expected to fail until the
# fix named here lands, and then (strict xfail) the xfail itself fails as a reminder.
KNOWN_GAPS: dict[authz.RouteKey, str] = {}


def _app_routes() -> list[authz.RouteKey]:
    # Building the app registers routes only: no lifespan, no database, no chain.
    settings = Settings(env="test", data_dir=Path("/nonexistent/chainproof-authz"))
    return authz.route_keys(create_app(settings))


ROUTES = _app_routes()


def test_every_route_has_a_rule() -> None:
    missing = [f"{m} {p}" for m, p in ROUTES if authz.rule_for(m, p) is None]
    assert not missing, (
        "routes without an authorization rule: add them to chainproof/api/authz.py RULES "
        "(and a request sample to tests/security/test_authz_matrix.py SAMPLES if the owner "
        "matters):\n  " + "\n  ".join(missing)
    )
    stale = [f"{m} {p}" for m, p in authz.RULES if (m, p) not in ROUTES]
    assert not stale, "rules for routes the app no longer has:\n  " + "\n  ".join(stale)


# --- the world the matrix runs in -------------------------------------------------------------


@dataclass
class World:
    """A running app with two member orgs' resources, and a key per principal."""

    client: TestClient
    settings: Settings
    headers: dict[str, dict[str, str]] = field(default_factory=dict)
    evidence: dict[str, dict[str, Any]] = field(default_factory=dict)  # org → record
    labels: dict[str, str] = field(default_factory=dict)
    spare_keys: dict[str, int] = field(default_factory=dict)
    round_code: str = ""
    applications: dict[str, int] = field(default_factory=dict)
    projects: dict[str, str] = field(default_factory=dict)
    epcis: dict[str, dict[str, str]] = field(default_factory=dict)  # org → its EPCIS things
    recordings: dict[str, str] = field(default_factory=dict)  # org → its latest recording
    licences: dict[str, str] = field(default_factory=dict)  # org → its latest licence
    datasets: dict[str, str] = field(default_factory=dict)  # org → its latest data set

    def key(self, org: str, role: str) -> tuple[int, str]:
        with db.open_session(self.settings.resolved_database_url) as session:
            row, key = identity.create_api_key(session=session, org=org, role=role)
        assert row.id is not None
        return row.id, key

    def as_(self, principal: str) -> dict[str, str]:
        return self.headers[principal]

    def new_document(self, org: str) -> int:
        """A fresh document attached to ``org``'s application (for a detach to remove)."""
        return int(self.attach(org)["id"])

    def attach(self, org: str) -> dict[str, Any]:
        """A fresh document of ``org``'s application: its ``DocumentOut``."""
        response = self.client.post(
            f"/api/v1/subsidy/applications/{self.applications[org]}/documents",
            headers=self.as_(f"submitter_{org.lower()}"),
            data={"kind": "其他"},
            files={"file": ("doc.pdf", secrets.token_bytes(16))},
        )
        assert response.status_code == 201, response.text
        document: dict[str, Any] = response.json()[0]
        return document


@pytest.fixture(scope="module")
def world(chain: ChainContext, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    data = tmp_path_factory.mktemp("authz") / "data"
    settings = Settings(
        env="test",
        data_dir=data,
        database_url=f"sqlite:///{data / 'chainproof.db'}",
        chain="embedded",
        batch_size=10,
        batch_interval_ms=50,
        epcis_webhook_allow_private=True,
    )
    with TestClient(create_app(settings, chain=chain)) as client:
        w = World(client=client, settings=settings)
        w.headers["anonymous"] = {}
        others = {"reviewer": "创新中心", "admin": "运营方"}
        for name, (role, org) in PRINCIPALS.items():
            if role != ANONYMOUS:
                org_name = ORG_NAMES[org] if org else others[role]
                w.headers[name] = {"Authorization": f"Bearer {w.key(org_name, role)[1]}"}
        for org in ("A", "B"):
            w.labels[org] = f"private-label-{org}-{secrets.token_hex(6)}"
            upload = client.post(
                "/api/v1/evidence",
                headers=w.as_(f"submitter_{org.lower()}"),
                files={"file": (f"{org}.pdf", secrets.token_bytes(32))},
                data={"label": w.labels[org]},
            )
            assert upload.status_code == 202, upload.text
            w.evidence[org] = wait_anchored(
                client, upload.json()["items"][0]["id"], w.as_(f"submitter_{org.lower()}")
            )
            w.spare_keys[org] = w.key(ORG_NAMES[org], "submitter")[0]
        if any(p.startswith(("/api/v1/subsidy/", "/applications")) for _, p in ROUTES):
            _subsidy_world(w)
            document = w.attach("A")
            w.labels[REVIEWED] = f"subsidy application {w.applications['A']}"
            w.evidence[REVIEWED] = wait_anchored(
                client, document["evidence_id"], w.as_("submitter_a")
            )
        if any(p.startswith("/epcis") for _, p in ROUTES):
            _epcis_world(w)
        yield w


def _epcis_world(w: World) -> None:
    """A and B each a trace org with a company prefix, one captured event and one job,
    every value of the event (EPC, step, disposition, places) its org's own."""
    for org, prefix in (("A", "9521111"), ("B", "9522222")):
        with db.open_session(w.settings.resolved_database_url) as session:
            member = identity.get_member(session=session, name=ORG_NAMES[org])
        r = w.client.post(
            "/api/v1/trace/orgs",
            headers=w.as_("admin"),
            json={"member_id": member.id, "role": "producer", "glns": [], "prefixes": [prefix]},
        )
        assert r.status_code == 200, r.text
        token = secrets.token_hex(4)
        things = {
            "event_id": f"urn:uuid:{secrets.token_hex(16)}",
            "epc": f"urn:epc:id:sgtin:{prefix}.054321.{token}",
            "bizStep": f"https://ns.example.org/{org}/step-{token}",
            "disposition": f"https://ns.example.org/{org}/disp-{token}",
            "readPoint": f"urn:epc:id:sgln:{prefix}.00001.{token}",
            "bizLocation": f"urn:epc:id:sgln:{prefix}.00002.{token}",
        }
        event = {
            "type": "ObjectEvent",
            "eventID": things["event_id"],
            "eventTime": "2024-05-01T08:30:00Z",
            "eventTimeZoneOffset": "+08:00",
            "epcList": [things["epc"]],
            "action": "OBSERVE",
            "bizStep": things["bizStep"],
            "disposition": things["disposition"],
            "readPoint": {"id": things["readPoint"]},
            "bizLocation": {"id": things["bizLocation"]},
        }
        doc = {
            "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
            "type": "EPCISDocument",
            "schemaVersion": "2.0",
            "creationDate": "2024-05-01T09:00:00Z",
            "epcisBody": {"eventList": [event]},
        }
        r = w.client.post("/epcis/capture", json=doc, headers=w.as_(f"submitter_{org.lower()}"))
        assert r.status_code == 202, r.text
        things["capture_id"] = r.headers["Location"].rsplit("/", 1)[1]
        things["query"] = _epcis_query(w, org, {"EQ_bizStep": [things["bizStep"]]})
        things["subscription"] = _epcis_subscription(w, org, things["query"])
        w.epcis[org] = things


def _epcis_subscription(w: World, org: str, query: str) -> str:
    """A new webhook subscription of ``org``'s to its query: its id. The destination is the
    discard port on loopback (the world allows private destinations): deliveries are refused
    at once and retried, nothing leaves the machine."""
    r = w.client.post(
        f"/epcis/queries/{query}/subscriptions",
        json={"dest": "http://127.0.0.1:9/hook", "stream": True, "signatureToken": "t"},
        headers=w.as_(f"submitter_{org.lower()}"),
    )
    assert r.status_code == 201, r.text
    return str(r.json()["subscriptionID"])


def _epcis_query(w: World, org: str, query: dict[str, Any]) -> str:
    """A new named query of ``org``'s: its name."""
    name = f"q-{org}-{secrets.token_hex(4)}"
    r = w.client.post(
        "/epcis/queries",
        json={"name": name, "query": query},
        headers=w.as_(f"submitter_{org.lower()}"),
    )
    assert r.status_code == 201, r.text
    return name


def _subsidy_world(w: World) -> None:
    w.round_code = f"authz-{secrets.token_hex(4)}"
    deadline = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    created = w.client.post(
        "/api/v1/subsidy/rounds",
        headers=w.as_("admin"),
        json={"code": w.round_code, "name": "授权矩阵", "deadline": deadline},
    )
    assert created.status_code == 201, created.text
    for org in ("A", "B"):
        w.projects[org] = f"private-project-{org}-{secrets.token_hex(6)}"
        app = w.client.post(
            "/api/v1/subsidy/applications",
            headers=w.as_(f"submitter_{org.lower()}"),
            json=_application_body(w.round_code, w.projects[org]),
        )
        assert app.status_code == 201, app.text
        w.applications[org] = int(app.json()["id"])


def _application_body(round_code: str, project: str) -> dict[str, Any]:
    return {
        "round": round_code,
        "scope_category": "政务",
        "scope_field": "可信存证",
        "project_name": project,
        "summary": "授权矩阵测试",
        "requests": ["cash", "cloud"],
        "self_investment_wan": 120,
        "headcount": 15,
        "packages": ["platform-admin-pro"],
    }


# --- request samples --------------------------------------------------------------------------


@dataclass(frozen=True)
class Req:
    method: str
    url: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    # Private texts of the owner; each is present iff the caller may see it.
    marker: str | tuple[str, ...] | None = None


Sample = Callable[[World, str | None], Req]


def _ev(w: World, org: str | None) -> dict[str, Any]:
    return w.evidence[org or "A"]


def _app(w: World, org: str | None) -> str:
    return f"/api/v1/subsidy/applications/{w.applications[org or 'A']}"


def _page(w: World, org: str | None, suffix: str = "") -> Req:
    """A subsidy page of ``org``'s application: a frame that must not carry its data."""
    return Req(
        "GET", f"/applications/{w.applications[org or 'A']}{suffix}", marker=w.projects[org or "A"]
    )


def _private(w: World, org: str | None) -> tuple[str, ...]:
    """What only those who may see ``org``'s record may read: label, digest, member."""
    o = org or "A"
    return (w.labels[o], w.evidence[o]["digest"], ORG_NAMES[OWNER_ORG[o]])


def _receipt(w: World) -> dict[str, Any]:
    body: dict[str, Any] = w.client.get(
        f"/api/v1/evidence/{w.evidence['A']['id']}/receipt", headers=w.as_("submitter_a")
    ).json()
    return body


def _batch_id(w: World) -> int:
    with db.open_session(w.settings.resolved_database_url) as session:
        row = session.exec(
            select(Evidence).where(Evidence.public_id == w.evidence["A"]["id"])
        ).first()
        assert row is not None and row.batch_id is not None
        return row.batch_id


def _operation(w: World, org: str | None) -> str:
    """A settled chain operation of ``org`` (a row as the writer leaves it: no chain work)."""
    with db.open_session(w.settings.resolved_database_url) as session:
        member = identity.get_member(session=session, name=ORG_NAMES[org or "A"])
        op = ChainOp(
            public_id=secrets.token_hex(16),
            kind="revoke_leaf",
            status="failed",
            member_id=member.id,
            error="authz matrix sample",
        )
        session.add(op)
        session.commit()
        return op.public_id


def _digests() -> dict[str, Any]:
    return {"digests": ["0x" + secrets.token_hex(32)]}


def _recording(w: World, org: str | None, suffix: str, first_segment: bool = False) -> Req:
    """A fresh recording of ``org`` (made by its submitter) and a request on it."""
    nonce = secrets.token_bytes(32)
    opened = w.client.post(
        "/api/v1/recordings",
        headers=w.as_(f"submitter_{(org or 'A').lower()}"),
        json={"nonce": "0x" + nonce.hex(), "segment_bytes": 1024},
    )
    assert opened.status_code == 201, opened.text
    w.recordings[org or "A"] = rid = opened.json()["id"]
    url = f"/api/v1/recordings/{rid}{suffix}"
    if suffix == "/close":
        return Req("POST", url, {"json": {"size": 0, "digest": "0x" + "00" * 32}})
    if first_segment:
        digest = hashlib.sha256(b"x" * 1024).digest()
        link = link_of(genesis(nonce), 0, 0, 1024, digest)
        segment = {"index": 0, "offset": 0, "length": 1024}
        segment |= {"digest": "0x" + digest.hex(), "link": "0x" + link.hex()}
        return Req("POST", url, {"json": {"segments": [segment]}})
    return Req("GET", url)


def _dataset(w: World, org: str | None, suffix: str, method: str = "GET", body: Any = None) -> Req:
    """A fresh data set of ``org`` (registered by its submitter) and a request on it."""
    org = org or "A"
    made = w.client.post(
        "/api/v1/datasets",
        headers=w.as_(f"submitter_{org.lower()}"),
        json={
            "name": f"authz {secrets.token_hex(4)}",
            "licence": "CC-BY-4.0",
            "paths": ["a.csv"],
            "sizes": [1],
            "sha256": ["0x" + "ab" * 32],
        },
    )
    assert made.status_code == 201, made.text
    w.datasets[org] = rid = made.json()["id"]
    return Req(method, f"/api/v1/datasets/{rid}{suffix}", {"json": body} if body else {})


def _licence(w: World, org: str | None, suffix: str, body: Any = None) -> Req:
    """A fresh licence issued by ``org`` (made an issuer org, with a type, on first use)."""
    org = org or "A"
    submitter = w.as_(f"submitter_{org.lower()}")
    if org not in w.licences:
        made = w.client.post(
            "/api/v1/licences/issuers", headers=w.as_("admin"), json={"org": ORG_NAMES[org]}
        )
        assert made.status_code == 200, made.text
        ltype = {"code": "证", "name": "证", "fields": ["名称"], "validity_days": 30}
        typed = w.client.post("/api/v1/licences/types", headers=submitter, json=ltype)
        assert typed.status_code == 201, typed.text
    issued = w.client.post(
        "/api/v1/licences",
        headers=submitter,
        json={"type": "证", "holder": "h", "claims": {"名称": "n"}},
    )
    assert issued.status_code == 201, issued.text
    w.licences[org] = lid = issued.json()["id"]
    url = f"/api/v1/licences/{lid}{suffix}"
    return Req("GET", url) if body is None else Req("POST", url, {"json": body})


_ACCEPTANCE_FIELDS = {"kind": "发票", "amount_wan": "10", "number": "No.1", "issuer": "某公司"}


def _epcis_sample(path: str, key: str | None = None, marker: str = "event_id") -> Sample:
    """A request for ``path`` naming the owner's EPCIS ``key`` (its captured value)."""

    def build(w: World, o: str | None) -> Req:
        mine = w.epcis[o or "A"]
        url = path.format(quote(mine[key], safe="")) if key else path
        return Req("GET", url, marker=mine[marker])

    return build


_EPCIS_BROWSE = {
    "epcs": "epc",
    "bizSteps": "bizStep",
    "dispositions": "disposition",
    "readPoints": "readPoint",
    "bizLocations": "bizLocation",
}
_EPCIS_SAMPLES: dict[authz.RouteKey, tuple[bool, Sample]] = {
    ("GET", "/epcis/capture"): (True, _epcis_sample("/epcis/capture", marker="capture_id")),
    ("GET", "/epcis/capture/{captureID}"): (
        True,
        lambda w, o: Req("GET", f"/epcis/capture/{w.epcis[o or 'A']['capture_id']}"),
    ),
    ("GET", "/epcis/events"): (True, _epcis_sample("/epcis/events")),
    ("GET", "/epcis/events/{eventID:path}"): (
        True,
        lambda w, o: Req("GET", f"/epcis/events/{quote(w.epcis[o or 'A']['event_id'], safe='')}"),
    ),
    ("GET", "/epcis/eventTypes"): (False, lambda w, o: Req("GET", "/epcis/eventTypes")),
    ("GET", "/epcis/queries"): (True, _epcis_sample("/epcis/queries", marker="query")),
    ("GET", "/epcis/queries/{queryName}"): (
        True,
        lambda w, o: Req("GET", f"/epcis/queries/{w.epcis[o or 'A']['query']}"),
    ),
    ("GET", "/epcis/queries/{queryName}/events"): (
        True,
        lambda w, o: Req(
            "GET",
            f"/epcis/queries/{w.epcis[o or 'A']['query']}/events",
            marker=w.epcis[o or "A"]["event_id"],
        ),
    ),
    ("POST", "/epcis/queries/{queryName}/subscriptions"): (
        True,
        lambda w, o: Req(
            "POST",
            f"/epcis/queries/{w.epcis[o or 'A']['query']}/subscriptions",
            {"json": {"dest": "http://127.0.0.1:9/hook", "stream": True}},
        ),
    ),
    ("GET", "/epcis/queries/{queryName}/subscriptions"): (
        True,
        lambda w, o: Req(
            "GET",
            f"/epcis/queries/{w.epcis[o or 'A']['query']}/subscriptions",
            marker=w.epcis[o or "A"]["subscription"],
        ),
    ),
    ("GET", "/epcis/queries/{queryName}/subscriptions/{subscriptionID}"): (
        True,
        lambda w, o: Req(
            "GET",
            f"/epcis/queries/{w.epcis[o or 'A']['query']}/subscriptions/"
            + w.epcis[o or "A"]["subscription"],
        ),
    ),
    ("DELETE", "/epcis/queries/{queryName}/subscriptions/{subscriptionID}"): (
        True,
        lambda w, o: Req(
            "DELETE",
            f"/epcis/queries/{w.epcis[o or 'A']['query']}/subscriptions/"
            + _epcis_subscription(w, o or "A", w.epcis[o or "A"]["query"]),
        ),
    ),
    ("DELETE", "/epcis/queries/{queryName}"): (
        True,
        lambda w, o: Req(
            "DELETE", f"/epcis/queries/{_epcis_query(w, o or 'A', {'EQ_action': ['ADD']})}"
        ),
    ),
    ("GET", "/epcis/eventTypes/{value:path}/events"): (
        True,
        _epcis_sample("/epcis/eventTypes/ObjectEvent/events"),
    ),
    **{
        ("GET", f"/epcis/{r}"): (True, _epcis_sample(f"/epcis/{r}", marker=k))
        for r, k in _EPCIS_BROWSE.items()
    },
    **{
        ("GET", f"/epcis/{r}/{{value:path}}/events"): (
            True,
            _epcis_sample(f"/epcis/{r}/{{}}/events", key=k),
        )
        for r, k in _EPCIS_BROWSE.items()
    },
}

# (names a resource?, builder). A resource-naming sample is called once per owner.
SAMPLES: dict[authz.RouteKey, tuple[bool, Sample]] = {
    **_EPCIS_SAMPLES,
    ("POST", "/api/v1/evidence"): (
        False,
        lambda w, o: Req("POST", "/api/v1/evidence", {"files": {"file": ("x", b"authz")}}),
    ),
    ("POST", "/api/v1/evidence/digests"): (
        False,
        lambda w, o: Req("POST", "/api/v1/evidence/digests", {"json": _digests()}),
    ),
    ("GET", "/api/v1/licences/{licence_id}"): (True, lambda w, o: _licence(w, o, "")),
    ("GET", "/api/v1/datasets/{resource_id}"): (True, lambda w, o: _dataset(w, o, "")),
    ("GET", "/api/v1/datasets/{resource_id}/manifest"): (
        True,
        lambda w, o: _dataset(w, o, "/manifest"),
    ),
    ("GET", "/api/v1/datasets/{resource_id}/proof"): (
        True,
        lambda w, o: _dataset(w, o, "/proof?path=a.csv"),
    ),
    ("POST", "/api/v1/datasets/{resource_id}/grants"): (
        True,
        lambda w, o: _dataset(w, o, "/grants", "POST", {"org": ORG_B}),
    ),
    ("DELETE", "/api/v1/datasets/{resource_id}/grants/{org}"): (
        True,
        lambda w, o: _dataset(w, o, "/grants/" + quote(ORG_B, safe=""), "DELETE"),
    ),
    ("POST", "/api/v1/licences/{licence_id}/status"): (
        True,
        lambda w, o: _licence(w, o, "/status", {"action": "suspend", "reason": "matrix"}),
    ),
    ("POST", "/api/v1/licences/{licence_id}/renew"): (
        True,
        lambda w, o: _licence(w, o, "/renew", {}),
    ),
    ("POST", "/api/v1/licences/{licence_id}/presentation"): (
        True,
        lambda w, o: _licence(w, o, "/presentation", {"fields": ["名称"]}),
    ),
    ("GET", "/licences/{licence_id}/licence.pdf"): (
        True,
        lambda w, o: Req("GET", _licence(w, o, "").url.removeprefix("/api/v1") + "/licence.pdf"),
    ),
    ("GET", "/api/v1/recordings/{recording_id}"): (True, lambda w, o: _recording(w, o, "")),
    ("POST", "/api/v1/recordings/{recording_id}/segments"): (
        True,
        lambda w, o: _recording(w, o, "/segments", first_segment=True),
    ),
    ("POST", "/api/v1/recordings/{recording_id}/close"): (
        True,
        lambda w, o: _recording(w, o, "/close"),
    ),
    ("GET", "/api/v1/evidence/{evidence_id}"): (
        True,
        lambda w, o: Req("GET", f"/api/v1/evidence/{_ev(w, o)['id']}", marker=_private(w, o)),
    ),
    ("GET", "/api/v1/evidence/{evidence_id}/receipt"): (
        True,
        lambda w, o: Req(
            "GET", f"/api/v1/evidence/{_ev(w, o)['id']}/receipt", marker=_private(w, o)
        ),
    ),
    ("GET", "/api/v1/evidence/{evidence_id}/bundle"): (
        True,
        lambda w, o: Req("GET", f"/api/v1/evidence/{_ev(w, o)['id']}/bundle"),
    ),
    ("GET", "/api/v1/evidence/{evidence_id}/court"): (
        True,
        lambda w, o: Req("GET", f"/api/v1/evidence/{_ev(w, o)['id']}/court"),
    ),
    ("POST", "/api/v1/evidence/{evidence_id}/revoke"): (
        True,
        lambda w, o: Req(
            "POST", f"/api/v1/evidence/{_ev(w, o)['id']}/revoke", {"json": {"reason": "矩阵"}}
        ),
    ),
    ("GET", "/api/v1/operations/{operation_id}"): (
        True,
        lambda w, o: Req("GET", f"/api/v1/operations/{_operation(w, o)}"),
    ),
    ("POST", "/api/v1/verify"): (
        True,
        lambda w, o: Req(
            "POST",
            "/api/v1/verify",
            {"json": {"algorithm": "sha256", "digest": _ev(w, o)["digest"]}},
            # Not the digest: the caller sent it, and the verdict echoes it to anyone.
            marker=(w.labels[o or "A"], ORG_NAMES[OWNER_ORG[o or "A"]]),
        ),
    ),
    ("POST", "/api/v1/receipts/verify"): (
        False,
        lambda w, o: Req("POST", "/api/v1/receipts/verify", {"json": _receipt(w)}),
    ),
    ("GET", "/api/v1/batches/{batch_id}"): (
        False,
        lambda w, o: Req("GET", f"/api/v1/batches/{_batch_id(w)}"),
    ),
    ("POST", "/api/v1/members"): (
        False,
        lambda w, o: Req("POST", "/api/v1/members", {"json": {"name": "新成员"}}),
    ),
    ("POST", "/api/v1/keys"): (
        False,
        lambda w, o: Req("POST", "/api/v1/keys", {"json": {"org": ORG_A, "role": "submitter"}}),
    ),
    ("DELETE", "/api/v1/keys/{key_id}"): (
        True,
        lambda w, o: Req("DELETE", f"/api/v1/keys/{w.spare_keys[o or 'A']}"),
    ),
    ("GET", "/evidence/{evidence_id}"): (
        True,
        lambda w, o: Req("GET", f"/evidence/{_ev(w, o)['id']}", marker=_private(w, o)),
    ),
    ("GET", "/evidence/{evidence_id}/certificate"): (
        True,
        lambda w, o: Req("GET", f"/evidence/{_ev(w, o)['id']}/certificate", marker=_private(w, o)),
    ),
    ("GET", "/evidence/{evidence_id}/certificate.pdf"): (
        True,
        lambda w, o: Req(
            "GET", f"/evidence/{_ev(w, o)['id']}/certificate.pdf", marker=_private(w, o)
        ),
    ),
    ("GET", "/explorer/block/{number}"): (
        False,
        lambda w, o: Req("GET", f"/explorer/block/{_ev(w, o)['anchor']['block_number']}"),
    ),
    ("GET", "/explorer/tx/{tx_hash}"): (
        False,
        lambda w, o: Req("GET", f"/explorer/tx/{_ev(w, o)['anchor']['tx_hash']}"),
    ),
    ("GET", "/explorer/root/{root}"): (
        False,
        lambda w, o: Req("GET", f"/explorer/root/{_ev(w, o)['anchor']['root']}"),
    ),
    ("GET", "/explorer/digest/{digest}"): (
        False,
        lambda w, o: Req("GET", f"/explorer/digest/{_ev(w, o)['digest']}"),
    ),
    ("GET", "/explorer/address/{address}"): (
        False,
        lambda w, o: Req("GET", f"/explorer/address/{_ev(w, o)['anchor']['submitter']}"),
    ),
    # --- subsidy pages (when wired): frames that must not carry the application's data ---
    ("GET", "/applications/{application_id}"): (True, lambda w, o: _page(w, o)),
    ("GET", "/applications/{application_id}/check"): (True, lambda w, o: _page(w, o, "/check")),
    ("GET", "/applications/{application_id}/report"): (True, lambda w, o: _page(w, o, "/report")),
    # --- subsidy API ---
    ("POST", "/api/v1/subsidy/assess"): (
        False,
        lambda w, o: Req("POST", "/api/v1/subsidy/assess", {"json": {"self_investment_wan": 50}}),
    ),
    ("POST", "/api/v1/subsidy/rounds"): (
        False,
        lambda w, o: Req(
            "POST",
            "/api/v1/subsidy/rounds",
            {
                "json": {
                    "code": f"r-{secrets.token_hex(4)}",
                    "name": "矩阵",
                    "deadline": "2099-01-01T00:00:00+00:00",
                }
            },
        ),
    ),
    ("PATCH", "/api/v1/subsidy/rounds/{code}"): (
        False,
        lambda w, o: Req(
            "PATCH", f"/api/v1/subsidy/rounds/{w.round_code}", {"json": {"name": "矩阵改名"}}
        ),
    ),
    ("POST", "/api/v1/subsidy/applications"): (
        False,
        lambda w, o: Req(
            "POST",
            "/api/v1/subsidy/applications",
            {"json": _application_body(w.round_code, "另一个项目")},
        ),
    ),
    ("GET", "/api/v1/subsidy/applications"): (
        True,
        lambda w, o: Req("GET", "/api/v1/subsidy/applications", marker=w.projects[o or "A"]),
    ),
    ("GET", "/api/v1/subsidy/applications/{application_id}"): (
        True,
        lambda w, o: Req("GET", _app(w, o)),
    ),
    ("PATCH", "/api/v1/subsidy/applications/{application_id}"): (
        True,
        lambda w, o: Req("PATCH", _app(w, o), {"json": {"headcount": 16}}),
    ),
    ("POST", "/api/v1/subsidy/applications/{application_id}/documents"): (
        True,
        lambda w, o: Req(
            "POST",
            _app(w, o) + "/documents",
            {"data": {"kind": "其他"}, "files": {"file": ("d.pdf", secrets.token_bytes(8))}},
        ),
    ),
    ("DELETE", "/api/v1/subsidy/applications/{application_id}/documents/{document_id}"): (
        True,
        lambda w, o: Req("DELETE", _app(w, o) + f"/documents/{w.new_document(o or 'A')}"),
    ),
    ("GET", "/api/v1/subsidy/applications/{application_id}/manifest"): (
        True,
        lambda w, o: Req("GET", _app(w, o) + "/manifest"),
    ),
    ("POST", "/api/v1/subsidy/applications/{application_id}/submit"): (
        True,
        lambda w, o: Req("POST", _app(w, o) + "/submit", {"json": {"comment": "矩阵"}}),
    ),
    ("POST", "/api/v1/subsidy/applications/{application_id}/transitions"): (
        True,
        lambda w, o: Req("POST", _app(w, o) + "/transitions", {"json": {"to": "under_review"}}),
    ),
    ("GET", "/api/v1/subsidy/applications/{application_id}/transitions"): (
        True,
        lambda w, o: Req("GET", _app(w, o) + "/transitions"),
    ),
    ("POST", "/api/v1/subsidy/applications/{application_id}/integrity-check"): (
        True,
        lambda w, o: Req(
            "POST",
            _app(w, o) + "/integrity-check",
            {"json": {"files": [{"name": "a.pdf", "digest": "0x" + "11" * 32}]}},
        ),
    ),
    ("GET", "/api/v1/subsidy/applications/{application_id}/report"): (
        True,
        lambda w, o: Req("GET", _app(w, o) + "/report"),
    ),
    ("POST", "/api/v1/subsidy/applications/{application_id}/acceptance/documents"): (
        True,
        lambda w, o: Req(
            "POST",
            _app(w, o) + "/acceptance/documents",
            {"data": _ACCEPTANCE_FIELDS, "files": {"file": ("i.pdf", secrets.token_bytes(8))}},
        ),
    ),
    ("GET", "/api/v1/subsidy/applications/{application_id}/acceptance"): (
        True,
        lambda w, o: Req("GET", _app(w, o) + "/acceptance"),
    ),
    ("GET", "/api/v1/subsidy/applications/{application_id}/invoice-proofs"): (
        True,
        lambda w, o: Req("GET", _app(w, o) + "/invoice-proofs"),
    ),
    ("POST", "/api/v1/subsidy/applications/{application_id}/acceptance/submit"): (
        True,
        lambda w, o: Req("POST", _app(w, o) + "/acceptance/submit", {"json": {}}),
    ),
}


def _generic(method: str, path: str) -> Sample:
    """Placeholder ids and no body: enough to see who is turned away before anything else."""
    url = path
    while "{" in url:
        start, end = url.index("{"), url.index("}")
        url = url[:start] + "1" + url[end + 1 :]
    return lambda w, o: Req(method, url)


def _nowhere(req: Req, w: World, owner: str) -> Req:
    """The same request on ids that exist nowhere, to compare a hidden 404 with."""
    url = req.url
    if owner in w.applications:
        url = url.replace(f"/applications/{w.applications[owner]}", f"/applications/{NOWHERE}")
    url = url.replace(f"/evidence/{w.evidence[owner]['id']}", f"/evidence/{NOWHERE_EVIDENCE}")
    if owner in w.epcis:
        mine = w.epcis[owner]
        url = url.replace(mine["capture_id"], "0" * 32)
        url = url.replace(quote(mine["event_id"], safe=""), quote("urn:uuid:nowhere", safe=""))
        url = url.replace(f"/queries/{mine['query']}", "/queries/q-nowhere")
        url = url.replace(f"/queries/q-{owner}-", "/queries/q-nowhere-")
    if owner in w.recordings:
        url = url.replace(w.recordings[owner], NOWHERE_EVIDENCE)
    if owner in w.licences:
        url = url.replace(w.licences[owner], NOWHERE_EVIDENCE)
    if owner in w.datasets:
        url = url.replace(w.datasets[owner], NOWHERE_EVIDENCE)
    return Req(req.method, url, req.kwargs)


def _owns(principal: str, owner: str | None) -> bool | None:
    if owner is None:
        return None
    return PRINCIPALS[principal][1] == OWNER_ORG[owner]


_PROBLEM_CODES = {401: "unauthorized", 403: "forbidden", 404: "not_found"}


def _error(response: Any) -> dict[str, Any]:
    body: dict[str, Any] = response.json()
    if response.headers.get("content-type", "").startswith("application/problem+json"):
        # The EPCIS binding's RFC 7807 problems (api/problems.py): the same refusals.
        assert str(body["type"]).startswith("epcisException:"), body
        return {"code": _PROBLEM_CODES.get(response.status_code, "error"), "type": body["type"]}
    assert set(body["error"]) >= {"code", "message"}, body
    return body["error"]


def _check(w: World, route: authz.RouteKey, principal: str, owner: str | None, req: Req) -> str:
    """Calls the route as ``principal``; returns a mismatch, or '' when it is as ruled."""
    rule = authz.rule_for(*route)
    assert rule is not None
    role = PRINCIPALS[principal][0]
    decision = authz.decide(
        rule, role=role, owns=_owns(principal, owner), reviewed=owner == REVIEWED
    )
    response = w.client.request(req.method, req.url, headers=w.as_(principal), **req.kwargs)
    status = response.status_code
    where = f"{req.method} {req.url} as {principal} on {owner or 'no'} resource"
    got = f"{status} {response.text[:200]}"
    if decision.outcome is Outcome.UNAUTHENTICATED:
        if status != 401 or _error(response)["code"] != "unauthorized":
            return f"{where}: expected 401, got {got}"
    elif decision.outcome is Outcome.FORBIDDEN:
        if status != 403 or _error(response)["code"] != "forbidden":
            return f"{where}: expected 403, got {got}"
    elif decision.outcome is Outcome.NOT_FOUND:
        assert owner is not None
        probe = _nowhere(req, w, owner)
        unknown = w.client.request(
            probe.method, probe.url, headers=w.as_(principal), **probe.kwargs
        )
        if status != 404 or unknown.status_code != 404:
            return f"{where}: expected the 404 of a missing resource, got {got}"
        if not _same_404(response, unknown, req.url, probe.url):
            return f"{where}: its 404 differs from a missing resource's: {got}"
    else:
        if status in (401, 403) or (status >= 500 and status != 503):
            return f"{where}: expected it allowed, got {got}"
        if status == 404 and owner is not None:
            probe = _nowhere(req, w, owner)
            if probe.url != req.url:
                unknown = w.client.request(
                    probe.method, probe.url, headers=w.as_(principal), **probe.kwargs
                )
                if unknown.status_code == 404 and _error(unknown) == _error(response):
                    return f"{where}: allowed, but answered like a missing resource: {got}"
        if req.marker is not None and decision.sees_private is not None:
            markers = (req.marker,) if isinstance(req.marker, str) else req.marker
            for marker in markers:
                shown = marker in response.text
                if shown != decision.sees_private:
                    verb = "shows" if shown else "hides"
                    return f"{where}: {verb} the owner's private metadata {marker!r}"
    return ""


def _same_404(response: Any, unknown: Any, url: str, unknown_url: str) -> bool:
    """A hidden resource's 404 and a missing one's say the same, but for the id asked."""
    if response.headers.get("content-type", "").startswith(
        ("application/json", "application/problem+json")
    ):
        return bool(_error(response)["code"] == _error(unknown)["code"])
    ids = [(a, b) for a, b in zip(url.split("/"), unknown_url.split("/"), strict=False) if a != b]
    text, other = response.text, unknown.text
    for mine, theirs in ids:
        text, other = text.replace(mine, "ID"), other.replace(theirs, "ID")
    return bool(text == other)


def _cases() -> list[Any]:
    params = []
    for route in ROUTES:
        marks = []
        if route in KNOWN_GAPS:
            marks.append(pytest.mark.xfail(strict=True, reason=KNOWN_GAPS[route]))
        if authz.rule_for(*route) is None:
            marks.append(pytest.mark.skip(reason="no rule: test_every_route_has_a_rule fails"))
        params.append(pytest.param(route, id=f"{route[0]} {route[1]}", marks=marks))
    return params


@pytest.mark.parametrize("route", _cases())
def test_route_matrix(world: World, route: authz.RouteKey) -> None:
    rule = authz.rule_for(*route)
    assert rule is not None
    names_resource, sample = SAMPLES.get(route, (False, _generic(*route)))
    if rule.owner is not authz.Owner.IGNORED and route not in SAMPLES:
        pytest.fail(
            f"{route}: the owner matters ({rule.owner}), so the matrix needs a request "
            "sample naming A's and B's resources: add one to SAMPLES"
        )
    owners: list[str | None] = ["A", "B"] if names_resource else [None]
    mismatches = []
    # Refusals first: they must not depend on what an allowed call changed.
    order = sorted(
        PRINCIPALS,
        key=lambda p: (
            authz.decide(rule, role=PRINCIPALS[p][0], owns=None).outcome is Outcome.ALLOWED
        ),
    )
    for owner in owners:
        for principal in order:
            problem = _check(world, route, principal, owner, sample(world, owner))
            if problem:
                mismatches.append(problem)
    assert not mismatches, "\n".join(mismatches)


REVIEWED_ROUTES = [key for key, rule in authz.RULES.items() if rule.sees_reviewed]


@pytest.mark.parametrize("route", [pytest.param(r, id=f"{r[0]} {r[1]}") for r in REVIEWED_ROUTES])
def test_reviewers_see_the_records_of_applications(world: World, route: authz.RouteKey) -> None:
    """The same routes on a document of A's subsidy application: reviewers see it as A
    does (and see nothing of A's or B's plain evidence: test_route_matrix), B does not."""
    if REVIEWED not in world.evidence:
        pytest.skip("the app has no subsidy routes")
    _, sample = SAMPLES[route]
    mismatches = []
    for principal in PRINCIPALS:
        problem = _check(world, route, principal, REVIEWED, sample(world, REVIEWED))
        if problem:
            mismatches.append(problem)
    assert not mismatches, "\n".join(mismatches)
