"""Deployment records in the database, so that every host finds the same contracts.

The chain code keeps its records as files under ``<data dir>/deployments/``
(``chain/deployments.py``: the registry record per chain, the honoured past registries, the
compiler inputs, the trace registry). One host's data dir is invisible to another: an API
replica on a second host would find no record and deploy a registry of its own, and the
documents the worker anchors on one registry would be unknown to the other.

So the database holds them too, in ``deployment_file`` (name relative to ``deployments/``,
body), and the newer copy wins: :func:`materialize` writes every stored file into the data
dir before the chain is opened, unless the local one was written after it; :func:`publish`
stores, after it was opened, the files this process wrote (a first deployment, an upgrade);
:func:`shared_deployments` does both around opening the chain (``runtime.py``,
``chainproof worker``). On PostgreSQL both happen under one advisory lock
(:func:`deployment_lock`), so two processes starting together on an empty database do not
both deploy: the second waits, then finds the first one's record.

``contracts deploy --new|--upgrade`` runs the same :func:`shared_deployments` around its
work, so its records reach the database before it exits; a start finds (or deploys) the
TraceRegistry inside it too (``runtime.py``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, Text, text
from sqlmodel import Field, Session, SQLModel, select

from chainproof.store.models import utcnow

DIRECTORY = "deployments"
# pg_advisory_lock key: "chainproof deployments" (a constant apart from store/leader.py's,
# which hashes signer addresses into the same 64-bit space).
_LOCK_KEY = int.from_bytes(
    hashlib.sha256(b"chainproof deployments").digest()[:8], "big", signed=True
)
MAX_FILE_BYTES = 8 * 1024 * 1024  # a compiler input is the biggest: well under this


class DeploymentFile(SQLModel, table=True):
    __tablename__ = "deployment_file"

    name: str = Field(primary_key=True, max_length=255)
    body: str = Field(sa_type=Text)
    updated_at: datetime = Field(default_factory=utcnow)


Snapshot = dict[str, str]


def _local(data_dir: Path) -> Snapshot:
    root = data_dir / DIRECTORY
    if not root.is_dir():
        return {}
    found: Snapshot = {}
    for path in sorted(root.rglob("*")):
        if (
            path.is_file()
            and not path.name.startswith(".")
            and path.stat().st_size <= MAX_FILE_BYTES
        ):
            found[path.relative_to(root).as_posix()] = path.read_text(encoding="utf-8")
    return found


def materialize(engine: Engine, data_dir: Path) -> Snapshot:
    """Writes the database's files into ``data_dir``; returns what :func:`publish` compares
    with: the directory as it now is, except that a local file written after the database's
    copy (an upgrade run here while nothing started) counts as changed, so it is published."""
    root = data_dir / DIRECTORY
    with Session(engine) as s:
        stored = list(s.exec(select(DeploymentFile)).all())
    newer_here: Snapshot = {}
    for row in stored:
        target = (root / row.name).resolve()
        if root.resolve() not in target.parents:
            continue  # a name that leaves the directory is nobody's record
        if target.exists() and target.read_text(encoding="utf-8") == row.body:
            continue
        if target.exists() and target.stat().st_mtime > _stamp(row.updated_at):
            newer_here[row.name] = row.body
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.tmp")
        partial.write_text(row.body, encoding="utf-8")
        partial.replace(target)
    return {**_local(data_dir), **newer_here}


def _stamp(when: datetime) -> float:
    # SQLite hands back naive datetimes; the tables hold UTC only (models.utcnow).
    return (when if when.tzinfo is not None else when.replace(tzinfo=UTC)).timestamp()


def publish(engine: Engine, data_dir: Path, before: Snapshot) -> list[str]:
    """Stores the files that are new or changed since ``before``; returns their names."""
    changed = {n: b for n, b in _local(data_dir).items() if before.get(n) != b}
    if changed:
        with Session(engine) as s:
            for name, body in changed.items():
                s.merge(DeploymentFile(name=name, body=body, updated_at=utcnow()))
            s.commit()
    return sorted(changed)


@contextmanager
def deployment_lock(engine: Engine) -> Iterator[None]:
    """One process at a time finds or deploys the contracts (PostgreSQL; SQLite is one host,
    where the data dir's own files already agree)."""
    if engine.dialect.name != "postgresql":
        yield
        return
    with engine.connect() as connection:
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _LOCK_KEY})
        try:
            yield
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _LOCK_KEY})
            connection.commit()


@contextmanager
def shared_deployments(
    engine: Engine,
    data_dir: Path,
    on_published: Callable[[list[str]], None] | None = None,
) -> Iterator[None]:
    """Around opening the chain: the database's records in, this process's new ones out;
    ``on_published`` gets the names published (the audit log's ``deployment.record``,
    ``audit/platform.py``)."""
    with deployment_lock(engine):
        before = materialize(engine, data_dir)
        yield
        names = publish(engine, data_dir, before)
        if names and on_published is not None:
            on_published(names)
