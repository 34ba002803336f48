"""A SELECT streamed straight from the driver's cursor of the caller's connection, in batches.

Core's streamed result (``stream_results`` and ``partitions``) costs about a fifth of reading
a large export's form rows on SQLite: a Row per row and the result's own bookkeeping. Where
:mod:`trialkit.store.direct` may run a statement on the driver's cursor (nothing observes the
connection, it is in a transaction, the statement needs no expanding parameters and its
columns no result processing in this dialect), :func:`stream` runs it there and yields the
driver's rows (tuples, the columns in the statement's order), ``size`` at a time: on
PostgreSQL through psycopg's server-side (named) cursor, in the caller's transaction; on
SQLite through the connection's cursor, which steps as it is fetched. The rows are what Core
would give (the same values: no column has a result processor), only not wrapped.

A driver error is raised as SQLAlchemy's own exception class, as Core does.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa

from trialkit.store.direct import Prepared, driver_error, is_direct

__all__ = ["stream"]

_names = itertools.count(1)  # the server-side cursors' names (unique in the process)


def stream(
    conn: sa.Connection, statement: sa.Select[Any], size: int
) -> Iterator[Sequence[Sequence[Any]]] | None:
    """The rows of ``statement`` (no parameters but its own bound values), ``size`` at a time,
    from the driver's cursor; None where the direct path does not apply (the caller reads
    through Core)."""
    if not is_direct(conn) or conn.dialect.driver not in ("pysqlite", "psycopg"):
        return None
    found = Prepared(statement).direct_sql(conn)
    if found is None:
        return None
    return _rows(conn, *found, size)


def _rows(
    conn: sa.Connection, sql: str, parameters: Any, size: int
) -> Iterator[Sequence[Sequence[Any]]]:
    dbapi_connection: Any = conn.connection.dbapi_connection
    if conn.dialect.driver == "psycopg":
        cursor = dbapi_connection.cursor(name=f"trialkit_stream_{next(_names)}")
        cursor.itersize = size
    else:
        cursor = dbapi_connection.cursor()
    try:
        try:
            cursor.execute(sql, parameters)
            while rows := cursor.fetchmany(size):
                yield rows
        except conn.dialect.loaded_dbapi.Error as exc:
            raise driver_error(conn, dbapi_connection, cursor, sql, parameters, exc) from exc
    finally:
        cursor.close()
