"""`audit verify` on a trail of about 50,000 entries: the chain, and the chain with the replay.

Builds the trail through the services (participants registered, consented, screening and vital
signs entered, the vital signs corrected twice), then times, in the same run: reading the log
alone (the baseline: one streamed ``SELECT`` of every entry), the chain walk
(``store.verify``) and the full proof (``store.verify_all``: chain plus the replay of every
audited table). The peak memory of the full proof is measured in a second run (tracemalloc).
SQLite (a temporary file) and, when TRIALKIT_TEST_DATABASE_URL is set, PostgreSQL (a private
schema, dropped afterwards).

    python benchmarks/bench_audit_verify.py [PARTICIPANTS] [--small]

``--small`` (or ``TRIALKIT_BENCH_SMALL=1``) builds a trail of 12 participants, for the test
that keeps every benchmark running.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import tracemalloc
import uuid
from datetime import date, datetime
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from trialkit.protocol import shipped_studies
from trialkit.services import Context, add_site, consent, load_study, register, save_form
from trialkit.store import Database, upgrade, verify, verify_all
from trialkit.store.ledger import stream

STUDY = "psoriasis-ucmsc"
T0 = datetime(2025, 3, 3, 9)
SCREEN = {"screening_date": "2025-03-03", "age": "44", "sex": "female", "weight": "70"}


def vitals(i: int) -> dict[str, str]:
    return {
        "systolic_bp": str(110 + i % 40),
        "diastolic_bp": str(70 + i % 15),
        "heart_rate": str(60 + i % 30),
        "temperature": f"36.{i % 10}",
    }


def build(db: Database, participants: int) -> None:
    upgrade(db.engine)
    ctx = Context.operator("bench", T0)
    for name, text in shipped_studies():
        loaded = load_study(db, ctx, text, source=name)
        add_site(db, ctx, loaded.study, "TEH", "Tehran")
    for i in range(participants):
        code = register(db, ctx, STUDY, "TEH").code
        consent(db, ctx, STUDY, code, on=date(2025, 3, 3), form_version="1.0", obtained_by="dr")
        save_form(db, ctx, STUDY, code, visit="SCR", form_id="SCREEN", values=SCREEN)
        save_form(db, ctx, STUDY, code, visit="SCR", form_id="VITALS", values=vitals(i))
        for v in (1, 2):
            save_form(
                db,
                ctx,
                STUDY,
                code,
                visit="SCR",
                form_id="VITALS",
                values=vitals(i + v * 7),
                expected_version=v,
                reason="corrected",
            )


def timed(db: Database, what: str) -> tuple[float, int]:
    start = time.perf_counter()
    with db.read() as conn:
        if what == "read":
            n = sum(1 for _ in stream(conn))
        elif what == "chain":
            result = verify(conn)
            assert result.ok, result.problem
            n = result.entries
        else:
            result = verify_all(conn)
            assert result.ok, (result.problem, result.differences[:3])
            n = result.entries
    return time.perf_counter() - start, n


def peak_mb(db: Database) -> float:
    tracemalloc.start()
    with db.read() as conn:
        verify_all(conn)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 1e6


def run(label: str, url: str, participants: int) -> None:
    db = Database.from_url(url)
    try:
        t = time.perf_counter()
        build(db, participants)
        built = time.perf_counter() - t
        base, n = timed(db, "read")
        chain, _ = timed(db, "chain")
        full, _ = timed(db, "full")
        mb = peak_mb(db)
    finally:
        db.dispose()
    print(f"{label}: {n} entries (built in {built:.0f} s)")
    print(f"  read the log (baseline)  {base:6.2f} s")
    print(f"  verify: chain            {chain:6.2f} s  ({chain / base:.1f}x the read)")
    print(f"  verify: chain + replay   {full:6.2f} s  ({full / base:.1f}x the read)")
    print(f"  peak memory of the full proof (tracemalloc): {mb:.1f} MB")


def main() -> None:
    small = "--small" in sys.argv or os.environ.get("TRIALKIT_BENCH_SMALL") == "1"
    sizes = [a for a in sys.argv[1:] if a != "--small"]
    participants = int(sizes[0]) if sizes else 12 if small else 1800
    with tempfile.TemporaryDirectory() as tmp:
        run("SQLite", f"sqlite:///{Path(tmp) / 'bench.sqlite3'}", participants)
    base = os.environ.get("TRIALKIT_TEST_DATABASE_URL")
    if not base:
        print("PostgreSQL: skipped (TRIALKIT_TEST_DATABASE_URL is not set)")
        return
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(base)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        sep = "&" if "?" in base else "?"
        run("PostgreSQL", f"{base}{sep}options=-csearch_path%3D{schema}", participants)
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


if __name__ == "__main__":
    main()
