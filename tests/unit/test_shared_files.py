"""Deployment records shared through the database (store/shared_files.py), on SQLite."""

from __future__ import annotations

import os
from pathlib import Path

from sqlmodel import Session

from chainproof.store import db
from chainproof.store.shared_files import DeploymentFile, materialize, publish


def test_a_record_written_on_one_host_appears_on_another(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    db.upgrade(url)
    engine = db.make_engine(url)
    first, second = tmp_path / "first", tmp_path / "second"
    before = materialize(engine, first)
    assert before == {}
    record = first / "deployments" / "EvidenceRegistry-31337.json"
    record.parent.mkdir(parents=True)
    record.write_text('{"address": "0x01"}')
    assert publish(engine, first, before) == ["EvidenceRegistry-31337.json"]

    seen = materialize(engine, second)
    assert seen == {"EvidenceRegistry-31337.json": '{"address": "0x01"}'}
    assert (second / "deployments" / "EvidenceRegistry-31337.json").exists()
    # Unchanged files are not published again; the database wins over an older local copy.
    assert publish(engine, second, seen) == []
    record.write_text('{"address": "0xstale"}')
    os.utime(record, (0, 0))
    materialize(engine, first)
    assert record.read_text() == '{"address": "0x01"}'
    # A copy written here after the database's (an upgrade while stopped) is published.
    upgraded = second / "deployments" / "EvidenceRegistry-31337.json"
    upgraded.write_text('{"address": "0x02"}')
    before = materialize(engine, second)
    assert upgraded.read_text() == '{"address": "0x02"}'
    assert publish(engine, second, before) == ["EvidenceRegistry-31337.json"]
    materialize(engine, first)
    assert record.read_text() == '{"address": "0x02"}'
    engine.dispose()


def test_a_stored_name_cannot_leave_the_directory(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    db.upgrade(url)
    engine = db.make_engine(url)
    with Session(engine) as s:
        s.add(DeploymentFile(name="../../escaped.json", body="{}"))
        s.commit()
    materialize(engine, tmp_path / "host" / "data")
    assert not (tmp_path / "escaped.json").exists()
    assert not (tmp_path / "host" / "escaped.json").exists()
    engine.dispose()
