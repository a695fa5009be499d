"""The OpenAPI document (issue #6): every operation has a summary, a tag, and an example of
its request body and of its answer; Swagger UI is at /docs. Trace routes are another
issue's and are left out here."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture(scope="module")
def schema(client: TestClient) -> dict[str, Any]:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def _operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    found = [
        (method, path, op)
        for path, item in schema["paths"].items()
        for method, op in item.items()
        if method in METHODS
        and "trace" not in path.split("/")
        and "trace" not in op.get("tags", [])
    ]
    assert len(found) >= 30, "fewer operations than the API has: the walk is out of date"
    return found


def _has_example(node: Any, components: dict[str, Any], seen: frozenset[str] = frozenset()) -> bool:
    """An example on the media type, its schema, or the component the schema refers to."""
    if not isinstance(node, dict):
        return False
    if "example" in node or "examples" in node:
        return True
    if "schema" in node and _has_example(node["schema"], components, seen):
        return True
    ref = node.get("$ref") or (node.get("items") or {}).get("$ref")
    if ref:
        name = ref.rsplit("/", 1)[1]
        return name not in seen and _has_example(components[name], components, seen | {name})
    return any(_has_example(v, components, seen) for v in node.get("anyOf", []))


def test_every_operation_has_a_summary_and_a_tag(schema: dict[str, Any]) -> None:
    missing = [
        f"{m.upper()} {p}"
        for m, p, op in _operations(schema)
        if not op.get("summary") or not op.get("tags")
    ]
    assert missing == []


def test_tags_are_declared_and_described(schema: dict[str, Any]) -> None:
    declared = {t["name"]: t.get("description") for t in schema.get("tags", [])}
    used = {tag for _, _, op in _operations(schema) for tag in op.get("tags", [])}
    assert used <= set(declared), used - set(declared)
    assert all(declared[t] for t in used)


def test_every_request_body_has_an_example(schema: dict[str, Any]) -> None:
    components = schema.get("components", {}).get("schemas", {})
    missing = []
    for method, path, op in _operations(schema):
        for media, content in op.get("requestBody", {}).get("content", {}).items():
            if not _has_example(content, components):
                missing.append(f"{method.upper()} {path} ({media})")
    assert missing == []


def test_every_answer_with_a_body_has_an_example(schema: dict[str, Any]) -> None:
    components = schema.get("components", {}).get("schemas", {})
    missing = []
    for method, path, op in _operations(schema):
        answers = [
            (code, media, content)
            for code, response in op["responses"].items()
            if code.startswith("2")
            for media, content in response.get("content", {}).items()
        ]
        for code, media, content in answers:
            if not _has_example(content, components):
                missing.append(f"{method.upper()} {path} {code} ({media})")
    assert missing == []


def test_errors_are_documented_with_an_example(schema: dict[str, Any]) -> None:
    components = schema.get("components", {}).get("schemas", {})
    missing = []
    for method, path, op in _operations(schema):
        for code, response in op["responses"].items():
            if code[0] in "45":
                for media, content in response.get("content", {}).items():
                    if not _has_example(content, components):
                        missing.append(f"{method.upper()} {path} {code} ({media})")
    assert missing == []


def test_swagger_ui_is_served_at_docs(client: TestClient) -> None:
    response = client.get("/docs")
    assert response.status_code == 200
    assert "swagger-ui" in response.text and "/openapi.json" in response.text


def test_verify_documents_its_query_parameter_and_optional_key(
    schema: dict[str, Any], client: TestClient
) -> None:
    # The route reads both itself (no declared parameters on the hot path): the document
    # must still say what a declared Query and Depends(bearer_scheme) said, and the route
    # must still refuse what the declaration refused, the same way.
    op = schema["paths"]["/api/v1/verify"]["post"]
    [param] = op["parameters"]
    assert (param["name"], param["in"], param["required"]) == ("algorithm", "query", False)
    assert param["schema"]["anyOf"][0]["enum"] == ["sha256", "sm3", "keccak256"]
    assert op["security"] == [{"HTTPBearer": []}, {}]  # a key, or none
    assert "HTTPBearer" in schema["components"]["securitySchemes"]

    bad = client.post("/api/v1/verify?algorithm=md5", json={"digest": "00" * 32})
    assert bad.status_code == 422
    [problem] = bad.json()["error"]["problems"]
    assert problem["loc"] == ["query", "algorithm"]
    wrong_scheme = client.post(
        "/api/v1/verify", json={"digest": "00" * 32}, headers={"Authorization": "Basic eDp4"}
    )
    assert wrong_scheme.status_code == 401
