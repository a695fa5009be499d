"""The CLI's consoles and its one way to fail: a red line on stderr and an exit code.

Light on purpose (rich and typer only): ``verify-receipt`` and ``verify-bundle`` use it, and
a verifier installed without the server must be able to import them.
"""

from __future__ import annotations

from typing import NoReturn

import typer
from rich.console import Console
from rich.markup import escape

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
