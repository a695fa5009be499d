"""``chainproof db ...``: migrate the configured database."""

from __future__ import annotations

import typer

from chainproof.errors import ChainProofError

app = typer.Typer(
    help="Database: migrate to the newest schema, show its revision.", no_args_is_help=True
)


@app.command("upgrade")
def upgrade_command() -> None:
    from chainproof.store.db import redact_url, upgrade

    """Migrate the database (CHAINPROOF_DATABASE_URL) to the newest revision."""
    url = _database_url()
    try:
        revision = upgrade(url)
    except ChainProofError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"{redact_url(url)} is at revision {revision} (head)")


@app.command("current")
def current_command() -> None:
    from chainproof.store.db import current_revision, head_revision, redact_url

    """Show the database's revision and the newest one this version ships."""
    url = _database_url()
    try:
        revision = current_revision(url)
    except ChainProofError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from None
    head = head_revision()
    state = "up to date" if revision == head else "run `chainproof db upgrade`"
    typer.echo(f"{redact_url(url)} is at revision {revision or 'none'}; head is {head} ({state})")


def _database_url() -> str:
    from chainproof.config import get_settings  # the server's settings: see cli/server.py

    return get_settings().resolved_database_url
