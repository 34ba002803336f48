"""Prepared statements on the driver's cursor: the same results as Core, in the same transaction."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import pytest
import sqlalchemy as sa

from trialkit.store import Database, DirectResult, Prepared, verify
from trialkit.store.tables import GENESIS_HASH, audit_head, audit_log, study

AT = datetime(2025, 3, 10, 9, 30, 0, 250)

_HEAD = Prepared(sa.select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == 1))
_STUDY = Prepared(study.insert().returning(study.c.id))
_RENAME = Prepared(
    study.update().where(study.c.id == sa.bindparam("sid")).values(code=sa.bindparam("new"))
)
_ENTRY = Prepared(audit_log.insert())


@contextmanager
def _statements(db: Database) -> Iterator[list[str]]:
    """Statements Core sends to the driver while this is open (which makes Core run them)."""
    seen: list[str] = []

    def log(_c: Any, _cur: Any, statement: str, *_a: Any) -> None:
        seen.append(statement.split()[0].upper())

    sa.event.listen(db.engine, "before_cursor_execute", log)
    try:
        yield seen
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", log)


def _entry(seq: int) -> dict[str, Any]:
    return {
        "seq": seq,
        "at": "2025-03-10T09:30:00.000000",
        "actor": "dr.a",
        "action": "insert",
        "entity": "study",
        "entity_id": "1",
        "path": "code",
        "old": None,
        "new": '"X"',
        "reason": None,
        "protocol_version": None,
        "prev_hash": GENESIS_HASH,
        "hash": GENESIS_HASH,
    }


def test_select_insert_update_give_rows_ids_and_counts(db: Database) -> None:
    with db.engine.begin() as conn:
        head = _HEAD.execute(conn)
        assert isinstance(head, DirectResult)
        assert list(head.rows) == [(0, GENESIS_HASH)]
        assert head.first() == (0, GENESIS_HASH)
        sid = _STUDY.execute(conn, {"code": "S-1", "created_at": AT}).scalar_one()
        assert _RENAME.execute(conn, {"sid": sid, "new": "S-2"}).rowcount == 1
        assert _RENAME.execute(conn, {"sid": sid + 1, "new": "S-3"}).rowcount == 0
        assert _ENTRY.executemany(conn, [_entry(1), _entry(2)]).rowcount in (2, -1)
    with db.read() as conn:
        assert conn.execute(sa.select(study.c.code)).scalars().all() == ["S-2"]
        assert conn.execute(sa.select(sa.func.count()).select_from(audit_log)).scalar() == 2


def test_a_statement_runs_in_the_callers_transaction(db: Database) -> None:
    with db.engine.connect() as conn:
        conn.begin()
        _STUDY.execute(conn, {"code": "GONE", "created_at": AT})
        conn.rollback()
    with db.read() as conn:
        assert conn.execute(sa.select(study.c.code)).all() == []


def test_values_are_stored_as_core_stores_them(db: Database) -> None:
    # Bind processors apply on the direct path too (SQLite keeps DateTime as text).
    with db.engine.begin() as conn:
        _STUDY.execute(conn, {"code": "DIRECT", "created_at": AT})
    with _statements(db), db.engine.begin() as conn:
        _STUDY.execute(conn, {"code": "CORE", "created_at": AT})
    with db.read() as conn:
        text = sa.cast(study.c.created_at, sa.String)
        rows = dict(conn.execute(sa.select(study.c.code, text)).all())
        assert rows["DIRECT"] == rows["CORE"]
        stored = conn.execute(sa.select(study.c.created_at)).scalars().all()
        assert stored == [AT, AT]


def test_observed_connections_go_through_core(db: Database) -> None:
    with _statements(db) as seen, db.engine.begin() as conn:
        assert _HEAD.execute(conn).first() == (0, GENESIS_HASH)
        _STUDY.execute(conn, {"code": "S-1", "created_at": AT})
    assert seen[-2:] == ["SELECT", "INSERT"]


def test_the_choice_is_made_once_per_transaction(db: Database) -> None:
    with db.engine.begin() as conn:
        _HEAD.execute(conn)  # unobserved: this transaction runs direct
        with _statements(db) as seen:
            _HEAD.execute(conn)
        assert seen == []
    with _statements(db) as seen, db.engine.begin() as conn:
        _HEAD.execute(conn)
        assert seen[-1] == "SELECT"


def test_outside_a_transaction_core_begins_one(db: Database) -> None:
    with db.engine.connect() as conn:
        assert not conn.in_transaction()
        assert _HEAD.execute(conn).first() == (0, GENESIS_HASH)
        assert conn.in_transaction()  # autobegun by Core (BEGIN IMMEDIATE on SQLite)
        conn.rollback()


def test_driver_errors_are_sqlalchemy_errors(db: Database) -> None:
    with pytest.raises(sa.exc.IntegrityError) as exc, db.engine.begin() as conn:
        _ENTRY.executemany(conn, [_entry(1), _entry(1)])
    # the driver's own error, kept as the cause (sqlite3 or psycopg)
    assert type(exc.value.orig).__name__ in {"IntegrityError", "UniqueViolation"}
    assert "audit_log" in str(exc.value)
    with pytest.raises(sa.exc.IntegrityError), db.engine.begin() as conn:
        _STUDY.execute(conn, {"code": None, "created_at": AT})
    with db.read() as conn:
        assert verify(conn).ok
        assert conn.execute(sa.select(sa.func.count()).select_from(audit_log)).scalar() == 0


def test_scalar_one_needs_exactly_one_row() -> None:
    assert DirectResult([(7,)], 1).scalar_one() == 7
    with pytest.raises(sa.exc.NoResultFound):
        DirectResult([], 0).scalar_one()
    with pytest.raises(sa.exc.MultipleResultsFound):
        DirectResult([(1,), (2,)], 2).scalar_one()
    assert DirectResult([], 0).first() is None


def test_statements_needing_core_go_through_core(db: Database) -> None:
    # An expanding IN parameter is rendered per call by Core: never run direct.
    in_list = Prepared(sa.select(study.c.code).where(study.c.code.in_(sa.bindparam("codes"))))
    with db.engine.begin() as conn:
        _STUDY.execute(conn, {"code": "A", "created_at": AT})
        _STUDY.execute(conn, {"code": "B", "created_at": AT})
        rows = in_list.execute(conn, {"codes": ["A", "C"]}).rows
    assert [tuple(r) for r in rows] == [("A",)]
