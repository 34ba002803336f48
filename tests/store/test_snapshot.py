"""Reads see one snapshot: verification while someone saves never reports an intact trail as
broken, and no multi-statement read mixes two moments (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
import time
from datetime import datetime

import sqlalchemy as sa

from trialkit.store import Change, Database, append, verify, verify_all
from trialkit.store.tables import audit_head, audit_log

AT = datetime(2025, 3, 10, 9, 30)
ROUNDS = 40
SECONDS = 4.0


def _writer(url: str, stop: threading.Event, errors: list[BaseException], done: list[int]) -> None:
    other = Database.from_url(url)
    try:
        i = 0
        while not stop.is_set():
            with other.write() as conn:
                append(
                    conn,
                    actor="writer",
                    at=AT,
                    changes=[Change("update", "x", "1", f"n{i}", i, i + 1)] * 3,
                )
            i += 1
            done.append(i)
    except BaseException as exc:  # pragma: no cover - reported by the test
        errors.append(exc)
    finally:
        other.dispose()


def test_verify_while_saving_never_raises_a_false_alarm(db: Database) -> None:
    url = db.engine.url.render_as_string(hide_password=False)
    stop = threading.Event()
    errors: list[BaseException] = []
    done: list[int] = []
    writer = threading.Thread(target=_writer, args=(url, stop, errors, done))
    writer.start()
    alarms = []
    rounds = 0
    deadline = time.monotonic() + SECONDS
    try:
        while not done and time.monotonic() < deadline:
            time.sleep(0.01)
        while rounds < ROUNDS and time.monotonic() < deadline:
            with db.read() as conn:
                result = verify_all(conn) if rounds % 4 == 0 else verify(conn)
            if not result.ok:
                alarms.append((result.problem, result.differences[:1]))
            rounds += 1
    finally:
        stop.set()
        writer.join()
    assert errors == []
    assert len(done) > 1, "the writer made no saves during the rounds"
    assert rounds >= 5
    assert alarms == []


def test_a_read_sees_the_head_and_the_log_of_one_moment(db: Database) -> None:
    """Two statements of one read, a committed write between them: the second does not see it."""
    with db.write() as conn:
        append(conn, actor="a", at=AT, changes=[Change("insert", "x", "1", "p", None, 1)])
    with db.read() as conn:
        first = conn.execute(sa.select(audit_head.c.seq)).scalar_one()
        with db.write() as other:
            append(other, actor="b", at=AT, changes=[Change("update", "x", "1", "p", 1, 2)])
        count = conn.execute(sa.select(sa.func.count()).select_from(audit_log)).scalar_one()
        again = conn.execute(sa.select(audit_head.c.seq)).scalar_one()
        assert (first, count, again) == (1, 1, 1)
        assert verify(conn).ok
    with db.read() as conn:
        assert conn.execute(sa.select(audit_head.c.seq)).scalar_one() == 2
