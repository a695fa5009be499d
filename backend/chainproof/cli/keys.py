"""``chainproof keys ...``: create, list and revoke API keys of member organisations.

``keys create`` prints the new key alone on the last line of stdout, and everything meant
for a human on stderr, so scripts capture it with ``chainproof keys create ... | tail -1``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from chainproof.errors import ChainProofError
from chainproof.roles import Role

if TYPE_CHECKING:
    from sqlmodel import Session

app = typer.Typer(help="API keys of member organisations (成员单位).", no_args_is_help=True)


def _stdout() -> Console:
    console = Console()
    # Piped output has no width to fit: do not fold names at 80 columns for grep and logs.
    return console if console.is_terminal else Console(width=160)


@contextmanager
def _session() -> Iterator[Session]:
    """A session on the configured database, migrated first; errors become exit code 1."""
    # Imported here, not at the top: the ORM is a good part of a command's start-up time, and
    # every command pays for what cli/__init__.py imports (each command's module).
    from chainproof.store.db import open_session, upgrade

    url = _database_url()
    try:
        upgrade(url)
        with open_session(url) as session:
            yield session
    except ChainProofError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from None


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "-"


@app.command("create")
def create_command(
    org: Annotated[str, typer.Option("--org", help="member organisation (created if missing)")],
    role: Annotated[Role, typer.Option("--role", help="what the key may do")],
) -> None:
    """Create an API key; the key is printed once, alone on the last line of stdout."""
    from chainproof import identity  # the ORM: see _session
    from chainproof.audit import log

    with _session() as session:
        api_key, plaintext = identity.create_api_key(session=session, org=org, role=role.value)
        log.append(
            session,
            log.Who.cli(),
            action="key.create",
            target=f"key:{api_key.id}",
            detail={"org": org.strip(), "role": api_key.role, "prefix": api_key.prefix},
        )
    typer.echo(
        f"created {api_key.role} key #{api_key.id} ({api_key.prefix}…) for {org.strip()}; "
        "it is shown once, store it now",
        err=True,
    )
    typer.echo(plaintext)


@app.command("list")
def list_command(
    org: Annotated[str | None, typer.Option("--org", help="only this organisation's keys")] = None,
    live: Annotated[bool, typer.Option("--live", help="hide revoked keys")] = False,
) -> None:
    """List API keys (prefixes only: keys themselves are never stored)."""
    from chainproof import identity  # the ORM: see _session

    with _session() as session:
        keys = identity.list_api_keys(session=session, org=org, include_revoked=not live)
        names = {m.id: m.name for m in identity.list_members(session=session)}
    table = Table(box=box.SIMPLE_HEAD, caption="times in UTC")
    table.add_column("id", justify="right", no_wrap=True)
    # The only column that wraps on a narrow terminal.
    table.add_column("org", overflow="fold", min_width=12)
    for column in ("role", "prefix", "created", "state"):
        table.add_column(column, no_wrap=True)
    for key in keys:
        if key.revoked_at is not None:
            state = f"revoked {_when(key.revoked_at)}"
        elif key.last_used_at is not None:
            state = f"used {_when(key.last_used_at)}"
        else:
            state = "never used"
        table.add_row(
            str(key.id),
            escape(names.get(key.member_id, "?")),
            key.role,
            key.prefix + "…",
            key.created_at.strftime("%Y-%m-%d"),
            state,
        )
    _stdout().print(table)


@app.command("revoke")
def revoke_command(
    key_id: Annotated[int, typer.Argument(help="the key's id, from `chainproof keys list`")],
) -> None:
    """Revoke an API key for good."""
    from chainproof import identity  # the ORM: see _session
    from chainproof.audit import log
    from chainproof.store.models import ApiKey

    with _session() as session:
        before = session.get(ApiKey, key_id)
        was_live = before is not None and before.revoked_at is None
        api_key = identity.revoke_api_key(session=session, key_id=key_id)
        if was_live:
            log.append(session, log.Who.cli(), action="key.revoke", target=f"key:{api_key.id}")
    typer.echo(f"revoked key #{api_key.id} ({api_key.prefix}…) at {_when(api_key.revoked_at)}")


def _database_url() -> str:
    from chainproof.config import get_settings  # the server's settings: see cli/server.py

    return get_settings().resolved_database_url
