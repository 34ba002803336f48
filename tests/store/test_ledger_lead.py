"""An append with the update of the row it records (``RowLead``): written together or not at all.

On PostgreSQL the row's update, the head's move and the entries are one statement (data-
modifying CTEs); elsewhere, or when something observes statements, three. Either way a guard
that fails writes nothing of the three, and raises what the separate statements raise.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
import sqlalchemy as sa

from trialkit.errors import StorageError
from trialkit.store import (
    Change,
    Database,
    Prepared,
    RowLead,
    RowNotWritten,
    append,
    canonical,
    head,
    verify,
)
from trialkit.store.ledger import HEAD_KEY
from trialkit.store.tables import audit_log

AT = datetime(2025, 3, 10, 9, 30)

_probe = sa.Table(
    "lead_probe",
    sa.MetaData(),
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
)
_UPDATE = (
    _probe.update()
    .where(_probe.c.id == sa.bindparam("rid"), _probe.c.version == sa.bindparam("expected"))
    .values(value=sa.bindparam("new_value"), version=sa.bindparam("new_version"))
)
_GUARDED = Prepared(_UPDATE)
_RETURNING = Prepared(_UPDATE.returning(_probe.c.id))


@pytest.fixture
def probe(db: Database) -> Iterator[Database]:
    _probe.create(db.engine)
    with db.engine.begin() as conn:
        conn.execute(_probe.insert(), {"id": 1, "value": "a", "version": 1})
    try:
        yield db
    finally:
        _probe.drop(db.engine)


def _lead(expected: int, value: str) -> RowLead:
    params = {"rid": 1, "expected": expected, "new_value": value, "new_version": expected + 1}
    return RowLead(_GUARDED, params, _RETURNING)


def _changes(old: str, new: str) -> list[Change]:
    return [
        Change("change", "lead_probe", "1", "value", old, new, "re-measured", "1.0"),
        Change("change", "lead_probe", "1", "note", None, None),
    ]


def _state(db: Database) -> tuple[tuple[Any, ...], tuple[int, str], int]:
    with db.read() as conn:
        row = tuple(conn.execute(sa.select(_probe.c.value, _probe.c.version)).one())
        entries = conn.execute(sa.select(sa.func.count()).select_from(audit_log)).scalar_one()
        return row, head(conn), int(entries)


def _statements() -> tuple[list[str], Any]:
    seen: list[str] = []

    def listen(_c: Any, _cur: Any, statement: str, *_a: Any) -> None:
        seen.append(statement.split(None, 1)[0])

    return seen, listen


@pytest.mark.parametrize("observed", [False, True], ids=["direct", "core"])
def test_the_row_and_its_entries_are_written_together(probe: Database, observed: bool) -> None:
    db = probe
    seen, listen = _statements()
    if observed:
        sa.event.listen(db.engine, "before_cursor_execute", listen)
    try:
        with db.write() as conn:
            seq = append(conn, actor="dr.a", at=AT, changes=_changes("a", "b"), lead=_lead(1, "b"))
            assert conn.info[HEAD_KEY][0] == seq == 2
    finally:
        if observed:
            sa.event.remove(db.engine, "before_cursor_execute", listen)
    row, (head_seq, _), entries = _state(db)
    assert row == ("b", 2)
    assert (head_seq, entries) == (2, 2)
    with db.read() as conn:
        assert verify(conn).ok
        stored = conn.execute(
            sa.select(
                audit_log.c.path, audit_log.c.old, audit_log.c.new, audit_log.c.reason
            ).order_by(audit_log.c.seq)
        ).all()
    assert [tuple(r) for r in stored] == [
        ("value", '"a"', '"b"', "re-measured"),
        ("note", None, None, None),
    ]
    if observed:  # through Core: the separate statements, whichever the database
        assert seen[-3:] == ["UPDATE", "UPDATE", "INSERT"]


def test_a_stale_row_version_writes_neither_the_row_nor_an_entry(probe: Database) -> None:
    db = probe
    before = _state(db)
    with pytest.raises(RowNotWritten), db.write() as conn:
        append(conn, actor="dr.a", at=AT, changes=_changes("a", "b"), lead=_lead(7, "b"))
    assert _state(db) == before


def test_a_stale_row_version_inside_the_transaction_keeps_nothing_of_it(probe: Database) -> None:
    # Caught inside the transaction (as a service may, to raise its own conflict), the failed
    # append has written nothing, so a following append chains on the unmoved head.
    db = probe
    with db.write() as conn:
        with pytest.raises(RowNotWritten):
            append(conn, actor="dr.a", at=AT, changes=_changes("a", "b"), lead=_lead(7, "b"))
        assert head(conn) == conn.info[HEAD_KEY] == (0, conn.info[HEAD_KEY][1])
        assert conn.execute(sa.select(sa.func.count()).select_from(audit_log)).scalar_one() == 0
        append(conn, actor="dr.a", at=AT, changes=_changes("a", "c"), lead=_lead(1, "c"))
    row, (head_seq, _), entries = _state(db)
    assert (row, head_seq, entries) == (("c", 2), 2, 2)
    with db.read() as conn:
        assert verify(conn).ok


def test_a_head_moved_behind_the_writers_back_keeps_nothing_with_a_row(probe: Database) -> None:
    db = probe
    with db.write() as conn:
        append(conn, actor="dr.a", at=AT, changes=[Change("insert", "x", "1", "p", None, 1)])
    before = _state(db)

    def stale_append() -> None:
        with db.write() as conn:
            # the write's lock and head read first (on PostgreSQL they wait for its first
            # statement), then a stale head, as if read before the other append
            conn.execute(sa.text("SELECT 1"))
            conn.info[HEAD_KEY] = (0, before[1][1])
            append(conn, actor="dr.a", at=AT, changes=_changes("a", "b"), lead=_lead(1, "b"))

    with pytest.raises(StorageError, match="head moved from entry 0") as exc:
        stale_append()
    assert exc.value.code == "STORE.E022"
    assert _state(db) == before
    with db.read() as conn:
        assert verify(conn).ok


def test_a_lead_without_changes_still_writes_its_row_once(probe: Database) -> None:
    db = probe
    with db.write() as conn:
        assert append(conn, actor="dr.a", at=AT, changes=[], lead=_lead(1, "b")) == 0
    assert _state(db)[0] == ("b", 2)
    with pytest.raises(RowNotWritten), db.write() as conn:
        append(conn, actor="dr.a", at=AT, changes=[], lead=_lead(1, "c"))
    assert _state(db)[0] == ("b", 2)


_NASTY = [
    'quote " and backslash \\ and slash /',
    "tab\tnew line\ncarriage\rbell\x07escape\x1b",
    "non-ASCII: Ünïcödé, فارسی ۱۲۳, 中文, emoji 🧪, line separator \u2028 end",
    '{"looks": "like JSON", "n": 1.50}',
    "\\u0041 is not A",
    "",
]


def test_entries_are_stored_exactly_as_given(db: Database) -> None:
    # On PostgreSQL the entries travel as one JSON document (json_populate_recordset): every
    # text comes back exactly, and every stored entry's hash verifies.
    changes = [
        Change("change", "x", "1", text, text, None if i % 2 else text, text or None, "2.1")
        for i, text in enumerate(_NASTY)
    ]
    with db.write() as conn:
        append(conn, actor=_NASTY[2], at=AT, changes=changes)
    with db.read() as conn:
        assert verify(conn).ok
        stored = conn.execute(
            sa.select(
                audit_log.c.actor,
                audit_log.c.path,
                audit_log.c.old,
                audit_log.c.new,
                audit_log.c.reason,
                audit_log.c.protocol_version,
            ).order_by(audit_log.c.seq)
        ).all()
    assert [tuple(r) for r in stored] == [
        (
            _NASTY[2],
            c.path,
            canonical.dumps(c.old),
            None if c.new is None else canonical.dumps(c.new),
            c.reason,
            c.protocol_version,
        )
        for c in changes
    ]
