"""The audit ledger's chain, and `trialkit audit verify` catching each kind of tampering."""

from __future__ import annotations

import hashlib
import itertools
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st
from typer import Typer
from typer.testing import CliRunner

from trialkit.cli import audit as audit_cli
from trialkit.errors import StorageError
from trialkit.store import (
    GENESIS_HASH,
    Change,
    Database,
    append,
    canonical,
    entry_hash,
    head,
    verify,
)
from trialkit.store.ledger import BATCH, HEAD_KEY, HeadAnchor, anchor_line, parse_anchors
from trialkit.store.tables import audit_log

AT = datetime(2025, 3, 10, 9, 30)


def _fill(db: Database, n: int = 5) -> None:
    for i in range(n):
        with db.write() as conn:
            append(
                conn,
                actor="dr.a",
                at=AT,
                changes=[Change("update", "test_entity", "7", f"VS/heart_rate#{i}", i, i + 1)],
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
        # read with the lock, which the first statement sends (on PostgreSQL it waits for it)
        current = head(conn)
        assert conn.info[HEAD_KEY] == current
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
            head(conn)  # the first statement: the lock is held and the head read
            conn.info[HEAD_KEY] = (1, before[1])  # stale, as if read before another append
            append(conn, actor="dr.a", at=AT, changes=[Change("update", "x", "1", "p", 1, 2)])

    with pytest.raises(StorageError, match="head moved from entry 1") as exc:
        stale_append()
    assert exc.value.code == "STORE.E022"
    with db.read() as conn:
        assert head(conn) == before
        assert verify(conn).ok
        assert conn.execute(sa.select(sa.func.count()).select_from(audit_log)).scalar_one() == 2


# -- anchors: the head kept outside the database ----------------------------------------------


def _rehash_from(db: Database, start: int) -> None:
    """What a superuser can do: recompute every hash from entry ``start`` on, and the head."""
    with db.engine.begin() as conn:
        rows = conn.execute(sa.select(audit_log).order_by(audit_log.c.seq)).mappings().all()
        prev = GENESIS_HASH
        for r in rows:
            row = dict(r)
            if row["seq"] >= start:
                row["prev_hash"] = prev
                row["hash"] = entry_hash(row)
                conn.execute(
                    audit_log.update()
                    .where(audit_log.c.seq == row["seq"])
                    .values(prev_hash=row["prev_hash"], hash=row["hash"])
                )
            prev = row["hash"]
        last = rows[-1]["seq"] if rows else 0
        conn.execute(sa.text("UPDATE audit_head SET seq = :s, hash = :h"), {"s": last, "h": prev})


def _anchor(db: Database) -> HeadAnchor:
    with db.read() as conn:
        seq, hash_ = head(conn)
    return HeadAnchor(seq, hash_, "2025-03-10T09:30:00Z")


def _anchored(db: Database, *anchors: HeadAnchor) -> list[tuple[int, str]]:
    with db.read() as conn:
        result = verify(conn, anchors=anchors)
    return [(p.seq, p.kind) for p in result.anchor_problems]


def test_a_rewritten_and_rehashed_trail_verifies_but_breaks_its_anchor(db: Database) -> None:
    _fill(db)
    anchor = _anchor(db)
    _fill(db, 2)
    assert _anchored(db, anchor) == []
    _tamper(db, "UPDATE audit_log SET new = '99' WHERE seq = 3")
    _rehash_from(db, 3)
    with db.read() as conn:
        assert verify(conn).problem is None  # the documented limit of the chain alone
        result = verify(conn, anchors=[anchor])
    assert not result.ok
    assert [(p.seq, p.kind) for p in result.anchor_problems] == [(5, "rewritten")]
    assert "the trail up to entry 5 was rewritten" in result.anchor_problems[0].detail


def test_a_rewrite_after_the_anchor_keeps_the_anchor(db: Database) -> None:
    _fill(db, 3)
    anchor = _anchor(db)
    _fill(db, 3)
    _tamper(db, "UPDATE audit_log SET new = '99' WHERE seq = 5")
    _rehash_from(db, 5)
    assert _anchored(db, anchor) == []  # what neither can prove: after the last anchor


def test_a_truncated_trail_with_a_moved_head_breaks_its_anchor(db: Database) -> None:
    _fill(db)
    early, late = HeadAnchor(0, GENESIS_HASH, "t0"), _anchor(db)
    with db.read() as conn:
        h3 = conn.execute(sa.text("SELECT hash FROM audit_log WHERE seq = 3")).scalar_one()
    _tamper(
        db, "DELETE FROM audit_log WHERE seq > 3", f"UPDATE audit_head SET seq = 3, hash = '{h3}'"
    )
    with db.read() as conn:
        assert verify(conn).problem is None
    assert _anchored(db, early, late) == [(5, "rewritten")]


def test_anchor_lines_read_back_and_a_bad_line_is_named() -> None:
    a = HeadAnchor(12, "ab" * 32, "2025-03-10T09:30:00Z")
    line = anchor_line(a)
    assert "\n" not in line
    assert parse_anchors(f"{line}\n\n# a comment\n{line}\n", "f") == [
        HeadAnchor(12, "ab" * 32, "2025-03-10T09:30:00Z", 1),
        HeadAnchor(12, "ab" * 32, "2025-03-10T09:30:00Z", 4),
    ]
    for bad in (
        "not json",
        '{"anchor": "other"}',
        line.replace('"seq":12', '"seq":"12"'),
        line.replace("ab" * 32, "zz" * 32),
    ):
        with pytest.raises(StorageError, match="anchor file f, line 2") as err:
            parse_anchors(f"{line}\n{bad}\n", "f")
        assert err.value.code == "STORE.E041"


def test_verify_streams_a_trail_longer_than_its_batch(db: Database) -> None:
    with db.write() as conn:
        changes = [Change("insert", "x", str(i), "p", None, i) for i in range(BATCH * 2 + 7)]
        append(conn, actor="bulk", at=AT, changes=changes)
    with db.read() as conn:
        result = verify(conn)
    assert result.ok
    assert result.entries == BATCH * 2 + 7
    _tamper(db, f"UPDATE audit_log SET new = '0' WHERE seq = {BATCH + 3}")
    assert _problem(db) == (BATCH + 3, "edited")


def _cli(db: Database, *args: str) -> Any:
    app = Typer()
    audit_cli.register(app)
    url = db.engine.url.render_as_string(hide_password=False)
    return CliRunner().invoke(app, ["audit", *args, "--url", url])


def test_audit_anchor_appends_and_verify_checks_the_anchors(db: Database, tmp_path: Path) -> None:
    anchors = tmp_path / "anchors.log"
    _fill(db, 2)
    first = _cli(db, "anchor", "--out", str(anchors))
    assert first.exit_code == 0, first.output
    _fill(db, 2)
    second = _cli(db, "anchor", "--out", str(anchors))
    assert second.exit_code == 0, second.output
    lines = anchors.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2
    assert [p.seq for p in parse_anchors("\n".join(lines), "x")] == [2, 4]
    assert lines[1] in second.output
    printed = _cli(db, "anchor")  # no --out: printed only
    assert printed.exit_code == 0
    assert '"seq":4' in printed.output
    ok = _cli(db, "verify", "--anchors", str(anchors))
    assert ok.exit_code == 0, ok.output
    assert "2 anchored head(s) on the chain" in ok.output
    _tamper(db, "UPDATE audit_log SET actor = 'x' WHERE seq = 1")
    _rehash_from(db, 1)
    assert _cli(db, "verify").exit_code == 0  # without anchors the rewrite is not seen
    broken = _cli(db, "verify", "--anchors", str(anchors))
    assert broken.exit_code == 1
    assert "anchor BROKEN at entry 2: rewritten" in broken.output
    assert "anchor BROKEN at entry 4: rewritten" in broken.output
    refused = _cli(db, "anchor", "--out", str(anchors))
    assert refused.exit_code == 1
    assert "Nothing was anchored" in refused.output
    assert anchors.read_text(encoding="utf-8").splitlines() == lines  # never rewritten


def test_a_malformed_anchor_file_is_refused_with_its_line(db: Database, tmp_path: Path) -> None:
    bad = tmp_path / "anchors.log"
    bad.write_text("garbage\n", encoding="utf-8")
    out = _cli(db, "verify", "--anchors", str(bad))
    assert out.exit_code != 0
    assert isinstance(out.exception, StorageError)
    assert out.exception.code == "STORE.E041"
    missing = _cli(db, "verify", "--anchors", str(tmp_path / "nope.log"))
    assert isinstance(missing.exception, StorageError)
    assert missing.exception.code == "STORE.E042"


def test_a_reorder_deep_in_a_long_trail_is_found_while_streaming(db: Database) -> None:
    with db.write() as conn:
        changes = [Change("insert", "x", str(i), "p", None, i) for i in range(BATCH + 50)]
        append(conn, actor="bulk", at=AT, changes=changes)
    a, b = BATCH + 10, BATCH + 11
    _tamper(
        db,
        f"UPDATE audit_log SET seq = 0 WHERE seq = {a}",
        f"UPDATE audit_log SET seq = {a} WHERE seq = {b}",
        f"UPDATE audit_log SET seq = {b} WHERE seq = 0",
    )
    assert _problem(db) == (a, "reordered")
