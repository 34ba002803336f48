"""Pre-screening a CSV or Parquet file of candidates with DuckDB (an adapter around the core).

The file is loaded into a typed DuckDB table (every value checked against its item: a bad
number, date, yes/no or code stops the run with the offending value named), the compiled query
screens every row in one pass, and the verdicts are written as CSV in chunks so that a progress
callback can follow long runs.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, TextIO

import duckdb

from trialkit.criteria.screening import CompiledCriteria
from trialkit.criteria.spec import ItemSpec
from trialkit.criteria.sql import compile_sql, quote, sql_type
from trialkit.errors import NotFound, ValidationFailed

__all__ = ["PrescreenSummary", "load_candidates", "prescreen_file"]

_TRUE = ("true", "yes", "y", "1", "t")
_FALSE = ("false", "no", "n", "0", "f")
Progress = Callable[[int, int], None]


@dataclass
class PrescreenSummary:
    total: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    absent_items: tuple[str, ...] = ()


def _text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _list(values: tuple[str, ...]) -> str:
    return ", ".join(_text(v) for v in values)


def _convert(column: str, spec: ItemSpec, from_text: bool) -> str:
    """SQL turning a source column into the item's type, failing loudly on a bad value."""
    col = quote(column)
    target = sql_type(spec.data_type, "duckdb")
    where = f"{spec.name}: "
    if spec.data_type == "boolean":
        if not from_text:
            return f"CAST({col} AS BOOLEAN)"
        low = f"lower(trim({col}))"
        return (
            f"CASE WHEN {col} IS NULL OR trim({col}) = '' THEN NULL "
            f"WHEN {low} IN ({_list(_TRUE)}) THEN TRUE "
            f"WHEN {low} IN ({_list(_FALSE)}) THEN FALSE "
            f"ELSE error({_text(where)} || {col} || ' is not yes/no; enter true or false') END"
        )
    if spec.data_type == "decimal":
        value = f"trim(CAST({col} AS VARCHAR))"
        return (
            f"CASE WHEN regexp_matches({value}, '\\.\\d{{7,}}') THEN "
            f"error({_text(where)} || {value} || ' has more than 6 decimals') "
            f"ELSE CAST({value} AS {target}) END"
        )
    if spec.data_type == "code" and spec.codes is not None:
        return (
            f"CASE WHEN {col} IS NULL OR {col} IN ({_list(spec.codes)}) THEN {col} "
            f"ELSE error({_text(where)} || {col} || ' is not one of {', '.join(spec.codes)}') END"
        )
    if from_text and spec.data_type in ("integer", "date", "datetime"):
        return f"CAST(NULLIF(trim({col}), '') AS {target})"
    return f"CAST({col} AS {target})"


def load_candidates(
    conn: duckdb.DuckDBPyConnection,
    path: Path,
    items: dict[str, ItemSpec],
    id_column: str,
    table: str = "candidates",
) -> tuple[set[str], tuple[str, ...]]:
    """Load ``path`` into a typed ``table``; returns its columns and the items it lacks."""
    if not path.exists():
        raise NotFound(f"candidate file {str(path)!r} does not exist", code="PRESCREEN.E001")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        source = f"read_csv({_text(str(path))}, header = true, all_varchar = true)"
    elif suffix == ".parquet":
        source = f"read_parquet({_text(str(path))})"
    else:
        raise ValidationFailed(
            f"{path.name}: use a .csv or .parquet file of candidates", code="PRESCREEN.E002"
        )
    try:
        names = [row[0] for row in conn.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()]
    except duckdb.Error as exc:
        raise ValidationFailed(
            f"{path.name}: cannot be read: {exc}", code="PRESCREEN.E003"
        ) from exc
    if id_column not in names:
        raise ValidationFailed(
            f"{path.name}: there is no id column {id_column!r}; name one with --id-column "
            f"(columns: {', '.join(names)})",
            code="PRESCREEN.E004",
        )
    selected = [f"CAST({quote(id_column)} AS VARCHAR) AS {quote(id_column)}"]
    columns = {id_column}
    for name in names:
        spec = items.get(name)
        if spec is None and name.endswith(("_uln", "_lln")) and name[:-4] in items:
            spec = ItemSpec(name, "decimal")
        if spec is None or name == id_column:
            continue
        selected.append(f"{_convert(name, spec, suffix == '.csv')} AS {quote(name)}")
        columns.add(name)
    try:
        conn.execute(
            f"CREATE OR REPLACE TABLE {quote(table)} AS SELECT {', '.join(selected)} FROM {source}"
        )
    except duckdb.Error as exc:
        detail = str(exc).split("\n")[0]
        raise ValidationFailed(
            f"{path.name}: a value does not fit its item: {detail}", code="PRESCREEN.E005"
        ) from exc
    absent = tuple(sorted(set(items) - columns))
    return columns, absent


def prescreen_file(
    compiled: CompiledCriteria,
    path: str | Path,
    out: TextIO,
    *,
    as_of: date | None = None,
    id_column: str = "candidate_id",
    chunk_rows: int = 50_000,
    progress: Progress | None = None,
) -> PrescreenSummary:
    """Screen every candidate in ``path`` and write one CSV row each to ``out``.

    Columns written: the id column, ``verdict``, ``failed``, ``unknown``, ``missing`` (ids and
    item names separated by ``;``). ``progress(done, total)`` is called
    after each chunk.
    """
    conn = duckdb.connect()
    try:
        columns, absent = load_candidates(conn, Path(path), dict(compiled.items), id_column)
        query = compile_sql(compiled, columns=columns, id_column=id_column, as_of=as_of)
        total = int(_scalar(conn, "SELECT count(*) FROM candidates"))
        summary = PrescreenSummary(total=total, absent_items=absent)
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([id_column, "verdict", "failed", "unknown", "missing"])
        cursor = conn.execute(query)
        done = 0
        if progress is not None:
            progress(0, total)
        while True:
            rows = cursor.fetchmany(chunk_rows)
            if not rows:
                break
            for row in rows:
                verdict = row[1]
                summary.counts[verdict] = summary.counts.get(verdict, 0) + 1
            writer.writerows(
                (
                    cid,
                    verdict,
                    failed.replace(",", ";"),
                    unknown.replace(",", ";"),
                    missing.replace(",", ";"),
                )
                for cid, verdict, failed, unknown, missing in rows
            )
            done += len(rows)
            if progress is not None:
                progress(done, total)
        return summary
    finally:
        conn.close()


def _scalar(conn: duckdb.DuckDBPyConnection, query: str) -> Any:
    row = conn.execute(query).fetchone()
    assert row is not None
    return row[0]
