"""A busy SQLite database is a 503 with ``Retry-After``, never a 500, and stores nothing.

Another process holding SQLite's write lock past the busy timeout (a long migration, a
backup, ``sqlite3`` at a prompt) makes a write fail with "database is locked". That is the
server's trouble, not the client's: ``503 database_busy`` with ``Retry-After``, and the
request committed nothing. (PostgreSQL down or restarting: ``test_db_faults.py``.)
"""

from __future__ import annotations

import sqlite3

from chainproof.store.db import RETRY_AFTER_LOCKED_S

from ..apps import StartApi, assert_error


def test_a_locked_sqlite_database_is_a_503_with_retry_after(start_api: StartApi) -> None:
    api = start_api(run_batcher=False)
    submitter = api.key("示范企业甲", "submitter")
    body = {"digests": ["0x" + "ab" * 32]}
    database = api.settings.data_dir / "chainproof.db"
    holder = sqlite3.connect(database, timeout=0, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")  # the write lock, held until rollback
        refused = api.client.post("/api/v1/evidence/digests", json=body, headers=submitter)
        error = assert_error(refused, 503, "database_busy")
        assert "retry" in error["message"]
        assert refused.headers["retry-after"] == str(RETRY_AFTER_LOCKED_S)
        assert error["retry_after"] == RETRY_AFTER_LOCKED_S
        # Reading does not need the write lock (WAL): verification still answers.
        verdict = api.client.post("/api/v1/verify", json={"digest": body["digests"][0]})
        assert verdict.status_code == 200, verdict.text
        assert verdict.json()["verdict"] == "not_found"
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert api.count() == 0, "the refused request stored something"
    accepted = api.client.post("/api/v1/evidence/digests", json=body, headers=submitter)
    assert accepted.status_code == 202, accepted.text
    assert api.count() == 1
