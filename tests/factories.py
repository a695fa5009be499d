"""Helpers the suites share: serving an app over real HTTP, and changing what a server holds
the way a faulty or dishonest one would."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from sqlmodel import col, delete, select

from chainproof.chain.nodes import free_port
from chainproof.store import db
from chainproof.trace.models import TraceLink, TraceNode


@contextmanager
def served(app: Any) -> Iterator[str]:
    """``app`` served by uvicorn on a free port in a thread (no lifespan: the caller's test
    client already ran it); yields the base URL."""
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", ws="none", lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def hide_newest_event(
    database_url: str, *, code: str | None = None, uri: str | None = None
) -> None:
    """The server "forgets" an item's newest event: its last chain link is deleted from the
    index (the event row stays), as a server hiding a recall would."""
    with db.open_session(database_url) as s:
        where = TraceNode.code == code if code is not None else TraceNode.uri == uri
        node = s.exec(select(TraceNode).where(where)).one()
        newest = s.exec(
            select(TraceLink)
            .where(TraceLink.node_id == node.id)
            .order_by(col(TraceLink.seq).desc())
        ).first()
        assert newest is not None, f"{code or uri} has no events"
        s.exec(delete(TraceLink).where(col(TraceLink.id) == newest.id))
        s.commit()
