"""The bulk ingest path (issue #8): the route's own parsing of a digests body accepts exactly
what ``DigestsIn`` accepts, with the same values and the same errors; concurrent requests
share group commits and each gets its own rows' ids; the batcher's write turns come first.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

import pytest
from fastapi.exceptions import RequestValidationError
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException

from chainproof.api.routes.evidence import _digests_body
from chainproof.api.schemas import DigestsIn
from chainproof.evidence import intake
from chainproof.evidence.engine_state import EngineState
from chainproof.evidence.writes import WriteTurns
from chainproof.identity import create_api_key
from chainproof.store.db import make_engine, session_factory, upgrade
from chainproof.store.models import Evidence

JSON_TYPE = "application/json"
HEX = "0123456789abcdefABCDEF"


def _expected(body: Any) -> tuple[str, list[bytes], str | None] | list[dict[str, Any]]:
    """What the declared ``DigestsIn`` body gave: the values, or its errors under "body"."""
    try:
        model = DigestsIn.model_validate(body)
    except ValidationError as exc:
        return [_comparable({**e, "loc": ("body", *e["loc"])}) for e in exc.errors()]
    return model.algorithm, [bytes.fromhex(d[2:]) for d in model.digests], model.label


def _parsed(body: Any) -> tuple[str, list[bytes], str | None] | list[dict[str, Any]]:
    try:
        parsed = _digests_body(json.dumps(body).encode(), JSON_TYPE)
    except RequestValidationError as exc:
        return [_comparable(e) for e in exc.errors()]
    # These bodies name no business type or channel (issue 25): those stay None.
    assert parsed.typed is None and parsed.channel is None
    return parsed.algorithm, parsed.digests, parsed.label


def _comparable(error: dict[str, Any]) -> dict[str, Any]:
    # ctx holds the exception object itself, which compares by identity: compare its text.
    return {k: (repr(v) if k == "ctx" else v) for k, v in error.items() if k != "url"}


digest_text = st.one_of(
    st.text(alphabet=HEX, min_size=64, max_size=64).map(lambda h: "0x" + h),
    st.text(alphabet=HEX, min_size=64, max_size=64),  # no 0x
    st.text(alphabet=HEX, min_size=64, max_size=64).map(lambda h: "0X" + h),
    st.text(alphabet=HEX, min_size=64, max_size=64).map(lambda h: " 0x" + h + "\n"),
    st.text(alphabet=HEX + "xX g", max_size=70),
    # The fast path's own shape (0x + 64 characters) with a character that is not hex.
    st.text(alphabet=HEX + " g\u0660", min_size=64, max_size=64).map(lambda h: "0x" + h),
    st.integers(),
    st.none(),
)
bodies = (
    st.fixed_dictionaries(
        {"digests": st.lists(digest_text, max_size=6)},
        optional={
            "algorithm": st.sampled_from(["sha256", "sm3", "keccak256", "md5", "SHA256"])
            | st.integers(),
            "label": st.none() | st.text(max_size=210) | st.integers(),
            "extra": st.integers(),
        },
    )
    | st.lists(st.integers(), max_size=2)
    | st.text(max_size=5)
    | st.none()
)


@settings(max_examples=400, deadline=None)
@given(body=bodies)
def test_the_routes_parsing_is_the_models(body: Any) -> None:
    assert _parsed(body) == _expected(body)


def test_a_full_request_takes_the_fast_path_with_the_models_values() -> None:
    digests = ["0x" + os.urandom(32).hex() for _ in range(intake.MAX_BULK)]
    digests[7] = digests[7].upper().replace("0X", "0x")  # any case
    body = {"algorithm": "sm3", "digests": digests, "label": "发票 2023-118"}
    assert _parsed(body) == _expected(body)
    too_many = {"digests": digests + digests[:1]}
    errors = _parsed(too_many)
    assert isinstance(errors, list) and errors[0]["loc"] == ("body", "digests")
    assert _parsed(too_many) == _expected(too_many)


def test_bodies_that_are_not_json_get_fastapis_answers() -> None:
    good = json.dumps({"digests": ["0x" + "ab" * 32]}).encode()
    for content_type in ("application/json; charset=utf-8", "application/merge-patch+json"):
        assert _digests_body(good, content_type)[1] == [bytes.fromhex("ab" * 32)]
    # Not declared JSON (or not declared at all): the bytes are not a DigestsIn, 422.
    for content_type in (None, "text/plain"):
        with pytest.raises(RequestValidationError) as refused:
            _digests_body(good, content_type)
        assert refused.value.errors()[0]["loc"] == ("body",)
    with pytest.raises(RequestValidationError) as broken:
        _digests_body(b'{"digests": [', JSON_TYPE)
    assert broken.value.errors()[0]["type"] == "json_invalid"
    with pytest.raises(RequestValidationError) as empty:
        _digests_body(b"", JSON_TYPE)
    assert empty.value.errors()[0]["loc"] == ("body",)
    with pytest.raises(HTTPException) as undecodable:
        _digests_body(b'{"digests": ["\xff"]}', JSON_TYPE)
    assert undecodable.value.status_code == 400


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    url = f"sqlite:///{tmp_path / 'cp.db'}"
    upgrade(url)
    return make_engine(url)


@pytest.fixture
def group(engine: Engine) -> intake.GroupCommit:
    """The engine's one group commit, as the runtime makes it (``EngineState``)."""
    return EngineState.of(engine).group


def test_concurrent_bulk_requests_each_get_their_own_committed_rows(
    engine: Engine, group: intake.GroupCommit
) -> None:
    with session_factory(engine)() as s:
        key, _ = create_api_key(session=s, org="甲", role="submitter")
    requests = [[os.urandom(32) for _ in range(n)] for n in (1, 3000, 7, 5000, 1, 2500) * 3]
    answers: list[list[intake.Accepted]] = [[] for _ in requests]

    def client(i: int) -> None:
        answers[i] = intake.submit_bulk(
            group=group, algorithm="sha256", digests=requests[i], member_id=key.member_id
        )

    threads = [threading.Thread(target=client, args=(i,)) for i in range(len(requests))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    table = Evidence.__table__  # type: ignore[attr-defined]
    with engine.connect() as conn:
        stored = dict(conn.execute(select(table.c.id, table.c.digest)).all())
    assert len(stored) == sum(len(r) for r in requests)
    for digests, accepted in zip(requests, answers, strict=True):
        assert [a.digest for a in accepted] == ["0x" + d.hex() for d in digests]
        # Each id names the row holding that very digest, committed before the answer.
        assert [stored[a.id] for a in accepted] == [a.digest for a in accepted]


def test_a_failed_group_commit_stores_nothing_and_the_next_one_works(
    engine: Engine, group: intake.GroupCommit
) -> None:
    with pytest.raises(IntegrityError):  # member 999 does not exist: a foreign key violation
        intake.submit_bulk(
            group=group, algorithm="sha256", digests=[os.urandom(32)] * 3, member_id=999
        )
    with engine.connect() as conn:
        assert conn.execute(select(Evidence.__table__.c.id)).all() == []  # type: ignore[attr-defined]
    ok = intake.submit_bulk(
        group=group, algorithm="sha256", digests=[os.urandom(32)], member_id=None
    )
    assert len(ok) == 1 and ok[0].status == "queued"


def test_a_waiting_batcher_writes_before_waiting_intake() -> None:
    turns = WriteTurns()
    order: list[str] = []
    holding = threading.Event()
    release = threading.Event()

    def holder() -> None:
        with turns.turn():
            holding.set()
            release.wait()

    def writer(name: str, priority: bool) -> None:
        with turns.turn(priority=priority):
            order.append(name)

    first = threading.Thread(target=holder)
    first.start()
    holding.wait()
    intake_writer = threading.Thread(target=writer, args=("intake", False))
    intake_writer.start()
    while len(turns._cond._waiters) < 1:  # type: ignore[attr-defined]
        threading.Event().wait(0.001)
    batcher = threading.Thread(target=writer, args=("batcher", True))
    batcher.start()
    while len(turns._cond._waiters) < 2:  # type: ignore[attr-defined]
        threading.Event().wait(0.001)
    release.set()
    for t in (first, intake_writer, batcher):
        t.join()
    assert order == ["batcher", "intake"]
