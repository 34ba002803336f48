"""What a SQLite form save costs beyond a bare insert, part by part (issue #21 item 4).

``bench_form_saves.py`` measures the whole save against a bare insert. This script measures,
in the same process and alternating in rounds of ROUND rows on the same database, four ways of
writing the same VITALS re-entry, to show where the save's time goes and what a goal of "half
the bare rate" would need:

* ``bare``: the bare insert of ``bench_form_saves.py`` (one SQLAlchemy Core insert of the form
  row with its canonical JSON already built, one transaction);
* ``save``: ``trialkit.services.save_form``, as shipped;
* ``no audit``: the same save with the ledger's append replaced by the guarded update alone
  (no audit entries, no hash chain, no head move);
* ``no audit, no checks``: as ``no audit`` with the form's edit checks skipped as well.

The last two are **not saves**: they take from a save what it guarantees, and exist only here,
patched into this process, to measure what is left without them. Each rate is all its rows
over all its time; the ratios are bare over variant (wall clock, and client CPU time in the
same rounds).

    python benchmarks/bench_form_save_parts.py [N] [--small]

(``--small`` or ``TRIALKIT_BENCH_SMALL=1``: N = 20, for the test suite.) SQLite only: on
PostgreSQL the round trips decide, and ``bench_form_saves.py`` already meets the goal there.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import trialkit.services.forms as forms_module
import trialkit.services.records as records_module
from bench_form_saves import ROUND, STUDY, T0, prepare, vitals
from trialkit.services import Context, save_form
from trialkit.store import Change, Database, RowLead, canonical

VARIANTS = ("bare", "save", "no audit", "no audit, no checks")


def _update_only(
    conn: sa.Connection,
    *,
    actor: str,
    at: datetime,
    changes: Sequence[Change],
    lead: RowLead | None = None,
) -> int:
    """The ledger's append without the ledger: the guarded update alone (not a save)."""
    if lead is not None:
        lead.statement.execute(conn, lead.params)
    return 0


@contextmanager
def taken(audit: bool, checks: bool) -> Iterator[None]:
    """Patch this process's save to skip the audit and/or the checks, and put them back."""
    append, check = records_module.__dict__["append"], forms_module._checks
    if not audit:
        setattr(records_module, "append", _update_only)  # noqa: B010
    if not checks:
        setattr(forms_module, "_checks", lambda *args, **kwargs: [])  # noqa: B010
    try:
        yield
    finally:
        setattr(records_module, "append", append)  # noqa: B010
        setattr(forms_module, "_checks", check)  # noqa: B010


def bench(n: int) -> dict[str, tuple[float, float]]:
    """Rows per second and CPU seconds per row of each variant."""
    tmp = tempfile.TemporaryDirectory()
    db = Database.from_url(f"sqlite:///{Path(tmp.name) / 'parts.sqlite3'}")
    try:
        p, bare = prepare(db)
        version = 1  # the form row's version, moved by every variant but the bare one
        bare_i = 0

        def one_bare() -> None:
            nonlocal bare_i
            bare_i += 1
            row = {
                "participant_id": p.id,
                "visit_key": "SCR",
                "form_id": "VITALS",
                "data": canonical.dumps({"VS": vitals(bare_i)}),
                "version": bare_i,
                "updated_at": T0,
            }
            with db.engine.begin() as conn:
                conn.execute(bare.insert(), row)

        def one_save() -> None:
            nonlocal version
            save_form(
                db,
                Context.operator("bench", T0 + timedelta(seconds=version)),
                STUDY,
                p.code,
                visit="SCR",
                form_id="VITALS",
                values=vitals(version),
                expected_version=version,
                reason="benchmark re-entry",
            )
            version += 1

        plans: dict[str, tuple[Callable[[], None], bool, bool]] = {
            "bare": (one_bare, True, True),
            "save": (one_save, True, True),
            "no audit": (one_save, False, True),
            "no audit, no checks": (one_save, False, False),
        }
        wall = dict.fromkeys(VARIANTS, 0.0)
        cpu = dict.fromkeys(VARIANTS, 0.0)
        for _ in range(0, n, ROUND):
            for name in VARIANTS:
                work, audit, checks = plans[name]
                with taken(audit, checks):
                    start, started = time.perf_counter(), time.process_time()
                    for _ in range(min(ROUND, n)):
                        work()
                    wall[name] += time.perf_counter() - start
                    cpu[name] += time.process_time() - started
        rows = (n + ROUND - 1) // ROUND * min(ROUND, n)
        return {name: (rows / wall[name], cpu[name] / rows) for name in VARIANTS}
    finally:
        db.dispose()
        tmp.cleanup()


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    small = "--small" in args or os.environ.get("TRIALKIT_BENCH_SMALL") == "1"
    args = [a for a in args if a != "--small"]
    n = int(args[0]) if args else 20 if small else 2000
    figures = bench(n)
    bare_rate, bare_cpu = figures["bare"]
    print(f"a SQLite form save, part by part, against a bare insert (n={n} each, alternating)")
    print(f"{'variant':<22}{'rows/s':>9}{'µs/row':>9}{'cpu µs':>9}{'ratio':>8}{'cpu ratio':>11}")
    for name in VARIANTS:
        rate, per = figures[name]
        print(
            f"{name:<22}{rate:>9.0f}{1e6 / rate:>9.0f}{per * 1e6:>9.0f}"
            f"{rate / bare_rate:>8.2f}{bare_cpu / per:>11.2f}"
        )
    print("('no audit' and 'no audit, no checks' are not saves: measured only to show the parts)")


if __name__ == "__main__":
    main()
