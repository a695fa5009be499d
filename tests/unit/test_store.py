"""The store (tables, engine, migrations, encryption at rest) and identity, on SQLite.

The same migration and identity checks run against PostgreSQL in
``tests/integration/test_postgres.py``.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Column, Integer, MetaData, inspect
from sqlalchemy.exc import IntegrityError, StatementError
from sqlmodel import Session, SQLModel
from typer.testing import CliRunner

import chainproof.store.tables  # noqa: F401  (every table on SQLModel.metadata)
from chainproof import identity
from chainproof.cli import db as db_cli
from chainproof.cli import keys as keys_cli
from chainproof.config import get_settings
from chainproof.errors import ConfigError, InvalidInputError, NotFoundError
from chainproof.store import db
from chainproof.store.crypto import decrypt_secret, encrypt_secret
from chainproof.store.models import ApiKey, Batch, Evidence, Member

SECRET = "unit-test-secret-0123456789abcdef"
ROOT = "0x" + "ab" * 32
BEIJING = timezone(timedelta(hours=8))


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """URL of a SQLite file that does not exist yet, in a folder that does not exist yet."""
    return f"sqlite:///{tmp_path / 'nested' / 'chainproof.db'}"


@pytest.fixture
def migrated_url(sqlite_url: str) -> str:
    """URL of a SQLite database migrated to head."""
    db.upgrade(sqlite_url)
    return sqlite_url


@pytest.fixture
def session(migrated_url: str) -> Iterator[Session]:
    """A session on a migrated SQLite database; the engine is disposed afterwards."""
    with db.open_session(migrated_url) as session:
        yield session


def _batch(root: str = ROOT) -> Batch:
    return Batch(
        root=root,
        leaf_count=1,
        metadata_hash="0x" + "00" * 32,
        chain_id=31337,
        contract="0x" + "11" * 20,
        signer="0x" + "22" * 20,
    )


def _diff(url: str, metadata: MetaData) -> list[object]:
    engine = db.make_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            return list(compare_metadata(context, metadata))
    finally:
        engine.dispose()


# --- migrations ----------------------------------------------------------------------------


def test_upgrade_creates_the_schema_the_models_describe(sqlite_url: str) -> None:
    assert db.current_revision(sqlite_url) is None
    head = db.upgrade(sqlite_url)
    assert head == db.head_revision() == db.current_revision(sqlite_url)
    assert _diff(sqlite_url, SQLModel.metadata) == []


def test_the_comparison_would_see_a_drift(migrated_url: str) -> None:
    """Control for the test above: a column the migration lacks is reported."""
    drifted = MetaData()
    for table in SQLModel.metadata.tables.values():
        table.to_metadata(drifted)
    drifted.tables["member"].append_column(Column("extra", Integer, nullable=True))
    assert any(op[0] == "add_column" for op in _diff(migrated_url, drifted))  # type: ignore[index]


def test_upgrade_is_idempotent_and_downgrade_reverses_it(migrated_url: str) -> None:
    assert db.upgrade(migrated_url) == db.head_revision()
    engine = db.make_engine(migrated_url)
    try:
        with engine.begin() as conn:
            config = db.alembic_config()
            config.attributes["connection"] = conn
            command.downgrade(config, "base")
        with engine.connect() as conn:
            assert set(inspect(conn).get_table_names()) == {"alembic_version"}
    finally:
        engine.dispose()
    assert db.upgrade(migrated_url) == db.head_revision()


def test_sqlite_connections_use_wal_foreign_keys_and_a_busy_timeout(migrated_url: str) -> None:
    engine = db.make_engine(migrated_url)
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000
    finally:
        engine.dispose()


def test_in_memory_sqlite_is_one_database_for_every_thread() -> None:
    engine = db.make_engine("sqlite://")
    try:
        SQLModel.metadata.create_all(engine)
        with Session(engine) as session:
            session.add(Member(name="m"))
            session.commit()
        with Session(engine) as session:
            assert identity.get_member(session=session, name="m").id == 1
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    "url", ["postgres://u:pw@h/d", "postgresql://u:pw@h/d", "postgresql+psycopg://u:pw@h/d"]
)
def test_postgres_urls_use_psycopg_3(url: str) -> None:
    engine = db.make_engine(url)  # no connection is made
    try:
        assert engine.url.drivername == "postgresql+psycopg"
        assert engine.pool._pre_ping
    finally:
        engine.dispose()


@pytest.mark.parametrize("url", ["mysql://u@h/d", "not a url"])
def test_unsupported_database_urls_are_config_errors(url: str) -> None:
    with pytest.raises(ConfigError):
        db.make_engine(url)


def test_redact_url_hides_the_password() -> None:
    shown = db.redact_url("postgresql://app:s3cr%40t@db:5432/chainproof")
    assert "s3cr" not in shown
    assert shown == "postgresql://app:***@db:5432/chainproof"


# --- tables and constraints ----------------------------------------------------------------


def test_batch_roots_are_unique(session: Session) -> None:
    session.add(_batch())
    session.commit()
    session.add(_batch())
    with pytest.raises(IntegrityError):
        session.commit()


def test_member_names_are_unique(session: Session) -> None:
    session.add(Member(name="广西壮族自治区大数据发展局"))
    session.commit()
    session.add(Member(name="广西壮族自治区大数据发展局"))
    with pytest.raises(IntegrityError):
        session.commit()


def test_statuses_outside_the_enumeration_are_refused(session: Session) -> None:
    batch = _batch()
    batch.status = "lost"
    session.add(batch)
    with pytest.raises(IntegrityError, match="ck_batch_status"):
        session.commit()


def test_foreign_keys_are_enforced_on_sqlite(session: Session) -> None:
    session.add(
        Evidence(
            algorithm="sha256",
            digest="0x" + "01" * 32,
            salt="0x" + "02" * 32,
            leaf_hash="0x" + "03" * 32,
            member_id=999,
        )
    )
    with pytest.raises(IntegrityError):
        session.commit()


def test_rows_round_trip_big_chain_ints_json_and_utc_datetimes(session: Session) -> None:
    batch = _batch()
    batch.chain_id = 2**40  # past int32, like many real chain ids
    batch.gas_used = 2**33
    session.add(batch)
    session.commit()
    evidence = Evidence(
        algorithm="sm3",
        digest="0x" + "01" * 32,
        salt="0x" + "02" * 32,
        leaf_hash="0x" + "03" * 32,
        label="2023年区块链示范应用申报书",
        size=5 * 2**30,
        batch_id=batch.id,
        proof=["0x" + "04" * 32, "0x" + "05" * 32],
        created_at=datetime(2023, 5, 1, 16, 0, tzinfo=BEIJING),
    )
    session.add(evidence)
    session.commit()
    session.expunge_all()
    loaded = session.get(Evidence, evidence.id)
    assert loaded is not None
    assert loaded.status == "queued"
    assert loaded.proof == ["0x" + "04" * 32, "0x" + "05" * 32]
    assert loaded.size == 5 * 2**30
    assert loaded.label == "2023年区块链示范应用申报书"
    assert loaded.created_at == datetime(2023, 5, 1, 8, 0, tzinfo=UTC)
    assert loaded.created_at.tzinfo == UTC  # stored and returned in UTC
    reloaded_batch = session.get(Batch, batch.id)
    assert reloaded_batch is not None
    assert reloaded_batch.chain_id == 2**40
    assert reloaded_batch.created_at.utcoffset() == timedelta(0)


def test_naive_datetimes_are_refused(session: Session) -> None:
    session.add(Member(name="naive", created_at=datetime(2023, 1, 1)))
    with pytest.raises(StatementError, match="timezone"):
        session.commit()


def test_evidence_ids_are_never_reused(session: Session) -> None:
    def add() -> int:
        row = Evidence(
            algorithm="sha256", digest="0x" + "01" * 32, salt="0x00", leaf_hash="0x" + "03" * 32
        )
        session.add(row)
        session.commit()
        assert row.id is not None
        return row.id

    first = add()
    session.delete(session.get(Evidence, first))
    session.commit()
    assert add() == first + 1


# --- encryption at rest --------------------------------------------------------------------


def test_encrypt_round_trip_hides_the_plaintext() -> None:
    plain = "0x" + "5a" * 32
    token = encrypt_secret(plain, secret=SECRET)
    assert token.startswith("v1:")
    assert plain not in token
    assert decrypt_secret(token, secret=SECRET) == plain
    assert encrypt_secret(plain, secret=SECRET) != token  # random IV per encryption


@settings(max_examples=30, deadline=None)
@given(plain=st.text(), secret=st.text(min_size=1))
def test_encrypt_round_trips_any_text(plain: str, secret: str) -> None:
    assert decrypt_secret(encrypt_secret(plain, secret=secret), secret=secret) == plain


def test_a_wrong_secret_is_a_config_error_that_reveals_nothing() -> None:
    plain = "0x" + "5a" * 32
    token = encrypt_secret(plain, secret=SECRET)
    with pytest.raises(ConfigError, match="CHAINPROOF_SECRET_KEY") as caught:
        decrypt_secret(token, secret="another secret")
    assert plain not in str(caught.value)
    assert token not in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


@pytest.mark.parametrize("token", ["v1:garbage", "v1:" + "é" * 10, "plain text", ""])
def test_damaged_tokens_are_config_errors(token: str) -> None:
    with pytest.raises(ConfigError):
        decrypt_secret(token, secret=SECRET)


def test_an_empty_secret_is_refused() -> None:
    with pytest.raises(ConfigError, match="empty"):
        encrypt_secret("x", secret="")


# --- members -------------------------------------------------------------------------------


def test_create_member_is_idempotent_by_name(session: Session) -> None:
    first = identity.create_member(session=session, name="  桂林电子科技大学 ")
    decomposed = unicodedata.normalize("NFD", "桂林电子科技大学")
    again = identity.create_member(session=session, name=decomposed)
    assert first.id == again.id
    assert first.name == "桂林电子科技大学"
    assert [m.name for m in identity.list_members(session=session)] == ["桂林电子科技大学"]


@pytest.mark.parametrize("name", ["", "   ", "x" * 201])
def test_member_names_must_be_1_to_200_characters(session: Session, name: str) -> None:
    with pytest.raises(InvalidInputError):
        identity.create_member(session=session, name=name)


def test_get_member_of_an_unknown_name_is_not_found(session: Session) -> None:
    with pytest.raises(NotFoundError):
        identity.get_member(session=session, name="nobody")


def test_custodial_chain_key_is_created_once_and_decrypts(session: Session) -> None:
    member = identity.create_member(session=session, name="org")
    with pytest.raises(NotFoundError, match="no custodial chain key"):
        identity.member_account(session=session, member=member, secret=SECRET)
    address = identity.ensure_member_chain_key(session=session, member=member, secret=SECRET)
    assert address.startswith("0x") and len(address) == 42 and address != address.lower()
    assert (
        identity.ensure_member_chain_key(session=session, member=member, secret=SECRET) == address
    )
    account = identity.member_account(session=session, member=member, secret=SECRET)
    assert account.address == address
    with pytest.raises(ConfigError):
        identity.member_account(session=session, member=member, secret="wrong")


def test_a_rival_key_write_loses_to_the_first(session: Session, migrated_url: str) -> None:
    member = identity.create_member(session=session, name="org")
    with db.open_session(migrated_url) as other:
        stale = other.get(Member, member.id)
        assert stale is not None
        first = identity.ensure_member_chain_key(session=session, member=member, secret=SECRET)
        # `stale` was loaded before the key existed: the conditional UPDATE must not overwrite.
        second = identity.ensure_member_chain_key(session=other, member=stale, secret=SECRET)
    assert second == first


# --- API keys ------------------------------------------------------------------------------


def test_api_keys_authenticate_until_revoked(session: Session) -> None:
    row, key = identity.create_api_key(session=session, org="申报单位A", role="submitter")
    assert key.startswith("cpk_") and len(key) == 47
    assert row.prefix == key[:12]
    assert row.key_hash == identity.hash_api_key(key) != key
    found = identity.authenticate(session=session, key=key)
    assert found is not None and found.id == row.id and found.role == identity.Role.SUBMITTER
    assert (
        identity.authenticate(session=session, key=key[:-1] + ("A" if key[-1] != "A" else "B"))
        is None
    )
    assert identity.authenticate(session=session, key="cpk_short") is None
    assert identity.authenticate(session=session, key="") is None
    assert row.id is not None
    revoked = identity.revoke_api_key(session=session, key_id=row.id)
    assert revoked.revoked_at is not None
    assert identity.authenticate(session=session, key=key) is None
    again = identity.revoke_api_key(session=session, key_id=row.id)
    assert again.revoked_at == revoked.revoked_at


def test_last_used_is_written_at_most_once_a_minute(session: Session) -> None:
    _, key = identity.create_api_key(session=session, org="org", role="reviewer")
    t0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    first = identity.authenticate(session=session, key=key, now=t0)
    assert first is not None and first.last_used_at == t0
    assert not session.dirty
    second = identity.authenticate(session=session, key=key, now=t0 + timedelta(seconds=30))
    assert second is not None and second.last_used_at == t0
    third = identity.authenticate(session=session, key=key, now=t0 + timedelta(seconds=61))
    assert third is not None and third.last_used_at == t0 + timedelta(seconds=61)
    session.expunge_all()
    stored = session.get(ApiKey, third.id)
    assert stored is not None and stored.last_used_at == t0 + timedelta(seconds=61)


def test_an_invalid_role_names_the_valid_ones(session: Session) -> None:
    with pytest.raises(InvalidInputError, match="admin, submitter, reviewer"):
        identity.create_api_key(session=session, org="org", role="superuser")
    assert identity.list_members(session=session) == []


def test_revoking_an_unknown_key_is_not_found(session: Session) -> None:
    with pytest.raises(NotFoundError):
        identity.revoke_api_key(session=session, key_id=12345)


def test_list_api_keys_filters_by_org_and_liveness(session: Session) -> None:
    a, _ = identity.create_api_key(session=session, org="a", role="admin")
    b, _ = identity.create_api_key(session=session, org="b", role="reviewer")
    assert b.id is not None
    identity.revoke_api_key(session=session, key_id=b.id)
    assert [k.id for k in identity.list_api_keys(session=session)] == [a.id, b.id]
    assert [k.id for k in identity.list_api_keys(session=session, org="b")] == [b.id]
    assert [k.id for k in identity.list_api_keys(session=session, include_revoked=False)] == [a.id]


def test_no_secret_reaches_the_database_file(migrated_url: str, tmp_path: Path) -> None:
    with db.open_session(migrated_url) as session:
        row, key = identity.create_api_key(session=session, org="org", role="admin")
        member = identity.get_member(session=session, name="org")
        identity.ensure_member_chain_key(session=session, member=member, secret=SECRET)
        private_key = identity.member_account(session=session, member=member, secret=SECRET).key
    # The engine is disposed: WAL checkpointed. Read every file SQLite may have written.
    files = list((tmp_path / "nested").iterdir())
    blob = b"".join(path.read_bytes() for path in files)
    assert row.key_hash.encode() in blob  # control: we are reading the right bytes
    assert key.encode() not in blob
    assert key[12:].encode() not in blob
    assert private_key.hex().encode() not in blob
    assert private_key not in blob


# --- CLI -----------------------------------------------------------------------------------


@pytest.fixture
def cli_database(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Point the CLI's settings at a fresh SQLite database; yields its URL."""
    monkeypatch.setenv("CHAINPROOF_DATABASE_URL", sqlite_url)
    get_settings.cache_clear()
    yield sqlite_url
    get_settings.cache_clear()


def test_keys_create_prints_the_key_alone_on_the_last_line(cli_database: str) -> None:
    result = CliRunner().invoke(
        keys_cli.app, ["create", "--org", "示范企业", "--role", "submitter"]
    )
    assert result.exit_code == 0, result.output
    key = result.stdout.splitlines()[-1]
    assert key.startswith("cpk_") and len(key) == 47
    assert "示范企业" in result.stderr and key not in result.stderr
    with db.open_session(cli_database) as session:
        found = identity.authenticate(session=session, key=key)
        assert found is not None and found.role == "submitter"

    listing = CliRunner().invoke(keys_cli.app, ["list"])
    assert listing.exit_code == 0, listing.output
    assert key[:12] in listing.stdout and key not in listing.stdout

    revoked = CliRunner().invoke(keys_cli.app, ["revoke", str(found.id)])
    assert revoked.exit_code == 0, revoked.output
    with db.open_session(cli_database) as session:
        assert identity.authenticate(session=session, key=key) is None


def test_keys_create_refuses_an_unknown_role(cli_database: str) -> None:
    result = CliRunner().invoke(keys_cli.app, ["create", "--org", "o", "--role", "root"])
    assert result.exit_code == 2
    assert "admin" in result.stderr and "reviewer" in result.stderr


def test_keys_revoke_of_an_unknown_id_exits_1(cli_database: str) -> None:
    result = CliRunner().invoke(keys_cli.app, ["revoke", "42"])
    assert result.exit_code == 1
    assert "no API key with id 42" in result.stderr


def test_db_upgrade_and_current(cli_database: str) -> None:
    current = CliRunner().invoke(db_cli.app, ["current"])
    assert current.exit_code == 0, current.output
    assert "revision none" in current.stdout
    result = CliRunner().invoke(db_cli.app, ["upgrade"])
    assert result.exit_code == 0, result.output
    assert db.head_revision() in result.stdout
    assert db.current_revision(cli_database) == db.head_revision()


def test_db_upgrade_masks_the_password(monkeypatch: pytest.MonkeyPatch) -> None:
    # Port 1 on loopback refuses at once: the command fails, and must not print the password.
    monkeypatch.setenv("CHAINPROOF_DATABASE_URL", "postgresql://app:hunter2@127.0.0.1:1/x")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(db_cli.app, ["upgrade"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1
    assert "hunter2" not in result.output
    assert "database error at postgresql+psycopg://app:***@127.0.0.1:1/x" in (result.stderr)
