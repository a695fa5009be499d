"""The before-the-chain records and the batch commitment on SQLite and a real PostgreSQL
(issue 19, part 4): a bulk request's records are one insert on either database, and the
batch's not_before is the oldest head recorded for its documents."""

from __future__ import annotations

import secrets
from datetime import UTC
from pathlib import Path

import pytest
from sqlmodel import Session, select

from chainproof.evidence import freshness, intake
from chainproof.evidence.engine_state import EngineState
from chainproof.evidence.records import EvidenceRecord, Head, keep_records
from chainproof.store import db

pytest_plugins = ["tests.pg"]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'chainproof.db'}"
    url: str = request.getfixturevalue("postgres_database_url")
    return url


def test_records_and_the_batch_commitment(database_url: str) -> None:
    db.upgrade(database_url)
    engine = db.make_engine(database_url)
    try:
        old, new = Head(7, "0x" + "07" * 32), Head(9, "0x" + "09" * 32)
        ids: list[int] = []
        group = EngineState.of(engine).group
        for head, n in ((new, 3), (old, 2), (None, 1)):
            accepted = intake.submit_bulk(
                group=group,
                algorithm="sha256",
                digests=[secrets.token_bytes(32) for _ in range(n)],
                member_id=None,
            )
            keep_records(
                engine,
                [a.id for a in accepted],
                channel="api",
                api_key_id=None,
                head=head,
                names=["报告<b>.pdf"] * n,
                sizes=[2**40] * n,  # past int32
                types=["application/pdf\x07; x=\u202e"] * n,  # controls are not kept
            )
            ids += [a.id for a in accepted]
        with Session(engine) as s:
            rows = s.exec(select(EvidenceRecord).order_by(EvidenceRecord.evidence_id)).all()
            assert [r.evidence_id for r in rows] == ids
            assert rows[0].received_at.tzinfo == UTC and rows[0].client_size == 2**40
            assert rows[0].client_name == "报告<b>.pdf"
            assert rows[0].client_type == "application/pdf; x="
            assert [r.head_number for r in rows] == [9, 9, 9, 7, 7, None]
            # The oldest recorded head over the batch's range; none recorded: no bound.
            assert freshness.commitment(s, ids[0], ids[-1]) == {
                "not_before": {"number": 7, "hash": old.hash}
            }
            assert freshness.commitment(s, ids[0], ids[2]) == {
                "not_before": {"number": 9, "hash": new.hash}
            }
            assert freshness.commitment(s, ids[-1], ids[-1]) == {}
    finally:
        engine.dispose()
