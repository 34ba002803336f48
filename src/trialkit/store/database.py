"""A trialkit database: an engine plus the two kinds of transaction the services use.

``write()`` is the only way to change data. It opens one transaction and takes the ledger's
write lock first: on SQLite the whole transaction is ``BEGIN IMMEDIATE``; on PostgreSQL the one
``audit_head`` row is locked ``FOR UPDATE``. Clinical writes are therefore serialised in the
same order on both databases (no deadlocks, a gap-free audit sequence). The lock statement
also reads the ledger head, which :func:`trialkit.store.ledger.append` then uses instead of
reading it again (its head update is guarded by that head, so a stale one can never chain).
``read()`` takes no write lock and sees one snapshot of the database for its whole transaction
(the consistent-read mode every service uses): on PostgreSQL it runs ``REPEATABLE READ, READ
ONLY`` (a read-only transaction at that level never fails to serialise and never waits); on
SQLite a deferred transaction in WAL mode reads one snapshot from its first statement on.
Without it, a multi-statement read on PostgreSQL (READ COMMITTED by default) could see a write
committed between two of its statements: ``audit verify`` would read a head older than the log
and report an intact chain as broken, a report could count rows of two different moments.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine

from trialkit.errors import StorageError
from trialkit.store.direct import (
    PENDING,
    DirectResult,
    Prepared,
    ServerCall,
    is_direct,
    run_script,
    send_pending,
)
from trialkit.store.engine import make_engine
from trialkit.store.ledger import HEAD_KEY
from trialkit.store.tables import audit_head

__all__ = ["Database"]

_READ_ONLY = "trialkit_read_only"
_ONE_STATEMENT = "trialkit_one_statement"  # Database.read_one: SQLite's BEGIN is not sent
_IDLE = 0  # libpq's PQTRANS_IDLE: no transaction open on the connection

# Built once and run on the driver's cursor (see trialkit.store.direct).
_LOCK = Prepared(
    sa.select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == 1).with_for_update()
)
# PostgreSQL (psycopg, direct path): the transaction's BEGIN and the lock in one round trip, as
# two statements of one simple query. psycopg otherwise sends its BEGIN alone before the first
# statement; for this one query it is told not to (autocommit, on a connection with no
# transaction open), and is told again right after the transaction ended, before the
# connection goes back to the pool. The BEGIN is the one psycopg sends when nothing sets an
# isolation level, read-only or deferrable mode on the connection; otherwise (and whenever
# anything observes statements) the lock runs as above.
_BEGIN_AND_LOCK = (
    "BEGIN; SELECT audit_head.seq, audit_head.hash FROM audit_head WHERE audit_head.id = 1 "
    "FOR UPDATE"
)
# The BEGIN and the lock wait for the transaction's first statement (``PENDING``), so that a
# statement run with ``Prepared.execute_first`` (the save's look-up) travels with them as a
# third statement of the same simple query, after the lock is held. Any other first statement
# sends them first: the direct path checks ``PENDING`` itself, Core statements through the
# ``before_execute`` listener every Database puts on a psycopg engine.
#: ``Connection.info`` key: the server-side prepared statements of the DBAPI connection, as
#: (the connection, their names); the pool's record of the connection, and with it this,
#: is cleared when the connection is replaced.
_PREPARED = "trialkit.prepared"
# What a server says when the prepared statements it has are not the ones recorded.
_NO_SUCH_STATEMENT = "26000"  # invalid_sql_statement_name: EXECUTE of an unknown name
_ALREADY_PREPARED = "42P05"  # duplicate_prepared_statement
_IS_PREPARED = "SELECT 1 FROM pg_prepared_statements WHERE name = %s"


class Database:
    """The engine and transactions of one trialkit database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # Whether a write may leave its BEGIN and lock to its first statement: psycopg, and
        # the listener that sends them before any Core statement is in place.
        self._defers = engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg"
        if self._defers and not event.contains(engine, "before_execute", _before_execute):
            event.listen(engine, "before_execute", _before_execute)
        if self._defers and not event.contains(engine, "checkin", _pristine):
            event.listen(engine, "checkin", _pristine)

    @classmethod
    def from_url(cls, url: str | None = None, **kwargs: Any) -> Database:
        return cls(make_engine(url, **kwargs))

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def dispose(self) -> None:
        self.engine.dispose()

    @contextmanager
    def write(self) -> Iterator[sa.Connection]:
        """One write transaction holding the ledger lock; commits on success, else rolls back."""
        try:
            with self.engine.connect() as conn:
                told: Any = None  # the psycopg connection told to leave the BEGIN to us
                try:
                    with conn.begin():
                        told = _begins_itself(conn) if self._defers else None
                        if told is not None:
                            told.autocommit = True
                            conn.info[PENDING] = _PendingLock(told)
                        else:
                            _hold(conn, _LOCK.execute(conn).first())
                        try:
                            yield conn
                        except BaseException:
                            # psycopg follows a ROLLBACK with DEALLOCATE ALL once it has
                            # prepared statements of its own: the next write prepares again
                            if told is None or told.pgconn.transaction_status != _IDLE:
                                conn.info.pop(_PREPARED, None)
                            raise
                        finally:
                            conn.info.pop(HEAD_KEY, None)
                            conn.info.pop(PENDING, None)
                finally:
                    # The transaction has ended (committed or rolled back): psycopg begins
                    # the next one itself again, before the connection returns to the pool.
                    if told is not None and not told.closed:
                        try:
                            told.autocommit = False
                        except Exception:
                            # a connection left in autocommit must never be pooled (each
                            # statement of the next write would commit on its own): dropped
                            conn.invalidate()
        except sa.exc.OperationalError as exc:
            raise StorageError(
                f"the database refused the write: {exc.orig}",
                code="STORE.E021",
                hint="retry; if it persists check the database server and disk",
            ) from exc

    @contextmanager
    def read(self) -> Iterator[sa.Connection]:
        """A read-only transaction that sees one snapshot throughout; takes no write lock."""
        with self.engine.connect() as conn:
            if self.engine.dialect.name == "postgresql":
                conn = conn.execution_options(
                    isolation_level="REPEATABLE READ", postgresql_readonly=True
                )
            conn = conn.execution_options(**{_READ_ONLY: True})
            with conn.begin():
                yield conn

    @contextmanager
    def read_one(self) -> Iterator[sa.Connection]:
        """A connection for **one** read statement, outside any transaction: a single
        statement sees one snapshot by itself (PostgreSQL: autocommit, so no ``BEGIN`` and
        ``COMMIT`` round trips; SQLite: no ``BEGIN``, the statement's own read transaction).
        More than one statement would each see its own snapshot: use :meth:`read` for that."""
        with self.engine.connect() as conn:
            if self.engine.dialect.name == "postgresql":
                conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            conn = conn.execution_options(**{_READ_ONLY: True, _ONE_STATEMENT: True})
            with conn.begin():
                yield conn


def _hold(conn: sa.Connection, locked: Any) -> None:
    """Record the head read with the ledger lock (``locked``: its row, None if there is none)."""
    if locked is None:
        raise StorageError(
            "the database has no audit ledger head: it was not created by trialkit",
            code="STORE.E020",
            hint="run `trialkit db upgrade` on it first",
        )
    seq, hash_ = locked
    conn.info[HEAD_KEY] = (int(seq), str(hash_))


def _pristine(dbapi_connection: Any, _record: Any) -> None:
    """A psycopg connection back in the pool with its transaction characteristics unset again.

    After a read (``isolation_level="REPEATABLE READ"``, ``postgresql_readonly``) SQLAlchemy
    puts back the levels it found on first connect by setting them (``READ COMMITTED``,
    ``read_only=False``): the same transactions as the server's default, but set, so the write
    that next takes the connection could not send its own ``BEGIN`` with its lock and look-up
    (:func:`_begins_itself` requires them unset) and paid two more round trips. Unset, psycopg's
    ``BEGIN`` is the server's default, which is what SQLAlchemy read as its default."""
    if dbapi_connection is None or getattr(dbapi_connection, "closed", True):
        return
    if dbapi_connection.pgconn.transaction_status != _IDLE or dbapi_connection.autocommit:
        return  # not idle, or left in autocommit: leave it to the pool's own checks
    try:
        dbapi_connection.isolation_level = None
        dbapi_connection.read_only = None
        dbapi_connection.deferrable = None
    except Exception:  # pragma: no cover - psycopg refuses only inside a transaction
        return


def _before_execute(conn: sa.Connection, *_args: Any) -> None:
    # Core is about to run a statement: a write's pending BEGIN and lock go first.
    if PENDING in conn.info:
        send_pending(conn)


class _PendingLock:
    """The BEGIN and ledger lock of a write transaction, sent with its first statement."""

    __slots__ = ("told",)

    def __init__(self, told: Any) -> None:
        self.told = told  # the psycopg connection, in autocommit until the transaction ends

    def __call__(self, conn: sa.Connection, call: ServerCall | None) -> DirectResult | None:
        info = conn.info
        told: Any = self.told
        if info.get(PENDING) is not self:
            raise AssertionError("the ledger lock is not pending on this connection")
        del info[PENDING]
        try:
            if call is None:
                _hold(conn, run_script(conn, _BEGIN_AND_LOCK)[1].first())
                return None
            result: DirectResult = self._with(conn, call)
            return result
        except BaseException:
            # Nothing begun (the script failed before its BEGIN took effect): the next
            # statement sends the BEGIN and the lock again; never one without them.
            if not told.closed and told.pgconn.transaction_status == _IDLE:
                info[PENDING] = self
            raise

    def _with(self, conn: sa.Connection, call: ServerCall) -> DirectResult:
        told = self.told
        info = conn.info
        known = info.get(_PREPARED)
        if known is None or known[0] is not told:
            known = info[_PREPARED] = (told, set())
        names: set[str] = known[1]
        for attempt in (1, 2):
            prepared = call.name in names
            script = f"{_BEGIN_AND_LOCK}; {'' if prepared else call.prepare + '; '}{call.call}"
            try:
                results = run_script(conn, script)
            except sa.exc.DBAPIError as exc:
                state = getattr(exc.orig, "sqlstate", None)
                if attempt == 2 or state not in (_NO_SUCH_STATEMENT, _ALREADY_PREPARED):
                    raise
                # The connection's prepared statements are not the ones recorded (psycopg
                # sends DEALLOCATE ALL after a rollback once it has prepared statements of its
                # own; a pooler may DISCARD ALL): nothing of this transaction had happened but
                # the BEGIN and the lock, which the rollback undoes; the script is sent again,
                # with the PREPARE if the statement is not there now.
                told.rollback()
                if state == _NO_SUCH_STATEMENT:
                    names.discard(call.name)
                elif told.execute(_IS_PREPARED, (call.name,)).fetchone() is None:
                    names.discard(call.name)  # the rollback took it too
                else:
                    names.add(call.name)
                continue
            names.add(call.name)
            _hold(conn, results[1].first())
            return results[-1]
        raise AssertionError("unreachable")  # pragma: no cover


def _begins_itself(conn: sa.Connection) -> Any:
    """The psycopg connection under ``conn`` if the write may send BEGIN with the lock (see
    ``_BEGIN_AND_LOCK``), else None."""
    if conn.dialect.name != "postgresql" or conn.dialect.driver != "psycopg":
        return None
    if not is_direct(conn):
        return None
    dbapi_connection: Any = conn.connection.dbapi_connection
    if (
        dbapi_connection.autocommit
        or dbapi_connection.isolation_level is not None
        or dbapi_connection.read_only is not None
        or dbapi_connection.deferrable is not None
        or dbapi_connection.pgconn.transaction_status != _IDLE
    ):
        return None
    return dbapi_connection
