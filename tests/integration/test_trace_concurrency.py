"""Concurrent captures naming the same item, on SQLite and PostgreSQL: every event stored
once, each item's hash chain unbroken (seq 1..n, each link on the one before), no error.

Threads call the capture service directly, each with its own session, as the API's worker
threads do; a barrier releases them together so their transactions overlap.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from biip.checksums import gs1_standard_check_digit
from sqlalchemy import Engine
from sqlmodel import Session, col, func, select

from chainproof import identity
from chainproof.store import db
from chainproof.store.models import Evidence
from chainproof.trace import capture, epcis, ownership, roles
from chainproof.trace.chains import GENESIS, next_link
from chainproof.trace.models import TraceEvent, TraceLink, TraceNode

pytest_plugins = ["tests.pg"]

DL = "https://id.gs1.org"
SITE = "950600015000" + str(gs1_standard_check_digit("950600015000"))
GTIN = "0950600015100" + str(gs1_standard_check_digit("0950600015100"))
ITEM = f"{DL}/01/{GTIN}/21/C1"
THREADS = 6


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated database (SQLite file or a fresh PostgreSQL database) and its engine."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'trace.db'}"
    else:
        url = request.getfixturevalue("postgres_database_url")
    db.upgrade(url)
    eng = db.make_engine(url)
    try:
        yield eng
    finally:
        eng.dispose()


def _doc(*events: dict[str, Any]) -> dict[str, Any]:
    return {
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2024-11-20T08:00:00+08:00",
        "epcisBody": {"eventList": list(events)},
    }


def _event(minute: int, *epcs: str) -> dict[str, Any]:
    return {
        "type": "ObjectEvent",
        "eventTime": f"2024-11-20T08:{minute:02d}:00+08:00",
        "eventTimeZoneOffset": "+08:00",
        "epcList": list(epcs),
        "action": "OBSERVE",
        "bizStep": "inspecting",
        "readPoint": {"id": f"{DL}/414/{SITE}"},
    }


def _run_together(engine: Engine, member_id: int, docs: list[dict[str, Any]]) -> list[Any]:
    barrier = threading.Barrier(len(docs))
    results: list[Any] = [None] * len(docs)

    def work(i: int) -> None:
        barrier.wait()
        try:
            with Session(engine) as s:
                results[i] = capture.capture_document(session=s, member_id=member_id, doc=docs[i])
        except Exception as exc:  # recorded, asserted below
            results[i] = exc

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(docs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def _assert_chain_unbroken(s: Session, uri: str, expected_events: int) -> None:
    node = s.exec(select(TraceNode).where(TraceNode.uri == uri)).one()
    links = s.exec(
        select(TraceLink, TraceEvent)
        .join(TraceEvent, col(TraceEvent.id) == col(TraceLink.event_id))
        .where(TraceLink.node_id == node.id)
        .order_by(col(TraceLink.seq))
    ).all()
    assert [link.seq for link, _ in links] == list(range(1, expected_events + 1))
    head = GENESIS
    for link, ev in links:
        assert link.prev == head
        head = next_link(head, bytes.fromhex(epcis.hash_hex(ev.event_hash)))
        assert link.link == head
    assert node.count == expected_events and node.head == head


def test_concurrent_captures_of_one_item_keep_its_chain_whole(engine: Engine) -> None:
    with Session(engine) as s:
        member = identity.create_member(session=s, name="并发检验站")
        assert member.id is not None
        member_id = member.id
        org = roles.register_org(session=s, member_id=member_id, role="producer", glns=[SITE])
        # Captures create the items: they must fall under the org's own company prefix.
        ownership.admit_prefix(session=s, org=org, prefix=GTIN[1:13])
    other = f"{DL}/01/{GTIN}/21/C2"
    # Distinct events on the same item (half also name a second item), plus one event
    # that every thread sends again: it must be stored once and answered to all.
    shared = _event(59, ITEM)
    docs = [
        _doc(_event(i, ITEM, other) if i % 2 else _event(i, ITEM), shared) for i in range(THREADS)
    ]
    results = _run_together(engine, member_id, docs)
    errors = [r for r in results if isinstance(r, Exception)]
    assert not errors, errors
    shared_hashes = {r[1].event_hash for r in results}
    shared_ids = {r[1].event_id for r in results}
    assert len(shared_hashes) == 1 and len(shared_ids) == 1
    assert sum(r[1].created for r in results) == 1
    assert all(r[0].created for r in results)
    with Session(engine) as s:
        assert s.exec(select(func.count()).select_from(TraceEvent)).one() == THREADS + 1
        assert s.exec(select(func.count()).select_from(Evidence)).one() == THREADS + 1
        _assert_chain_unbroken(s, ITEM, THREADS + 1)
        _assert_chain_unbroken(s, other, THREADS // 2)
