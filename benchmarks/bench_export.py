"""Exports: 10,000 participants x 10 visits x 20 items as CSV and XPT, against the bare SQL read.

Builds a SQLite file with the IBD exosome study loaded and, per participant, ten visits of the
study's VITALS (4 items) and LABS (16 items) forms: 20 values a visit, 2,000,000 values in all.
The rows are inserted in bulk with SQLAlchemy Core (this benchmark times reading; the write
path has its own, bench_form_saves.py), in the stored shape the services write.

Then, each in a child process of its own (so each peak RSS is its own), in the same run:

* ``bare``: the baseline, one streamed ``SELECT`` of the same form rows and the JSON decoding of
  every value (the least any export must do to get the values out);
* ``csv``: ``trialkit.exports.export(..., "csv")`` (long, wide and the dictionary);
* ``xpt``: ``trialkit.exports.export(..., "xpt")`` (one SAS v5 file per form);
* ``idle``: imports and opens the database, reads nothing (the floor of the peaks).

It prints values per second, the rate as a share of the bare rate (goal: at least one half)
and the peak RSS over the idle child's. Goal: bounded memory (the CSV export holds one form
instance at a time; the XPT export holds one form's dataset).

    python benchmarks/bench_export.py [PARTICIPANTS] [--small] [--rounds N] [--db FILE]

``--small`` (or ``TRIALKIT_BENCH_SMALL=1``) uses 100 participants. ``--rounds N`` runs the
children N times, interleaved (bare, csv, xpt, bare, ...), each round's shares of its own bare
read printed. ``--db FILE`` keeps the built SQLite file there (built if it does not exist, and
then reused: the participant count is the file's).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from trialkit.protocol import shipped_studies
from trialkit.services import Context, add_site, load_study
from trialkit.store import Database, canonical, upgrade
from trialkit.store.tables import (
    form_instance,
    participant,
    protocol_version,
    site,
    study,
    visit_record,
)

STUDY = "ibd-placental-exosomes"
T0 = datetime(2025, 3, 3, 9)
VISITS = 10


def _entry(kind: str, value: str) -> dict[str, str]:
    return {"raw": value, "value": value, "type": kind, "pv": "1.0"}


def _forms(i: int, v: int) -> dict[str, dict[str, Any]]:
    k = i * 31 + v * 7
    vitals = {
        "VS": {
            "systolic_bp": _entry("integer", str(100 + k % 50)),
            "diastolic_bp": _entry("integer", str(60 + k % 30)),
            "heart_rate": _entry("integer", str(55 + k % 40)),
            "temperature": _entry("decimal", f"36.{k % 10}"),
        }
    }
    dec = lambda base, spread: _entry("decimal", f"{base + k % spread}.{k % 100:02d}")  # noqa: E731
    labs = {
        "INFLAM": {"crp": dec(1, 40), "fecal_calprotectin": dec(50, 900)},
        "SCFA": {"acetate": dec(20, 30), "propionate": dec(5, 10), "butyrate": dec(5, 10)},
        "BIOCHEM": {
            "hemoglobin": dec(11, 5),
            "hematocrit": dec(35, 10),
            "wbc": dec(4, 6),
            "neutrophils": dec(2, 5),
            "lymphocytes": dec(1, 3),
            "platelets": dec(150, 250),
            "alt": dec(10, 40),
            "ast": dec(10, 40),
            "alkaline_phosphatase": dec(40, 80),
            "total_bilirubin": dec(0, 2),
            "creatinine": dec(0, 2),
        },
    }
    return {"VITALS": vitals, "LABS": labs}


def build(url: str, participants: int) -> None:
    db = Database.from_url(url)
    upgrade(db.engine)
    ctx = Context.operator("bench", T0)
    load_study(db, ctx, dict(shipped_studies())[f"{STUDY}.yaml"], source=STUDY)
    add_site(db, ctx, STUDY, "TEH", "Tehran")
    with db.engine.begin() as conn:
        study_id = conn.execute(sa.select(study.c.id).where(study.c.code == STUDY)).scalar_one()
        pv = conn.execute(
            sa.select(protocol_version.c.id).where(protocol_version.c.study_id == study_id)
        ).scalar_one()
        site_id = conn.execute(sa.select(site.c.id).where(site.c.study_id == study_id)).scalar_one()
        for start in range(0, participants, 500):
            people = [
                {
                    "study_id": study_id,
                    "site_id": site_id,
                    "code": f"IBD-TEH-{i:05d}",
                    "status": "on_study",
                    "protocol_version_id": pv,
                    "arm": "EXO",
                    "eligibility": None,
                    "created_at": T0,
                    "version": 1,
                }
                for i in range(start, min(start + 500, participants))
            ]
            conn.execute(participant.insert(), people)
        ids = conn.execute(
            sa.select(participant.c.id, participant.c.code).order_by(participant.c.id)
        ).all()
        forms, visits = [], []
        for n, (pid, _) in enumerate(ids):
            for v in range(VISITS):
                key = f"V{v + 1:02d}"
                on = date(2025, 3, 3) + timedelta(days=14 * v + n % 7)
                visits.append(
                    {
                        "participant_id": pid,
                        "visit_key": key,
                        "visit_id": None,
                        "unscheduled_seq": None,
                        "status": "done",
                        "on_date": on,
                        "planned": "{}",
                        "reason": None,
                        "protocol_version_id": pv,
                        "recorded_at": T0,
                    }
                )
                for form_id, data in _forms(n, v).items():
                    forms.append(
                        {
                            "participant_id": pid,
                            "visit_key": key,
                            "form_id": form_id,
                            "instance_no": 1,
                            "protocol_version_id": pv,
                            "status": "entered",
                            "data": canonical.dumps(data),
                            "derived": "{}",
                            "version": 1,
                            "created_at": T0,
                            "updated_at": T0,
                        }
                    )
            if len(forms) >= 20_000:
                conn.execute(form_instance.insert(), forms)
                conn.execute(visit_record.insert(), visits)
                forms, visits = [], []
        if forms:
            conn.execute(form_instance.insert(), forms)
            conn.execute(visit_record.insert(), visits)
    db.dispose()


def _cpu() -> float:
    """The CPU seconds (user and system) this process has used, all threads."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def child(variant: str, url: str, out: str) -> dict[str, Any]:
    from trialkit.exports import export

    db = Database.from_url(url)
    ctx = Context.operator("bench", T0)
    values = 0
    started, cpu = time.perf_counter(), _cpu()
    if variant == "bare":
        with db.read() as conn:
            rows = conn.execution_options(stream_results=True, yield_per=500).execute(
                sa.select(
                    participant.c.code,
                    form_instance.c.visit_key,
                    form_instance.c.form_id,
                    form_instance.c.data,
                )
                .join(participant, participant.c.id == form_instance.c.participant_id)
                .order_by(participant.c.code, form_instance.c.visit_key, form_instance.c.form_id)
            )
            for r in rows:
                for group in canonical.loads(r.data).values():
                    for entry in group.values():
                        if entry.get("value") is not None:
                            values += 1
    elif variant in ("csv", "xpt"):
        values = export(db, ctx, STUDY, variant, Path(out) / variant).values
    seconds, cpu = time.perf_counter() - started, _cpu() - cpu
    db.dispose()
    return {
        "variant": variant,
        "values": values,
        "seconds": seconds,
        "cpu": cpu,
        "peak_mb": _peak_mb(),
    }


def _option(name: str) -> str | None:
    if name in sys.argv:
        return sys.argv[sys.argv.index(name) + 1]
    return None


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        print(json.dumps(child(sys.argv[2], sys.argv[3], sys.argv[4])))
        return
    small = "--small" in sys.argv or os.environ.get("TRIALKIT_BENCH_SMALL") == "1"
    rounds = int(_option("--rounds") or 1)
    kept = _option("--db")
    values = {sys.argv.index(o) + 1 for o in ("--rounds", "--db") if o in sys.argv}
    numbers = [a for n, a in enumerate(sys.argv) if n and n not in values and a.isdigit()]
    participants = 100 if small else int(numbers[0]) if numbers else 10_000
    with tempfile.TemporaryDirectory(prefix="trialkit-bench-export-") as tmp:
        path = Path(kept) if kept else Path(tmp) / "bench.sqlite3"
        url = f"sqlite:///{path}"
        if not path.exists():
            started = time.perf_counter()
            build(url, participants)
            print(
                f"built {participants} participants x {VISITS} visits x 20 items "
                f"in {time.perf_counter() - started:.1f} s"
            )
        for n in range(rounds):
            results = {}
            for variant in ("idle", "bare", "csv", "xpt"):
                done = subprocess.run(
                    [sys.executable, __file__, "--child", variant, url, tmp],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                results[variant] = json.loads(done.stdout.strip().splitlines()[-1])
            load = os.getloadavg()
            print(f"round {n + 1}, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
            _report(results)


def _report(results: dict[str, dict[str, Any]]) -> None:
    bare = results["bare"]
    idle = results["idle"]["peak_mb"]
    print(
        f"{'variant':<8} {'values':>10} {'seconds':>8} {'values/s':>10} {'x bare':>7} "
        f"{'cpu s':>7} {'x bare':>7} {'peak MB':>8} {'over idle':>9}"
    )
    for variant in ("bare", "csv", "xpt"):
        r = results[variant]
        rate = r["values"] / r["seconds"] if r["seconds"] else 0.0
        share = rate / (bare["values"] / bare["seconds"]) if bare["seconds"] else 0.0
        # the same share by CPU time (the child's, all its threads): on a loaded machine the
        # wall clock measures the other processes as much as this one
        cpu_share = bare["cpu"] / r["cpu"] * r["values"] / bare["values"] if r["cpu"] else 0.0
        print(
            f"{variant:<8} {r['values']:>10} {r['seconds']:>8.2f} {rate:>10.0f} {share:>7.2f} "
            f"{r['cpu']:>7.2f} {cpu_share:>7.2f} {r['peak_mb']:>8.0f} {r['peak_mb'] - idle:>9.0f}"
        )
    if results["csv"]["values"] != bare["values"] or results["xpt"]["values"] != bare["values"]:
        raise SystemExit("the exports did not read every value the bare read did")


if __name__ == "__main__":
    main()
