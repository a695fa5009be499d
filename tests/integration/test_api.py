"""The HTTP API end to end, the service itself: chain, batches, probes, the degraded mode
on a reset chain, the OpenAPI document and the error envelope.

The other resources have their own modules (``test_api_evidence.py``, ``test_api_uploads.py``,
``test_api_access.py``, ``test_api_fuzz.py``); the fixtures and helpers they share are
``tests/apps.py``'s (re-exported here for modules that import them from this one).

One embedded chain (eth-tester + py-evm) serves the module; every test gets its own app,
data directory and SQLite database on it (``tests/apps.py``), so tests share nothing but
blocks (random salts keep their Merkle roots apart). The API section of issue 3 is a
contract: paths, field names and status codes are asserted exactly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from chainproof.api.app import create_app
from chainproof.chain.context import ChainContext
from chainproof.config import Settings
from chainproof.store import db
from chainproof.store.models import Evidence

# MULTIPART, multipart and the fixtures chain, start_api and api are imported (X as X) for
# test modules that import them from here (written before the split): they are tests/apps.py's.
from ..apps import MISSING, Api, StartApi, TestClient, assert_error
from ..apps import MULTIPART as MULTIPART
from ..apps import api as api
from ..apps import chain as chain
from ..apps import multipart as multipart
from ..apps import start_api as start_api
from ..conftest import node_binary_present, require

# --- chain, probes, documentation, errors ----------------------------------------------------


def test_chain_batches_and_probes(api: Api, submitter: dict[str, str], chain: ChainContext) -> None:
    assert api.client.get("/healthz").json() == {"status": "ok"}
    ready = api.client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert {name for name, check in ready.json()["checks"].items() if check["ok"]} == {
        "database",
        "chain",
        "batcher",
    }

    info = api.client.get("/api/v1/chain").json()
    network = info.pop("network")  # counts only (tests/integration/test_network_monitoring.py)
    assert network == {
        "endpoints": 1,
        "healthy": 1,
        "head": network["head"],
        "ok": True,
        "warnings": 0,
    }
    assert info == {
        "chain_id": chain.chain_id,
        "contract": chain.contract,
        "genesis_hash": chain.deployment.genesis_hash,
        "rpc_url": None,  # an in-process chain has no URL, and no public one is configured
        "kind": "embedded",
        "deployment_block": chain.deployment.block_number,
    }

    [item] = api.upload(submitter, ("a.txt", b"batch me")).json()["items"]
    api.wait_anchored(item["id"])
    with db.open_session(api.url) as session:
        batch_id = session.exec(
            select(Evidence.batch_id).where(Evidence.public_id == item["id"])
        ).one()
    batch = api.client.get(f"/api/v1/batches/{batch_id}").json()
    assert batch["status"] == "confirmed" and batch["tx_hash"] and "raw_tx" not in batch
    assert_error(api.client.get("/api/v1/batches/424242"), 404, "not_found")


def test_public_rpc_url_is_what_third_parties_get(start_api: StartApi) -> None:
    api = start_api(public_rpc_url="https://rpc.example.org", run_batcher=False)
    assert api.client.get("/api/v1/chain").json()["rpc_url"] == "https://rpc.example.org"


@pytest.mark.chain
def test_reset_chain_degrades_the_server_which_never_says_anchored(tmp_path: Path) -> None:
    """Anchor on a managed Anvil, reset it (state file gone), restart: chain_mismatch, loudly."""
    require(
        node_binary_present("anvil"),
        "the anvil binary is missing from node_modules (run `make install`)",
    )
    data = tmp_path / "data"
    settings = Settings(
        env="test",
        data_dir=data,
        database_url=f"sqlite:///{data / 'chainproof.db'}",
        chain="anvil",
        batch_size=10,
        batch_interval_ms=50,
    )
    content = b"anchored before the reset"
    with TestClient(create_app(settings)) as client:
        api = Api(client=client, settings=settings)
        submitter = api.key("示范企业甲", "submitter")
        [item] = api.upload(submitter, ("a.txt", content)).json()["items"]
        api.wait_anchored(item["id"])
        receipt = client.get(f"/api/v1/evidence/{item['id']}/receipt", headers=submitter).json()
        assert client.post("/api/v1/receipts/verify", json=receipt).json()["valid"] is True

    (data / "anvil-state.json").unlink()  # the reset: Anvil starts from a new genesis
    with TestClient(create_app(settings)) as client:
        ready = client.get("/readyz")
        assert_error(ready, 503, "chain_mismatch")
        reason = ready.json()["checks"]["chain"]["detail"]
        assert ready.json()["checks"]["chain"]["ok"] is False
        # A new genesis, or (restarted within the same second: Anvil's genesis is its start
        # time) the same genesis with no contract: both are the chain the index is not on.
        assert "genesis" in reason or "no contract code" in reason, reason
        assert_error(client.get("/api/v1/chain"), 503, "chain_mismatch")

        verdict = client.post("/api/v1/verify", files={"file": ("a.txt", content)}).json()
        assert verdict["verdict"] == "chain_mismatch" and verdict["reason"] == reason
        by_digest = client.post("/api/v1/verify", json={"digest": item["digest"]}).json()
        assert by_digest["verdict"] == "chain_mismatch"

        # The receipt is checked against the (reset) node itself, and says why it fails.
        checked = client.post("/api/v1/receipts/verify", json=receipt).json()
        assert checked["valid"] is False and "no contract code" in checked["reason"]

        # Nothing accepted is lost: uploads still queue while no batcher runs.
        accepted = client.post(
            "/api/v1/evidence", headers=submitter, files={"file": ("b.txt", b"still accepted")}
        )
        assert accepted.status_code == 202
        assert (
            client.get(f"/api/v1/evidence/{accepted.json()['items'][0]['id']}").json()["status"]
            == "queued"
        )
        revoke = client.post(
            f"/api/v1/evidence/{item['id']}/revoke", json={"reason": "x"}, headers=submitter
        )
        assert_error(revoke, 503, "chain_mismatch")


def _example_in(operation: dict[str, Any], schemas: dict[str, Any]) -> bool:
    def has_example(node: Any) -> bool:
        if not isinstance(node, dict):
            return False
        if "example" in node or "examples" in node:
            return True
        ref = node.get("$ref") or node.get("schema", {}).get("$ref")
        if ref:
            return has_example(schemas[ref.rsplit("/", 1)[-1]])
        items = node.get("schema", {}).get("items", {}).get("$ref")
        if items:
            return has_example(schemas[items.rsplit("/", 1)[-1]])
        return False

    bodies = list(operation.get("requestBody", {}).get("content", {}).values())
    for status, response in operation["responses"].items():
        if status.startswith("2"):
            bodies += list(response.get("content", {}).values())
    if not bodies:  # e.g. a 204 DELETE: the example is in its path parameters
        params = operation.get("parameters", [])
        return bool(params) and all(
            "example" in p or "examples" in p or "examples" in p.get("schema", {}) for p in params
        )
    return any(has_example(b) for b in bodies)


def test_openapi_documents_every_endpoint(api: Api) -> None:
    spec = api.client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    expected = {
        ("post", "/api/v1/evidence"),
        ("post", "/api/v1/evidence/digests"),
        ("get", "/api/v1/evidence/{evidence_id}"),
        ("get", "/api/v1/evidence/{evidence_id}/receipt"),
        ("post", "/api/v1/evidence/{evidence_id}/revoke"),
        ("post", "/api/v1/verify"),
        ("post", "/api/v1/receipts/verify"),
        ("get", "/api/v1/chain"),
        ("get", "/api/v1/batches/{batch_id}"),
        ("get", "/healthz"),
        ("get", "/readyz"),
        ("post", "/api/v1/members"),
        ("get", "/api/v1/members"),
        ("post", "/api/v1/keys"),
        ("get", "/api/v1/keys"),
        ("delete", "/api/v1/keys/{key_id}"),
    }
    found = {(method, path) for path, ops in spec["paths"].items() for method in ops}
    assert expected <= found, expected - found
    # Every documented operation sits under a declared tag (the app's TAGS list).
    allowed_tags = {t["name"] for t in spec.get("tags", [])}
    assert {"evidence", "verify", "receipts", "chain", "admin", "system"} <= allowed_tags
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            where = f"{method.upper()} {path}"
            assert op.get("summary"), where
            assert len(op.get("tags", [])) == 1 and op["tags"][0] in allowed_tags, where
            assert _example_in(op, schemas), f"{where} has no example"
            for status, response in op["responses"].items():
                if status.startswith(("4", "5")):
                    ref = response["content"]["application/json"]["schema"]["$ref"]
                    assert ref.rsplit("/", 1)[-1] in {"ErrorOut", "NotReadyOut"}, (where, status)
    assert spec["paths"]["/api/v1/evidence"]["post"]["responses"].keys() >= {
        "202",
        "401",
        "403",
        "413",
    }
    assert "HTTPValidationError" not in schemas  # 422 is the error envelope too
    assert "bearer" in str(spec["components"]["securitySchemes"]).lower()
    assert api.client.get("/docs").status_code == 200


def test_errors_use_the_envelope_and_never_500(api: Api, submitter: dict[str, str]) -> None:
    get = api.client.get
    # Ids are public ids: anything else (the old integer ids included) is a plain 404.
    for bad in ("424242", "abc", "0", "-1", "99999999999999999999999", MISSING, "x" * 5000):
        assert_error(get(f"/api/v1/evidence/{bad}"), 404, "not_found")
        assert_error(get(f"/api/v1/evidence/{bad}/receipt"), 404, "not_found")
    assert_error(get("/no/such/route"), 404, "not_found")
    assert_error(api.client.put("/api/v1/chain"), 405, "method_not_allowed")
    assert_error(api.client.post("/api/v1/verify", json={"digest": "0x12"}), 422)
    assert_error(
        api.client.post("/api/v1/verify", json={"algorithm": "md5", "digest": "0x" + "00" * 32}),
        422,
    )
    assert_error(api.client.post("/api/v1/verify", json=["not", "an", "object"]), 422)
    assert_error(
        api.client.post("/api/v1/members", json={"name": ""}, headers=api.key("运营方", "admin")),
        422,
    )

    @api.client.app.get("/boom")  # type: ignore[attr-defined,misc]
    def boom() -> None:
        raise RuntimeError("a bug")

    # No `with`: the app's lifespan already runs under api.client; this client only asks.
    client = TestClient(api.client.app, raise_server_exceptions=False)
    crashed = client.get("/boom")
    assert_error(crashed, 500, "internal")
    assert "a bug" not in crashed.text
