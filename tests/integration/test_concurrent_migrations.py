"""Processes that start at once on a new SQLite database each migrate it (every ``serve``,
``worker`` and CLI command does on start): they take turns, and all of them succeed. Before
the lock beside the database, a server and a worker started together failed one of them
with "table member already exists" (SQLite's driver runs DDL outside a transaction)."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from chainproof.store.db import current_revision, head_revision, upgrade

PROCESSES = 4


def _migrate(url: str, barrier: multiprocessing.synchronize.Barrier, results: object) -> None:
    barrier.wait(timeout=30)
    try:
        results.put(upgrade(url))  # type: ignore[attr-defined]
    except Exception as exc:  # noqa: BLE001  # reported to the test, which fails on it
        results.put(f"failed: {exc}")  # type: ignore[attr-defined]


def test_processes_migrating_a_new_database_at_once_all_succeed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'chainproof.db'}"
    context = multiprocessing.get_context("fork")  # all start from here, then go at once
    barrier, results = context.Barrier(PROCESSES), context.Queue()
    procs = [
        context.Process(target=_migrate, args=(url, barrier, results)) for _ in range(PROCESSES)
    ]
    for proc in procs:
        proc.start()
    outcomes = [results.get(timeout=120) for _ in procs]
    for proc in procs:
        proc.join(timeout=30)
    assert outcomes == [head_revision()] * PROCESSES
    assert current_revision(url) == head_revision()
