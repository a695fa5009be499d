"""The audit side chain (issue 25): actions appear once in ``GET /api/v1/audit``, and
``chainproof audit verify`` (a second process) names the entry a direct SQL edit changed or
removed, and passes the untouched log and its CSV export."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import select

from chainproof.digests import canonical_json, hash_bytes, to_hex
from chainproof.store import db
from chainproof.store.models import Member
from tests import forked
from tests.apps import Api, assert_error


def _audit(api: Api, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    r = api.client.get("/api/v1/audit", params=params, headers=headers)
    assert r.status_code == 200, r.text
    body: list[dict[str, Any]] = r.json()
    return body


def _verify(api: Api, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CHAINPROOF_DATABASE_URL": api.url, "CHAINPROOF_ENV": "test"}
    return forked.run(
        [sys.executable, "-m", "chainproof.cli", "audit", "verify", *args],
        env=env,
        cwd=Path.cwd(),
        timeout=120,
    )


def _sql(api: Api, statement: str) -> None:
    with db.open_session(api.url) as session:
        session.execute(text(statement))
        session.commit()


def _member_id(api: Api, name: str) -> int:
    with db.open_session(api.url) as session:
        member = session.exec(select(Member).where(Member.name == name)).one()
    assert member.id is not None
    return member.id


@pytest.fixture
def admin(api: Api) -> dict[str, str]:
    return api.key("运营方", "admin")


def test_each_action_appears_once_with_who_what_and_the_request_id(
    api: Api, admin: dict[str, str]
) -> None:
    made = api.client.post(
        "/api/v1/keys",
        json={"org": "示范企业甲", "role": "submitter"},
        headers={**admin, "X-Request-ID": "req-key-1"},
    )
    assert made.status_code == 201, made.text
    member_id = _member_id(api, "示范企业甲")
    granted = api.client.post(
        "/api/v1/trace/orgs",
        json={"member_id": member_id, "role": "producer", "glns": []},
        headers=admin,
    )
    assert granted.status_code == 200, granted.text
    for _ in range(2):  # admitting twice changes the platform once
        admitted = api.client.post(
            f"/api/v1/trace/orgs/{member_id}/prefixes", json={"prefix": "9506000"}, headers=admin
        )
        assert admitted.status_code == 200, admitted.text

    entries = _audit(api, admin)
    assert [e["action"] for e in entries] == ["key.create", "role.grant", "prefix.admit"]
    key, grant, prefix = entries
    assert key["target"] == f"key:{made.json()['id']}"
    assert key["actor_org"] == "运营方" and key["actor"].startswith("key:")
    assert key["request_id"] == "req-key-1"
    assert grant["target"] == prefix["target"] == f"member:{member_id}"
    assert '"prefix":"9506000"' in prefix["record"]
    assert [e["seq"] for e in entries] == [1, 2, 3]
    # Each record names the previous one's hash: the chain.
    assert f'"prev":"{key["record_hash"]}"' in grant["record"]
    assert _audit(api, admin, action="prefix.admit") == [prefix]
    assert _audit(api, admin, offset=1, limit=1) == [grant]


def test_auditors_read_the_log_and_nobody_else_does(api: Api, admin: dict[str, str]) -> None:
    api.client.post("/api/v1/keys", json={"org": "乙", "role": "reviewer"}, headers=admin)
    auditor = api.key("审计署", "auditor")  # the role the migration admits
    assert [e["action"] for e in _audit(api, auditor)] == ["key.create"]
    assert_error(api.client.get("/api/v1/audit", headers=api.key("乙", "submitter")), 403)
    assert_error(api.client.get("/api/v1/audit"), 401)
    # An auditor reads; it changes nothing.
    assert_error(
        api.client.post("/api/v1/keys", json={"org": "乙", "role": "admin"}, headers=auditor), 403
    )


def test_verify_names_the_entry_an_update_or_a_delete_touched(
    api: Api, admin: dict[str, str], tmp_path: Path
) -> None:
    for org in ("甲", "乙", "丙"):
        r = api.client.post("/api/v1/keys", json={"org": org, "role": "submitter"}, headers=admin)
        assert r.status_code == 201, r.text
    intact = _verify(api)
    assert intact.returncode == 0, intact.stderr
    assert "intact: 3 entries" in intact.stdout

    _sql(api, "UPDATE audit_entry SET target = 'key:999' WHERE seq = 2")
    changed = _verify(api)
    assert changed.returncode == 1
    assert "BROKEN: entry 2 changed" in changed.stderr

    # Rewriting the record itself, with its hash recomputed, is caught by the link and the
    # evidence index alike: the record at 2 is not the one that was anchored.
    with db.open_session(api.url) as session:
        row = session.execute(text("SELECT record FROM audit_entry WHERE seq = 2")).one()
    record = json.loads(row.record)
    record["target"] = "key:999"
    forged = canonical_json(record)
    with db.open_session(api.url) as session:
        session.execute(
            text("UPDATE audit_entry SET record = :r, record_hash = :h WHERE seq = 2"),
            {"r": forged.decode(), "h": to_hex(hash_bytes(forged, "sha256"))},
        )
        session.commit()
    rewritten = _verify(api)
    assert rewritten.returncode == 1
    assert "BROKEN: entry 2 changed or replaced" in rewritten.stderr


def test_verify_names_a_deleted_entry_and_checks_an_exported_file(
    api: Api, admin: dict[str, str], tmp_path: Path
) -> None:
    for org in ("甲", "乙", "丙"):
        api.client.post("/api/v1/keys", json={"org": org, "role": "submitter"}, headers=admin)
    exported = api.client.get("/api/v1/audit", params={"format": "csv"}, headers=admin)
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    file = tmp_path / "audit.csv"
    file.write_text(exported.text, encoding="utf-8")
    ok = _verify(api, "--file", str(file))
    assert ok.returncode == 0, ok.stderr
    assert "intact: 3 entries" in ok.stdout
    # The export itself is an audited action.
    assert [e["action"] for e in _audit(api, admin)][-1] == "export.audit"

    lines = exported.text.splitlines()
    del lines[2]  # the header, then entry 1, then entry 2
    file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    cut = _verify(api, "--file", str(file))
    assert cut.returncode == 1
    assert "BROKEN: entry 2 removed" in cut.stderr

    _sql(api, "DELETE FROM audit_entry WHERE seq = 3")
    deleted = _verify(api)
    assert deleted.returncode == 1
    assert "BROKEN: entry 3 removed" in deleted.stderr


def test_the_operators_cli_is_audited_too(api: Api, admin: dict[str, str]) -> None:
    env = {**os.environ, "CHAINPROOF_DATABASE_URL": api.url, "CHAINPROOF_ENV": "test"}
    made = forked.run(
        [
            sys.executable,
            "-m",
            "chainproof.cli",
            "keys",
            "create",
            "--org",
            "丁",
            "--role",
            "reviewer",
        ],
        env=env,
        cwd=Path.cwd(),
        timeout=120,
    )
    assert made.returncode == 0, made.stderr
    assert made.stdout.strip().startswith("cpk_")
    (entry,) = _audit(api, admin)
    assert entry["action"] == "key.create" and entry["actor"].startswith("cli:")
    assert '"role":"reviewer"' in entry["record"]
    assert _verify(api).returncode == 0
