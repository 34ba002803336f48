"""``Database.write``: the ledger lock is held for the whole transaction, and nothing of how it
was begun outlives it (on PostgreSQL the BEGIN travels with the lock; psycopg is told to leave
the BEGIN to trialkit for that one query and told again before the connection is pooled)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
import sqlalchemy as sa

from trialkit.store import Change, Database, append, head, verify
from trialkit.store.tables import audit_log

AT = datetime(2025, 3, 10, 9, 30)
_scratch = sa.Table("write_scratch", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True))


@pytest.fixture
def scratch(db: Database) -> Iterator[Database]:
    _scratch.create(db.engine)
    try:
        yield db
    finally:
        _scratch.drop(db.engine)


def _other_writer_is_refused(db: Database) -> bool:
    """Whether another connection is refused the ledger lock right now (it does not wait)."""
    if db.dialect == "sqlite":
        path = db.engine.url.database
        assert path is not None
        other = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            return "locked" in str(exc)
        else:
            other.execute("ROLLBACK")
            return False
        finally:
            other.close()
    engine = sa.create_engine(db.engine.url)
    try:
        with engine.connect() as other:
            try:
                other.execute(sa.text("SELECT seq FROM audit_head WHERE id = 1 FOR UPDATE NOWAIT"))
            except sa.exc.OperationalError as exc:
                return "lock" in str(exc.orig)
            return False
    finally:
        engine.dispose()


def _rows(db: Database) -> int:
    with db.read() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(_scratch)).scalar_one())


def test_the_ledger_lock_is_held_until_the_transaction_ends(scratch: Database) -> None:
    db = scratch
    with db.write() as conn:
        conn.execute(_scratch.insert(), {"id": 1})
        assert _other_writer_is_refused(db)
        append(conn, actor="dr.a", at=AT, changes=[Change("insert", "x", "1", "p", None, 1)])
        assert _other_writer_is_refused(db)
        assert _rows(db) == 0  # not committed yet: the statements ran inside the transaction
    assert not _other_writer_is_refused(db)
    assert _rows(db) == 1
    with db.read() as conn:
        assert head(conn)[0] == 1
        assert verify(conn).ok


@pytest.mark.parametrize("ends", ["commit", "rollback"])
def test_a_pooled_connection_begins_its_transactions_again_after_a_write(
    scratch: Database, ends: str
) -> None:
    db = scratch

    class Boom(Exception):
        pass

    try:
        with db.write() as conn:
            conn.execute(_scratch.insert(), {"id": 1})
            if ends == "rollback":
                raise Boom
    except Boom:
        pass
    assert _rows(db) == (1 if ends == "commit" else 0)
    # The same pooled connection, used by plain Core: its statements wait for its commit.
    with db.engine.connect() as conn:
        dbapi_connection = conn.connection.dbapi_connection
        if db.dialect == "postgresql":
            assert dbapi_connection is not None
            assert dbapi_connection.autocommit is False  # type: ignore[attr-defined]
        conn.execute(_scratch.insert(), {"id": 2})
        conn.rollback()
    assert _rows(db) == (1 if ends == "commit" else 0)
    with db.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(audit_log)).scalar_one() == 0


def test_a_write_after_a_read_still_sends_its_begin_with_the_lock(db: Database) -> None:
    """A read sets the connection's isolation and read-only for its transaction, and
    SQLAlchemy puts back its defaults by setting them; back in the pool they are unset again,
    so the next write on that connection still sends its own BEGIN with the ledger lock (and a
    look-up) in one query, and its transaction is the server's default one."""
    from trialkit.store.database import _begins_itself

    with db.read() as conn:
        if db.dialect == "postgresql":
            shown = conn.execute(sa.text("SHOW transaction_isolation")).scalar_one()
            assert shown == "repeatable read"
    with db.engine.connect() as conn:
        if db.dialect == "postgresql":
            raw: Any = conn.connection.dbapi_connection
            assert (raw.isolation_level, raw.read_only, raw.deferrable) == (None, None, None)
    with db.write() as conn:
        if db.dialect == "postgresql":
            assert conn.execute(sa.text("SHOW transaction_read_only")).scalar_one() == "off"
        append(conn, actor="t", at=AT, changes=[Change("insert", "x", "1", "a", None, 1)])
    if db.dialect == "postgresql":
        with db.engine.connect() as conn, conn.begin():
            assert _begins_itself(conn) is not None
    with db.read() as conn:
        assert verify(conn).ok


def test_a_connection_for_one_read_statement_opens_no_transaction(db: Database) -> None:
    """``Database.read_one``: the statement runs outside any transaction (no BEGIN and COMMIT
    round trips), and the pooled connection's next write is a transaction as before."""
    with db.write() as conn:
        append(conn, actor="t", at=AT, changes=[Change("insert", "x", "1", "a", None, 1)])
    with db.read_one() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(audit_log)).scalar_one() == 1
        raw: Any = conn.connection.dbapi_connection
        if db.dialect == "postgresql":
            assert raw.pgconn.transaction_status == 0  # idle: the statement committed itself
        else:
            assert raw.in_transaction is False
    with db.write() as conn:
        append(conn, actor="t", at=AT, changes=[Change("update", "x", "1", "a", 1, 2)])
        raw = conn.connection.dbapi_connection
        if db.dialect == "postgresql":
            assert raw.pgconn.transaction_status != 0  # in the write's transaction
        else:
            assert raw.in_transaction is True
    with db.read() as conn:
        assert verify(conn).ok
