"""The HTTP API end to end, access: authentication, roles, metadata, revocation, members
and keys.

One embedded chain (eth-tester + py-evm) serves the module; every test gets its own app,
data directory and SQLite database on it (``tests/apps.py``), so tests share nothing but
blocks (random salts keep their Merkle roots apart). The API section of issue 3 is a
contract: paths, field names and status codes are asserted exactly.
"""

from __future__ import annotations

from ..apps import (
    MISSING,
    Api,
    assert_error,
)

# --- who may do what -------------------------------------------------------------------------


def test_authentication_and_roles(api: Api) -> None:
    reviewer = api.key("创新中心", "reviewer")
    submitter = api.key("示范企业甲", "submitter")
    digests = {"digests": ["0x" + "11" * 32]}

    missing = api.client.post("/api/v1/evidence/digests", json=digests)
    assert_error(missing, 401, "unauthorized")
    assert missing.headers["www-authenticate"] == "Bearer"
    missing_upload = api.upload({}, ("a.txt", b"x"))
    assert_error(missing_upload, 401)

    bad_key = {"Authorization": "Bearer cpk_" + "A" * 43}
    invalid = api.client.post("/api/v1/evidence/digests", json=digests, headers=bad_key)
    assert_error(invalid, 401)
    assert invalid.headers["www-authenticate"].startswith("Bearer")
    # A bad key is refused even where no key is needed: the client must not silently
    # lose the metadata its key would show.
    assert_error(
        api.client.post("/api/v1/verify", json={"digest": "0x" + "11" * 32}, headers=bad_key), 401
    )
    basic = {"Authorization": "Basic dXNlcjpwdw=="}
    assert_error(
        api.client.post("/api/v1/verify", json={"digest": "0x" + "11" * 32}, headers=basic), 401
    )

    assert_error(
        api.client.post("/api/v1/evidence/digests", json=digests, headers=reviewer),
        403,
        "forbidden",
    )
    assert_error(api.upload(reviewer, ("a.txt", b"x")), 403)
    assert_error(api.client.get("/api/v1/members", headers=submitter), 403)
    assert_error(
        api.client.post("/api/v1/keys", json={"org": "x", "role": "admin"}, headers=submitter), 403
    )
    assert api.count() == 0

    admin = api.key("运营方", "admin")
    assert (
        api.client.post("/api/v1/evidence/digests", json=digests, headers=admin).status_code == 202
    )
    assert (
        api.client.post("/api/v1/evidence/digests", json=digests, headers=submitter).status_code
        == 202
    )


def test_metadata_only_for_its_member_and_admins(api: Api, submitter: dict[str, str]) -> None:
    [item] = api.upload(submitter, ("机密.pdf", b"secret application"), label="内部标签").json()[
        "items"
    ]
    path = f"/api/v1/evidence/{item['id']}"

    # Strangers read the status only (tests/security/test_evidence_privacy.py has the rest).
    anonymous = api.client.get(path).json()
    assert set(anonymous) == {"id", "status"}

    other = api.client.get(path, headers=api.key("示范企业乙", "submitter")).json()
    assert set(other) == {"id", "status"}
    reviewer = api.client.get(path, headers=api.key("创新中心", "reviewer")).json()
    assert set(reviewer) == {"id", "status"}

    owner = api.client.get(path, headers=submitter).json()
    assert owner["label"] == "内部标签" and owner["filename"] == "机密.pdf"
    admin = api.client.get(path, headers=api.key("运营方", "admin")).json()
    assert admin["label"] == "内部标签"


def test_revoke_by_owner_then_verify_says_revoked(api: Api, submitter: dict[str, str]) -> None:
    content = b"withdrawn invoice"
    [item] = api.upload(submitter, ("invoice.pdf", content)).json()["items"]
    path = f"/api/v1/evidence/{item['id']}/revoke"

    assert_error(
        api.client.post(
            f"/api/v1/evidence/{MISSING}/revoke", json={"reason": "x"}, headers=submitter
        ),
        404,
    )
    api.wait_anchored(item["id"])
    assert_error(api.client.post(path, json={"reason": "x"}), 401)
    assert_error(
        api.client.post(path, json={"reason": "x"}, headers=api.key("创新中心", "reviewer")), 403
    )
    # Another member's record is not found, word for word as a missing one.
    assert_error(
        api.client.post(path, json={"reason": "x"}, headers=api.key("示范企业乙", "submitter")), 404
    )
    assert_error(api.client.post(path, json={"reason": ""}, headers=submitter), 422)
    assert_error(api.client.post(path, json={"reason": "  \n "}, headers=submitter), 422)
    assert_error(api.client.post(path, json={"reason": "x" * 501}, headers=submitter), 422)

    accepted = api.client.post(path, json={"reason": "提交了错误的版本"}, headers=submitter)
    assert accepted.status_code == 202, accepted.text
    op = accepted.json()
    assert accepted.headers["location"] == f"/api/v1/operations/{op['id']}"
    assert op["kind"] == "revoke_leaf" and op["status"] in ("queued", "signed", "sent")
    operation = f"/api/v1/operations/{op['id']}"
    # Only the operation's org or an admin reads it: to anyone else it does not exist.
    assert_error(api.client.get(operation), 401)
    assert_error(api.client.get(operation, headers=api.key("示范企业乙", "submitter")), 404)
    assert_error(api.client.get("/api/v1/operations/" + "0" * 32, headers=submitter), 404)
    done = api.wait_operation(op["id"], submitter)
    assert done["status"] == "confirmed" and done["tx_hash"], done
    assert api.client.get(operation, headers=api.key("运营方", "admin")).status_code == 200
    record = api.client.get(f"/api/v1/evidence/{item['id']}", headers=submitter).json()
    assert record["status"] == "revoked"
    assert record["revoke_reason"] == "提交了错误的版本"
    assert_error(
        api.client.post(path, json={"reason": "again"}, headers=submitter), 409, "conflict"
    )

    verdict = api.client.post("/api/v1/verify", files={"file": ("x", content)}).json()
    assert verdict["verdict"] == "revoked"
    assert "提交了错误的版本" not in verdict["reason"]  # the reason is the member's metadata
    own = api.client.post(
        "/api/v1/verify", files={"file": ("x", content)}, headers=submitter
    ).json()
    assert own["verdict"] == "revoked" and "提交了错误的版本" in own["reason"]

    receipt = api.client.get(f"/api/v1/evidence/{item['id']}/receipt", headers=submitter).json()
    checked = api.client.post("/api/v1/receipts/verify", json=receipt).json()
    assert checked["valid"] is False and checked["reason"].startswith("revoked")


def test_admin_members_and_keys(api: Api) -> None:
    admin = api.key("运营方", "admin")
    created = api.client.post(
        "/api/v1/members", json={"name": "广西示范科技有限公司"}, headers=admin
    )
    assert created.status_code == 201, created.text
    assert created.json()["name"] == "广西示范科技有限公司"
    again = api.client.post("/api/v1/members", json={"name": "广西示范科技有限公司"}, headers=admin)
    assert again.json()["id"] == created.json()["id"]
    names = [m["name"] for m in api.client.get("/api/v1/members", headers=admin).json()]
    assert names == ["运营方", "广西示范科技有限公司"]

    new = api.client.post(
        "/api/v1/keys", json={"org": "广西示范科技有限公司", "role": "submitter"}, headers=admin
    )
    assert new.status_code == 201, new.text
    key = new.json()
    assert {"key", "prefix", "role", "org"} <= set(key)
    assert key["key"].startswith(key["prefix"]) and key["role"] == "submitter"
    headers = {"Authorization": f"Bearer {key['key']}"}
    accepted = api.client.post(
        "/api/v1/evidence/digests", json={"digests": ["0x" + "22" * 32]}, headers=headers
    )
    assert accepted.status_code == 202

    listed = api.client.get("/api/v1/keys", headers=admin).json()
    assert all("key" not in k for k in listed)
    assert {k["org"] for k in listed} == {"运营方", "广西示范科技有限公司"}
    assert_error(
        api.client.post("/api/v1/keys", json={"org": "x", "role": "root"}, headers=admin), 422
    )
    assert_error(api.client.get("/api/v1/keys", params={"org": "nobody"}, headers=admin), 404)

    revoked = api.client.delete(f"/api/v1/keys/{key['id']}", headers=admin)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert_error(
        api.client.post(
            "/api/v1/evidence/digests", json={"digests": ["0x" + "22" * 32]}, headers=headers
        ),
        401,
    )
