"""The bulk ingest path (issue #8): the route's own parsing of a digests body accepts exactly
what ``DigestsIn`` accepts, with the same values and the same errors; concurrent requests
share group commits and each gets its own rows' ids; the batcher's write turns come first.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.exceptions import RequestValidationError
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from sqlalchemy import Engine, event, select
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException

from chainproof.api.routes.evidence import _digests_body
from chainproof.api.schemas import DigestsIn
from chainproof.evidence import intake
from chainproof.evidence.engine_state import EngineState
from chainproof.evidence.writes import WriteTurns
from chainproof.identity import create_api_key
from chainproof.merkle import evidence_leaf_hasher
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


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An engine on a migrated, empty database: a SQLite file, or a fresh database on the
    session's PostgreSQL server (where the intake writes through ``COPY``)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'cp.db'}"
    else:
        url = request.getfixturevalue("postgres_database_url")
    upgrade(url)
    engine = make_engine(url)
    yield engine
    engine.dispose()


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


def test_every_value_lands_in_its_column_and_the_ids_name_their_rows(engine: Engine) -> None:
    """What the binary ``COPY`` on PostgreSQL must keep from the ``INSERT`` it replaced: text
    that a text format would have to escape, sizes past int32, channel and member ids, the
    time; and ascending ids in request order (the batcher takes the oldest rows first)."""
    with session_factory(engine)() as s:
        key, _ = create_api_key(session=s, org="乙", role="submitter")
    names = ["a\tb\nc\\d", "发票 №7.pdf", None, "\\N", ""]
    sizes = [2**40, 0, None, 1, 2**31]
    digests = [os.urandom(32) for _ in names]
    with session_factory(engine)() as s:
        accepted = intake.submit_digests(
            session=s,
            algorithm="sm3",
            digests=digests,
            member_id=key.member_id,
            label="标签\t\\",
            filenames=names,
            sizes=sizes,
            channel_id=7,
        )
    assert [a.id for a in accepted] == sorted(a.id for a in accepted)
    table = Evidence.__table__  # type: ignore[attr-defined]
    with engine.connect() as conn:
        rows = {r.id: r for r in conn.execute(select(table))}
    assert sorted(rows) == [a.id for a in accepted]
    for a, d, name, size in zip(accepted, digests, names, sizes, strict=True):
        row = rows[a.id]
        assert (row.digest, row.public_id, row.algorithm, row.status) == (
            "0x" + d.hex(),
            a.public_id,
            "sm3",
            "queued",
        )
        assert (row.filename, row.size, row.label) == (name, size, "标签\t\\")
        assert (row.member_id, row.channel_id, row.batch_id) == (key.member_id, 7, None)
        leaf = evidence_leaf_hasher("sm3")(d, bytes.fromhex(row.salt[2:]))
        assert row.leaf_hash == "0x" + leaf.hex()
        assert row.created_at.utcoffset() == timedelta(0)
    assert len({r.created_at for r in rows.values()}) == 1  # one request, one time


@pytest.mark.postgres
def test_postgres_intake_streams_rows_through_copy(postgres_database_url: str) -> None:
    """On PostgreSQL the rows go through ``COPY``, not a multi-row ``INSERT`` (whose
    placeholders the driver parsed again for every 1,000 rows: docs/performance.md)."""
    upgrade(postgres_database_url)
    engine = make_engine(postgres_database_url)
    sent: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: sent.append(a[2]))
    try:
        with session_factory(engine)() as s:
            ids = [
                a.id
                for a in intake.submit_digests(
                    session=s, algorithm="sha256", digests=[os.urandom(32)] * 3, member_id=None
                )
            ]
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM evidence").scalar_one() == 3
            assert conn.exec_driver_sql("SELECT max(id) FROM evidence").scalar_one() == max(ids)
    finally:
        engine.dispose()
    assert not [q for q in sent if "INSERT" in q.upper()], sent


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
