"""Turns at SQLite's one write lock for this process's evidence writers, the batcher first.

SQLite lets one transaction write at a time, and a writer that finds the lock taken polls
for it (sleeping 1, 2, 5, ... up to 100 ms between tries) until ``busy_timeout``. Under a
bulk ingest the intake's transactions follow each other back to back and a polling batcher
rarely wins: in a measured run of 200,000 digests its first batch took 2.9 s from planned
to anchored, and 12 of its 20 batches were anchored after the last digest was accepted.
Here the intake and the batcher of one process queue for the lock on a condition variable
instead, and a waiting batcher goes before waiting intake requests; it still waits for the
intake transaction in progress (at most one request's rows, ``intake.GROUP_MAX_ROWS``).
Measured the same way: about 1 s, and 8 of 20 batches left when acceptance ended.

Only these two take turns; every other writer (API key bookkeeping, revocations, the
subsidy and trace services, other processes) still meets the lock through SQLite's busy
handler, as before. A turn must be taken before its transaction writes anything: a writer
that held the database lock while waiting for a turn could stall the writer that has the
turn until its ``busy_timeout``. On PostgreSQL, whose writers do not exclude each other,
a turn is free.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine


class WriteTurns:
    """One writer at a time; priority writers (the batcher) before the others."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._busy = False
        self._priority_waiting = 0

    @contextmanager
    def turn(self, *, priority: bool = False) -> Iterator[None]:
        with self._cond:
            if priority:
                self._priority_waiting += 1
            try:
                while self._busy or (not priority and self._priority_waiting):
                    self._cond.wait()
            finally:
                if priority:
                    self._priority_waiting -= 1
            self._busy = True
        try:
            yield
        finally:
            with self._cond:
                self._busy = False
                self._cond.notify_all()


class _Free:
    @contextmanager
    def turn(self, *, priority: bool = False) -> Iterator[None]:
        yield


Turns = WriteTurns | _Free


def new_turns(engine: Engine) -> Turns:
    """Turns for ``engine``'s writers (free unless it is SQLite). The runtime makes one per
    engine (``EngineState``) and hands it to the intake's group commit and the batcher."""
    return WriteTurns() if engine.dialect.name == "sqlite" else _Free()
