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

import secrets
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select
from starlette.exceptions import StarletteDeprecationWarning

from chainproof import identity
from chainproof.api import authz
from chainproof.api.app import create_app
from chainproof.api.authz import ANONYMOUS, Outcome
from chainproof.chain.context import ChainContext
from chainproof.config import Settings
from chainproof.public_ids import new_public_id
from chainproof.store import db
from chainproof.store.models import Evidence
from chainproof.store.ops import ChainOp

from ..factories import wait_anchored

with warnings.catch_warnings():
    warnings.filterwarnings(
        "ignore",
        message="Using `httpx` with `starlette.testclient`",
        category=StarletteDeprecationWarning,
    )
    from fastapi.testclient import TestClient

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
        yield w


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


_ACCEPTANCE_FIELDS = {"kind": "发票", "amount_wan": "10", "number": "No.1", "issuer": "某公司"}

# (names a resource?, builder). A resource-naming sample is called once per owner.
SAMPLES: dict[authz.RouteKey, tuple[bool, Sample]] = {
    ("POST", "/api/v1/evidence"): (
        False,
        lambda w, o: Req("POST", "/api/v1/evidence", {"files": {"file": ("x", b"authz")}}),
    ),
    ("POST", "/api/v1/evidence/digests"): (
        False,
        lambda w, o: Req("POST", "/api/v1/evidence/digests", {"json": _digests()}),
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
    return Req(req.method, url, req.kwargs)


def _owns(principal: str, owner: str | None) -> bool | None:
    if owner is None:
        return None
    return PRINCIPALS[principal][1] == OWNER_ORG[owner]


def _error(response: Any) -> dict[str, Any]:
    body: dict[str, Any] = response.json()
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
    if response.headers.get("content-type", "").startswith("application/json"):
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
