"""The CLI's consoles and its one way to fail: a red line on stderr and an exit code.

Light on purpose (rich and typer only): ``verify-receipt`` and ``verify-bundle`` use it, and
a verifier installed without the server must be able to import them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import NoReturn, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from chainproof.errors import ChainProofError

T = TypeVar("T")

err = Console(stderr=True)


def out() -> Console:
    """A console for stdout; piped, 240 columns wide."""
    console = Console()
    # Piped output has no width to fit: never fold a digest or a tx hash for grep and logs.
    return console if console.is_terminal else Console(width=240)


def fail(message: str, code: int = 2) -> NoReturn:
    """One red line on stderr, no traceback."""
    err.print(f"[red]error: {escape(message)}[/red]", soft_wrap=True, highlight=False)
    raise typer.Exit(code)


@contextmanager
def failing(make: Callable[[], AbstractContextManager[T]]) -> Iterator[T]:
    """What ``make`` opens (a server's client), with every ChainProof error while it is open
    one red line and exit code 2."""
    try:
        with make() as opened:
            yield opened
    except ChainProofError as exc:
        fail(str(exc))
