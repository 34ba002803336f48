"""Saves are durable and never lost: a writer killed with SIGKILL loses no acknowledged save and
breaks no chain; two saves from one version: exactly one wins (SQLite and PostgreSQL)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import sqlalchemy as sa

import trialkit
from trialkit.errors import ConflictError
from trialkit.services import Context, read_form, register, save_form
from trialkit.store import Database, verify_all
from trialkit.store.tables import audit_log, participant

from .conftest import SCREEN_VALUES, UCM, VITALS_VALUES

# The writer: registers a participant and saves its screening form, then prints the code and
# the value saved; a line is printed only after the save's transaction has committed.
_WRITER = """
import sys
from datetime import datetime
from trialkit.services import Context, register, save_form
from trialkit.store import Database

db = Database.from_url(sys.argv[1])
ctx = Context.operator("writer", datetime(2025, 3, 3, 9, 0))
values = dict(__VALUES__)
i = 0
while True:
    i += 1
    code = register(db, ctx, "__STUDY__", "TEH").code
    weight = str(50 + i % 50)
    save_form(db, ctx, "__STUDY__", code, visit="SCR", form_id="SCREEN",
              values={**values, "weight": weight})
    print(code, weight, flush=True)
"""

ACKS = 6
DEADLINE = 120.0  # seconds: a loaded CI machine; a save takes milliseconds


def test_a_writer_killed_mid_stream_loses_no_acknowledged_save(
    db: Database, ctx: Context, tmp_path: Path
) -> None:
    url = db.engine.url.render_as_string(hide_password=False)
    script = tmp_path / "writer.py"
    script.write_text(
        _WRITER.replace("__VALUES__", repr(SCREEN_VALUES)).replace("__STUDY__", UCM),
        encoding="utf-8",
    )
    env = {**os.environ, "PYTHONPATH": str(Path(trialkit.__file__).parents[1])}
    proc = subprocess.Popen(
        [sys.executable, str(script), url], stdout=subprocess.PIPE, text=True, env=env
    )
    acked: list[tuple[str, str]] = []
    started = time.monotonic()
    try:
        assert proc.stdout is not None
        while len(acked) < ACKS and time.monotonic() - started < DEADLINE:
            line = proc.stdout.readline()
            if not line:
                break
            code, weight = line.split()
            acked.append((code, weight))
    finally:
        os.kill(proc.pid, signal.SIGKILL)  # mid-stream: it was saving the next one
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    assert len(acked) == ACKS, f"the writer acknowledged only {len(acked)} saves"
    with db.read() as conn:
        result = verify_all(conn)
        codes = set(conn.execute(sa.select(participant.c.code)).scalars())
    assert result.ok, (result.problem, [d.detail for d in result.differences[:5]])
    for code, weight in acked:
        assert code in codes
        rec = read_form(db, ctx, UCM, code, visit="SCR", form_id="SCREEN")
        assert str(rec.values()["weight"]) == weight


def _save(
    url: str,
    ctx: Context,
    code: str,
    heart_rate: str,
    start: int,
    barrier: threading.Barrier,
    outcomes: list[object],
    k: int,
) -> None:
    other = Database.from_url(url)
    try:
        barrier.wait()
        outcomes[k] = save_form(
            other,
            ctx,
            UCM,
            code,
            visit="SCR",
            form_id="VITALS",
            values={**VITALS_VALUES, "heart_rate": heart_rate},
            expected_version=start,
            reason=f"re-measured by nurse {k}",
        ).version
    except ConflictError as exc:
        outcomes[k] = exc
    finally:
        other.dispose()


ROUNDS = 3


def test_two_saves_from_one_version_exactly_one_wins(db: Database, ctx: Context) -> None:
    code = register(db, ctx, UCM, "TEH").code
    save_form(db, ctx, UCM, code, visit="SCR", form_id="VITALS", values=VITALS_VALUES)
    url = db.engine.url.render_as_string(hide_password=False)
    version = 1
    for r in range(ROUNDS):
        barrier = threading.Barrier(2)
        outcomes: list[object] = [None, None]
        threads = [
            threading.Thread(
                target=_save,
                args=(url, ctx, code, str(80 + 10 * r + k), version, barrier, outcomes, k),
            )
            for k in (0, 1)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        won = [o for o in outcomes if isinstance(o, int)]
        lost = [o for o in outcomes if isinstance(o, ConflictError)]
        assert won == [version + 1], outcomes
        assert len(lost) == 1
        assert lost[0].code.startswith("FORM.")
        assert "saved by someone else" in lost[0].message
        version += 1
        winner = outcomes.index(won[0])
        rec = read_form(db, ctx, UCM, code, visit="SCR", form_id="VITALS")
        assert rec.values()["heart_rate"] == 80 + 10 * r + winner
    with db.read() as conn:
        result = verify_all(conn)
        changes = conn.execute(
            sa.select(sa.func.count())
            .select_from(audit_log)
            .where(audit_log.c.path == "VS/heart_rate")
        ).scalar_one()
    assert result.ok
    assert changes == 1 + ROUNDS  # the first entry and one per winning save: no lost update
