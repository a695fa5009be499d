"""Migrations, constraints and identity on a real PostgreSQL server (and SQLite, side by side).

The server comes from ``tests/pg.py``: the apt package's binaries, started on a free port for
the session, one fresh database per test.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel

from chainproof import identity
from chainproof.store import db
from chainproof.store.models import Batch, Evidence, Member

# Registers the PostgreSQL fixtures so this module runs on its own; harmless once the root
# conftest.py registers tests.pg as well (a plugin is registered once by name).
pytest_plugins = ["tests.pg"]

SECRET = "integration-test-secret-0123456789"


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """URL of an empty database: a SQLite file, or a fresh database on the test server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'chainproof.db'}"
    url: str = request.getfixturevalue("postgres_database_url")
    return url


@pytest.fixture
def session(database_url: str) -> Iterator[Session]:
    """A session on ``database_url`` migrated to head."""
    db.upgrade(database_url)
    with db.open_session(database_url) as session:
        yield session


def _batch(root: str, chain_id: int = 31337) -> Batch:
    return Batch(
        root=root,
        leaf_count=1,
        metadata_hash="0x" + "00" * 32,
        chain_id=chain_id,
        contract="0x" + "11" * 20,
        signer="0x" + "22" * 20,
    )


def test_migration_matches_the_models(database_url: str) -> None:
    assert db.current_revision(database_url) is None
    assert db.upgrade(database_url) == db.head_revision()
    engine = db.make_engine(database_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, SQLModel.metadata) == []
    finally:
        engine.dispose()
    assert db.upgrade(database_url) == db.head_revision()  # a second run is a no-op


def test_constraints_hold(session: Session) -> None:
    root = "0x" + "ab" * 32
    session.add(_batch(root))
    session.commit()
    session.add(_batch(root))
    with pytest.raises(IntegrityError):
        session.commit()
    session.rollback()
    session.add(Member(name="成员单位"))
    session.add(Member(name="成员单位"))
    with pytest.raises(IntegrityError):
        session.commit()
    session.rollback()
    session.add(
        Evidence(
            algorithm="sha256",
            digest="0x" + "01" * 32,
            salt="0x" + "02" * 32,
            leaf_hash="0x" + "03" * 32,
            status="lost",
        )
    )
    with pytest.raises(IntegrityError, match="ck_evidence_status"):
        session.commit()


def test_big_chain_ints_text_and_times_round_trip(session: Session) -> None:
    chain_id = 2**53 + 1  # past int32 and past a float's integers
    created = datetime(2023, 5, 1, 16, 0, tzinfo=timezone(timedelta(hours=8)))
    batch = _batch("0x" + "cd" * 32, chain_id=chain_id)
    batch.block_timestamp = 2**40
    batch.created_at = created
    session.add(batch)
    session.add(Member(name="广西壮族自治区大数据发展局" * 7))  # 91 characters, 273 UTF-8 bytes
    session.commit()
    session.expunge_all()
    loaded = session.get(Batch, batch.id)
    assert loaded is not None
    assert loaded.chain_id == chain_id and loaded.block_timestamp == 2**40
    assert loaded.created_at == datetime(2023, 5, 1, 8, 0, tzinfo=UTC)
    assert loaded.created_at.utcoffset() == timedelta(0)
    assert identity.get_member(session=session, name="广西壮族自治区大数据发展局" * 7).id


def test_identity_flow(session: Session) -> None:
    row, key = identity.create_api_key(session=session, org="申报单位", role="admin")
    assert identity.create_member(session=session, name="申报单位").id == row.member_id
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    found = identity.authenticate(session=session, key=key, now=t0)
    assert found is not None and found.id == row.id and found.last_used_at == t0
    later = identity.authenticate(session=session, key=key, now=t0 + timedelta(seconds=10))
    assert later is not None and later.last_used_at == t0
    assert row.id is not None
    identity.revoke_api_key(session=session, key_id=row.id)
    assert identity.authenticate(session=session, key=key) is None

    member = identity.get_member(session=session, name="申报单位")
    address = identity.ensure_member_chain_key(session=session, member=member, secret=SECRET)
    account = identity.member_account(session=session, member=member, secret=SECRET)
    assert account.address == address


@pytest.mark.postgres
def test_replicas_upgrading_at_once_migrate_once(postgres_database_url: str) -> None:
    """The advisory lock serialises concurrent `upgrade` calls (API replicas starting)."""
    results: list[str] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(db.upgrade(postgres_database_url))
        except BaseException as exc:  # collected and re-raised in the main thread
            errors.append(exc)

    # Daemon threads: without the lock they can deadlock, and must not keep pytest alive.
    threads = [threading.Thread(target=run, daemon=True) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "upgrades deadlocked"
    assert errors == []
    assert results == [db.head_revision()] * 4


@pytest.mark.postgres
@pytest.mark.parametrize("scheme", ["postgres", "postgresql"])
def test_plain_postgres_urls_connect_with_psycopg(postgres_database_url: str, scheme: str) -> None:
    plain = postgres_database_url.replace("postgresql+psycopg", scheme, 1)
    assert db.upgrade(plain) == db.head_revision()
    engine = db.make_engine(plain)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SHOW server_encoding")).scalar() == "UTF8"
    finally:
        engine.dispose()
