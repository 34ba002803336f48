"""Form saves per second (validation + audit + version check) against bare inserts.

Runs on SQLite (a temporary file) and, when TRIALKIT_TEST_DATABASE_URL is set, on PostgreSQL
(in a private schema, dropped afterwards). Each save is its own transaction, as in use; the
baseline inserts the same form rows with bare SQLAlchemy Core, one transaction each, in the
same run. The two alternate in rounds of ROUND rows on the same database, so that both meet the
same machine load and the same WAL and checkpoint state; each rate is all its rows over all its
time (checkpoints included). Goal: saves at least half the bare insert rate (issue #21; it was
one third). Besides the wall-clock rates it prints the ratio of the client's CPU time
(``time.process_time``) per row, bare over save, measured in the same rounds: on a loaded
machine the wall-clock ratio moves with other work, the CPU one much less (it leaves out what
the database server and the disk spend).

    python benchmarks/bench_form_saves.py [N] [--small]

(``--small`` or ``TRIALKIT_BENCH_SMALL=1``: N = 20, for the test suite.)
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from trialkit.protocol import shipped_studies
from trialkit.services import (
    Context,
    Participant,
    add_site,
    consent,
    load_study,
    register,
    save_form,
)
from trialkit.store import Database, canonical, upgrade

STUDY = "psoriasis-ucmsc"
ROUND = 100  # rows per round; saves and bare inserts alternate round by round
T0 = datetime(2025, 3, 3, 9)


def vitals(i: int) -> dict[str, str]:
    return {
        "systolic_bp": str(110 + i % 40),
        "diastolic_bp": str(70 + i % 15),
        "heart_rate": str(60 + i % 30),
        "temperature": f"36.{i % 10}",
    }


def prepare(db: Database) -> tuple[Participant, sa.Table]:
    """The study loaded, one consented participant with VITALS entered at screening, and an
    empty table of the same columns as a form row for the bare inserts."""
    upgrade(db.engine)
    ctx = Context.operator("bench", T0)
    for name, text in shipped_studies():
        if STUDY in name:
            load_study(db, ctx, text)
    add_site(db, ctx, STUDY, "B", "Bench")
    p = register(db, ctx, STUDY, "B")
    consent(db, ctx, STUDY, p.code, on=date(2025, 3, 3), form_version="1", obtained_by="x")
    save_form(db, ctx, STUDY, p.code, visit="SCR", form_id="VITALS", values=vitals(0))
    bare = sa.Table(
        f"bare_{uuid.uuid4().hex[:8]}",
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("participant_id", sa.Integer),
        sa.Column("visit_key", sa.String(64)),
        sa.Column("form_id", sa.String(64)),
        sa.Column("data", sa.Text),
        sa.Column("version", sa.Integer),
        sa.Column("updated_at", sa.DateTime),
    )
    bare.create(db.engine)
    return p, bare


def bench(url: str, n: int) -> tuple[float, float, float]:
    db = Database.from_url(url)
    try:
        p, bare = prepare(db)
        rows = [
            {
                "participant_id": p.id,
                "visit_key": "SCR",
                "form_id": "VITALS",
                "data": canonical.dumps({"VS": vitals(i)}),
                "version": i,
                "updated_at": T0,
            }
            for i in range(n)
        ]
        save_time = insert_time = save_cpu = insert_cpu = 0.0
        for first in range(0, n, ROUND):
            last = min(first + ROUND, n)
            start, cpu = time.perf_counter(), time.process_time()
            for i in range(first + 1, last + 1):
                save_form(
                    db,
                    Context.operator("bench", T0 + timedelta(seconds=i)),
                    STUDY,
                    p.code,
                    visit="SCR",
                    form_id="VITALS",
                    values=vitals(i),
                    expected_version=i,
                    reason="benchmark re-entry",
                )
            save_time += time.perf_counter() - start
            save_cpu += time.process_time() - cpu
            start, cpu = time.perf_counter(), time.process_time()
            for row in rows[first:last]:
                with db.engine.begin() as conn:
                    conn.execute(bare.insert(), row)
            insert_time += time.perf_counter() - start
            insert_cpu += time.process_time() - cpu
        bare.drop(db.engine)
        return n / save_time, n / insert_time, insert_cpu / save_cpu
    finally:
        db.dispose()


def main() -> None:
    args = [a for a in sys.argv[1:] if a != "--small"]
    small = len(args) < len(sys.argv) - 1 or os.environ.get("TRIALKIT_BENCH_SMALL") == "1"
    n = int(args[0]) if args else 20 if small else 1000
    targets: list[tuple[str, str, str | None]] = []
    tmp = tempfile.TemporaryDirectory()
    targets.append(("sqlite", f"sqlite:///{Path(tmp.name) / 'bench.sqlite3'}", None))
    base = os.environ.get("TRIALKIT_TEST_DATABASE_URL")
    if base:
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        sep = "&" if "?" in base else "?"
        targets.append(("postgresql", f"{base}{sep}options=-csearch_path%3D{schema}", schema))
    print(f"form saves (validation + audit + version check) vs bare inserts, n={n}")
    print(
        f"{'database':<12}{'saves/s':>10}{'inserts/s':>12}{'ratio':>8}{'cpu ratio':>11}"
        "  goal >= 0.5"
    )
    for name, url, schema in targets:
        admin = sa.create_engine(base) if schema and base else None
        if admin is not None:
            with admin.begin() as conn:
                conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        try:
            saves, inserts, cpu_ratio = bench(url, n)
        finally:
            if admin is not None:
                with admin.begin() as conn:
                    conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
                admin.dispose()
        print(f"{name:<12}{saves:>10.0f}{inserts:>12.0f}{saves / inserts:>8.2f}{cpu_ratio:>11.2f}")
    if not base:
        print("postgresql: skipped (set TRIALKIT_TEST_DATABASE_URL to include it)")
    tmp.cleanup()


if __name__ == "__main__":
    main()
