"""The demo's people (``make demo``): an admin, a reviewer and one applicant per unit.

Their passwords are random on the first seeding and kept in ``{data_dir}/demo-people.json``
(mode 600, like the demo's keys), so every run prints the same ones; an account whose
password no longer matches the file (a database from elsewhere) gets the file's again.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Final

PEOPLE_FILE: Final = "demo-people.json"


@dataclass(frozen=True)
class DemoPerson:
    email: str
    password: str
    org: str
    role: str


def seed_people(
    data_dir: Path, database_url: str, wanted: list[tuple[str, str, str]]
) -> list[DemoPerson]:
    """``wanted``: (email, org, role). Creates or repairs each account; returns them all."""
    from sqlmodel import select

    from chainproof.accounts import service
    from chainproof.accounts.models import UserAccount
    from chainproof.accounts.passwords import hash_password, verify_password
    from chainproof.store.db import open_session

    path = data_dir / PEOPLE_FILE
    kept: dict[str, str] = {}
    if path.exists():
        kept = {p["email"]: p["password"] for p in json.loads(path.read_text(encoding="utf-8"))}
    people = [
        DemoPerson(email, kept.get(email) or secrets.token_urlsafe(12), org, role)
        for email, org, role in wanted
    ]
    with open_session(database_url) as session:
        for p in people:
            user = session.exec(select(UserAccount).where(UserAccount.email == p.email)).first()
            if user is None:
                made = service.invite_user(session=session, email=p.email, org=p.org, role=p.role)
                service.accept_invite(session=session, token=made.token, password=p.password)
            elif not verify_password(user.password_hash, p.password):
                user.password_hash = hash_password(p.password)
                user.invite_hash = None
                session.add(user)
                session.commit()
    path.write_text(
        json.dumps([p.__dict__ for p in people], ensure_ascii=False, indent=2) + "\n",
        encoding="utf-8",
    )
    path.chmod(0o600)
    return people
