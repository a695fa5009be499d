"""Engines, sessions and migrations for SQLite (one machine) and PostgreSQL (past one).

- :func:`make_engine` builds an engine with the settings each backend needs to be safe under
  concurrent API workers and a batcher.
- :func:`get_session` is the FastAPI dependency; :func:`open_session` the same for scripts
  and the CLI.
- :func:`upgrade` runs the Alembic migrations shipped inside the package, so an installed
  ``chainproof`` needs no ``alembic.ini`` or checkout.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import sessionmaker
from sqlalchemy.pool import StaticPool
from sqlmodel import Session

from chainproof import file_locks
from chainproof.config import get_settings
from chainproof.errors import ConfigError

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

# Any constant will do: it only has to be the same in every process that migrates the same
# PostgreSQL database, so that API replicas starting together migrate one after the other.
_MIGRATION_LOCK_ID = 0x43_50_4D_49_47  # "CPMIG"

# How long a SQLite writer waits for another writer's lock before "database is locked".
SQLITE_BUSY_TIMEOUT_MS = 5000
# anyio runs at most 40 sync routes at once; the batcher and head publisher add their own.
SQLITE_POOL_SIZE = 16
SQLITE_MAX_OVERFLOW = 40
# The event loop's reader (loop_reader): its page cache and how much of the file it maps.
READER_CACHE_KIB = 32 * 1024
READER_MMAP_BYTES = 256 * 1024 * 1024
# How long a new PostgreSQL connection may take: a server that is down or unreachable must
# turn into a prompt 503, not a request hanging for the TCP timeout.
PG_CONNECT_TIMEOUT_S = 3
# What a client is told to wait (Retry-After) when the database is busy or unreachable.
RETRY_AFTER_LOCKED_S = 1
RETRY_AFTER_UNAVAILABLE_S = 5

# SQLite errors that pass: another writer holds the lock, or the disk is briefly unusable.
_SQLITE_TRANSIENT = (
    "database is locked",
    "database table is locked",
    "database is busy",
    "unable to open database file",
    "disk i/o error",
)


def parse_url(url: str) -> URL:
    """Parse a database URL, normalising PostgreSQL URLs to the psycopg 3 driver.

    ``postgres://`` (Heroku-style) and ``postgresql://`` both become ``postgresql+psycopg://``:
    SQLAlchemy's default PostgreSQL driver is psycopg2, which is not installed.
    """
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(
            "cannot parse the database URL; expected sqlite:///path/to.db "
            "or postgresql://user:password@host:port/dbname",
            url=redact_url(url),
        ) from exc
    if parsed.drivername in ("postgres", "postgresql"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise ConfigError(
            f"unsupported database {backend!r}: ChainProof runs on SQLite "
            "(sqlite:///path/to.db) or PostgreSQL (postgresql://user:password@host/dbname)",
            url=redact_url(url),
        )
    return parsed


def redact_url(url: str | URL) -> str:
    """The URL with its password replaced by ``***``, safe to print or log."""
    try:
        parsed = make_url(url) if isinstance(url, str) else url
    except ArgumentError:
        return "<unparseable database URL>"
    return parsed.render_as_string(hide_password=True)


def make_engine(url: str) -> Engine:
    """An engine for ``url`` (SQLite or PostgreSQL), configured for concurrent use."""
    parsed = parse_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed)
    # pool_pre_ping: a PostgreSQL restart or failover must not fail the next request with a
    # dead pooled connection. pool_timeout: a request waits at most that long for a pooled
    # connection before it is told 503 (see unavailable()).
    return create_engine(
        parsed,
        pool_pre_ping=True,
        pool_timeout=10,
        connect_args={"connect_timeout": PG_CONNECT_TIMEOUT_S},
    )


def _sqlite_engine(url: URL) -> Engine:
    database = url.database or ""
    in_memory = database in ("", ":memory:") or "mode=memory" in str(url.query)
    kwargs: dict[str, Any] = {
        # FastAPI runs sync routes in a thread pool; the pool hands a connection to one
        # thread at a time, so sharing across threads is safe.
        "connect_args": {"check_same_thread": False},
    }
    if in_memory:
        # One connection for every thread, or each would see its own empty database.
        kwargs["poolclass"] = StaticPool
    else:
        # As many pooled connections as requests the API runs at once in its thread pool:
        # with the default 5, every request past the fifth opened a connection (and ran the
        # pragmas below) and closed it again. A SQLite connection is a file handle and a
        # page cache, cheap to keep.
        kwargs.update(pool_size=SQLITE_POOL_SIZE, max_overflow=SQLITE_MAX_OVERFLOW)
        if not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, **kwargs)
    event.listen(engine, "connect", _sqlite_on_connect)
    return engine


def loop_reader(engine: Engine) -> Engine | None:
    """A read-only engine for the event loop's own thread, on a SQLite file database only.

    A worker-thread hop costs the API more CPU than a whole verification, an indexed read of
    a local file (docs/performance.md). This is
    one private connection, used only from the loop thread (one request at a time, nothing
    awaited while it is checked out), that never waits: ``busy_timeout=0``, so a read that
    would wait for a lock fails at once and the caller asks again from a thread. Outside an
    explicit transaction each SELECT reads the latest committed data (no snapshot is held
    between requests). ``query_only`` makes it refuse any write.

    None for PostgreSQL (every read is a network round trip: it stays in the thread pool)
    and for in-memory SQLite (its one connection is shared with the threads).
    """
    url = engine.url
    database = url.database or ""
    if url.get_backend_name() != "sqlite" or database in ("", ":memory:"):
        return None
    if "mode=memory" in str(url.query):
        return None
    reader = create_engine(url, poolclass=StaticPool, connect_args={"check_same_thread": False})
    event.listen(reader, "connect", _sqlite_reader_on_connect)
    return reader


def _sqlite_reader_on_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA busy_timeout=0")
        cursor.execute("PRAGMA query_only=ON")
        # Lookups by digest land on random index pages: with SQLite's default 2 MB page
        # cache, a verify of a 200,000-document index read most of its pages from the OS.
        # Mapped, a page already in the OS cache costs no system call.
        cursor.execute(f"PRAGMA cache_size=-{READER_CACHE_KIB}")
        cursor.execute(f"PRAGMA mmap_size={READER_MMAP_BYTES}")
    finally:
        cursor.close()


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        # WAL: readers never block the writer and the writer never blocks readers, which an
        # API serving verifications while the batcher writes needs.
        cursor.execute("PRAGMA journal_mode=WAL")
        # Wait for a lock instead of failing at once with "database is locked".
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        # SQLite ignores foreign keys unless asked, per connection.
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()


@lru_cache(maxsize=8)
def get_engine(url: str) -> Engine:
    """The process-wide engine for ``url``: one connection pool per database."""
    return make_engine(url)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions on ``engine`` whose rows stay readable after commit.

    ``expire_on_commit=False``: service functions commit and return rows, and callers read
    them after the session is closed (a CLI printing a new key, a route shaping a response).
    """
    return sessionmaker(bind=engine, class_=Session, expire_on_commit=False)


def get_session() -> Iterator[Session]:
    """FastAPI dependency: one session per request on the configured database.

    Tests point it elsewhere with ``app.dependency_overrides[get_session]``.
    """
    engine = get_engine(get_settings().resolved_database_url)
    with session_factory(engine)() as session:
        yield session


@contextmanager
def open_session(url: str) -> Iterator[Session]:
    """A session on a private engine, disposed on exit (CLI commands, scripts)."""
    engine = make_engine(url)
    try:
        with session_factory(engine)() as session:
            yield session
    finally:
        engine.dispose()


@dataclass(frozen=True)
class Unavailable:
    """Why the database cannot answer right now, and when to try again."""

    code: str  # "database_busy" (SQLite lock) or "database_unavailable"
    message: str
    retry_after: int


def unavailable(exc: BaseException) -> Unavailable | None:
    """Classifies a driver error as *transient* (busy, connection lost), else ``None``.

    Transient errors are the server's, not the client's, and pass: the API answers 503 with
    ``Retry-After`` and the client retries. Nothing was committed for the request that got
    it, so nothing acknowledged is lost. Anything else (a missing table, a constraint) is a
    bug and stays a 500.
    """
    if isinstance(exc, PoolTimeoutError):
        return Unavailable(
            "database_unavailable",
            "the database is not answering (no free connection); retry shortly",
            RETRY_AFTER_UNAVAILABLE_S,
        )
    if not isinstance(exc, DBAPIError):
        return None
    reason = str(exc.orig).strip().lower() if exc.orig is not None else str(exc).lower()
    module = type(exc.orig).__module__ if exc.orig is not None else ""
    if module.startswith("sqlite3"):
        if any(text in reason for text in _SQLITE_TRANSIENT):
            return Unavailable(
                "database_busy",
                "the database is busy (locked by another writer); retry shortly",
                RETRY_AFTER_LOCKED_S,
            )
        return None
    # PostgreSQL (psycopg): an OperationalError is a connection-level failure (refused,
    # reset, admin shutdown, recovery); an InterfaceError a connection already closed.
    if exc.connection_invalidated or isinstance(exc, OperationalError | InterfaceError):
        return Unavailable(
            "database_unavailable",
            "the database is unavailable (connection lost or refused); retry shortly",
            RETRY_AFTER_UNAVAILABLE_S,
        )
    return None


@contextmanager
def _reporting_connection_errors(url: str) -> Iterator[None]:
    """Turn driver errors ("connection refused", "database is locked") into a
    :class:`ConfigError` that names the database without its password."""
    try:
        yield
    except OperationalError as exc:
        reason = str(exc.orig).strip() if exc.orig is not None else str(exc)
        raise ConfigError(
            f"database error at {redact_url(parse_url(url))}: {reason}",
            url=redact_url(url),
        ) from exc


# --- migrations ----------------------------------------------------------------------------


def alembic_config() -> Config:
    """An Alembic config built in code, pointing at the migrations inside the package.

    The connection is handed to ``env.py`` through ``config.attributes["connection"]`` rather
    than ``sqlalchemy.url``: the ini-style option would mangle a ``%`` in a password.
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str:
    """The newest revision shipped with this package."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships migrations
        raise ConfigError(f"no Alembic revisions found in {MIGRATIONS_DIR}")
    return head


def upgrade(url: str, revision: str = "head") -> str:
    """Migrate the database at ``url`` to ``revision`` (default: head) and return where it is.

    Safe to call on every start: an up-to-date database is left alone. Processes that start
    at the same time take turns: on PostgreSQL through a transaction-scoped advisory lock; on
    SQLite through a lock file beside the database, since its driver runs DDL outside a
    transaction and a server and a worker migrating a new database at once both ran
    ``CREATE TABLE`` ("table member already exists").
    """
    with _sqlite_migration_lock(url):
        return _upgrade(url, revision)


@contextmanager
def _sqlite_migration_lock(url: str) -> Iterator[None]:
    parsed = make_url(url)
    database = parsed.database or ""
    if parsed.get_backend_name() != "sqlite" or database in ("", ":memory:"):
        yield
        return
    with file_locks.exclusive(Path(database + ".migrate.lock")):
        yield


def _upgrade(url: str, revision: str) -> str:
    engine = make_engine(url)
    try:
        with _reporting_connection_errors(url), engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(
                    text("SELECT pg_advisory_xact_lock(:id)"), {"id": _MIGRATION_LOCK_ID}
                )
            config = alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
            current = MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()
    if current is None:  # pragma: no cover - upgrade to head always stamps a revision
        raise ConfigError("the migration did not record a revision", url=redact_url(url))
    return current


def current_revision(url: str) -> str | None:
    """The revision the database at ``url`` is at; ``None`` when it was never migrated."""
    engine = make_engine(url)
    try:
        with _reporting_connection_errors(url), engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()
