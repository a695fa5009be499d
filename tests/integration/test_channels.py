"""Channels (issue 25): a channel's record is visible to its members, admins and auditors,
and for everyone else is the 404 of an id nobody has, on every read route of a record
(evidence, receipt, bundle export, court package, page, certificate); member changes take
effect at once and are audited with their reason."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import select

from chainproof.store import db
from chainproof.store.models import Evidence, Member
from chainproof.trace.models import TraceEvent
from tests.apps import Api, assert_error
from tests.integration.test_trace_api import FARM, NOODLE, document, event, lot

CHANNEL = "糖业联盟"
READS = (
    "/api/v1/evidence/{id}",
    "/api/v1/evidence/{id}/receipt",
    "/api/v1/evidence/{id}/bundle",
    "/api/v1/evidence/{id}/court",
)
PAGES = ("/evidence/{id}", "/evidence/{id}/certificate")


@pytest.fixture
def keys(api: Api) -> dict[str, dict[str, str]]:
    return {
        "admin": api.key("运营方", "admin"),
        "a": api.key("甲糖厂", "submitter"),
        "b": api.key("乙物流", "submitter"),
        "c": api.key("丙零售", "submitter"),
        "reviewer": api.key("丁审核", "reviewer"),
        "auditor": api.key("审计署", "auditor"),
    }


def _upload(api: Api, headers: dict[str, str], content: bytes, **fields: str) -> Any:
    return api.client.post(
        "/api/v1/evidence", headers=headers, files=[("file", ("a.txt", content))], data=fields
    )


def _reads(api: Api, evidence_id: str, headers: dict[str, str]) -> list[int]:
    return [
        api.client.get(path.format(id=evidence_id), headers=headers).status_code for path in READS
    ]


def test_non_members_get_404_everywhere_and_members_see_the_record(
    api: Api, keys: dict[str, dict[str, str]]
) -> None:
    made = api.client.post(
        "/api/v1/channels",
        json={"name": CHANNEL, "members": ["甲糖厂", "乙物流"]},
        headers=keys["admin"],
    )
    assert made.status_code == 201, made.text
    assert made.json()["members"] == sorted(["甲糖厂", "乙物流"])
    assert_error(
        api.client.post(
            "/api/v1/channels", json={"name": "x", "members": ["甲糖厂"]}, headers=keys["a"]
        ),
        403,
    )
    # A non-member cannot put a record in the channel: the 404 of a channel nobody has.
    assert_error(_upload(api, keys["c"], b"not mine", channel=CHANNEL), 404)

    sent = _upload(api, keys["a"], b"shared within the channel", channel=CHANNEL)
    assert sent.status_code == 202, sent.text
    [item] = sent.json()["items"]
    api.wait_anchored(item["id"], keys["a"])
    plain = _upload(api, keys["a"], b"the org's own record")
    [own] = plain.json()["items"]

    for who in ("a", "b", "admin", "auditor"):
        assert _reads(api, item["id"], keys[who]) == [200, 200, 200, 200], who
    shown = api.client.get(f"/api/v1/evidence/{item['id']}", headers=keys["b"]).json()
    assert shown["digest"].startswith("0x") and shown["member"] == "甲糖厂"
    for who in ("c", "reviewer"):
        assert _reads(api, item["id"], keys[who]) == [404, 404, 404, 404], who
    anonymous = _reads(api, item["id"], {})
    assert anonymous[0] == 404 and all(code in (401, 404) for code in anonymous), anonymous
    for path in PAGES:
        assert api.client.get(path.format(id=item["id"])).status_code == 404
    # Outside a channel, a stranger still learns the status only, as before.
    stranger = api.client.get(f"/api/v1/evidence/{own['id']}", headers=keys["c"])
    assert stranger.status_code == 200 and set(stranger.json()) == {"id", "status"}

    changed = api.client.post(
        f"/api/v1/channels/{CHANNEL}/members",
        json={"remove": ["乙物流"], "add": ["丙零售"], "reason": "乙 left the alliance"},
        headers=keys["admin"],
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["members"] == sorted(["甲糖厂", "丙零售"])
    assert _reads(api, item["id"], keys["b"]) == [404, 404, 404, 404]
    assert _reads(api, item["id"], keys["c"]) == [200, 200, 200, 200]

    audit = api.client.get("/api/v1/audit", headers=keys["auditor"]).json()
    actions = [(e["action"], e["target"]) for e in audit]
    assert actions.count(("channel.create", f"channel:{CHANNEL}")) == 1
    assert actions.count(("channel.members", f"channel:{CHANNEL}")) == 1
    members_entry = next(e for e in audit if e["action"] == "channel.members")
    assert "乙 left the alliance" in members_entry["record"]
    listed = api.client.get("/api/v1/channels", headers=keys["auditor"])
    assert [c["name"] for c in listed.json()] == [CHANNEL]
    assert_error(api.client.get("/api/v1/channels", headers=keys["c"]), 403)


def test_recordings_licences_and_trace_captures_follow_their_channel(
    api: Api, keys: dict[str, dict[str, str]]
) -> None:
    """Issue 25's remainder: a recording, a licence and a trace capture may name a channel;
    its members (and admins, auditors) read them, anyone else gets the 404 of a missing id;
    only the record's own org changes it; a non-member cannot name the channel."""
    made = api.client.post(
        "/api/v1/channels",
        json={"name": CHANNEL, "members": ["甲糖厂", "乙物流"]},
        headers=keys["admin"],
    )
    assert made.status_code == 201, made.text
    a, b, c = keys["a"], keys["b"], keys["c"]

    # A recording (执法记录).
    body = {"nonce": "0x" + "07" * 32, "segment_bytes": 4096, "label": "A-07", "channel": CHANNEL}
    assert_error(api.client.post("/api/v1/recordings", json=body, headers=c), 404)
    opened = api.client.post("/api/v1/recordings", json=body, headers=a)
    assert opened.status_code == 201, opened.text
    path = f"/api/v1/recordings/{opened.json()['id']}"
    assert [api.client.get(path, headers=keys[w]).status_code for w in ("a", "b", "auditor")] == [
        200,
        200,
        200,
    ]
    assert_error(api.client.get(path, headers=c), 404)
    assert_error(
        api.client.post(path + "/close", json={"size": 0, "digest": "0x" + "00" * 32}, headers=b),
        404,
    )
    listed = [r["id"] for r in api.client.get("/api/v1/recordings", headers=b).json()["items"]]
    assert listed == [opened.json()["id"]]
    assert api.client.get("/api/v1/recordings", headers=c).json()["items"] == []

    # A licence (电子证照).
    issuer = api.client.post(
        "/api/v1/licences/issuers", json={"org": "甲糖厂"}, headers=keys["admin"]
    )
    assert issuer.status_code == 200, issuer.text
    kind = {"code": "许可证", "name": "许可证", "fields": ["名称"], "validity_days": 30}
    assert api.client.post("/api/v1/licences/types", json=kind, headers=a).status_code == 201
    licence = {"type": "许可证", "holder": "91450103MA5KXXXX1X", "claims": {"名称": "甲糖厂"}}
    assert_error(
        api.client.post("/api/v1/licences", json={**licence, "channel": "no such"}, headers=a), 404
    )
    issued = api.client.post("/api/v1/licences", json={**licence, "channel": CHANNEL}, headers=a)
    assert issued.status_code == 201, issued.text
    path = f"/api/v1/licences/{issued.json()['id']}"
    assert api.client.get(path, headers=b).status_code == 200
    assert api.client.get(path, headers=keys["auditor"]).status_code == 200
    assert_error(api.client.get(path, headers=c), 404)
    assert_error(
        api.client.post(path + "/status", json={"action": "suspend", "reason": "x"}, headers=b), 404
    )
    held = api.client.get("/api/v1/licences", params={"holder": licence["holder"]}, headers=b)
    assert [i["id"] for i in held.json()["items"]] == [issued.json()["id"]]
    held = api.client.get("/api/v1/licences", params={"holder": licence["holder"]}, headers=c)
    assert held.json()["items"] == []

    # A trace capture (溯源): the events' evidence records follow the channel.
    with db.open_session(api.url) as session:
        member = session.exec(select(Member).where(Member.name == "甲糖厂")).one()
    org = {"member_id": member.id, "role": "producer", "glns": [FARM], "prefixes": [NOODLE[1:13]]}
    assert api.client.post("/api/v1/trace/orgs", json=org, headers=keys["admin"]).status_code == 200
    quantity = [{"epcClass": lot(NOODLE, "N9"), "quantity": 10, "uom": "KGM"}]
    doc = document(
        event(
            "ObjectEvent",
            "commissioning",
            "2024-11-01T08:00:00+08:00",
            FARM,
            action="ADD",
            quantityList=quantity,
        )
    )
    assert_error(
        api.client.post("/api/v1/trace/capture", params={"channel": CHANNEL}, json=doc, headers=c),
        404,
    )
    captured = api.client.post(
        "/api/v1/trace/capture", params={"channel": CHANNEL}, json=doc, headers=a
    )
    assert captured.status_code == 201, captured.text
    with db.open_session(api.url) as session:
        row = session.get(TraceEvent, captured.json()["events"][0]["event_id"])
        assert row is not None and row.evidence_id is not None
        evidence = session.get(Evidence, row.evidence_id)
        assert evidence is not None
        evidence_id = evidence.public_id
    assert api.client.get(f"/api/v1/evidence/{evidence_id}", headers=b).status_code == 200
    assert_error(api.client.get(f"/api/v1/evidence/{evidence_id}", headers=c), 404)

    # Digests by JSON name the channel too.
    body = {"digests": ["0x" + "5c" * 32], "channel": CHANNEL}
    assert_error(api.client.post("/api/v1/evidence/digests", json=body, headers=c), 404)
    sent = api.client.post("/api/v1/evidence/digests", json=body, headers=a)
    assert sent.status_code == 202, sent.text
    digest_id = sent.json()["items"][0]["id"]
    assert api.client.get(f"/api/v1/evidence/{digest_id}", headers=b).status_code == 200
    assert_error(api.client.get(f"/api/v1/evidence/{digest_id}", headers=c), 404)
