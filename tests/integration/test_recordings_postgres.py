"""The recordings service on PostgreSQL (migration 0014, the anchored-segment join, and two
requests racing to append the same segment), where operators run it past one machine."""

from __future__ import annotations

import hashlib
import secrets
import threading

import pytest
from sqlmodel import col, select, update

from chainproof.errors import ConflictError
from chainproof.evidence.verify import OPERATOR, Viewer
from chainproof.recordings import service
from chainproof.recordings.links import genesis, link_of
from chainproof.recordings.service import SegmentIn
from chainproof.store import db
from chainproof.store.models import Evidence, EvidenceStatus, Member

N = 1024


def _segments(nonce: bytes, contents: list[bytes]) -> list[SegmentIn]:
    prev, out = genesis(nonce), []
    for i, data in enumerate(contents):
        digest = hashlib.sha256(data).digest()
        prev = link_of(prev, i, i * N, len(data), digest)
        out.append(SegmentIn(i, i * N, len(data), "0x" + digest.hex(), "0x" + prev.hex()))
    return out


def test_a_recording_round_trip_and_a_race_on_postgres(postgres_database_url: str) -> None:
    db.upgrade(postgres_database_url)
    nonce = secrets.token_bytes(32)
    contents = [b"a" * N, b"b" * N, b"c" * 10]
    segs = _segments(nonce, contents)
    with db.open_session(postgres_database_url) as session:
        member = Member(name="南宁市公安局")
        session.add(member)
        session.commit()
        owner = Viewer(member_id=member.id)
        rec = service.create(
            session=session, member_id=member.id, nonce="0x" + nonce.hex(), segment_bytes=N
        )
        rid = rec.public_id

    # Two requests append segment 0 at once: one stores it, the other is told to resend
    # (or finds it stored, unchanged); never two rows, never an error of the database's.
    outcomes: list[object] = []

    def append() -> None:
        with db.open_session(postgres_database_url) as s:
            r = service.owned(session=s, recording_id=rid, viewer=owner)
            try:
                outcomes.append(service.append(session=s, rec=r, segments=segs[:1]))
            except ConflictError as exc:
                outcomes.append(exc.message)

    threads = [threading.Thread(target=append) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count(1) == 1 and len(outcomes) == 2, outcomes
    assert set(outcomes) - {1} <= {0} or "send again" in str(outcomes), outcomes
    with db.open_session(postgres_database_url) as session:
        rec = service.owned(session=session, recording_id=rid, viewer=owner)
        assert service.append(session=session, rec=rec, segments=segs) == 2
        service.close(
            session=session,
            rec=rec,
            size=2 * N + 10,
            digest="0x" + hashlib.sha256(b"".join(contents)).hexdigest(),
        )
        links = [s.link for s in segs]
        queued = session.exec(select(Evidence).where(col(Evidence.digest).in_(links))).all()
        assert sorted(e.digest for e in queued) == sorted(links)  # each link queued once
        session.exec(
            update(Evidence)
            .where(col(Evidence.digest) == links[0])
            .values(status=EvidenceStatus.ANCHORED.value)
        )
        session.commit()
        [listed] = service.list_for(session=session, viewer=owner)
        assert (listed["segments"], listed["anchored_segments"], listed["closed"]) == (3, 1, True)
        detail = service.detail(session=session, rec=rec)
        assert [s["status"] for s in detail["segment_list"]] == ["anchored", "queued", "queued"]
        assert service.list_for(session=session, viewer=Viewer(member_id=member.id + 1)) == []
        assert service.owned(session=session, recording_id=rid, viewer=OPERATOR).id == rec.id
        with pytest.raises(Exception, match="no recording"):
            service.owned(session=session, recording_id=rid, viewer=Viewer(member_id=-1))
