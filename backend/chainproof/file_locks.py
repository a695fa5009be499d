"""One exclusive lock on a file, held for a block: processes on one host that start at the same
time (a server and a worker on one data directory, two replicas) take turns at a step that
must not run twice at once. ``flock`` locks end with their process, so a crash never leaves
one held."""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def exclusive(path: Path) -> Iterator[None]:
    """Holds an exclusive ``flock`` on ``path`` (made, with its directory, when missing),
    waiting for whoever holds it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
