"""The audit ledger's chain, and `trialkit audit verify` catching each kind of tampering."""

from __future__ import annotations

import hashlib
import itertools
from datetime import datetime

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st
from typer import Typer
from typer.testing import CliRunner

from trialkit.cli import audit as audit_cli
from trialkit.errors import StorageError
from trialkit.store import Change, Database, append, canonical, entry_hash, head, verify
from trialkit.store.ledger import HEAD_KEY
from trialkit.store.tables import audit_log

AT = datetime(2025, 3, 10, 9, 30)


def _fill(db: Database, n: int = 5) -> None:
    for i in range(n):
        with db.write() as conn:
            append(
                conn,
                actor="dr.a",
                at=AT,
                changes=[Change("update", "form_instance", "7", f"VS/heart_rate#{i}", i, i + 1)],
            )


def _tamper(db: Database, *sql: str) -> None:
    with db.engine.begin() as conn:
        for statement in sql:
            conn.execute(sa.text(statement))


def _problem(db: Database) -> tuple[int, str]:
    with db.read() as conn:
        result = verify(conn)
    assert result.problem is not None
    return result.problem.seq, result.problem.kind


def test_an_untouched_chain_verifies(db: Database) -> None:
    _fill(db)
    with db.read() as conn:
        result = verify(conn)
        assert result.ok
        assert result.entries == 5
        assert head(conn) == (5, result.head_hash)
        rows = conn.execute(sa.select(audit_log).order_by(audit_log.c.seq)).mappings().all()
    assert rows[0]["prev_hash"] == "0" * 64
    assert all(r["prev_hash"] == p["hash"] for p, r in itertools.pairwise(rows))
    assert all(entry_hash(dict(r)) == r["hash"] for r in rows)
    assert rows[2]["old"] == "2"
    assert rows[2]["new"] == "3"


_text = st.text()  # any code point: quotes, backslashes, control characters, non-ASCII


@given(
    seq=st.integers(min_value=1, max_value=2**62),
    actor=_text,
    path=_text,
    old=st.none() | _text,
    new=st.none() | _text,
    reason=st.none() | _text,
)
def test_the_entry_hash_is_the_sha256_of_the_canonical_json_of_its_fields(
    seq: int, actor: str, path: str, old: str | None, new: str | None, reason: str | None
) -> None:
    fields = {
        "seq": seq,
        "at": "2025-03-10T09:30:00.000000",
        "actor": actor,
        "action": "change",
        "entity": "form_instance",
        "entity_id": "7",
        "path": path,
        "old": old,
        "new": new,
        "reason": reason,
        "protocol_version": "1.0",
        "prev_hash": "0" * 64,
        "hash": "not hashed",
    }
    hashed = {k: v for k, v in fields.items() if k != "hash"}
    expected = hashlib.sha256(canonical.dumps(hashed).encode("utf-8")).hexdigest()
    assert entry_hash(fields) == expected


def test_an_edited_entry_is_found(db: Database) -> None:
    _fill(db)
    _tamper(db, "UPDATE audit_log SET new = '99' WHERE seq = 3")
    assert _problem(db) == (3, "edited")


def test_an_edited_actor_is_found(db: Database) -> None:
    _fill(db)
    _tamper(db, "UPDATE audit_log SET actor = 'someone.else' WHERE seq = 1")
    assert _problem(db) == (1, "edited")


def test_a_deleted_entry_is_found(db: Database) -> None:
    _fill(db)
    _tamper(db, "DELETE FROM audit_log WHERE seq = 2")
    assert _problem(db) == (2, "deleted")


def test_a_deleted_and_renumbered_entry_is_found(db: Database) -> None:
    _fill(db)
    _tamper(
        db,
        "DELETE FROM audit_log WHERE seq = 2",
        "UPDATE audit_log SET seq = seq + 100 WHERE seq > 2",
        "UPDATE audit_log SET seq = seq - 101 WHERE seq > 100",
        "UPDATE audit_head SET seq = 4",
    )
    assert _problem(db) == (2, "deleted")


def test_deleting_the_newest_entry_is_found_by_the_head(db: Database) -> None:
    _fill(db)
    _tamper(db, "DELETE FROM audit_log WHERE seq = 5")
    assert _problem(db) == (5, "deleted")


def test_an_inserted_entry_is_found(db: Database) -> None:
    _fill(db)
    # Make room after entry 2 and put a well-formed entry there, chained to entry 2.
    with db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE audit_log SET seq = seq + 100 WHERE seq > 2"))
        conn.execute(sa.text("UPDATE audit_log SET seq = seq - 99 WHERE seq > 100"))
        prev = conn.execute(sa.text("SELECT hash FROM audit_log WHERE seq = 2")).scalar_one()
        row = {
            "seq": 3,
            "at": AT.isoformat(timespec="microseconds"),
            "actor": "intruder",
            "action": "update",
            "entity": "form_instance",
            "entity_id": "7",
            "path": "VS/heart_rate",
            "old": "1",
            "new": "2",
            "reason": None,
            "protocol_version": None,
            "prev_hash": prev,
        }
        row["hash"] = entry_hash(row)
        conn.execute(audit_log.insert(), [row])
    assert _problem(db) == (3, "inserted")


def test_an_entry_appended_behind_the_heads_back_is_found(db: Database) -> None:
    _fill(db)
    with db.engine.begin() as conn:
        prev = conn.execute(sa.text("SELECT hash FROM audit_log WHERE seq = 5")).scalar_one()
        row = {
            "seq": 6,
            "at": AT.isoformat(timespec="microseconds"),
            "actor": "intruder",
            "action": "update",
            "entity": "x",
            "entity_id": "1",
            "path": "p",
            "old": None,
            "new": "1",
            "reason": None,
            "protocol_version": None,
            "prev_hash": prev,
        }
        row["hash"] = entry_hash(row)
        conn.execute(audit_log.insert(), [row])
    assert _problem(db) == (6, "inserted")


def test_reordered_entries_are_found(db: Database) -> None:
    _fill(db)
    _tamper(
        db,
        "UPDATE audit_log SET seq = 100 WHERE seq = 2",
        "UPDATE audit_log SET seq = 2 WHERE seq = 3",
        "UPDATE audit_log SET seq = 3 WHERE seq = 100",
    )
    assert _problem(db) == (2, "reordered")


@pytest.mark.parametrize("tampered", [False, True])
def test_audit_verify_command(db: Database, tampered: bool) -> None:
    _fill(db)
    if tampered:
        _tamper(db, "UPDATE audit_log SET reason = 'typo' WHERE seq = 4")
    app = Typer()
    audit_cli.register(app)
    url = db.engine.url.render_as_string(hide_password=False)
    out = CliRunner().invoke(app, ["audit", "verify", "--url", url])
    if tampered:
        assert out.exit_code == 1
        assert "BROKEN at entry 4: edited" in out.output
    else:
        assert out.exit_code == 0, out.output
        assert "audit trail intact: 5 entries" in out.output


def test_concurrent_appends_keep_one_chain(db: Database) -> None:
    import threading

    errors: list[BaseException] = []

    def worker(name: str) -> None:
        try:
            other = Database.from_url(db.engine.url.render_as_string(hide_password=False))
            try:
                for i in range(5):
                    with other.write() as conn:
                        append(
                            conn,
                            actor=name,
                            at=AT,
                            changes=[Change("insert", "x", name, f"n{i}", None, i)] * 2,
                        )
            finally:
                other.dispose()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(f"w{k}",)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with db.read() as conn:
        result = verify(conn)
    assert result.ok
    assert result.entries == 20


def test_appends_in_one_transaction_chain_on_the_head_read_with_the_lock(db: Database) -> None:
    _fill(db, 2)
    with db.write() as conn:
        known = conn.info[HEAD_KEY]
        assert known == head(conn)
        for i in range(3):
            change = Change("update", "form_instance", "7", f"VS/temperature#{i}", None, str(i))
            append(conn, actor="dr.a", at=AT, changes=[change])
        assert conn.info[HEAD_KEY] == head(conn) == (5, conn.info[HEAD_KEY][1])
    with db.engine.connect() as conn:
        assert HEAD_KEY not in conn.info
    with db.read() as conn:
        assert verify(conn).ok


def test_a_head_moved_behind_the_writers_back_keeps_nothing(db: Database) -> None:
    _fill(db, 2)
    with db.read() as conn:
        before = head(conn)

    def stale_append() -> None:
        with db.write() as conn:
            conn.info[HEAD_KEY] = (1, before[1])  # stale, as if read before another append
            append(conn, actor="dr.a", at=AT, changes=[Change("update", "x", "1", "p", 1, 2)])

    with pytest.raises(StorageError, match="head moved from entry 1") as exc:
        stale_append()
    assert exc.value.code == "STORE.E022"
    with db.read() as conn:
        assert head(conn) == before
        assert verify(conn).ok
        assert conn.execute(sa.select(sa.func.count()).select_from(audit_log)).scalar_one() == 2
