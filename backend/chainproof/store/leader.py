"""Who leads a signing key: one process sends its transactions, the others stand by.

On PostgreSQL the leader holds a session-level advisory lock named after the key, on a
connection of its own kept open for as long as it leads: processes on other hosts share
nothing but the database, and when the leader dies (even by SIGKILL, or its host) its session
ends and the lock is free at once, so a standby polling :meth:`PgLeaderLock.acquire` takes
over within its poll interval. On SQLite (one machine) the lock is a file lock in the data
directory (``evidence/batcher.py``'s ``LeaderLock``), with no standby takeover.
"""

from __future__ import annotations

from typing import Any, Protocol

from eth_utils import keccak
from sqlalchemy import Engine, text

from chainproof.errors import ConflictError


class KeyLock(Protocol):
    def acquire(self) -> None:
        """Takes the lock or raises ConflictError (someone else leads)."""
        ...

    def release(self) -> None: ...


def advisory_key(signer: str) -> int:
    """The signed 64-bit advisory lock id of ``signer``'s leadership."""
    digest = keccak(text=f"chainproof-leader:{signer.lower()}")
    return int.from_bytes(digest[:8], "big", signed=True)


class PgLeaderLock:
    """A session-level PostgreSQL advisory lock on its own connection."""

    def __init__(self, engine: Engine, signer: str) -> None:
        self.engine = engine
        self.signer = signer
        self.key = advisory_key(signer)
        self._conn: Any = None

    @property
    def held(self) -> bool:
        return self._conn is not None

    def acquire(self) -> None:
        if self._conn is not None:
            return
        conn = self.engine.connect()
        try:
            got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key}).scalar()
            conn.commit()  # the lock is the session's, not the transaction's
        except BaseException:
            conn.close()
            raise
        if not got:
            conn.close()
            raise ConflictError(
                f"another process leads signing key {self.signer} (PostgreSQL advisory lock "
                f"{self.key})"
            )
        self._conn = conn

    def release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
            conn.commit()
        finally:
            conn.close()
