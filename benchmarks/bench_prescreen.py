"""Pre-screening at scale: the compiled query vs a hand-written one, on DuckDB and PostgreSQL.

Runs as a plain script::

    python benchmarks/bench_prescreen.py [--rows 100000000] [--small-rows 10000000]
        [--pg-rows 10000000] [--pg-small-rows 1000000] [--sample 20000] [--dir /tmp]

DuckDB: synthetic IBD candidates are written to a Parquet file by DuckDB itself (in a temporary
folder, removed at the end), at two sizes. Each variant then runs in a child process of its
own, so that its peak memory (max RSS) is its own, and streams the file: the compiled query
(``compile_sql``) and a hand-written DuckDB query with the same outputs, each reading
``read_parquet`` through a view and summed into a checksum of every output column (so that
nothing is pruned and nothing is held), beside a scan of the same columns alone; and
``prescreen_file``, trialkit's own path, which checks every cell and writes the verdict CSV
(to /dev/null). PostgreSQL (when ``TRIALKIT_TEST_DATABASE_URL`` is set): the same candidates
generated in an unlogged table at two sizes, the compiled PostgreSQL query and a hand-written
one each in a fresh connection (its backend's peak RSS read from /proc), and
``prescreen_table``, which pulls the verdicts through a server-side cursor.

Figures: candidates per second, peak RSS, the compiled query's time as a ratio of the
hand-written one in the same run (goals: <= 1.0x on DuckDB, <= 1.2x on PostgreSQL), and the
checksums, which must be equal.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import duckdb

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from trialkit.criteria import compile_criteria  # noqa: E402
from trialkit.criteria.dialects import engine_sql  # noqa: E402
from trialkit.criteria.from_study import study_criteria  # noqa: E402
from trialkit.protocol import resolve_study  # noqa: E402

STUDY = "ibd-placental-exosomes"  # the shipped study
AS_OF = date(2025, 3, 1)
PG_ENV = "TRIALKIT_TEST_DATABASE_URL"
PG_SCHEMA = "bench_prescreen"

# The synthetic candidates (3-10 % of each item missing), as a SELECT of {rows} rows.
GENERATE = """
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
  CASE WHEN r9 < 0.10 THEN NULL
       ELSE CAST(round(CAST(150 + r10 * 450 AS NUMERIC), 1) AS {decimal}) END AS cdai,
  CASE WHEN r11 < 0.10 THEN NULL ELSE CAST(floor(r12 * 20) AS BIGINT) END AS ses_cd,
  CASE WHEN r13 < 0.05 THEN NULL ELSE r13 < 0.30 END AS isolated_ileal_disease,
  CASE WHEN r14 < 0.05 THEN NULL ELSE r14 < 0.35 END AS immunomodulator_use,
  CASE WHEN r15 < 0.10 THEN NULL
       ELSE DATE '2025-03-01' - CAST(floor(r16 * 90) AS INTEGER) END AS last_immunomodulator_dose
FROM (
  SELECT i, random() r1, random() r2, random() r3, random() r4, random() r5, random() r6,
         random() r7, random() r8, random() r9, random() r10, random() r11, random() r12,
         random() r13, random() r14, random() r15, random() r16
  FROM {series}
) t
"""

# The same criteria as a person would write them, with the same outputs. {months} is the
# engine's way of counting the completed months from the diagnosis to the screening date.
HAND_WRITTEN = """
WITH s AS (
  SELECT candidate_id, age, ibd_type, ibd_diagnosis_date, screening_date, mab_refractory,
         mab_intolerant, mab_contraindicated, cdai, ses_cd, isolated_ileal_disease,
         immunomodulator_use, last_immunomodulator_dose,
    ibd_type IN ('ulcerative_colitis', 'crohns_disease')
      AND {months} >= 6
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
MONTHS = {
    "duckdb": "datesub('month', ibd_diagnosis_date, screening_date)",
    "postgresql": "(EXTRACT(YEAR FROM age(screening_date, ibd_diagnosis_date)) * 12 + "
    "EXTRACT(MONTH FROM age(screening_date, ibd_diagnosis_date)))",
}
# A checksum of every output column: the engine computes all of them and keeps none.
CHECKSUM = {
    "duckdb": "SELECT count(*), sum(hash(candidate_id, verdict, failed, unknown, missing)) "
    "FROM ({query}) q",
    "postgresql": "SELECT count(*), sum(hashtext(candidate_id || verdict || failed || unknown "
    "|| missing)) FROM ({query}) q",
}
SCAN_COLUMNS = (
    "candidate_id, age, screening_date, ibd_type, ibd_diagnosis_date, mab_refractory, "
    "mab_intolerant, mab_contraindicated, cdai, ses_cd, isolated_ileal_disease, "
    "immunomodulator_use, last_immunomodulator_dose"
)


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _compiled() -> Any:
    study = study_criteria(resolve_study(STUDY))
    return compile_criteria(study.criteria, study.items, study.ranges)


def query(variant: str, engine: str, table: str = "candidates") -> str:
    if variant == "compiled":  # the query `trialkit prescreen --engine ENGINE` sends
        return engine_sql(_compiled(), engine, table=table, as_of=AS_OF)  # type: ignore[arg-type]
    return HAND_WRITTEN.format(months=MONTHS[engine]).replace("FROM candidates", f"FROM {table}")


def generate_parquet(rows: int, path: Path) -> float:
    conn = duckdb.connect()
    conn.execute("SET threads TO 2")
    conn.execute("SET preserve_insertion_order = false")
    start = time.perf_counter()
    select = GENERATE.format(rows=rows, decimal="DECIMAL(18,6)", series=f"range({rows}) r(i)")
    conn.execute(f"COPY ({select}) TO '{path}' (FORMAT parquet)")
    conn.close()
    return time.perf_counter() - start


# --- children: one variant each, so that the peak RSS is its own ---------------------------


def child_duckdb(variant: str, path: str) -> dict[str, Any]:
    if variant == "prescreen":
        from trialkit.criteria.prescreen import prescreen_file

        start = time.perf_counter()
        with open(os.devnull, "w", encoding="utf-8") as sink:
            summary = prescreen_file(_compiled(), path, sink, as_of=AS_OF)
        seconds = time.perf_counter() - start
        check = ",".join(f"{k}={v}" for k, v in sorted(summary.counts.items()))
        return {"rows": summary.total, "seconds": seconds, "peak_mb": _peak_mb(), "check": check}
    conn = duckdb.connect()
    conn.execute("SET threads TO 2")
    conn.execute(f"CREATE VIEW candidates AS SELECT * FROM read_parquet('{path}')")
    if variant == "scan":
        sql = f"SELECT count(*), sum(hash({SCAN_COLUMNS})) FROM candidates"
    else:
        sql = CHECKSUM["duckdb"].format(query=query(variant, "duckdb"))
    start = time.perf_counter()
    row = conn.execute(sql).fetchone()
    seconds = time.perf_counter() - start
    assert row is not None
    return {"rows": int(row[0]), "seconds": seconds, "peak_mb": _peak_mb(), "check": str(row[1])}


def _backend_peak_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:  # the server runs elsewhere, or as a user whose /proc we cannot read
        pass
    return float("nan")


def child_postgresql(variant: str, table: str, url: str) -> dict[str, Any]:
    import psycopg

    dsn = url.replace("postgresql+psycopg://", "postgresql://", 1)
    if variant == "prescreen":
        from trialkit.criteria.engines import TableSource, prescreen_table

        start = time.perf_counter()
        with open(os.devnull, "w", encoding="utf-8") as sink:
            summary = prescreen_table(
                _compiled(), TableSource("postgresql", table, dsn), sink, as_of=AS_OF
            )
        seconds = time.perf_counter() - start
        check = ",".join(f"{k}={v}" for k, v in sorted(summary.counts.items()))
        return {"rows": summary.total, "seconds": seconds, "peak_mb": _peak_mb(), "check": check}
    with psycopg.connect(dsn) as conn:
        pid = conn.info.backend_pid
        conn.execute("SET max_parallel_workers_per_gather = 0")
        conn.execute("SET work_mem = '4MB'")
        sql = CHECKSUM["postgresql"].format(query=query(variant, "postgresql", table))
        start = time.perf_counter()
        row = conn.execute(sql).fetchone()  # type: ignore[call-overload]
        seconds = time.perf_counter() - start
        server = _backend_peak_mb(pid)
    assert row is not None
    return {
        "rows": int(row[0]),
        "seconds": seconds,
        "peak_mb": _peak_mb(),
        "server_mb": server,
        "check": str(row[1]),
    }


def run_child(*args: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", *args], capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        raise SystemExit(f"child {args} failed:\n{out.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


# --- agreement -------------------------------------------------------------------------------


def agreement(rows: int, sample: int) -> tuple[int, int]:
    """(compiled vs hand-written differing rows, compiled vs evaluator differing rows)."""
    conn = duckdb.connect()
    conn.execute("SET threads TO 2")
    select = GENERATE.format(rows=rows, decimal="DECIMAL(18,6)", series=f"range({rows}) r(i)")
    conn.execute(f"CREATE TABLE candidates AS {select}")
    compiled_sql, hand = query("compiled", "duckdb"), query("hand", "duckdb")
    diff_hand = conn.execute(f"SELECT count(*) FROM (({compiled_sql}) EXCEPT ALL ({hand}))")
    differing = diff_hand.fetchone()
    compiled = _compiled()
    cursor = conn.execute(f"SELECT * FROM candidates ORDER BY candidate_id LIMIT {sample}")
    names = [d[0] for d in cursor.description]
    ours = {}
    for row in cursor.fetchall():
        s = compiled.screen(dict(zip(names, row, strict=True)), AS_OF)
        ours[row[0]] = (s.outcome.value, ",".join(s.failed), ",".join(s.unknown))
        ours[row[0]] += (",".join(s.missing),)
    sql_rows = conn.execute(
        f"SELECT * FROM ({compiled_sql}) WHERE candidate_id IN (SELECT candidate_id FROM "
        f"candidates ORDER BY candidate_id LIMIT {sample})"
    ).fetchall()
    diff_eval = sum(1 for r in sql_rows if ours[r[0]] != tuple(r[1:]))
    conn.close()
    assert differing is not None
    return int(differing[0]), diff_eval


# --- the runs --------------------------------------------------------------------------------


def _line(label: str, r: dict[str, Any], server: bool = False) -> str:
    rate = r["rows"] / r["seconds"] if r["seconds"] else float("nan")
    text = f"  {label:<34}{rate:>14,.0f}{r['seconds']:>10.2f}{r['peak_mb']:>12.0f}"
    if server:
        text += f"{r.get('server_mb', float('nan')):>12.0f}"
    return text


def _rounds(engine: str, variants: tuple[str, ...], repeat: int, *args: str) -> dict[str, Any]:
    """Each variant ``repeat`` times, alternating; the best time and the highest peak."""
    best: dict[str, dict[str, Any]] = {}
    for _ in range(repeat):
        for variant in variants:
            r = run_child(engine, variant, *args)
            if variant not in best:
                best[variant] = r
                continue
            kept = best[variant]
            peaks = {k: max(kept.get(k, 0), r.get(k, 0)) for k in ("peak_mb", "server_mb")}
            if r["seconds"] < kept["seconds"]:
                kept = best[variant] = r
            kept.update({k: v for k, v in peaks.items() if k in r})
    return best


def bench_duckdb(sizes: list[int], product: list[int], repeat: int, folder: Path) -> None:
    print(
        f"\nDuckDB {duckdb.__version__}, 2 threads, Parquet input streamed from disk; the hand-"
        f"written and compiled queries alternate, best of {repeat}"
    )
    for rows in sorted({*sizes, *product}):
        path = folder / f"candidates_{rows}.parquet"
        made = generate_parquet(rows, path)
        size_mb = path.stat().st_size / 1e6
        print(f"{rows:,} candidates ({size_mb:,.0f} MB of Parquet, written in {made:.1f} s)")
        print(f"  {'variant':<34}{'candidates/s':>14}{'seconds':>10}{'peak RSS MB':>12}")
        results: dict[str, Any] = {}
        if rows in sizes:
            results = _rounds("duckdb", ("hand", "compiled"), repeat, str(path))
            results["scan"] = run_child("duckdb", "scan", str(path))
            print(_line("scan of the columns (baseline)", results["scan"]))
            print(_line("hand-written SQL", results["hand"]))
            print(_line("compiled SQL", results["compiled"]))
        if rows in product:
            results["prescreen"] = run_child("duckdb", "prescreen", str(path))
            print(_line("prescreen_file (checks + CSV out)", results["prescreen"]))
        if rows in sizes:
            ratio = results["compiled"]["seconds"] / results["hand"]["seconds"]
            same = results["compiled"]["check"] == results["hand"]["check"]
            print(f"  compiled / hand-written: {ratio:.2f}x (goal <= 1.0x); same checksum: {same}")
        if rows in product:
            print(f"  prescreen_file verdicts: {results['prescreen']['check']}")
        path.unlink()


def bench_postgresql(sizes: list[int], product: list[int], repeat: int, url: str) -> None:
    import psycopg

    dsn = url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(dsn, autocommit=True) as conn:
        version = conn.execute("SHOW server_version").fetchone()
        conn.execute(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE")  # type: ignore[arg-type]
        conn.execute(f"CREATE SCHEMA {PG_SCHEMA}")  # type: ignore[arg-type]
    assert version is not None
    print(
        f"\nPostgreSQL {version[0]}, one backend (no parallel workers), work_mem 4MB, "
        f"unlogged table; the hand-written and compiled queries alternate, best of {repeat}"
    )
    try:
        for rows in sorted({*sizes, *product}):
            table = f"{PG_SCHEMA}.candidates_{rows}"
            select = GENERATE.format(
                rows=rows, decimal="NUMERIC", series=f"generate_series(1, {rows}) r(i)"
            )
            start = time.perf_counter()
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute(f"CREATE UNLOGGED TABLE {table} AS {select}")  # type: ignore[arg-type]
                conn.execute(f"VACUUM ANALYZE {table}")  # type: ignore[arg-type]
                size = conn.execute(f"SELECT pg_total_relation_size('{table}')").fetchone()  # type: ignore[call-overload]
            made = time.perf_counter() - start
            assert size is not None
            print(f"{rows:,} candidates ({size[0] / 1e6:,.0f} MB table, made in {made:.1f} s)")
            header = f"  {'variant':<34}{'candidates/s':>14}{'seconds':>10}{'client MB':>12}"
            print(header + f"{'server MB':>12}")
            results: dict[str, Any] = {}
            if rows in sizes:
                results = _rounds("postgresql", ("hand", "compiled"), repeat, table, url)
                print(_line("hand-written SQL", results["hand"], True))
                print(_line("compiled SQL", results["compiled"], True))
            if rows in product:
                results["prescreen"] = run_child("postgresql", "prescreen", table, url)
                print(_line("prescreen_table (cursor + CSV out)", results["prescreen"], True))
            if rows in sizes:
                ratio = results["compiled"]["seconds"] / results["hand"]["seconds"]
                same = results["compiled"]["check"] == results["hand"]["check"]
                print(
                    f"  compiled / hand-written: {ratio:.2f}x (goal <= 1.2x); same checksum: {same}"
                )
            if rows in product:
                print(f"  prescreen_table verdicts: {results['prescreen']['check']}")
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute(f"DROP TABLE {table}")  # type: ignore[arg-type]
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE")  # type: ignore[arg-type]


def evaluator_rate(sample: int) -> float:
    conn = duckdb.connect()
    select = GENERATE.format(rows=sample, decimal="DECIMAL(18,6)", series=f"range({sample}) r(i)")
    cursor = conn.execute(select)
    names = [d[0] for d in cursor.description]
    records = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    compiled = _compiled()
    start = time.perf_counter()
    for record in records:
        compiled.screen(record, AS_OF)
    return len(records) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    small = os.environ.get("TRIALKIT_BENCH_SMALL") == "1"
    parser.add_argument("--rows", type=int, default=100_000_000, help="the large DuckDB size")
    parser.add_argument("--small-rows", type=int, default=10_000_000, help="the smaller one")
    parser.add_argument("--pg-rows", type=int, default=10_000_000)
    parser.add_argument("--pg-small-rows", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=20_000, help="evaluator sample size")
    parser.add_argument(
        "--product-rows",
        type=int,
        nargs=2,
        default=[1_000_000, 10_000_000],
        help="the two sizes at which trialkit's own path (checks, cursor, CSV) runs",
    )
    parser.add_argument("--repeat", type=int, default=2, help="rounds of hand-written/compiled")
    parser.add_argument("--no-duckdb", action="store_true")
    parser.add_argument("--dir", type=Path, default=None, help="where the Parquet files go")
    parser.add_argument("--no-postgresql", action="store_true")
    parser.add_argument(
        "--small", action="store_true", help="tiny sizes (the test suite's run, also on $PG_ENV)"
    )
    parser.add_argument("--child", nargs="+")
    args = parser.parse_args()
    if args.child:
        engine, *rest = args.child
        result = child_duckdb(*rest) if engine == "duckdb" else child_postgresql(*rest)
        print(json.dumps(result))
        return
    if args.small or small:
        args.rows, args.small_rows = 4_000, 2_000
        args.pg_rows, args.pg_small_rows, args.sample = 4_000, 2_000, 200
        args.product_rows, args.repeat = [2_000, 4_000], 1
    print(f"IBD criteria ({STUDY}), synthetic candidates; {os.cpu_count()} cores, shared machine")
    hand_diff, eval_diff = agreement(min(args.rows, 200_000), min(args.sample, 5_000))
    print(
        f"check: compiled vs hand-written rows differing: {hand_diff}; "
        f"compiled vs evaluator (sample): {eval_diff}"
    )
    print(f"evaluator loop ({args.sample:,} candidates): {evaluator_rate(args.sample):,.0f}/s")
    if not args.no_duckdb:
        folder = Path(tempfile.mkdtemp(prefix="trialkit-bench-prescreen-", dir=args.dir))
        try:
            free = shutil.disk_usage(folder).free / 1e9
            print(f"Parquet files in {folder} ({free:,.0f} GB free)")
            sizes = sorted({args.small_rows, args.rows})
            bench_duckdb(sizes, args.product_rows, args.repeat, folder)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    url = os.environ.get(PG_ENV)
    if url and not args.no_postgresql:
        sizes = sorted({args.pg_small_rows, args.pg_rows})
        bench_postgresql(sizes, args.product_rows, args.repeat, url)
    else:
        print(f"\nPostgreSQL: skipped ({PG_ENV} is not set)")


if __name__ == "__main__":
    main()
