"""Prebuilt statements run on the driver's cursor of the caller's connection, in its transaction.

The write path runs the same few statements for every change: the ledger lock, the save's
look-up, the row insert or guarded update, the head move and the audit insert. SQLAlchemy Core
spends about 20 µs per execution on SQLite (building its execution context, result and events)
and more on PostgreSQL: more than SQLite needs to run such a statement. A :class:`Prepared`
statement is compiled by SQLAlchemy once per dialect and set of parameter names (the SQL text,
the parameter order of the driver's paramstyle, each parameter's bind processor) and then run on
the DBAPI cursor of the same connection, so it belongs to the caller's transaction.

The direct path is taken only when it is indistinguishable from Core; otherwise the very same
statement is executed through Core. The connection is examined once per transaction (a
listener added in the middle of a transaction sees the statements of the next one):

* nothing observes or alters statements: no ``before_cursor_execute``,
  ``after_cursor_execute``, ``handle_error``, ``do_execute``, ``do_executemany`` or
  ``do_setinputsizes`` listener, no SQL echo or ``sqlalchemy.engine`` logging at INFO, no
  ``schema_translate_map``, no driver that needs ``setinputsizes``;
* the connection is already in a transaction (so Core's autobegin, and the ``BEGIN IMMEDIATE``
  that trialkit's SQLite engine emits from the ``begin`` event, have happened);
* the statement needs no Python-side column defaults, no expanding (``IN``) parameters, and its
  result columns need no result processing in this dialect.

A driver error is raised as SQLAlchemy's own exception class (``sa.exc.IntegrityError``,
``sa.exc.OperationalError``, ...) with the original chained, and a lost connection is
invalidated, as Core does.
"""

from __future__ import annotations

import hashlib
import logging
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol
from weakref import WeakKeyDictionary

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.engine.interfaces import BindTyping

__all__ = [
    "PENDING",
    "DirectResult",
    "Prepared",
    "ServerCall",
    "is_direct",
    "run_script",
    "run_sql",
]

#: ``Connection.info`` key: while a write transaction's ``BEGIN`` and ledger lock wait for its
#: first statement (PostgreSQL, see :meth:`trialkit.store.Database.write`), the
#: :class:`PendingLock` that sends them. Every statement on the connection sends them first
#: (through :func:`run_sql` here, through a ``before_execute`` listener via Core); a
#: :meth:`Prepared.execute_first` statement travels with them, in their round trip.
PENDING = "trialkit.lock_pending"

_Processor = Callable[[Any], Any] | None


class DirectResult:
    """What a :class:`Prepared` execution returns: the rows (if any) and the row count."""

    __slots__ = ("rowcount", "rows")

    def __init__(self, rows: Sequence[Sequence[Any]], rowcount: int) -> None:
        self.rows = rows
        self.rowcount = rowcount

    def first(self) -> Sequence[Any] | None:
        """The first row, or None."""
        return self.rows[0] if self.rows else None

    def scalar_one(self) -> Any:
        """The first column of the only row; raises unless there is exactly one row."""
        if len(self.rows) != 1:
            if not self.rows:
                raise sa.exc.NoResultFound("no row was found when exactly one was required")
            raise sa.exc.MultipleResultsFound(
                "multiple rows were found when exactly one was required"
            )
        return self.rows[0][0]


class ServerCall:
    """A statement as a server-side prepared statement called with client-side literals.

    ``prepare`` is ``PREPARE <name> (types) AS <sql with $n>``, ``call`` is ``EXECUTE
    <name>(<literals>)``; the name is derived from the prepare text, so one name is always
    one statement."""

    __slots__ = ("call", "name", "prepare")

    def __init__(self, name: str, prepare: str, call: str) -> None:
        self.name, self.prepare, self.call = name, prepare, call


class PendingLock(Protocol):
    """What :data:`PENDING` holds: sends the transaction's ``BEGIN`` and ledger lock, with
    ``call`` (if given) in the same round trip; returns ``call``'s result."""

    def __call__(self, conn: sa.Connection, call: ServerCall | None) -> DirectResult | None: ...


def send_pending(conn: sa.Connection) -> None:
    """Send the ``BEGIN`` and ledger lock that wait for the first statement, if they do."""
    pending = conn.info.get(PENDING)
    if pending is not None:
        pending(conn, None)


# A parameter of the pyformat SQL text, or an escaped percent sign.
_PYFORMAT = re.compile(r"%\(([^)]+)\)s|%%")
_INT8 = (-(2**63), 2**63 - 1)


class _Plan:
    """The SQL text of one compiled statement and how to turn parameters into driver ones."""

    __slots__ = ("binds", "getter", "passthrough", "positional", "sql")

    def __init__(
        self,
        sql: str,
        positional: bool,
        binds: Sequence[tuple[str, str | None, Any, _Processor]],
    ) -> None:
        # binds: (name in the SQL, parameter key or None for a constant, the constant, processor)
        self.sql = sql
        self.positional = positional
        self.binds = tuple(binds)
        plain = all(key is not None and process is None for _, key, _, process in self.binds)
        keys = [key for _, key, _, _ in self.binds]
        # The common cases without a loop in Python: every value taken as given.
        self.passthrough = plain and not positional and all(n == k for n, k, _, _ in self.binds)
        self.getter = operator.itemgetter(*keys) if plain and positional and len(keys) > 1 else None

    def parameters(self, params: Mapping[str, Any]) -> Sequence[Any] | Mapping[str, Any]:
        if self.getter is not None:
            values: Sequence[Any] = self.getter(params)
            return values
        if self.passthrough:
            return params
        values = [
            (params[key] if key is not None else constant)
            if process is None
            else process(params[key] if key is not None else constant)
            for _, key, constant, process in self.binds
        ]
        if self.positional:
            return values
        return {name: value for (name, _, _, _), value in zip(self.binds, values, strict=True)}


class Prepared:
    """A Core statement compiled once per dialect, executed on the DBAPI cursor when it may be.

    ``execute``/``executemany`` take the parameters Core would take (keys are bind parameter
    names, or column names for an INSERT/UPDATE without ``values()``) and return a
    :class:`DirectResult` on either path.
    """

    def __init__(self, statement: sa.Executable) -> None:
        self.statement = statement
        self._plans: WeakKeyDictionary[Dialect, dict[tuple[str, ...], _Plan | None]] = (
            WeakKeyDictionary()
        )
        # The plans of the dialect used last: one identity test instead of a weak look-up.
        self._last: tuple[Dialect | None, dict[tuple[str, ...], _Plan | None]] = (None, {})

    def execute(self, conn: sa.Connection, params: Mapping[str, Any] | None = None) -> DirectResult:
        """Run the statement once with ``params``."""
        given = params if params is not None else {}
        plan = self._plan(conn, given)
        if plan is None:
            result = conn.execute(self.statement, dict(given))
            rows = result.all() if result.returns_rows else []
            return DirectResult(rows, result.rowcount)
        return run_sql(conn, plan.sql, plan.parameters(given))

    def executemany(self, conn: sa.Connection, rows: Sequence[Mapping[str, Any]]) -> DirectResult:
        """Run the statement (a DML statement without RETURNING) once per row of ``rows``."""
        if not rows:
            return DirectResult([], 0)
        plan = self._plan(conn, rows[0])
        if plan is None:
            result = conn.execute(self.statement, [dict(r) for r in rows])
            return DirectResult([], result.rowcount)
        return run_sql(conn, plan.sql, [plan.parameters(r) for r in rows], many=True)

    def execute_first(
        self, conn: sa.Connection, params: Mapping[str, Any] | None = None
    ) -> DirectResult:
        """:meth:`execute`, as the first statement of a write transaction: where the
        transaction's ``BEGIN`` and ledger lock still wait to be sent (PostgreSQL), the
        statement travels with them, as a third statement of the same simple query, run after
        the lock is held (in READ COMMITTED it takes its own snapshot then, so it sees every
        write committed before the lock was granted). It runs as a server-side prepared
        statement (prepared once per connection) called with client-side literals quoted by
        libpq; a parameter that is not text, an integer or None (or text holding NUL) sends
        the lock alone first, and the statement as :meth:`execute` does."""
        given = params if params is not None else {}
        pending = conn.info.get(PENDING)
        if pending is not None:
            call = self.server_call(conn, given)
            if call is not None:
                result: DirectResult | None = pending(conn, call)
                assert result is not None
                return result
        return self.execute(conn, given)

    def server_call(self, conn: sa.Connection, params: Mapping[str, Any]) -> ServerCall | None:
        """The statement as a :class:`ServerCall` with ``params`` (psycopg, direct path, UTF-8
        client encoding), else None."""
        compiled = self.named_sql(conn, params)
        if compiled is None or conn.dialect.driver != "psycopg":
            return None
        sql, values = compiled
        dbapi_connection: Any = conn.connection.dbapi_connection
        if dbapi_connection.info.encoding != "utf-8":
            return None
        escape = _escaping(dbapi_connection)
        names = _NAMES.get(sql)
        if names is None:
            names = _NAMES[sql] = tuple(dict.fromkeys(n for n in _PYFORMAT.findall(sql) if n))
        literals: list[str] = []
        kinds: list[str] = []
        for name in names:
            value = values[name]
            kind = type(value)
            if kind is str and "\x00" not in value:
                literals.append(escape(value.encode("utf-8")).decode("utf-8"))
                kinds.append("unknown")
            elif kind is int and _INT8[0] <= value <= _INT8[1]:
                literals.append(int.__repr__(value))
                kinds.append("int8")
            elif value is None:
                literals.append("NULL")
                kinds.append("unknown")
            else:
                return None
        key = (sql, tuple(kinds))
        found = _SERVER.get(key)
        if found is None:
            found = _SERVER[key] = _server_statement(sql, names, kinds)
        name, prepare = found
        return ServerCall(name, prepare, f"EXECUTE {name}({', '.join(literals)})")

    def named_sql(
        self, conn: sa.Connection, params: Mapping[str, Any]
    ) -> tuple[str, Mapping[str, Any]] | None:
        """The SQL text and driver parameters of a direct execution with ``params``, for a
        caller that embeds the statement in a larger one (the ledger's one-statement append
        on PostgreSQL); None unless the direct path applies and the paramstyle is named
        (``pyformat``), so that parameter names, not positions, join the two."""
        if conn.dialect.paramstyle != "pyformat":
            return None
        plan = self._plan(conn, params)
        if plan is None or plan.positional:
            return None
        parameters = plan.parameters(params)
        assert isinstance(parameters, Mapping)
        return plan.sql, parameters

    def direct_sql(
        self, conn: sa.Connection, params: Mapping[str, Any] | None = None
    ) -> tuple[str, Sequence[Any] | Mapping[str, Any]] | None:
        """The SQL text and driver parameters (in the driver's paramstyle) of a direct
        execution with ``params``, for a caller that runs it on a cursor of its own (the
        exports' streamed read, :mod:`trialkit.store.stream`); None unless the direct path
        applies."""
        given = params if params is not None else {}
        plan = self._plan(conn, given)
        return None if plan is None else (plan.sql, plan.parameters(given))

    def _plan(self, conn: sa.Connection, params: Mapping[str, Any]) -> _Plan | None:
        if not _direct(conn):
            return None
        dialect = conn.dialect
        last, by_keys = self._last
        if last is not dialect:
            by_keys = self._plans.setdefault(dialect, {})
            self._last = (dialect, by_keys)
        keys = tuple(params)
        try:
            return by_keys[keys]
        except KeyError:
            plan = by_keys[keys] = _compile(self.statement, dialect, keys)
            return plan


#: ``Connection.info`` key: the transaction for which the connection was last found
#: unobserved, and whether it was.
_CHECKED = "trialkit.direct_checked"


def is_direct(conn: sa.Connection) -> bool:
    """Whether statements may run on the driver's cursor of ``conn`` (see the module
    docstring; checked once per transaction)."""
    return _direct(conn)


def _direct(conn: sa.Connection) -> bool:
    """Whether ``conn`` may run statements directly (checked once per transaction)."""
    transaction = conn.get_transaction()
    if transaction is None:
        return False  # Core begins the transaction (and emits trialkit's BEGIN on SQLite)
    info = conn.info
    checked = info.get(_CHECKED)
    if checked is not None and checked[0] is transaction:
        return bool(checked[1])
    direct = not _observed(conn)
    info[_CHECKED] = (transaction, direct)
    return direct


def _observed(conn: sa.Connection) -> bool:
    # Anything that would see or change the statement on its way through Core.
    events = conn.dispatch
    dialect_events = conn.dialect.dispatch
    return bool(
        events.before_cursor_execute
        or events.after_cursor_execute
        or dialect_events.handle_error
        or dialect_events.do_execute
        or dialect_events.do_executemany
        or dialect_events.do_setinputsizes
        or conn.engine.logger.isEnabledFor(logging.INFO)
        or conn.get_execution_options().get("schema_translate_map")
    )


def _compile(statement: sa.Executable, dialect: Dialect, keys: tuple[str, ...]) -> _Plan | None:
    """The direct plan of ``statement`` for ``dialect`` and parameter ``keys``, or None."""
    if dialect.bind_typing is BindTyping.SETINPUTSIZES:
        return None  # Core passes the parameter types to the driver first
    compiled = statement.compile(dialect=dialect, column_keys=list(keys))  # type: ignore[attr-defined]
    if (
        compiled.insert_prefetch
        or compiled.update_prefetch
        or compiled.literal_execute_params
        or compiled.post_compile_params
    ):
        return None
    for column in getattr(statement, "exported_columns", ()):
        if column.type.dialect_impl(dialect).result_processor(dialect, None) is not None:
            return None
    if compiled.positional:
        names = list(compiled.positiontup or ())
    else:
        names = list(dict.fromkeys(compiled.bind_names.values()))
    escaped = compiled.escaped_bind_names or {}
    given = set(keys)
    binds: list[tuple[str, str | None, Any, _Processor]] = []
    for name in names:
        bind = compiled.binds[name]
        process = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if bind.key in given:
            binds.append((escaped.get(name, name), bind.key, None, process))
        elif bind.callable is None and not bind.required:
            binds.append((escaped.get(name, name), None, bind.value, process))
        else:
            return None  # a missing or computed value: Core raises or computes it
    return _Plan(compiled.string, bool(compiled.positional), binds)


_TUPLES_OK = 2  # libpq's PGRES_TUPLES_OK: the result has rows (possibly none)


def _returns_rows(conn: sa.Connection, cursor: Any) -> bool:
    """Whether the cursor's current result has rows. psycopg builds a column object for every
    column on each read of ``description`` (a fifth of a save's client CPU); its result
    status says the same."""
    if conn.dialect.driver == "psycopg":
        result = cursor.pgresult
        return result is not None and bool(result.status == _TUPLES_OK)
    return cursor.description is not None


# The distinct parameter names of a pyformat SQL text, in order; for a text and its
# parameters' kinds, the prepared statement's name and its PREPARE (few statements take
# this path).
_NAMES: dict[str, tuple[str, ...]] = {}
_SERVER: dict[tuple[str, tuple[str, ...]], tuple[str, str]] = {}


def _server_statement(sql: str, names: Sequence[str], kinds: Sequence[str]) -> tuple[str, str]:
    number = {name: f"${i}" for i, name in enumerate(names, start=1)}
    text = _PYFORMAT.sub(lambda m: number[m.group(1)] if m.group(1) else "%", sql)
    types = " (" + ", ".join(kinds) + ")" if kinds else ""
    body = f"{types} AS {text}"
    name = "trialkit_" + hashlib.sha256(body.encode("utf-8")).hexdigest()[:24]
    return name, f"PREPARE {name}{body}"


def _escaping(dbapi_connection: Any) -> Callable[[bytes], bytes]:
    """libpq's ``PQescapeLiteral`` for the connection (quotes and escapes as the server reads
    them, in its client encoding)."""
    from psycopg import pq

    escape: Callable[[bytes], bytes] = pq.Escaping(dbapi_connection.pgconn).escape_literal
    return escape


def run_script(conn: sa.Connection, sql: str) -> list[DirectResult]:
    """Run ``sql``, several statements without parameters (one simple query on psycopg), on
    the DBAPI cursor of ``conn``; the result of each statement, in order. Errors as in
    :func:`run_sql`; no pending ``BEGIN`` is sent first (the script is what sends it)."""
    return _run(conn, sql, None, many=False, script=True)  # type: ignore[return-value]


def run_sql(
    conn: sa.Connection, sql: str, parameters: Any, *, many: bool = False, last: bool = False
) -> DirectResult:
    """Run driver-level ``sql`` (in the driver's paramstyle) on the DBAPI cursor of ``conn``,
    in its transaction, as a :class:`Prepared` statement runs: only where
    :meth:`Prepared.named_sql` (or the direct path) applies; errors raised as SQLAlchemy's.
    ``last``: ``sql`` is several statements (no parameters; a driver with ``nextset``) and the
    result is the last one's. A pending ``BEGIN`` and ledger lock (:data:`PENDING`) are sent
    first."""
    if conn.dialect.name == "postgresql" and PENDING in conn.info:  # only psycopg defers
        send_pending(conn)
    if last:
        results = run_script(conn, sql)
        return results[-1]
    return _run(conn, sql, parameters, many=many, script=False)  # type: ignore[return-value]


def _run(
    conn: sa.Connection, sql: str, parameters: Any, *, many: bool, script: bool
) -> DirectResult | list[DirectResult]:
    dbapi_connection = conn.connection.dbapi_connection
    assert dbapi_connection is not None  # a connection in a transaction has one
    cursor = dbapi_connection.cursor()
    try:
        if many:
            cursor.executemany(sql, parameters)
        else:
            cursor.execute(sql, parameters)
        if script:
            results = []
            while True:
                rows = cursor.fetchall() if _returns_rows(conn, cursor) else []
                results.append(DirectResult(rows, cursor.rowcount))
                if not cursor.nextset():
                    return results
        rows = cursor.fetchall() if _returns_rows(conn, cursor) else []
        return DirectResult(rows, cursor.rowcount)
    except conn.dialect.loaded_dbapi.Error as exc:
        raise driver_error(conn, dbapi_connection, cursor, sql, parameters, exc) from exc
    finally:
        cursor.close()


def driver_error(
    conn: sa.Connection, dbapi_connection: Any, cursor: Any, sql: str, parameters: Any, exc: Any
) -> sa.exc.DBAPIError:
    """A driver error raised on the direct path as Core raises it: SQLAlchemy's own exception
    class, the connection invalidated when it was lost."""
    dialect = conn.dialect
    lost = dialect.is_disconnect(exc, dbapi_connection, cursor)
    error: sa.exc.DBAPIError = sa.exc.DBAPIError.instance(
        sql,
        parameters,
        exc,
        dialect.loaded_dbapi.Error,
        connection_invalidated=lost,
        dialect=dialect,
    )
    if lost:
        conn.invalidate(exc)
    return error
