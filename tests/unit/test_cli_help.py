"""Every ``chainproof`` command says what it does in ``--help``: typer takes the text from the
command function's docstring, which a statement placed before it silently turns into a
plain expression (``db upgrade`` and ``db current`` had lost theirs that way)."""

from __future__ import annotations

from collections.abc import Iterator

import typer

from chainproof.cli import app


def _commands(group: typer.Typer, prefix: str = "") -> Iterator[tuple[str, object]]:
    for command in group.registered_commands:
        callback = command.callback
        name = command.name or getattr(callback, "__name__", "?")
        yield f"{prefix}{name}", callback
    for sub in group.registered_groups:
        assert sub.typer_instance is not None
        yield from _commands(sub.typer_instance, f"{prefix}{sub.name} ")


def test_every_command_has_help_text() -> None:
    commands = dict(_commands(app))
    assert "db upgrade" in commands and "verify-receipt" in commands, sorted(commands)
    silent = sorted(
        name for name, callback in commands.items() if not getattr(callback, "__doc__", None)
    )
    assert silent == []
