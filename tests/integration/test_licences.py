"""E-licences (issue 20) end to end on a served Anvil chain: an issuer org issues; the API
and the CLI (no server: the chain and the pinned trust anchor) verify credentials and
presentations; revocation reaches the chain; renewal supersedes; the refusals."""

from __future__ import annotations

import base64
import json
import signal
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account import Account

from chainproof.licences.credential import issue as issue_vc
from chainproof.licences.credential import present
from chainproof.licences.demo import HOLDERS, seed_licences
from tests.integration.test_cli import (
    ServerProcess,
    _env,
    direct_key,
    processes_mentioning,
    run_cli,
    start_server,
)
from tests.signin import sign_in

pytestmark = pytest.mark.chain

ISSUER_ORG = "广西北部湾电子证照服务有限公司"
FIELDS = ["名称", "统一社会信用代码", "法定代表人", "住所", "经营范围"]
CLAIMS = {
    "名称": "南宁市青秀区示范餐饮有限公司",
    "统一社会信用代码": "91450103MA5KXXXX1X",
    "法定代表人": "李伟",
    "住所": "南宁市青秀区民族大道 100 号",
    "经营范围": "餐饮服务",
}


class World:
    def __init__(self, server: ServerProcess) -> None:
        self.server = server
        self.admin = self._h(direct_key(server.data_dir, role="admin", org="运营方"))
        self.issuer = self._h(direct_key(server.data_dir, org=ISSUER_ORG))
        self.other_issuer = self._h(direct_key(server.data_dir, org="另一发证机关"))
        self.outsider = self._h(direct_key(server.data_dir, org="Not An Issuer"))
        self.did = self.post("/api/v1/licences/issuers", self.admin, {"org": ISSUER_ORG})["issuer"]
        self.post("/api/v1/licences/issuers", self.admin, {"org": "另一发证机关"})
        self.post(
            "/api/v1/licences/types",
            self.issuer,
            {"code": "营业执照", "name": "营业执照", "fields": FIELDS, "validity_days": 365},
            expect=201,
        )

    @staticmethod
    def _h(key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"}

    def call(self, method: str, path: str, headers: dict[str, str], body: Any = None) -> Any:
        return httpx.request(method, self.server.url + path, headers=headers, json=body, timeout=60)

    def post(self, path: str, headers: dict[str, str], body: Any, expect: int = 200) -> Any:
        response = self.call("POST", path, headers, body)
        assert response.status_code == expect, response.text
        return response.json()

    def issue(self, **extra: Any) -> dict[str, Any]:
        body = {"type": "营业执照", "holder": CLAIMS["统一社会信用代码"], "claims": CLAIMS}
        return self.post("/api/v1/licences", self.issuer, {**body, **extra}, expect=201)  # type: ignore[no-any-return]

    def anchored(self, licence_id: str) -> dict[str, Any]:
        """The licence once its root and its latest status record are on chain."""
        deadline = time.monotonic() + 60
        while True:
            body = self.call("GET", f"/api/v1/licences/{licence_id}", self.issuer).json()
            if body["anchored"] and body["status_anchored"]:
                return body  # type: ignore[no-any-return]
            assert time.monotonic() < deadline, body
            time.sleep(0.2)

    def verify(self, document: Any) -> dict[str, Any]:
        return self.post("/api/v1/licences/verify", {}, {"document": document})  # type: ignore[no-any-return]

    def verify_until(self, document: Any, status: str) -> dict[str, Any]:
        """The API's verdict once the chain says ``status`` (the writer confirms in a while)."""
        deadline = time.monotonic() + 60
        while (verdict := self.verify(document))["status"] != status:
            assert time.monotonic() < deadline, verdict
            time.sleep(0.2)
        return verdict

    def force_status_column(self, licence_id: str, status: str) -> None:
        """Writes the server's own status column behind its back (a second process)."""
        with sqlite3.connect(self.server.data_dir / "chainproof.db") as db:
            db.execute("UPDATE licence SET status = ? WHERE public_id = ?", (status, licence_id))


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    data_dir = tmp_path_factory.mktemp("licences") / "data"
    running = start_server(data_dir, "--chain", "anvil")
    try:
        yield World(running)
    finally:
        running.stop(signal.SIGTERM)
        for pid, cmdline in processes_mentioning(str(data_dir)):
            pytest.fail(f"left running after the server stopped: {pid} {cmdline}")


def _cli_verify(
    world: World, tmp_path: Path, document: Any, *issuers: str, extra: tuple[str, ...] = ()
) -> Any:
    path = tmp_path / f"licence-{time.monotonic_ns()}.json"
    path.write_text(json.dumps(document, ensure_ascii=False))
    rpc = httpx.get(f"{world.server.url}/api/v1/chain", timeout=10).json()["rpc_url"]
    pins = [a for did in issuers for a in ("--issuer", did)]
    return run_cli(
        "licence", "verify", path, "--rpc", rpc, "--trust", world.server.url, *pins, *extra,
        env=_env(), cwd=tmp_path,
    )  # fmt: skip


def test_issue_verify_present_revoke(world: World, tmp_path: Path) -> None:
    licence = world.anchored(world.issue()["id"])
    credential = licence["credential"]
    assert credential["issuer"] == world.did
    verdict = world.verify(credential)
    assert (verdict["valid"], verdict["status"], verdict["disclosed"]) == (True, "valid", CLAIMS)

    # A presentation of two of the five fields: valid, and the other three are not in it.
    shown = present(credential, {"名称", "经营范围"})
    verdict = world.verify(shown)
    assert verdict["valid"] and set(verdict["disclosed"]) == {"名称", "经营范围"}
    text = json.dumps(shown, ensure_ascii=False)
    assert not any(CLAIMS[n] in text for n in ("法定代表人", "住所"))
    # (the credit code is also the holder; the presentation does not name the holder)
    assert CLAIMS["统一社会信用代码"] not in text

    # No server: the chain and the pinned anchor and issuer.
    offline = _cli_verify(world, tmp_path, shown, world.did)
    assert offline.returncode == 0, offline.stdout + offline.stderr
    assert "VALID" in offline.stdout and "经营范围: 餐饮服务" in offline.stdout
    unpinned = _cli_verify(world, tmp_path, shown)
    assert unpinned.returncode == 1 and "trusted_issuer" in unpinned.stdout

    # A tampered field and a forged issuer signature are refused (API and CLI).
    tampered = json.loads(json.dumps(shown))
    tampered["verifiableCredential"][0]["credentialSubject"]["claims"]["名称"]["value"] = "别家"
    assert world.verify(tampered)["status"] == "invalid"
    assert _cli_verify(world, tmp_path, tampered, world.did).returncode == 1
    forger = Account.create()
    forged = issue_vc(
        issuer=forger, chain_id=31337, licence_id=credential["id"], licence_type="营业执照",
        claims=CLAIMS, valid_from=datetime.now(UTC), valid_until=datetime.now(UTC) + timedelta(1),
    )  # fmt: skip
    forged["issuer"] = world.did
    refused = world.verify(forged)
    assert refused["valid"] is False
    assert any(c["name"] == "signature" and not c["ok"] for c in refused["checks"])
    # A well-signed licence of a key that is no issuer's is refused too.
    stranger = dict(forged, issuer=f"did:pkh:eip155:31337:{forger.address}")
    assert world.verify(stranger)["status"] == "invalid"

    # Org B, an issuer itself, cannot revoke A's licence: it is not there for B.
    path = f"/api/v1/licences/{licence['id']}"
    body = {"action": "revoke", "reason": "not mine to revoke"}
    for headers in (world.other_issuer, world.outsider):
        assert world.call("POST", path + "/status", headers, body).status_code == 404
        assert world.call("GET", path, headers).status_code == 404
    assert world.call("GET", path, world.issuer).json()["status"] == "active"

    revoked = world.post(path + "/status", world.issuer, {"action": "revoke", "reason": "吊销"})
    assert revoked["status"] == "revoked"
    assert [e["action"] for e in revoked["history"]] == ["issue", "revoke"]
    world.verify_until(shown, "revoked")
    # On chain too: the root's leaf is revoked by the issuer's key, which the CLI reads.
    deadline = time.monotonic() + 60
    while (cli := _cli_verify(world, tmp_path, shown, world.did)).returncode == 0:
        assert time.monotonic() < deadline, cli.stdout
        time.sleep(0.5)
    assert cli.returncode == 1 and "REVOKED" in cli.stdout, cli.stdout + cli.stderr


def test_renew_expire_and_who_may_issue(world: World, tmp_path: Path) -> None:
    old = world.anchored(world.issue()["id"])
    renewed = world.post(f"/api/v1/licences/{old['id']}/renew", world.issuer, {}, expect=201)
    assert renewed["id"] != old["id"]
    before = world.call("GET", f"/api/v1/licences/{old['id']}", world.issuer).json()
    assert (before["status"], before["superseded_by"]) == ("superseded", renewed["id"])
    world.anchored(old["id"])
    assert world.verify_until(old["credential"], "superseded")["valid"] is False
    assert world.verify(world.anchored(renewed["id"])["credential"])["valid"]
    listed = world.call(
        "GET", f"/api/v1/licences?holder={CLAIMS['统一社会信用代码']}", world.issuer
    ).json()["items"]
    assert {old["id"], renewed["id"]} <= {i["id"] for i in listed}

    lapsed = world.issue(valid_from=(datetime.now(UTC) - timedelta(days=400)).isoformat())
    assert world.verify(world.anchored(lapsed["id"])["credential"])["status"] == "expired"

    # An org without the licence_issuer role issues nothing and defines no type.
    body = {"type": "营业执照", "holder": "x", "claims": CLAIMS}
    assert world.call("POST", "/api/v1/licences", world.outsider, body).status_code == 403
    new_type = {"code": "t", "name": "t", "fields": ["a"], "validity_days": 1}
    assert world.call("POST", "/api/v1/licences/types", world.outsider, new_type).status_code == 403
    # Suspend and reinstate are the issuer's, each on the record and on chain.
    live = renewed["id"]
    before = world.anchored(live)["credential"]
    world.post(f"/api/v1/licences/{live}/status", world.issuer, {
        "action": "suspend", "reason": "停业整顿"})  # fmt: skip
    suspended = world.anchored(live)["credential"]
    assert suspended["credentialStatus"]["statusRecord"]["action"] == "suspend"
    world.verify_until(suspended, "suspended")
    # The chain's word, not the server's table: its column forced back to active changes
    # nothing; the old copy (its live record then the issue one) is stale once the issue
    # record's revocation is on chain, whoever shows it.
    world.force_status_column(live, "active")
    assert world.verify(before)["status"] == "suspended"
    world.force_status_column(live, "suspended")
    # No server: the suspended copy says SUSPENDED; the old copy STALE, and SUSPENDED once
    # the current record is fetched (--status-from: not trusted, checked on chain).
    cli = _cli_verify(world, tmp_path, suspended, world.did)
    assert cli.returncode == 1 and "SUSPENDED" in cli.stdout, cli.stdout + cli.stderr
    # (once the chain writer has revoked the issue record: until then it still reads live)
    record = before["credentialStatus"]["statusReceipt"]["evidence_id"]
    deadline = time.monotonic() + 60
    while world.call("GET", f"/api/v1/evidence/{record}", world.issuer).json()["status"] != (
        "revoked"
    ):
        assert time.monotonic() < deadline
        time.sleep(0.2)
    cli = _cli_verify(world, tmp_path, before, world.did)
    assert cli.returncode == 1 and "STALE" in cli.stdout, cli.stdout + cli.stderr
    fresh = _cli_verify(
        world, tmp_path, before, world.did, extra=("--status-from", world.server.url)
    )
    assert fresh.returncode == 1 and "SUSPENDED" in fresh.stdout, fresh.stdout + fresh.stderr
    world.post(f"/api/v1/licences/{live}/status", world.issuer, {
        "action": "reinstate", "reason": "整改完成"})  # fmt: skip
    back = world.anchored(live)
    assert world.verify_until(back["credential"], "valid")["valid"]
    assert [e["action"] for e in back["history"]] == ["issue", "suspend", "reinstate"]


def test_the_demo_licences(world: World) -> None:
    said: list[str] = []
    database_url = f"sqlite:///{(world.server.data_dir / 'chainproof.db').resolve()}"
    admin_key = world.admin["Authorization"].removeprefix("Bearer ")
    seeded = seed_licences(
        base_url=world.server.url, admin_key=admin_key, database_url=database_url, say=said.append
    )
    statuses = {
        what: world.call("GET", f"/api/v1/licences/{lid}", world.issuer).json()["status"]
        for what, lid in seeded.items()
    }
    assert statuses == {
        "active": "active",
        "superseded": "superseded",
        "renewed": "active",
        "revoked": "revoked",
    }
    active = world.call("GET", f"/api/v1/licences/{seeded['active']}", world.issuer).json()
    assert active["holder_org"] == HOLDERS[0][0]
    again = seed_licences(
        base_url=world.server.url, admin_key=admin_key, database_url=database_url, say=said.append
    )
    assert again == {} and len(said) == 1


def test_holder_presents_and_prints(world: World, tmp_path: Path) -> None:
    """The holder's org makes a two-field link (the fields in its fragment only) and prints
    the licence; its QR code is the page link with every field; another issuer gets 404s."""
    holder_org, holder = "Not An Issuer", world.outsider  # an org that issues nothing
    licence = world.issue(holder_org=holder_org)
    assert licence["holder_org"] == holder_org
    path = f"/api/v1/licences/{licence['id']}/presentation"
    made = world.post(path, holder, {"fields": ["名称", "经营范围"]})
    page, fragment = made["url"].split("#")
    assert page == f"{world.server.url}/l/{licence['id']}" and "<svg" in made["qr_svg"]
    shown = json.loads(base64.urlsafe_b64decode(fragment.removeprefix("v1.") + "=="))
    assert {n: v[0] for n, v in shown.items()} == {n: CLAIMS[n] for n in ("名称", "经营范围")}
    # A PDF with a CJK font and a QR code: seconds on a loaded machine (httpx's default is 5).
    pdf = httpx.get(
        f"{world.server.url}/licences/{licence['id']}/licence.pdf", headers=holder, timeout=60
    )
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF"), pdf.text[:300]
    (tmp_path / "l.pdf").write_bytes(pdf.content)
    text = subprocess.run(["pdftotext", tmp_path / "l.pdf", "-"], capture_output=True, text=True)
    assert all(v.replace(" ", "") in text.stdout.replace(" ", "") for v in CLAIMS.values())
    png = ["pdftoppm", "-r", "300", "-png", "-singlefile", tmp_path / "l.pdf", tmp_path / "l"]
    subprocess.run(png, check=True)
    scan = ["zbarimg", "-q", "--raw", tmp_path / "l.png"]
    scanned = subprocess.run(scan, capture_output=True, text=True)
    qr_page, qr_fragment = scanned.stdout.strip().split("#")
    assert qr_page == page
    everything = json.loads(base64.urlsafe_b64decode(qr_fragment.removeprefix("v1.") + "=="))
    assert {n: v[0] for n, v in everything.items()} == CLAIMS
    # The pages: the holder's person sees the licence among those held and makes a link with
    # the session's cookie and CSRF token; the issuer's person gets its status actions.
    database_url = f"sqlite:///{(world.server.data_dir / 'chainproof.db').resolve()}"
    for org, marker in ((holder_org, CLAIMS["住所"]), (ISSUER_ORG, 'data-action="suspend"')):
        with httpx.Client(base_url=world.server.url, timeout=30) as person:
            csrf = sign_in(person, database_url, org, "submitter")
            html = person.get("/licences").text
            assert licence["id"] in html and marker in html, html[:2000]
            made = person.post(
                path,
                json={"fields": ["名称"]},
                headers={"X-CSRF-Token": csrf, "Origin": world.server.url},
            )
            assert made.status_code == 200 and made.json()["url"].startswith(page), made.text
    for stranger in (world.other_issuer,):
        assert world.call("POST", path, stranger, {"fields": []}).status_code == 404
        got = httpx.get(
            f"{world.server.url}/licences/{licence['id']}/licence.pdf", headers=stranger, timeout=60
        )
        assert got.status_code == 404
