"""``chainproof users ...``: invite people into member orgs, list them, sign them out.

``users invite`` prints the one-time invitation link alone on the last line of stdout (the
token is in it), everything meant for a human on stderr, like ``keys create``.
"""

from __future__ import annotations

from typing import Annotated

import typer

from chainproof.cli.keys import _session
from chainproof.errors import ChainProofError
from chainproof.roles import Role

app = typer.Typer(help="People's accounts: invitations and sessions.", no_args_is_help=True)


@app.command("invite")
def invite_command(
    email: Annotated[str, typer.Argument(help="the person's email (their sign-in name)")],
    org: Annotated[str, typer.Option("--org", help="member organisation (created if missing)")],
    role: Annotated[Role, typer.Option("--role", help="what the person may do")],
) -> None:
    """Invite a person; prints the one-time link (token inside) alone on the last line."""
    from chainproof.accounts import service  # the ORM: see keys._session
    from chainproof.accounts.routes import invite_url
    from chainproof.config import get_settings  # the server's settings: see cli/server.py

    with _session() as session:
        try:
            made = service.invite_user(session=session, email=email, org=org, role=role.value)
        except ChainProofError as exc:
            typer.echo(f"error: {exc.message}", err=True)
            raise typer.Exit(1) from None
    typer.echo(
        f"invited {made.user.email} into {org.strip()} as {made.user.role}; the link works once, "
        f"until {made.user.invite_expires_at:%Y-%m-%d %H:%M} UTC: give it to the person",
        err=True,
    )
    typer.echo(invite_url(get_settings().public_url, made.token))


@app.command("list")
def list_command() -> None:
    """List people (email, org, role, whether they accepted, TOTP)."""
    from chainproof.accounts import service
    from chainproof.store.models import Member

    with _session() as session:
        for user in service.list_users(session=session):
            member = session.get(Member, user.member_id)
            state = "active" if user.password_hash else "invited"
            totp = " totp" if user.totp_secret_encrypted else ""
            org = member.name if member else "?"
            typer.echo(f"{user.id}\t{user.email}\t{org}\t{user.role}\t{state}{totp}")


@app.command("signout")
def signout_command(
    email: Annotated[str, typer.Argument(help="the person's email")],
) -> None:
    """End every session of a person (a lost laptop)."""
    from sqlmodel import select

    from chainproof.accounts import service
    from chainproof.accounts.models import UserAccount

    with _session() as session:
        user = session.exec(
            select(UserAccount).where(UserAccount.email == service.normalise_email(email))
        ).first()
        if user is None or user.id is None:
            typer.echo(f"error: no person with email {email!r}", err=True)
            raise typer.Exit(1)
        ended = service.end_all_sessions(session=session, user_id=user.id)
    typer.echo(f"signed {user.email} out of {ended} session(s)", err=True)
