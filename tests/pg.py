"""A throw-away PostgreSQL server for tests, started from the apt package's binaries.

Use the context manager anywhere (:func:`postgres_server`), or the fixtures: register them
in the root ``conftest.py`` with ``pytest_plugins = ["tests.pg"]`` (or import them there):

- ``postgres_url``: session-scoped, one server for the whole run;
- ``postgres_database_url``: a fresh, empty database on that server for one test.

Without PostgreSQL binaries the tests are skipped with the command to install them, or fail
when ``CHAINPROOF_REQUIRE_ALL=1`` (CI, where a skipped database test is a silent hole).
``CHAINPROOF_TEST_POSTGRES_URL`` points the fixtures at an existing server instead.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

INSTALL_HINT = "apt-get update && apt-get install -y --no-install-recommends postgresql"


def _missing(reason: str) -> NoReturn:
    message = (
        f"SKIPPED LOUDLY: PostgreSQL tests need a server: {reason}; install it: {INSTALL_HINT}"
    )
    if os.environ.get("CHAINPROOF_REQUIRE_ALL") == "1":
        pytest.fail(message + " (CHAINPROOF_REQUIRE_ALL=1 forbids skipping)", pytrace=False)
    pytest.skip(message)


def find_pg_bin() -> Path | None:
    """The newest ``/usr/lib/postgresql/*/bin`` (Debian), else the directory of ``pg_ctl``."""

    def version(path: str) -> tuple[int, ...]:
        return tuple(int(part) for part in re.findall(r"\d+", Path(path).parent.name))

    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version, reverse=True)
    for candidate in candidates:
        if (Path(candidate) / "initdb").is_file() and (Path(candidate) / "pg_ctl").is_file():
            return Path(candidate)
    on_path = shutil.which("pg_ctl")
    if on_path and (Path(on_path).resolve().parent / "initdb").is_file():
        return Path(on_path).resolve().parent
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _run(argv: list[str], *, as_postgres: bool) -> subprocess.CompletedProcess[str]:
    # initdb and postgres refuse to run as root: drop to the postgres user when we are root.
    if as_postgres:
        argv = ["runuser", "-u", "postgres", "--", *argv]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)


@contextmanager
def postgres_server() -> Iterator[str]:
    """Start a private PostgreSQL server; yield its URL; stop it and delete its files.

    The URL is ``postgresql+psycopg://postgres@127.0.0.1:PORT/postgres`` (trust auth on
    loopback, fsync off: a test server that loses nothing it needs on a crash).
    """
    external = os.environ.get("CHAINPROOF_TEST_POSTGRES_URL")
    if external:
        yield external
        return
    pg_bin = find_pg_bin()
    if pg_bin is None:
        _missing("no initdb/pg_ctl in /usr/lib/postgresql/*/bin or on PATH")
    as_postgres = os.geteuid() == 0
    if as_postgres and shutil.which("runuser") is None:
        _missing("running as root and `runuser` is missing")
    # Not pytest's tmp_path: that lives under a 0700 directory the postgres user cannot enter.
    workdir = Path(tempfile.mkdtemp(prefix="chainproof-pg-"))
    data = workdir / "data"
    log = workdir / "server.log"
    try:
        if as_postgres:
            try:
                shutil.chown(workdir, user="postgres", group="postgres")
            except LookupError:
                _missing("running as root and there is no `postgres` user to run it as")
        init = _run(
            [
                str(pg_bin / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
            as_postgres=as_postgres,
        )
        if init.returncode != 0:
            raise RuntimeError(f"initdb failed ({init.returncode}):\n{init.stdout}{init.stderr}")
        port = _start(pg_bin, data, workdir, log, as_postgres=as_postgres)
        try:
            yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
        finally:
            _run(
                [str(pg_bin / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
                as_postgres=as_postgres,
            )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _start(pg_bin: Path, data: Path, workdir: Path, log: Path, *, as_postgres: bool) -> int:
    # A free port can be taken between our probe and the server's bind: try a few.
    last = ""
    for _attempt in range(3):
        port = _free_port()
        options = f"-p {port} -k {workdir} -c listen_addresses=127.0.0.1 -c fsync=off"
        started = _run(
            [
                str(pg_bin / "pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(log),
                "-w",
                "-t",
                "60",
                "-o",
                options,
                "start",
            ],
            as_postgres=as_postgres,
        )
        if started.returncode == 0:
            return port
        server_log = log.read_text(errors="replace") if log.exists() else ""
        last = f"{started.stdout}{started.stderr}\n{server_log[-2000:]}"
    raise RuntimeError(f"pg_ctl start failed three times:\n{last}")


@contextmanager
def fresh_database(server_url: str) -> Iterator[str]:
    """An empty database on the server at ``server_url``, dropped on exit; yields its URL."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                # FORCE: a test that leaked a connection must not make teardown fail.
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """URL of a PostgreSQL server shared by the whole test session (skips if none)."""
    with postgres_server() as url:
        yield url


@pytest.fixture
def postgres_database_url(postgres_url: str) -> Iterator[str]:
    """URL of a new, empty database on the session's PostgreSQL server, for one test."""
    with fresh_database(postgres_url) as url:
        yield url
