"""Progress bars for the commands that can take more than a second or two: ``anchor`` (upload,
wait), ``verify`` and ``subsidy check`` (hashing), ``reindex`` (events), ``reanchor``
(batches checked on chain).

On stderr, so stdout stays the command's answer; only on a terminal, and never under
``--json`` (a script reading the JSON may still run in one). Transient: the bar is gone once
the command prints its answer.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO, cast

from rich.console import Console, RenderableType
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from chainproof.digests import Algorithm, hash_stream

__all__ = ["Progress", "hash_files", "progress_bar"]


@contextmanager
def progress_bar(*, quiet: bool = False, console: Console | None = None) -> Iterator[Progress]:
    """A bar on stderr, drawn only when stderr is a terminal and ``quiet`` (``--json``) is
    off. Tasks are added as usual; ``unit="docs"`` counts items, otherwise bytes."""
    console = console or Console(stderr=True)
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        _Counts(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=quiet or not console.is_terminal,
    )
    with progress:
        yield progress


class _Counts(ProgressColumn):
    """Bytes and speed for reading and uploading, ``m/n`` for items: one bar, two units."""

    def __init__(self) -> None:
        super().__init__()
        self._bytes = DownloadColumn()
        self._speed = TransferSpeedColumn()
        self._items = MofNCompleteColumn()

    def render(self, task: Task) -> RenderableType:
        if task.fields.get("unit") == "docs":
            return self._items.render(task)
        table = Table.grid(padding=(0, 1))
        table.add_row(self._bytes.render(task), self._speed.render(task))
        return table


class _Counted(io.RawIOBase):
    """A file that reports every chunk read, for :func:`hash_stream`'s ``readinto`` loop."""

    def __init__(self, raw: Any, advance: Callable[[int], None]) -> None:
        super().__init__()
        self._raw = raw
        self._advance = advance

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n: int = self._raw.readinto(buffer)
        if n:
            self._advance(n)
        return n


def hash_files(
    progress: Progress, paths: Sequence[Path], algorithm: Algorithm, *, description: str
) -> list[bytes]:
    """The digest of each file, streamed, on one byte-counting task over all of them.
    ``OSError`` (unreadable file) propagates with its ``filename``."""
    task: TaskID = progress.add_task(description, total=sum(os.stat(p).st_size for p in paths))

    def advance(n: int) -> None:
        progress.advance(task, n)

    digests = []
    for path in paths:
        with open(path, "rb", buffering=0) as raw:
            digests.append(hash_stream(cast(BinaryIO, _Counted(raw, advance)), algorithm))
    return digests
