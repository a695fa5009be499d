"""Named queries of the EPCIS repository (GS1's ``/queries``): a name for a set of standard
query parameters, per org, run like ``GET /epcis/events`` with those parameters."""

from __future__ import annotations

from typing import Any, Final

from sqlmodel import Session, col, select

from chainproof.errors import ConflictError, InvalidInputError, NotFoundError
from chainproof.store.unique import insert_new
from chainproof.trace.epcis_models import EpcisQuery

MAX_NAME: Final = 200
MAX_VALUES: Final = 100


def normalise(query: Any) -> dict[str, list[str]]:
    """``{"EQ_bizStep": ["shipping"], "GE_eventTime": "2024-…"}`` as parameter → values."""
    if not isinstance(query, dict):
        raise InvalidInputError("query must be an object of query parameters")
    out: dict[str, list[str]] = {}
    for name, value in query.items():
        values = value if isinstance(value, list) else [value]
        if len(values) > MAX_VALUES or not all(isinstance(v, str | int | float) for v in values):
            raise InvalidInputError(f"query.{name}: at most {MAX_VALUES} strings or numbers")
        out[str(name)] = [str(v) for v in values]
    return out


def create(*, session: Session, member_id: int | None, name: Any, query: Any) -> EpcisQuery:
    if not isinstance(name, str) or not 1 <= len(name) <= MAX_NAME or "/" in name:
        raise InvalidInputError(f"name must be 1-{MAX_NAME} characters without '/'")
    row = EpcisQuery(name=name, member_id=member_id, query=normalise(query))
    return insert_new(session, row, ConflictError(f"a query named {name!r} exists already"))


def get(*, session: Session, member_id: int | None, name: str) -> EpcisQuery:
    row = session.exec(
        select(EpcisQuery).where(EpcisQuery.member_id == member_id, EpcisQuery.name == name)
    ).first()
    if row is None:
        raise NotFoundError(f"no query named {name!r}")
    return row


def list_(*, session: Session, member_id: int | None) -> list[EpcisQuery]:
    stmt = select(EpcisQuery).where(EpcisQuery.member_id == member_id)
    return list(session.exec(stmt.order_by(col(EpcisQuery.id)).limit(1000)).all())


def delete(*, session: Session, member_id: int | None, name: str) -> None:
    session.delete(get(session=session, member_id=member_id, name=name))
    session.commit()


def as_json(row: EpcisQuery) -> dict[str, Any]:
    return {"name": row.name, "query": row.query}
