"""``chainproof db ...``: migrate the configured database."""

from __future__ import annotations

from collections.abc import Callable

import typer

from chainproof.errors import ChainProofError

app = typer.Typer(
    help="Database: migrate to the newest schema, show its revision.", no_args_is_help=True
)


@app.command("upgrade")
def upgrade_command() -> None:
    """Migrate the database (CHAINPROOF_DATABASE_URL) to the newest revision."""
    from chainproof.store.db import upgrade

    shown, revision = _revision_by(upgrade)
    typer.echo(f"{shown} is at revision {revision} (head)")


@app.command("current")
def current_command() -> None:
    """Show the database's revision and the newest one this version ships."""
    from chainproof.store.db import current_revision, head_revision

    shown, revision = _revision_by(current_revision)
    head = head_revision()
    state = "up to date" if revision == head else "run `chainproof db upgrade`"
    typer.echo(f"{shown} is at revision {revision or 'none'}; head is {head} ({state})")


def _revision_by(read: Callable[[str], str | None]) -> tuple[str, str | None]:
    """``read`` on the configured database: (its URL without a password, the revision);
    exit 1 with the reason when the database cannot be read."""
    from chainproof.config import get_settings  # the server's settings: see cli/server.py
    from chainproof.store.db import redact_url

    url = get_settings().resolved_database_url
    try:
        revision = read(url)
    except ChainProofError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from None
    return redact_url(url), revision
