"""The same candidates on every engine: built in DuckDB, written to Parquet and PostgreSQL.

DuckDB holds the typed table; Spark reads it back from the Parquet file DuckDB writes, and
PostgreSQL gets the same rows, so the engines screen exactly the same values.
"""

from __future__ import annotations

import io
import random
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb

from trialkit.criteria import StudyCriteria, compile_criteria
from trialkit.criteria.engines import TableSource, prescreen_table
from trialkit.criteria.mapping import ColumnMapping

from .test_sql import AS_OF, _param, columns_sql, expected, random_candidates

__all__ = ["AS_OF", "Table", "evaluator_rows", "make_table", "screen", "verdict_rows"]


class Table:
    """Random candidates of ``study`` in a DuckDB database file and a Parquet file."""

    def __init__(
        self,
        study: StudyCriteria,
        limits: Mapping[str, bool],
        rows: list[dict[str, Any]],
        database: Path,
        parquet: Path,
    ) -> None:
        self.study, self.limits, self.rows = study, limits, rows
        self.database, self.parquet = database, parquet
        self.names = ["candidate_id", *study.items, *limits]

    def load_postgresql(self, url: str, table: str = "candidates") -> None:
        import psycopg

        dsn = url.replace("postgresql+psycopg://", "postgresql://", 1)
        with psycopg.connect(dsn) as conn:
            conn.execute(f"DROP TABLE IF EXISTS {table}")  # type: ignore[arg-type]
            cols = ", ".join(columns_sql(self.study, "postgresql", self.limits))
            conn.execute(f"CREATE TABLE {table} ({cols})")  # type: ignore[arg-type]
            marks = ", ".join("%s" for _ in self.names)
            with conn.cursor() as cur:
                cur.executemany(
                    f"INSERT INTO {table} VALUES ({marks})",  # type: ignore[arg-type]
                    [[_param(r.get(n)) for n in self.names] for r in self.rows],
                )


def make_table(
    study: StudyCriteria, limits: Mapping[str, bool], seed: int, n: int, folder: Path
) -> Table:
    rows = random_candidates(study, random.Random(seed), n, limits)
    folder.mkdir(parents=True, exist_ok=True)
    database, parquet = folder / "candidates.duckdb", folder / "candidates.parquet"
    table = Table(study, limits, rows, database, parquet)
    conn = duckdb.connect(str(database))
    try:
        conn.execute(f"CREATE TABLE candidates ({', '.join(columns_sql(study, 'duckdb', limits))})")
        marks = ", ".join("?" for _ in table.names)
        conn.executemany(
            f"INSERT INTO candidates VALUES ({marks})",
            [[_param(r.get(n)) for n in table.names] for r in rows],
        )
        conn.execute(f"COPY candidates TO '{parquet}' (FORMAT parquet)")
    finally:
        conn.close()
    return table


def screen(
    study: StudyCriteria,
    source: TableSource,
    mapping: ColumnMapping | None = None,
    **options: Any,
) -> list[tuple[str, ...]]:
    """The verdict rows prescreen_table writes for ``source``, sorted by candidate."""
    compiled = compile_criteria(study.criteria, study.items, study.ranges)
    out = io.StringIO()
    prescreen_table(compiled, source, out, mapping=mapping, as_of=AS_OF, **options)
    return verdict_rows(out.getvalue())


def verdict_rows(text: str) -> list[tuple[str, ...]]:
    lines = text.strip().splitlines()
    assert lines[0].split(",")[1:] == ["verdict", "failed", "unknown", "missing", "problems"]
    return sorted(tuple(line.split(",")) for line in lines[1:])


def evaluator_rows(
    study: StudyCriteria, rows: Sequence[Mapping[str, Any]]
) -> list[tuple[str, ...]]:
    """The one-candidate evaluator's verdicts, in the CSV's form."""
    compiled = compile_criteria(study.criteria, study.items, study.ranges)
    return sorted(
        (
            cid,
            verdict,
            failed.replace(",", ";"),
            unknown.replace(",", ";"),
            missing.replace(",", ";"),
            "",
        )
        for cid, verdict, failed, unknown, missing in expected(compiled, rows)
    )
