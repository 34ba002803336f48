"""Pre-screening throughput: compiled SQL vs a hand-written DuckDB query vs the evaluator.

Runs as a plain script (``python benchmarks/bench_prescreen.py [--rows N] [--sample N]``).
Each variant runs in a child process of its own so that its peak memory (max RSS) is its own;
every child first builds the same synthetic table of N IBD candidates inside DuckDB, so the
"data only" child is the baseline the others are compared with. Figures: candidates per second,
peak RSS, and the compiled query's time as a ratio of the hand-written one (goal: <= 1.5).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

import duckdb

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from trialkit.criteria import compile_criteria, compile_sql  # noqa: E402
from trialkit.criteria.from_study import study_criteria  # noqa: E402
from trialkit.protocol import resolve_study  # noqa: E402

STUDY = "ibd-placental-exosomes"  # the shipped study
AS_OF = date(2025, 3, 1)

GENERATE = """
SELECT setseed(0.42);
CREATE TABLE candidates AS
SELECT
  'C' || i AS candidate_id,
  CASE WHEN r1 < 0.03 THEN NULL ELSE CAST(14 + floor(r2 * 70) AS BIGINT) END AS age,
  DATE '2025-03-01' AS screening_date,
  CASE WHEN r3 < 0.02 THEN NULL WHEN r3 < 0.40 THEN 'ulcerative_colitis'
       WHEN r3 < 0.90 THEN 'crohns_disease' ELSE 'ibd_unclassified' END AS ibd_type,
  CASE WHEN r4 < 0.03 THEN NULL
       ELSE DATE '2025-03-01' - CAST(floor(r5 * 3000) AS INTEGER) END AS ibd_diagnosis_date,
  CASE WHEN r6 < 0.05 THEN NULL ELSE r6 < 0.45 END AS mab_refractory,
  CASE WHEN r7 < 0.05 THEN NULL ELSE r7 < 0.20 END AS mab_intolerant,
  CASE WHEN r8 < 0.05 THEN NULL ELSE r8 < 0.10 END AS mab_contraindicated,
  CASE WHEN r9 < 0.10 THEN NULL ELSE CAST(round(150 + r10 * 450, 1) AS DECIMAL(18,6)) END AS cdai,
  CASE WHEN r11 < 0.10 THEN NULL ELSE CAST(floor(r12 * 20) AS BIGINT) END AS ses_cd,
  CASE WHEN r13 < 0.05 THEN NULL ELSE r13 < 0.30 END AS isolated_ileal_disease,
  CASE WHEN r14 < 0.05 THEN NULL ELSE r14 < 0.35 END AS immunomodulator_use,
  CASE WHEN r15 < 0.10 THEN NULL
       ELSE DATE '2025-03-01' - CAST(floor(r16 * 90) AS INTEGER) END AS last_immunomodulator_dose
FROM (
  SELECT i, random() r1, random() r2, random() r3, random() r4, random() r5, random() r6,
         random() r7, random() r8, random() r9, random() r10, random() r11, random() r12,
         random() r13, random() r14, random() r15, random() r16
  FROM range({rows}) t(i)
)
"""

# The same criteria as a person would write them for DuckDB, with the same outputs.
HAND_WRITTEN = """
WITH s AS (
  SELECT candidate_id, age, ibd_type, ibd_diagnosis_date, screening_date, mab_refractory,
         mab_intolerant, mab_contraindicated, cdai, ses_cd, isolated_ileal_disease,
         immunomodulator_use, last_immunomodulator_dose,
    ibd_type IN ('ulcerative_colitis', 'crohns_disease')
      AND datesub('month', ibd_diagnosis_date, screening_date) >= 6
      AND (mab_refractory OR mab_intolerant OR mab_contraindicated) AS i1,
    ibd_type <> 'crohns_disease' OR cdai > 450 OR ses_cd >= 8
      OR (isolated_ileal_disease AND ses_cd >= 6) AS i2,
    age BETWEEN 18 AND 75 AS i3,
    immunomodulator_use AND screening_date - last_immunomodulator_dose < 28 AS e1
  FROM candidates
)
SELECT candidate_id,
  CASE WHEN NOT i1 OR NOT i2 OR NOT i3 OR e1 THEN 'ineligible'
       WHEN i1 IS NULL OR i2 IS NULL OR i3 IS NULL OR e1 IS NULL THEN 'incomplete'
       ELSE 'eligible' END AS verdict,
  concat_ws(',', CASE WHEN NOT i1 THEN 'I1' END, CASE WHEN NOT i2 THEN 'I2' END,
                 CASE WHEN NOT i3 THEN 'I3' END, CASE WHEN e1 THEN 'E1' END) AS failed,
  concat_ws(',', CASE WHEN i1 IS NULL THEN 'I1' END, CASE WHEN i2 IS NULL THEN 'I2' END,
                 CASE WHEN i3 IS NULL THEN 'I3' END, CASE WHEN e1 IS NULL THEN 'E1' END) AS unknown,
  concat_ws(',',
    CASE WHEN age IS NULL AND i3 IS NULL THEN 'age' END,
    CASE WHEN cdai IS NULL AND i2 IS NULL THEN 'cdai' END,
    CASE WHEN ibd_diagnosis_date IS NULL AND i1 IS NULL THEN 'ibd_diagnosis_date' END,
    CASE WHEN ibd_type IS NULL AND (i1 IS NULL OR i2 IS NULL) THEN 'ibd_type' END,
    CASE WHEN immunomodulator_use IS NULL AND e1 IS NULL THEN 'immunomodulator_use' END,
    CASE WHEN isolated_ileal_disease IS NULL AND i2 IS NULL THEN 'isolated_ileal_disease' END,
    CASE WHEN last_immunomodulator_dose IS NULL AND e1 IS NULL
         THEN 'last_immunomodulator_dose' END,
    CASE WHEN mab_contraindicated IS NULL AND i1 IS NULL THEN 'mab_contraindicated' END,
    CASE WHEN mab_intolerant IS NULL AND i1 IS NULL THEN 'mab_intolerant' END,
    CASE WHEN mab_refractory IS NULL AND i1 IS NULL THEN 'mab_refractory' END,
    CASE WHEN screening_date IS NULL AND (i1 IS NULL OR e1 IS NULL) THEN 'screening_date' END,
    CASE WHEN ses_cd IS NULL AND i2 IS NULL THEN 'ses_cd' END) AS missing
FROM s
"""


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def compiled_query() -> str:
    study = study_criteria(resolve_study(STUDY))
    compiled = compile_criteria(study.criteria, study.items, study.ranges)
    return compile_sql(compiled, as_of=AS_OF)


def _connect(rows: int) -> duckdb.DuckDBPyConnection:
    conn = duckdb.connect()
    conn.execute("SET threads TO 2")
    conn.execute(GENERATE.format(rows=rows))
    return conn


def child(variant: str, rows: int, sample: int) -> dict[str, Any]:
    conn = _connect(rows)
    if variant == "data":
        return {"rows": 0, "seconds": 0.0, "peak_mb": _peak_mb()}
    if variant in ("compiled", "hand"):
        query = compiled_query() if variant == "compiled" else HAND_WRITTEN
        start = time.perf_counter()
        conn.execute(f"CREATE TEMP TABLE result AS {query}")
        seconds = time.perf_counter() - start
        return {"rows": rows, "seconds": seconds, "peak_mb": _peak_mb()}
    study = study_criteria(resolve_study(STUDY))
    compiled = compile_criteria(study.criteria, study.items, study.ranges)
    cursor = conn.execute(f"SELECT * FROM candidates LIMIT {sample}")
    names = [d[0] for d in cursor.description]
    records = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    start = time.perf_counter()
    for record in records:
        compiled.screen(record, AS_OF)
    seconds = time.perf_counter() - start
    return {"rows": len(records), "seconds": seconds, "peak_mb": _peak_mb()}


def run_child(variant: str, rows: int, sample: int) -> dict[str, Any]:
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--child",
            variant,
            "--rows",
            str(rows),
            "--sample",
            str(sample),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def agreement(rows: int, sample: int) -> tuple[int, int]:
    """(compiled vs hand-written differing rows, compiled vs evaluator differing rows)."""
    conn = _connect(rows)
    query = compiled_query()
    diff_hand = conn.execute(
        f"SELECT count(*) FROM (({query}) EXCEPT ALL ({HAND_WRITTEN}))"
    ).fetchone()
    study = study_criteria(resolve_study(STUDY))
    compiled = compile_criteria(study.criteria, study.items, study.ranges)
    cursor = conn.execute(f"SELECT * FROM candidates ORDER BY candidate_id LIMIT {sample}")
    names = [d[0] for d in cursor.description]
    ours = {}
    for row in cursor.fetchall():
        s = compiled.screen(dict(zip(names, row, strict=True)), AS_OF)
        ours[row[0]] = (
            s.outcome.value,
            ",".join(s.failed),
            ",".join(s.unknown),
            ",".join(s.missing),
        )
    sql_rows = conn.execute(
        f"SELECT * FROM ({query}) WHERE candidate_id IN (SELECT candidate_id FROM candidates "
        f"ORDER BY candidate_id LIMIT {sample})"
    ).fetchall()
    diff_eval = sum(1 for r in sql_rows if ours[r[0]] != tuple(r[1:]))
    assert diff_hand is not None
    return int(diff_hand[0]), diff_eval


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    small = os.environ.get("TRIALKIT_BENCH_SMALL") == "1"
    parser.add_argument("--rows", type=int, default=2_000 if small else 1_000_000)
    parser.add_argument(
        "--sample", type=int, default=200 if small else 20_000, help="evaluator sample size"
    )
    parser.add_argument(
        "--small", action="store_true", help="2,000 rows, a sample of 200 (the test suite's run)"
    )
    parser.add_argument("--child", choices=["data", "compiled", "hand", "evaluator"])
    args = parser.parse_args()
    if args.small:
        args.rows, args.sample = min(args.rows, 2_000), min(args.sample, 200)
    if args.child:
        print(json.dumps(child(args.child, args.rows, args.sample)))
        return
    print(
        f"IBD criteria, {args.rows:,} synthetic candidates, DuckDB {duckdb.__version__}, 2 threads"
    )
    hand_diff, eval_diff = agreement(min(args.rows, 200_000), min(args.sample, 5_000))
    print(
        f"check: compiled vs hand-written rows differing: {hand_diff}; "
        f"compiled vs evaluator (sample): {eval_diff}"
    )
    base = run_child("data", args.rows, args.sample)
    results = {v: run_child(v, args.rows, args.sample) for v in ("hand", "compiled", "evaluator")}
    print(f"{'variant':<22}{'candidates/s':>16}{'seconds':>10}{'peak RSS MB':>14}{'over data':>12}")
    print(f"{'data only (baseline)':<22}{'':>16}{'':>10}{base['peak_mb']:>14.0f}{0:>12.0f}")
    for name, label in (
        ("hand", "hand-written SQL"),
        ("compiled", "compiled SQL"),
        ("evaluator", f"evaluator loop ({args.sample:,})"),
    ):
        r = results[name]
        rate = r["rows"] / r["seconds"] if r["seconds"] else float("nan")
        extra = r["peak_mb"] - base["peak_mb"]
        print(f"{label:<22}{rate:>16,.0f}{r['seconds']:>10.3f}{r['peak_mb']:>14.0f}{extra:>12.0f}")
    ratio = results["compiled"]["seconds"] / results["hand"]["seconds"]
    per_eval = results["evaluator"]["seconds"] / results["evaluator"]["rows"]
    per_sql = results["compiled"]["seconds"] / results["compiled"]["rows"]
    print(f"compiled / hand-written time: {ratio:.2f}x (goal <= 1.5x)")
    print(f"evaluator / compiled time per candidate: {per_eval / per_sql:,.0f}x")


if __name__ == "__main__":
    main()
