"""Rows named by their public id (``public_ids.py``): evidence, licences, recordings, draws,
data sets. A route's id is the caller's input: anything that is not a public id in its
canonical form is no row, found without a query, so an old integer id or a malformed one
answers the same 404 as an id nobody has."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlmodel import Session, SQLModel, select

from chainproof.public_ids import parse_public_id

__all__ = ["by_public_id"]

Row = TypeVar("Row", bound=SQLModel)


def by_public_id(session: Session, model: type[Row], raw: str) -> Row | None:
    """The ``model`` row (a table with a ``public_id`` column) named ``raw``, or None."""
    public_id = parse_public_id(raw)
    if public_id is None:
        return None
    column: Any = model.public_id  # type: ignore[attr-defined]
    return session.exec(select(model).where(column == public_id)).first()
