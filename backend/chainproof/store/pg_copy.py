"""Bulk inserts on PostgreSQL through ``COPY ... FROM STDIN (FORMAT BINARY)``.

A multi-row ``INSERT ... VALUES ... RETURNING`` of thousands of rows is bound by the client,
not the server: psycopg parses each statement's placeholders again (the statement is too long
for its query cache) and SQLAlchemy processes every parameter. ``COPY`` sends the rows as a
stream with no statement to parse. It returns nothing, so the ids are drawn first from the
table's sequence (what the column default would have drawn) and copied with the rows; sorted,
so rows keep ascending ids in their order, as a plain ``INSERT`` gives them.

``COPY`` has no ``ON CONFLICT``: a constraint violation (a duplicate key, a foreign key) fails
the whole copy and its transaction, exactly as the multi-row ``INSERT`` it replaces does, so
use it only where that insert had no ``ON CONFLICT`` either. Driver errors are raised as
SQLAlchemy's (``IntegrityError``, ``OperationalError``, ...), so callers and the API's error
handlers see what they saw before, and a lost connection is invalidated in the pool.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import psycopg
from sqlalchemy import Connection, Table
from sqlalchemy.exc import DBAPIError

__all__ = ["copy_rows", "supports_copy"]


def supports_copy(conn: Connection) -> bool:
    """Whether ``conn`` is PostgreSQL through psycopg 3 (the driver whose ``copy`` this uses)."""
    return conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg"


def _type_names(table: Table, columns: Sequence[str], conn: Connection) -> list[str]:
    # The binary format carries no type names: each value must be sent in its column's exact
    # type. The table definition names them ("VARCHAR(66)" -> "varchar", "BIGINT" -> "bigint",
    # "TIMESTAMP WITH TIME ZONE"), which psycopg's type registry knows under those names.
    return [
        table.c[name].type.compile(dialect=conn.dialect).split("(", 1)[0].lower()
        for name in columns
    ]


def copy_rows(
    conn: Connection, table: Table, columns: Sequence[str], rows: Iterable[Sequence[Any]], n: int
) -> list[int]:
    """Copies ``n`` ``rows`` (values in ``columns`` order, without the id) into ``table`` in
    ``conn``'s transaction, each with a new id from the sequence of ``table.id``; returns the
    ids in row order. The caller commits."""
    if n == 0:
        return []
    raw = conn.connection.driver_connection
    if not isinstance(raw, psycopg.Connection):
        raise TypeError(f"copy_rows needs a psycopg 3 connection, not {type(raw).__name__}")
    quote = conn.dialect.identifier_preparer.quote
    name = table.name
    listed = ", ".join(quote(c) for c in ("id", *columns))
    statement = f"COPY {quote(name)} ({listed}) FROM STDIN (FORMAT BINARY)"
    types = _type_names(table, ("id", *columns), conn)
    # Through SQLAlchemy, not the raw cursor: this also begins ``conn``'s transaction, which
    # the caller's ``conn.commit()`` commits (a transaction only the driver knew of would be
    # rolled back when the connection goes back to the pool).
    ids = sorted(
        int(i)
        for i in conn.exec_driver_sql(
            "SELECT nextval(pg_get_serial_sequence(%(table)s, 'id'))"
            " FROM generate_series(1, %(n)s)",
            {"table": name, "n": n},
        ).scalars()
    )
    try:
        with raw.cursor() as cur, cur.copy(statement) as copy:
            copy.set_types(types)
            for row_id, row in zip(ids, rows, strict=True):
                copy.write_row((row_id, *row))
    except psycopg.Error as exc:
        invalidated = raw.broken or raw.closed  # the connection, not just the copy, failed
        wrapped = DBAPIError.instance(
            statement,
            None,
            exc,
            psycopg.Error,
            connection_invalidated=invalidated,
            dialect=conn.dialect,
        )
        if invalidated:
            conn.invalidate(exc)
        raise wrapped from exc
    return ids
