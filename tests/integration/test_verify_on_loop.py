"""The verify route answers on the event loop when nothing needs the node (issue #8).

A worker-thread hop cost the API more CPU than the whole verification, so ``POST
/api/v1/verify`` first asks ``verify_digest(may_block=False)`` on the loop, with a private
SQLite reader that never waits, and only when that raises ``WouldBlock`` (a stale chain
status or root state, a tree not in memory, a revoked-or-rolled-back question, a busy
database) asks again from a thread. These tests hold both paths to the same verdicts and
check the loop path is the one taken when everything is warm.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from chainproof.api.app import create_app
from chainproof.api.routes import verify as verify_route
from chainproof.chain.context import ChainContext, open_chain
from chainproof.config import DEV_OPERATOR_KEY, Settings
from chainproof.errors import WouldBlock
from chainproof.evidence import proofs
from chainproof.evidence.roots import root_states
from chainproof.store import db


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[ChainContext]:
    ctx = open_chain(chain="embedded", data_dir=tmp_path / "chain", operator_key=DEV_OPERATOR_KEY)
    try:
        yield ctx
    finally:
        ctx.stop()


@pytest.fixture
def client(chain: ChainContext, tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(
        env="test",
        data_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'db.sqlite'}",
        chain="embedded",
        batch_size=10,
        batch_interval_ms=50,
    )
    with TestClient(create_app(settings, chain=chain, run_batcher=False)) as test_client:
        yield test_client


@pytest.fixture
def anchored(client: TestClient) -> list[str]:
    """Three digests, anchored in one batch (the batcher drained in this thread)."""
    from chainproof import identity

    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    with db.open_session(runtime.settings.resolved_database_url) as session:
        _, key = identity.create_api_key(session=session, org="loop", role="submitter")
    digests = ["0x" + bytes([i]).hex() * 32 for i in (1, 2, 3)]
    answer = client.post(
        "/api/v1/evidence/digests",
        json={"algorithm": "sha256", "digests": digests},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert answer.status_code == 202, answer.text
    from chainproof.evidence.batcher import Batcher

    settings = runtime.settings
    Batcher(
        engine=runtime.engine,
        chain=runtime.chain,
        batch_size=10,
        interval_ms=50,
        member_secret=settings.secret_key.get_secret_value(),
    ).drain()
    return digests


class _Hops:
    """Counts the verify route's trips to a worker thread."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        real = verify_route._verify_in_thread

        def counted(*args: Any) -> dict[str, Any]:
            self.count += 1
            return real(*args)

        monkeypatch.setattr(verify_route, "_verify_in_thread", counted)


def _verdict(client: TestClient, digest: str) -> dict[str, Any]:
    answer = client.post("/api/v1/verify", json={"algorithm": "sha256", "digest": digest})
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def _hold_still(chain: ChainContext, monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing the loop reads expires during the test (no refresh can move the answer)."""
    monkeypatch.setattr(chain, "_status_ttl", 3600.0)
    monkeypatch.setattr(root_states(chain), "ttl", 3600.0)


def test_a_warm_verify_takes_no_thread(
    client: TestClient, chain: ChainContext, anchored: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _hold_still(chain, monkeypatch)
    first = _verdict(client, anchored[0])  # may go to a thread: reads the root, the tree
    assert first["verdict"] == "anchored"
    hops = _Hops(monkeypatch)
    answers = [_verdict(client, d) for d in anchored * 3]
    assert [a["verdict"] for a in answers] == ["anchored"] * 9
    assert hops.count == 0
    unknown = _verdict(client, "0x" + "ee" * 32)  # not_found needs no chain at all
    assert unknown["verdict"] == "not_found" and hops.count == 0


def test_what_the_loop_cannot_know_goes_to_a_thread_with_the_same_answer(
    client: TestClient, chain: ChainContext, anchored: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _hold_still(chain, monkeypatch)
    warm = _verdict(client, anchored[1])
    hops = _Hops(monkeypatch)
    # A tree no longer in memory: reading 640 KB is not for the loop.
    monkeypatch.setattr(proofs.trees_of(chain), "_trees", OrderedDict())
    cold = _verdict(client, anchored[1])
    assert hops.count == 1 and cold == warm
    # A stale root state: the loop never waits for the node.
    monkeypatch.setattr(root_states(chain), "ttl", 0.0)
    stale = _verdict(client, anchored[1])
    assert hops.count == 2 and stale == warm
    # A reader that would wait on SQLite's lock (it never waits: busy_timeout=0).
    monkeypatch.setattr(root_states(chain), "ttl", 3600.0)
    real = verify_route.verify_digest

    def busy(**kwargs: Any) -> dict[str, Any]:
        if not kwargs.get("may_block", True):
            raise OperationalError("SELECT", {}, Exception("database is locked"))
        return real(**kwargs)

    monkeypatch.setattr(verify_route, "verify_digest", busy)
    locked = _verdict(client, anchored[1])
    assert hops.count == 3 and locked == warm


def test_may_block_false_never_reads_the_node(chain: ChainContext) -> None:
    states = root_states(chain)
    root = (chain.sender.address, b"\x07" * 32)  # an anchor: (submitter, root)
    stale = type(states)(chain, ttl=0.0)
    with pytest.raises(WouldBlock):
        stale.state(root, may_block=False)
    assert not stale.state(root).anchored  # the same question, allowed to wait: answered
    chain._status = None  # never checked
    with pytest.raises(WouldBlock):
        chain.status(may_block=False)
    assert chain.status().ok


def test_the_loop_reader_is_sqlite_files_only_and_reads_only(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    db.upgrade(url)
    engine = db.make_engine(url)
    reader = db.loop_reader(engine)
    assert reader is not None
    try:
        with reader.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM evidence")).scalar() == 0
            with pytest.raises(OperationalError, match=r"readonly|read-only|query_only"):
                connection.execute(text("DELETE FROM evidence"))
    finally:
        reader.dispose()
        engine.dispose()
    memory = db.make_engine("sqlite://")
    assert db.loop_reader(memory) is None  # its one connection is the threads' too
    memory.dispose()
    postgres = db.make_engine("postgresql://u:p@127.0.0.1:1/x")  # never connected
    assert db.loop_reader(postgres) is None  # every read is a round trip: thread pool
    postgres.dispose()
