"""The authorization matrix again, with people's sessions as the principals (issue 17).

``test_authz_matrix.py`` calls every route as API keys. A person signed in on the pages is
a caller too (a session cookie and the page's CSRF token, ``api/deps.py``), and must get
exactly what a key of the same role and org gets: the same table (``api/authz.py``), the
same 401/403/404 rules, the same private metadata. This module builds the same world,
then swaps each principal's key for a session of a person with that role and org, and
walks every API route with the same checks. (The pages are left out: with a key they all
redirect to sign in, while a session of the wrong role gets a 403 page; that is
``tests/e2e/test_signin_http.py``.) On the code before, cookies meant nothing: every
session principal was anonymous and the matrix reports a 401 for each role-only route.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from chainproof.accounts import service
from chainproof.api import authz
from chainproof.api.authz import ANONYMOUS
from chainproof.store import db

from . import test_authz_matrix as matrix
from .test_authz_matrix import world  # noqa: F401  (the same world, this module's own)

OTHER_ORGS = {"reviewer": "创新中心", "admin": "运营方"}
END_SESSIONS = ("DELETE", "/api/v1/users/{user_id}/sessions")
API_ROUTES = [r for r in matrix.ROUTES if r[1].startswith("/api/")]


@pytest.fixture(scope="module")
def people(world: matrix.World) -> Iterator[matrix.World]:  # noqa: F811
    """The world with each principal a signed-in person instead of a key."""
    keys = dict(world.headers)
    with db.open_session(world.settings.resolved_database_url) as session:
        for name, (role, org) in matrix.PRINCIPALS.items():
            if role == ANONYMOUS:
                continue
            org_name = matrix.ORG_NAMES[org] if org else OTHER_ORGS[role]
            email = f"{name}-{secrets.token_hex(4)}@example.org"
            made = service.invite_user(session=session, email=email, org=org_name, role=role)
            user = service.accept_invite(
                session=session, token=made.token, password="correct horse battery staple"
            )
            signed = service.start_session(session=session, user=user, lifetime=timedelta(hours=1))
            world.headers[name] = {
                "Cookie": f"chainproof_session={signed.token}",
                "X-CSRF-Token": signed.row.csrf_token,
            }
        # A person for the admin's "sign out everywhere" to end, not one of the principals.
        spare = service.invite_user(
            session=session, email="spare@example.org", org=matrix.ORG_A, role="submitter"
        )
        world.spare_keys["person"] = spare.user.id or 0
    try:
        yield world
    finally:
        world.headers.update(keys)


@pytest.mark.parametrize("route", [pytest.param(r, id=f"{r[0]} {r[1]}") for r in API_ROUTES])
def test_sessions_get_what_keys_of_their_role_get(people: matrix.World, route: Any) -> None:
    rule = authz.rule_for(*route)
    assert rule is not None
    names_resource, sample = matrix.SAMPLES.get(route, (False, matrix._generic(*route)))
    if route == END_SESSIONS:  # placeholder id 1 is a principal: end a spare person's
        spare = people.spare_keys["person"]
        sample = lambda w, o: matrix.Req("DELETE", f"/api/v1/users/{spare}/sessions")  # noqa: E731
    owners: list[str | None] = ["A", "B"] if names_resource else [None]
    order = sorted(
        matrix.PRINCIPALS,
        key=lambda p: (
            authz.decide(rule, role=matrix.PRINCIPALS[p][0], owns=None).outcome
            is authz.Outcome.ALLOWED
        ),
    )
    mismatches = [
        problem
        for owner in owners
        for principal in order
        if (problem := matrix._check(people, route, principal, owner, sample(people, owner)))
    ]
    assert not mismatches, "\n".join(mismatches)
