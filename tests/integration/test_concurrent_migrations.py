"""Processes that start at once on a new SQLite database each migrate it (every ``serve``,
``worker`` and CLI command does on start): they take turns, and all of them succeed. Before
the lock beside the database, a server and a worker started together failed one of them
with "table member already exists" (SQLite's driver runs DDL outside a transaction)."""

from __future__ import annotations

from pathlib import Path

from chainproof.store.db import current_revision, head_revision

from .. import forked
from ..security._procs import CLI, cli_env

PROCESSES = 4


def test_processes_migrating_a_new_database_at_once_all_succeed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'chainproof.db'}"
    env = cli_env(CHAINPROOF_DATABASE_URL=url, CHAINPROOF_DATA_DIR=tmp_path / "data")
    # Forked from the preloaded server: all four reach the migration within milliseconds.
    logs = [tmp_path / f"upgrade-{i}.log" for i in range(PROCESSES)]
    runs = [
        forked.spawn([*CLI, "db", "upgrade"], env=env, cwd=tmp_path, stdout=log) for log in logs
    ]
    codes = [run.wait(timeout=120) for run in runs]
    assert codes == [0] * PROCESSES, "\n".join(log.read_text() for log in logs)
    assert current_revision(url) == head_revision()
