"""audit/platform.py: settings changes between starts and published deployment records are
entries of the audit log (issue 25), secrets never in the clear."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from chainproof.audit import log, platform
from chainproof.audit.models import AuditEntry
from chainproof.config import Settings
from chainproof.store import db
from chainproof.store.shared_files import shared_deployments

WHO = log.Who(actor="process:test@host")
URL = "https://chainproof.example.cn"


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """A migrated SQLite database's engine, shared by the module (each test reads only its
    own action's entries)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('audit') / 'cp.db'}"
    db.upgrade(url)
    made = db.make_engine(url)
    yield made
    made.dispose()


def _entries(engine: Engine, action: str) -> list[AuditEntry]:
    with Session(engine) as session:
        query = select(AuditEntry).where(AuditEntry.action == action)
        return list(session.exec(query.order_by(col(AuditEntry.seq))).all())


def _settings(tmp_path: Path, **values: object) -> Settings:
    return Settings(env="test", data_dir=tmp_path, chain="embedded", **values)  # type: ignore[arg-type]


def test_a_settings_change_between_starts_is_one_entry(engine: Engine, tmp_path: Path) -> None:
    first = _settings(tmp_path, public_url=URL, batch_size=10)
    assert platform.record_settings(engine, first, WHO) is None  # the baseline: no entry
    assert platform.record_settings(engine, first, WHO) is None  # nothing changed
    # Host-local settings differ between replicas: not a change of the platform.
    assert (
        platform.record_settings(
            engine, _settings(tmp_path / "b", port=9000, public_url=URL, batch_size=10), WHO
        )
        is None
    )
    assert _entries(engine, "settings.change") == []

    secret = "s" * 40
    changed = _settings(
        tmp_path,
        public_url=URL,
        batch_size=20,
        operator_key=SecretStr("0x" + "ab" * 32),
        secret_key=SecretStr(secret),
    )
    entry = platform.record_settings(engine, changed, WHO)
    assert entry is not None and entry.action == "settings.change"
    detail = json.loads(entry.record)["detail"]
    assert detail["changed"] == {"batch_size": {"from": 10, "to": 20}}
    # The secret key changed, so every set secret is named; no value or hash of one is shown.
    assert detail["secrets_changed"] == ["operator_key", "secret_key"]
    assert "ab" * 32 not in entry.record and secret not in entry.record
    assert platform.record_settings(engine, changed, WHO) is None
    rows = _entries(engine, "settings.change")
    assert len(rows) == 1
    with Session(engine) as session:  # the whole log still checks
        every = session.exec(select(AuditEntry)).all()
    assert log.check([log.stored(e) for e in every]).ok


def test_published_deployment_records_are_one_entry(engine: Engine, tmp_path: Path) -> None:
    recorder = platform.deployment_recorder(engine, tmp_path, WHO)
    with shared_deployments(engine, tmp_path, recorder):
        folder = tmp_path / "deployments"
        folder.mkdir()
        (folder / "31337.json").write_text(
            json.dumps(
                {
                    "contract": "EvidenceRegistry",
                    "version": 2,
                    "address": "0x5FbDB2315678afecb367f032d93F642f64180aa3",
                    "chain_id": 31337,
                    "abi": [],
                }
            )
        )
    with shared_deployments(engine, tmp_path, recorder):
        pass  # nothing new: no entry
    [entry] = _entries(engine, "deployment.record")
    assert json.loads(entry.record)["detail"]["records"] == [
        {
            "file": "31337.json",
            "contract": "EvidenceRegistry",
            "version": 2,
            "address": "0x5FbDB2315678afecb367f032d93F642f64180aa3",
            "chain_id": 31337,
        }
    ]
