"""Signing a test client in as a person (issue 17): the pages are for signed-in people.

``sign_in`` makes the account straight in the database (an invitation accepted), then
signs in through the real ``POST /signin`` form, so the client's cookie jar holds the
session cookie as a browser's would. Returns the page's CSRF token for state-changing
calls (``X-CSRF-Token``).
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from chainproof.accounts import service
from chainproof.store import db

PASSWORD = "correct horse battery staple"


def make_person(database_url: str, org: str, role: str, password: str = PASSWORD) -> str:
    """An account whose invitation is accepted; its email."""
    email = f"{role}-{secrets.token_hex(4)}@example.org"
    with db.open_session(database_url) as session:
        made = service.invite_user(session=session, email=email, org=org, role=role)
        service.accept_invite(session=session, token=made.token, password=password)
    return email


def sign_in(client: Any, database_url: str, org: str, role: str) -> str:
    """Signs ``client`` (TestClient or httpx.Client) in as a new person; the CSRF token."""
    email = make_person(database_url, org, role)
    response = client.post(
        "/signin", data={"email": email, "password": PASSWORD}, follow_redirects=False
    )
    assert response.status_code == 303, response.text
    page = client.get("/account")
    found = re.search(r'data-csrf="([^"]+)"', page.text)
    assert found, page.text[:500]
    return found.group(1)


def sign_in_browser(page: Any, base_url: str, database_url: str, org: str, role: str) -> str:
    """Signs a Playwright page in through the ``/signin`` form as a new person; the email."""
    email = make_person(database_url, org, role)
    page.goto(base_url + "/signin")
    page.fill("#signin-email", email)
    page.fill("#signin-password", PASSWORD)
    page.click("#signin-form button[type=submit]")
    page.wait_for_url(base_url + "/")
    return email
