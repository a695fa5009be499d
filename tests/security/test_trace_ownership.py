"""Trace ownership over HTTP (issue #14, finding 5): one org never registers under, recalls,
transforms into, captures events on, or changes the badge of another org's items.

A Hypothesis state machine drives two orgs through the API with random operations (register,
inspect, ship, receive, transform, recall, lift), each also tried against the other org's
things, and keeps a model of who owns and who holds what. After every step the server must
agree with the model: every refused operation changed nothing, every item's event count,
owner, holder and recall state are the model's, and its badge says "recalled" exactly when
one of its own lots or of the lots it came from is under a recall.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from biip.checksums import gs1_standard_check_digit
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlmodel import select

from chainproof.store import db
from chainproof.store.models import Member
from chainproof.trace.models import TraceNode
from tests.apps import Api, StartApi

DL = "https://id.gs1.org"
ORGS = ("A", "B")
_machines = itertools.count(1)
PICK = st.integers(0, 1000)


def check_digit(payload: str) -> str:
    return payload + str(gs1_standard_check_digit(payload))


@dataclass
class Org:
    name: str
    member_id: int
    headers: dict[str, str]
    prefix: str  # 9-digit GS1 company prefix
    gln: str

    def gtin(self, ref: int) -> str:
        """A GTIN-14 under this org's prefix (item reference ``ref``, 3 digits)."""
        return "0" + check_digit(f"{self.prefix}{ref:03d}")


@dataclass
class Thing:
    uri: str
    code: str
    kind: str
    owner: str
    holder: str
    shipped_to: str | None = None
    events: int = 0
    parents: set[str] = field(default_factory=set)  # lineage: lot → item, input → output


@dataclass
class Recall:
    lifted: bool = False


def document(*events: dict[str, Any]) -> dict[str, Any]:
    return {
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2024-11-20T08:00:00+08:00",
        "epcisBody": {"eventList": list(events)},
    }


class TwoOrgs(RuleBasedStateMachine):
    """Orgs A and B (processors: they register, receive, transform, ship and recall)."""

    api: Api
    admin: dict[str, str]

    def __init__(self) -> None:
        super().__init__()
        n = next(_machines)
        self.orgs = {name: self._org(n, name) for name in ORGS}
        self.things: dict[str, Thing] = {}
        self.recalls: dict[str, list[Recall]] = {}  # lot uri → its recalls, oldest first
        self.clock = itertools.count()

    def _org(self, n: int, name: str) -> Org:
        member = f"溯源机{n}-{name}"
        headers = self.api.key(member, "submitter")
        with db.open_session(self.api.url) as s:
            member_id = s.exec(select(Member.id).where(Member.name == member)).one()
        assert member_id is not None
        prefix = f"9507{n:04d}{ORGS.index(name) + 1}"
        gln = check_digit(prefix + "000")
        r = self.api.client.post(
            "/api/v1/trace/orgs",
            json={"member_id": member_id, "role": "processor", "glns": [gln], "prefixes": [prefix]},
            headers=self.admin,
        )
        assert r.status_code == 200, r.text
        return Org(member, member_id, headers, prefix, gln)

    def _active(self, lot_uri: str) -> Recall | None:
        found = self.recalls.get(lot_uri, [])
        return found[-1] if found and not found[-1].lifted else None

    # --- helpers --------------------------------------------------------------------------

    def _event(self, org: Org, step: str, **fields: Any) -> dict[str, Any]:
        t = next(self.clock)  # every event distinct: none is an idempotent repeat
        e: dict[str, Any] = {
            "type": "ObjectEvent",
            "action": "OBSERVE",
            "eventTime": f"2024-11-20T{8 + t // 3600:02d}:{t // 60 % 60:02d}:{t % 60:02d}+08:00",
            "eventTimeZoneOffset": "+08:00",
            "bizStep": step,
            "readPoint": {"id": f"{DL}/414/{org.gln}"},
            **fields,
        }
        return e

    def _capture(self, org: Org, event: dict[str, Any]) -> int:
        r = self.api.client.post("/api/v1/trace/capture", json=document(event), headers=org.headers)
        assert r.status_code in (201, 403), r.text
        if r.status_code == 201:
            assert r.json()["events"][0]["created"] is True
        return r.status_code

    def _pick(self, index: int, kind: str | None = None) -> Thing | None:
        # An index drawn whatever the state: data generation never depends on the server.
        pool = sorted(u for u, t in self.things.items() if kind is None or t.kind == kind)
        return self.things[pool[index % len(pool)]] if pool else None

    def _add(self, uri: str, code: str, kind: str, owner: str) -> Thing:
        if uri not in self.things:
            self.things[uri] = Thing(uri, code, kind, owner, owner)
        return self.things[uri]

    def _backward(self, uri: str) -> set[str]:
        seen: set[str] = set()
        todo = [uri]
        while todo:
            for p in self.things[todo.pop()].parents:
                if p not in seen:
                    seen.add(p)
                    todo.append(p)
        return seen

    # --- rules ----------------------------------------------------------------------------

    @initialize()
    def each_org_has_an_item_in_a_lot(self) -> None:
        for name in ORGS:
            self.register(name, name, 0, 1, True)

    @rule(
        org=st.sampled_from(ORGS),
        under=st.sampled_from(ORGS),
        ref=st.integers(0, 2),
        serial=st.integers(1, 4),
        with_lot=st.booleans(),
    )
    def register(self, org: str, under: str, ref: int, serial: int, with_lot: bool) -> None:
        """Register an item (and its lot) under ``under``'s prefix: only its own org may."""
        gtin = self.orgs[under].gtin(ref)
        body: dict[str, Any] = {"product": "测试品", "gtin": gtin, "serials": [f"S{serial}"]}
        if with_lot:
            body["lot"] = "L1"
        r = self.api.client.post("/api/v1/trace/items", json=body, headers=self.orgs[org].headers)
        item_uri = f"{DL}/01/{gtin}/21/S{serial}"
        lot_uri = f"{DL}/01/{gtin}/10/L1"
        existing_owner = self.things[item_uri].owner if item_uri in self.things else None
        if org != under or (existing_owner is not None and existing_owner != org):
            assert r.status_code == 403, r.text
            return
        assert r.status_code == 201, r.text
        item = self._add(item_uri, f"01/{gtin}/21/S{serial}", "item", org)
        if with_lot:
            self._add(lot_uri, f"01/{gtin}/10/L1", "lot", org)
            if not any(self.things[p].kind == "lot" for p in item.parents):
                item.parents.add(lot_uri)

    @rule(org=st.sampled_from(ORGS), pick=PICK)
    def inspect(self, org: str, pick: int) -> None:
        """Capture an event on a thing: only its holder may."""
        thing = self._pick(pick)
        if thing is None:
            return
        epc = (
            {"epcList": [thing.uri]}
            if thing.kind == "item"
            else {"quantityList": [{"epcClass": thing.uri, "quantity": 1, "uom": "KGM"}]}
        )
        status = self._capture(self.orgs[org], self._event(self.orgs[org], "inspecting", **epc))
        if thing.holder == org:
            assert status == 201
            thing.events += 1
        else:
            assert status == 403

    @rule(org=st.sampled_from(ORGS), to=st.sampled_from(ORGS), pick=PICK)
    def ship(self, org: str, to: str, pick: int) -> None:
        """Ship an item to ``to``: only its holder may; custody stays until received."""
        thing = self._pick(pick, "item")
        if thing is None:
            return
        dest = [{"type": "location", "destination": f"{DL}/414/{self.orgs[to].gln}"}]
        ev = self._event(self.orgs[org], "shipping", epcList=[thing.uri], destinationList=dest)
        status = self._capture(self.orgs[org], ev)
        if thing.holder == org:
            assert status == 201
            thing.events += 1
            thing.shipped_to = to if to != org else None
        else:
            assert status == 403

    @rule(org=st.sampled_from(ORGS), pick=PICK)
    def receive(self, org: str, pick: int) -> None:
        """Receive an item: its holder, or the org it was shipped to, which then holds it."""
        thing = self._pick(pick, "item")
        if thing is None:
            return
        ev = self._event(self.orgs[org], "receiving", epcList=[thing.uri])
        status = self._capture(self.orgs[org], ev)
        if thing.holder == org or thing.shipped_to == org:
            assert status == 201
            thing.events += 1
            if thing.shipped_to == org:
                thing.holder, thing.shipped_to = org, None
        else:
            assert status == 403

    @rule(
        org=st.sampled_from(ORGS),
        under=st.sampled_from(ORGS),
        serial=st.integers(1, 6),
        pick=PICK,
    )
    def transform(self, org: str, under: str, serial: int, pick: int) -> None:
        """Transform an item into an output under ``under``'s prefix (new or existing): the
        capturer must hold the input and own the output."""
        source = self._pick(pick, "item")
        if source is None:
            return
        gtin = self.orgs[under].gtin(9)
        out_uri = f"{DL}/01/{gtin}/21/T{serial}"
        ev = self._event(
            self.orgs[org], "commissioning", inputEPCList=[source.uri], outputEPCList=[out_uri]
        )
        ev["type"] = "TransformationEvent"
        ev.pop("action")
        status = self._capture(self.orgs[org], ev)
        out = self.things.get(out_uri)
        owns_output = out.owner == org if out is not None else under == org
        if source.holder == org and owns_output and source.uri != out_uri:
            assert status == 201
            out = self._add(out_uri, f"01/{gtin}/21/T{serial}", "item", org)
            source.events += 1
            out.events += 1
            out.parents.add(source.uri)
        else:
            assert status == 403

    @rule(org=st.sampled_from(ORGS), pick=PICK)
    def recall(self, org: str, pick: int) -> None:
        """Recall a lot: only its owner may (no regulator here)."""
        lot = self._pick(pick, "lot")
        if lot is None:
            return
        r = self.api.client.post(
            "/api/v1/trace/recalls",
            json={"lot": lot.code, "reason": f"{org} says so"},
            headers=self.orgs[org].headers,
        )
        if lot.owner != org:
            assert r.status_code == 403, r.text
        elif self._active(lot.uri) is not None:
            assert r.status_code == 409, r.text
        else:
            assert r.status_code == 201, r.text
            self.recalls.setdefault(lot.uri, []).append(Recall())

    @rule(org=st.sampled_from(ORGS), pick=PICK)
    def lift(self, org: str, pick: int) -> None:
        """Lift a lot's recall: only its owner may (it made the recall)."""
        lot = self._pick(pick, "lot")
        if lot is None:
            return
        r = self.api.client.post(
            "/api/v1/trace/recalls/lift",
            json={"lot": lot.code, "reason": "复检合格"},
            headers=self.orgs[org].headers,
        )
        current = self._active(lot.uri)
        if lot.owner != org:
            assert r.status_code == 403, r.text
        elif current is None:
            assert r.status_code == 409, r.text
        else:
            assert r.status_code == 200, r.text
            current.lifted = True

    # --- invariants -----------------------------------------------------------------------

    @invariant()
    def server_agrees_with_the_model(self) -> None:
        members = {o.member_id: name for name, o in self.orgs.items()}
        with db.open_session(self.api.url) as s:
            prefixes = tuple(f"{DL}/01/0{o.prefix}" for o in self.orgs.values())
            rows = {n.uri: n for n in s.exec(select(TraceNode)).all() if n.uri.startswith(prefixes)}
        # Nothing exists under the orgs' prefixes that the model did not create.
        assert set(rows) == set(self.things)
        for uri, thing in self.things.items():
            row = rows[uri]
            assert members[row.owner_member_id or 0] == thing.owner, uri
            assert members[row.custodian_member_id or 0] == thing.holder, uri
            shipped = members.get(row.shipped_to_member_id or 0)
            assert shipped == thing.shipped_to, uri
            assert row.count == thing.events, uri
            view = self.api.client.get(f"/api/v1/trace/items/{thing.code}").json()
            lots = {u for u in {uri} | self._backward(uri) if self.things[u].kind == "lot"}
            recalled = any(self._active(u) is not None for u in lots)
            assert (view["badge"] == "recalled") == recalled, (uri, view["badge"])
            history = sorted((r["lot"], r["lifted_at"] is not None) for r in view["recalls"])
            expected = sorted(
                (self.things[u].code, rec.lifted) for u in lots for rec in self.recalls.get(u, [])
            )
            assert history == expected, uri


@pytest.fixture
def api(start_api: StartApi) -> Iterator[Api]:
    """One app (no batcher: nothing here waits for anchors) shared by the examples; each
    example's orgs have prefixes and GLNs of their own."""
    started = start_api(run_batcher=False)
    TwoOrgs.api = started
    TwoOrgs.admin = started.key("运营方", "admin")
    yield started


def test_one_org_never_touches_anothers_items(api: Api) -> None:
    run_state_machine_as_test(
        TwoOrgs,
        settings=settings(
            max_examples=25,
            stateful_step_count=10,
            derandomize=True,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )


def test_custody_passes_by_shipping_and_receiving_to_the_receiver_alone(api: Api) -> None:
    """A ships its item to B: until B's receiving event it stays A's to name; B alone then
    holds it. C, a third org the item was never shipped to, can never name it; nor can A
    once B holds it. A shipment naming two orgs hands over to neither (422)."""
    machine = TwoOrgs()  # orgs A and B, and a fresh third org C like them
    a, b = machine.orgs["A"], machine.orgs["B"]
    c = machine._org(next(_machines), "A")
    item = f"{DL}/01/{a.gtin(0)}/21/X1"
    r = api.client.post(
        "/api/v1/trace/items",
        json={"product": "交接", "gtin": a.gtin(0), "serials": ["X1"]},
        headers=a.headers,
    )
    assert r.status_code == 201, r.text

    def capture(org: Org, step: str, **fields: Any) -> int:
        return machine._capture(org, machine._event(org, step, epcList=[item], **fields))

    def to(*orgs: Org) -> list[dict[str, str]]:
        return [{"type": "owning_party", "destination": f"{DL}/417/{o.gln}"} for o in orgs]

    r = api.client.post(
        "/api/v1/trace/capture",
        json=document(machine._event(a, "shipping", epcList=[item], destinationList=to(b, c))),
        headers=a.headers,
    )
    assert r.status_code == 422 and "one org at most" in r.text, r.text
    assert capture(b, "receiving") == 403  # not shipped to B yet
    assert capture(a, "shipping", destinationList=to(b)) == 201
    assert capture(c, "receiving") == 403  # shipped to B, not to C
    assert capture(b, "inspecting") == 403  # B does not hold it before receiving it
    assert capture(a, "inspecting") == 201  # in transit: still A's
    assert capture(b, "receiving") == 201
    assert capture(b, "inspecting") == 201
    for outsider in (a, c):
        for step in ("inspecting", "receiving", "shipping"):
            assert capture(outsider, step, destinationList=to(outsider)) == 403, step
    with db.open_session(api.url) as s:
        node = s.exec(select(TraceNode).where(TraceNode.uri == item)).one()
    assert (node.owner_member_id, node.custodian_member_id) == (a.member_id, b.member_id)
    assert node.count == 4  # A's shipping and inspecting, B's receiving and inspecting
