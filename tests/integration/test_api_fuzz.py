"""The HTTP API end to end, fuzzed: JSON bodies, multipart bodies and path ids never
answer 500.

One embedded chain (eth-tester + py-evm) serves the module; every test gets its own app,
data directory and SQLite database on it (``tests/apps.py``), so tests share nothing but
blocks (random salts keep their Merkle roots apart). The API section of issue 3 is a
contract: paths, field names and status codes are asserted exactly.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ..apps import (
    MISSING,
    MULTIPART,
    Api,
    multipart,
)

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
HEXISH = st.text(alphabet="0123456789abcdefABCDEFxX", max_size=70)
PLAUSIBLE = st.fixed_dictionaries(
    {},
    optional={
        "algorithm": st.sampled_from(["sha256", "sm3", "keccak256", "md5", ""]) | JSON,
        "digests": st.lists(HEXISH | JSON, max_size=5) | JSON,
        "digest": HEXISH | JSON,
        "label": st.text(max_size=300) | JSON,
        "reason": st.text(max_size=600) | JSON,
        "name": st.text(max_size=250) | JSON,
        "org": st.text(max_size=250) | JSON,
        "role": st.sampled_from(["admin", "submitter", "reviewer", "root"]) | JSON,
    },
)
JSON_ROUTES = [
    ("/api/v1/evidence/digests", "submitter"),
    ("/api/v1/verify", None),
    ("/api/v1/receipts/verify", None),
    (f"/api/v1/evidence/{MISSING}/revoke", "submitter"),
    ("/api/v1/members", "admin"),
    ("/api/v1/keys", "admin"),
]


def assert_not_500(response: Any) -> None:
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert set(response.json()["error"]) >= {"code", "message"}


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(route=st.sampled_from(JSON_ROUTES), body=PLAUSIBLE | JSON)
def test_fuzz_json_bodies_never_500(
    api: Api, role_keys: dict[str | None, dict[str, str]], route: tuple[str, str | None], body: Any
) -> None:
    path, role = route
    assert_not_500(api.client.post(path, json=body, headers=role_keys[role]))


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    parts=st.lists(
        st.tuples(
            st.sampled_from(["file", "label", "algorithm"]) | st.text(max_size=10),
            st.none() | st.text(max_size=20),
            st.binary(max_size=64),
        ),
        max_size=4,
    ),
    cut=st.none() | st.integers(min_value=0, max_value=400),
    path=st.sampled_from(["/api/v1/evidence", "/api/v1/verify"]),
)
def test_fuzz_multipart_never_500(
    api: Api,
    role_keys: dict[str | None, dict[str, str]],
    parts: list[tuple[str, str | None, bytes]],
    cut: int | None,
    path: str,
) -> None:
    body = multipart(*parts)
    if cut is not None:
        body = body[:cut]
    response = api.client.post(path, content=body, headers={**role_keys["submitter"], **MULTIPART})
    assert_not_500(response)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(segment=st.text(min_size=1, max_size=30) | st.integers().map(str))
def test_fuzz_path_ids_never_500(api: Api, segment: str) -> None:
    quoted = quote(segment, safe="")
    for template in ("/api/v1/evidence/{}", "/api/v1/evidence/{}/receipt", "/api/v1/batches/{}"):
        assert_not_500(api.client.get(template.format(quoted)))
