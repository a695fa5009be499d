"""Inserting a row a unique constraint guards, under concurrent requests.

Two requests may both find no row and both insert one: the database keeps the first and
refuses the second with an ``IntegrityError``. What the loser should answer depends on the
row, and comes in two kinds:

* :func:`insert_new`: the row is the caller's to create, so a twin is a conflict (409): a
  round, a business type, a named query, an application;
* :func:`insert_once`: any copy is as good as another (a member by name, a relayed
  cross-chain event), so the loser answers with the winner's row.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel

from chainproof.errors import ConflictError

__all__ = ["insert_new", "insert_once"]

Row = TypeVar("Row", bound=SQLModel)


def insert_new(session: Session, row: Row, conflict: ConflictError) -> Row:
    """Commits ``row`` and returns it refreshed; raises ``conflict`` (the session rolled
    back) when a unique constraint already holds its twin."""
    session.add(row)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise conflict from None
    session.refresh(row)
    return row


def insert_once(
    session: Session, find: Callable[[], Row | None], make: Callable[[], Row]
) -> tuple[Row, bool]:
    """The row ``find`` finds, or the one ``make`` builds, committed: (row, created). When
    another request inserted its twin between the look and the insert, theirs is the row."""
    existing = find()
    if existing is not None:
        return existing, False
    row = make()
    session.add(row)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        existing = find()
        if existing is None:  # refused for another reason than the twin
            raise
        return existing, False
    session.refresh(row)
    return row, True
