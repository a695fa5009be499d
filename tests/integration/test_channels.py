"""Channels (issue 25): a channel's record is visible to its members, admins and auditors,
and for everyone else is the 404 of an id nobody has, on every read route of a record
(evidence, receipt, bundle export, court package, page, certificate); member changes take
effect at once and are audited with their reason."""

from __future__ import annotations

from typing import Any

import pytest

from tests.apps import Api, assert_error

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
