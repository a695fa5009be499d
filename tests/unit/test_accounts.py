"""Accounts for people (issue 17), below the HTTP layer: the CLI's invitation, the stored
forms of passwords, tokens and TOTP secrets, and the log redaction of the new tokens. The
behaviour over HTTP and in a browser is tests/e2e/test_signin*.py."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pyotp
import pytest
from sqlmodel import select
from typer.testing import CliRunner

from chainproof.accounts import service
from chainproof.accounts.models import UserAccount, UserSession
from chainproof.cli import users as users_cli
from chainproof.config import get_settings
from chainproof.errors import ConflictError, NotFoundError
from chainproof.logs import redact_text
from chainproof.store import db

SECRET = "a-test-secret-key-that-is-long-enough"
PASSWORD = "correct horse battery staple"


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'chainproof.db'}"


@pytest.fixture
def cli_database(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("CHAINPROOF_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("CHAINPROOF_PUBLIC_URL", "https://chainproof.example.cn")
    get_settings.cache_clear()
    yield sqlite_url
    get_settings.cache_clear()


def test_users_invite_prints_a_one_time_link_alone_on_the_last_line(cli_database: str) -> None:
    args = ["invite", "--org", "创新中心", "--role", "reviewer", "Li.Wei@Example.org"]
    result = CliRunner().invoke(users_cli.app, args)
    assert result.exit_code == 0, result.output
    link = result.stdout.splitlines()[-1]
    assert link.startswith("https://chainproof.example.cn/invite?token=cpi_")
    token = parse_qs(urlsplit(link).query)["token"][0]
    assert token not in result.stderr and "li.wei@example.org" in result.stderr
    with db.open_session(cli_database) as session:
        user = service.invited_user(session=session, token=token)
        assert (user.email, user.role, user.password_hash) == (
            "li.wei@example.org",
            "reviewer",
            None,
        )
        assert user.invite_hash != token and token not in str(user.model_dump())
        service.accept_invite(session=session, token=token, password=PASSWORD)
        with pytest.raises(NotFoundError):  # the link works once
            service.invited_user(session=session, token=token)
        with pytest.raises(ConflictError):  # an account with a password is not re-invited
            service.invite_user(session=session, email=user.email, org="x", role="admin")
    listing = CliRunner().invoke(users_cli.app, ["list"])
    assert "li.wei@example.org" in listing.stdout and "active" in listing.stdout
    bad = CliRunner().invoke(users_cli.app, ["invite", "--org", "o", "--role", "root", "a@b.cn"])
    assert bad.exit_code != 0


def test_what_is_stored_is_no_secret(sqlite_url: str) -> None:
    db.upgrade(sqlite_url)
    with db.open_session(sqlite_url) as session:
        made = service.invite_user(
            session=session, email="p@example.org", org="o", role="submitter"
        )
        user = service.accept_invite(session=session, token=made.token, password=PASSWORD)
        assert user.password_hash is not None and user.password_hash.startswith("$argon2id$")
        assert PASSWORD not in user.password_hash
        started = service.start_session(session=session, user=user, lifetime=timedelta(hours=1))
        row = session.exec(select(UserSession)).one()
        assert row.token_hash != started.token and started.token.startswith("cps_")
        assert service.find_session(session=session, token=started.token) is not None
        assert service.find_session(session=session, token=started.token + "x") is None
        uri = service.begin_totp(session=session, user=user, secret=SECRET)
        totp = pyotp.parse_uri(uri)
        assert isinstance(totp, pyotp.TOTP)
        stored = session.exec(select(UserAccount)).one()
        assert stored.totp_pending_encrypted and totp.secret not in stored.totp_pending_encrypted
        code = totp.now()
        assert service.confirm_totp(session=session, user=user, code=code, secret=SECRET)
        # The code just used does not sign in again (one acceptance per time step).
        assert (
            service.check_credentials(
                session=session, email=user.email, password=PASSWORD, code=code, secret=SECRET
            )
            is None
        )


def test_the_new_tokens_are_redacted_from_logs() -> None:
    line = "GET /invite?token=cpi_AbCdEfGhIjKlMnOp123 cookie cps_ZyXwVuTsRqPo987654"
    redacted = redact_text(line)
    assert "AbCdEfGhIjKlMnOp123" not in redacted and "ZyXwVuTsRqPo987654" not in redacted
