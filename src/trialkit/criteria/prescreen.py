"""Pre-screening a CSV or Parquet file of candidates with DuckDB (an adapter around the core).

The file is loaded as text into DuckDB and every value is checked against its item by the rules
the one-candidate evaluator applies (:mod:`trialkit.criteria.screening`: numbers without
exponents, whole numbers for integers, at most 6 decimals, the item's range, ISO dates within
1850-2199, yes/no, a code of the list). A value that does not fit names its row and column and
marks only that candidate ``invalid``; the others are screened by the compiled query in one
pass, and the verdicts are written as CSV in chunks so that a progress callback can follow long
runs. The checks and the typed table are DuckDB views over the file, not copies of it: the
file is streamed through them (one pass lists the invalid candidates, one screens the others),
so memory does not grow with the number of candidates. A column that is no item of the
criteria is refused unless extra columns are allowed (a misspelt column would otherwise leave
its criterion unknown for everyone).
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from trialkit.criteria.screening import (
    DATE_PATTERN,
    DATETIME_PATTERN,
    EARLIEST_DATE,
    LATEST_DATE,
    MAX_DECIMALS,
    NUMBER_PATTERN,
    WHITESPACE,
    WHOLE_PATTERN,
    CompiledCriteria,
)
from trialkit.criteria.spec import ItemSpec
from trialkit.criteria.sql import compile_sql, quote, sql_type
from trialkit.errors import NotFound, ValidationFailed

if TYPE_CHECKING:
    import duckdb

__all__ = [
    "SCREENING_DATE",
    "PrescreenSummary",
    "load_candidates",
    "prescreen_file",
    "template_columns",
]

_TRUE = ("true", "yes", "y", "1", "t")
_FALSE = ("false", "no", "n", "0", "f")
#: The item that defaults to the evaluation date when a candidate has none.
SCREENING_DATE = "screening_date"
#: Verdicts written, in this order in the summary.
VERDICTS = ("eligible", "ineligible", "incomplete", "invalid")
Progress = Callable[[int, int], None]
_TRIM = " || ".join(f"chr({ord(c)})" for c in WHITESPACE)


@dataclass
class PrescreenSummary:
    total: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    absent_items: tuple[str, ...] = ()
    extra_columns: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()


def _text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _list(values: Iterable[str]) -> str:
    return ", ".join(_text(v) for v in values)


def _bad(col: str, value: str, why: str) -> str:
    """SQL text of one problem: ``column age: '17.5' is not a whole number``."""
    quote_mark = _text("'")
    return (
        f"{_text(f'column {col}: ')} || {quote_mark} || {value} || {quote_mark} || "
        f"{_text(' ' + why)}"
    )


def _checks(spec: ItemSpec, v: str) -> list[tuple[str, str]]:
    """(condition that is true when the text ``v`` does not fit, message) in order."""
    kind = spec.data_type
    out: list[tuple[str, str]] = []
    if kind in ("integer", "decimal"):
        out.append(
            (
                f"NOT regexp_full_match({v}, {_text(NUMBER_PATTERN)})",
                "is not a number; enter digits such as 2.05",
            )
        )
        if kind == "integer":
            out.append(
                (
                    f"NOT regexp_full_match({v}, {_text(WHOLE_PATTERN)})",
                    "is not a whole number; enter an integer",
                )
            )
        else:
            out.append(
                (
                    f"length(split_part({v}, '.', 2)) > {MAX_DECIMALS}",
                    f"has more than {MAX_DECIMALS} decimals",
                )
            )
        number = f"TRY_CAST({v} AS DECIMAL(18,6))"
        out.append((f"{number} IS NULL", "is out of range; a value is below 10^12"))
        if spec.minimum is not None or spec.maximum is not None:
            low = "" if spec.minimum is None else format(spec.minimum, "f")
            high = "" if spec.maximum is None else format(spec.maximum, "f")
            parts = []
            if spec.minimum is not None:
                parts.append(f"{number} < {_decimal_literal(spec.minimum)}")
            if spec.maximum is not None:
                parts.append(f"{number} > {_decimal_literal(spec.maximum)}")
            unit = f" {spec.unit}" if spec.unit else ""
            out.append((" OR ".join(parts), f"is outside the item's range {low}..{high}{unit}"))
    elif kind in ("date", "datetime"):
        pattern = DATE_PATTERN if kind == "date" else DATETIME_PATTERN
        target = sql_type(kind, "duckdb")
        when = f"TRY_CAST({v} AS {target})"
        out.append(
            (
                f"NOT regexp_full_match({v}, {_text(pattern)}) OR {when} IS NULL",
                "is not a date; write YYYY-MM-DD",
            )
        )
        out.append(
            (
                f"CAST({when} AS DATE) NOT BETWEEN DATE '{EARLIEST_DATE.isoformat()}' "
                f"AND DATE '{LATEST_DATE.isoformat()}'",
                f"is out of range; a date lies between {EARLIEST_DATE.isoformat()} and "
                f"{LATEST_DATE.isoformat()}",
            )
        )
    elif kind == "boolean":
        out.append(
            (f"lower({v}) NOT IN ({_list(_TRUE + _FALSE)})", "is not yes/no; enter true or false")
        )
    elif kind == "code" and spec.codes is not None:
        out.append((f"{v} NOT IN ({_list(spec.codes)})", f"is not one of {', '.join(spec.codes)}"))
    return out


def _decimal_literal(value: Decimal) -> str:
    return f"CAST({_text(format(value, 'f'))} AS DECIMAL(38,10))"


def _value(spec: ItemSpec, v: str) -> str:
    """SQL turning the (checked) text ``v`` into the item's type."""
    kind = spec.data_type
    if kind == "boolean":
        return f"lower({v}) IN ({_list(_TRUE)})"
    if kind in ("integer", "decimal", "date", "datetime"):
        via = f"TRY_CAST({v} AS DECIMAL(18,6))" if kind == "integer" else v
        return f"TRY_CAST({via} AS {sql_type(kind, 'duckdb')})"
    return v


def template_columns(items: dict[str, ItemSpec], id_column: str = "candidate_id") -> list[str]:
    """The header of a candidate file for these items: the id column, then each item."""
    return [id_column, *(name for name in items if name != id_column)]


def load_candidates(
    conn: duckdb.DuckDBPyConnection,
    path: Path,
    items: dict[str, ItemSpec],
    id_column: str,
    table: str = "candidates",
    *,
    as_of: date | None = None,
    allow_extra_columns: bool = False,
) -> tuple[set[str], tuple[str, ...], tuple[str, ...]]:
    """Load ``path`` into a typed ``table`` of the candidates whose values all fit.

    Candidates with a value that does not fit go to ``<table>_invalid`` (id, row, problems).
    Returns the table's columns, the items the file lacks and its extra columns.
    """
    import duckdb

    if not path.exists():
        raise NotFound(f"candidate file {str(path)!r} does not exist", code="PRESCREEN.E001")
    if path.is_dir():
        raise ValidationFailed(
            f"{str(path)!r} is a directory; give a .csv or .parquet file", code="PRESCREEN.E002"
        )
    suffix = path.suffix.lower()
    if suffix == ".csv":
        source = f"read_csv({_text(str(path))}, header = true, all_varchar = true)"
    elif suffix == ".parquet":
        source = f"read_parquet({_text(str(path))})"
    else:
        raise ValidationFailed(
            f"{path.name}: use a .csv or .parquet file of candidates", code="PRESCREEN.E002"
        )
    raw = f"{table}_raw"
    try:
        conn.execute(f"CREATE OR REPLACE VIEW {quote(raw)} AS SELECT * FROM {source}")
        names = [row[0] for row in conn.execute(f"DESCRIBE {quote(raw)}").fetchall()]
    except (duckdb.Error, UnicodeError) as exc:
        detail = str(exc).split("\n")[0]
        raise ValidationFailed(
            f"{path.name}: cannot be read: {detail}",
            code="PRESCREEN.E003",
            hint="give a UTF-8 CSV file with a header row, or a Parquet file",
        ) from exc
    if id_column not in names:
        raise ValidationFailed(
            f"{path.name}: there is no id column {id_column!r}; name one with --id-column "
            f"(columns: {', '.join(names)})",
            code="PRESCREEN.E004",
        )
    specs: dict[str, ItemSpec] = {}
    extra: list[str] = []
    for name in names:
        spec = items.get(name)
        if spec is None and name.endswith(("_uln", "_lln")) and name[:-4] in items:
            spec = ItemSpec(name, "decimal")
        if name == id_column:
            continue
        if spec is None:
            extra.append(name)
        else:
            specs[name] = spec
    if extra and not allow_extra_columns:
        raise ValidationFailed(
            f"{path.name}: column{'s' if len(extra) > 1 else ''} {', '.join(extra)} "
            f"{'are' if len(extra) > 1 else 'is'} no item of the criteria (items: "
            f"{', '.join(items)})",
            code="PRESCREEN.E006",
            hint="rename the column to its item, remove it, or pass --allow-extra-columns",
        )
    texts: list[str] = [f"CAST({quote(id_column)} AS VARCHAR) AS {quote(id_column)}"]
    typed: list[str] = [quote(id_column)]
    problems: list[str] = []
    for name, spec in specs.items():
        v = f"NULLIF(trim(CAST({quote(name)} AS VARCHAR), {_TRIM}), '')"
        texts.append(f"{v} AS {quote(name)}")
        col = quote(name)
        cases = " ".join(
            f"WHEN {cond} THEN {_bad(name, col, why)}" for cond, why in _checks(spec, col)
        )
        problems.append(f"CASE WHEN {col} IS NULL THEN NULL {cases} END")
        converted = _value(spec, col)
        if name == SCREENING_DATE and as_of is not None:
            converted = f"COALESCE({converted}, DATE '{as_of.isoformat()}')"
        typed.append(f"{converted} AS {col}")
    columns = {id_column, *specs}
    if SCREENING_DATE in items and SCREENING_DATE not in specs and as_of is not None:
        typed.append(f"DATE '{as_of.isoformat()}' AS {quote(SCREENING_DATE)}")
        columns.add(SCREENING_DATE)
    problem = f"NULLIF(concat_ws('; ', {', '.join(problems)}), '')" if problems else "NULL"
    checked = f"{table}_checked"
    # Views keep the file's order (DuckDB preserves insertion order): the screened candidates
    # come out in file order without a sort, and only the invalid ones need their row number.
    try:
        conn.execute(
            f"CREATE OR REPLACE VIEW {quote(checked)} AS SELECT {problem} AS _problems, * "
            f"FROM (SELECT {', '.join(texts)} FROM {quote(raw)})"
        )
        conn.execute(
            f"CREATE OR REPLACE VIEW {quote(table)} AS SELECT {', '.join(typed)} "
            f"FROM {quote(checked)} WHERE _problems IS NULL"
        )
        conn.execute(
            f"CREATE OR REPLACE VIEW {quote(table + '_invalid')} AS SELECT "
            f"{quote(id_column)}, _row, _problems FROM (SELECT row_number() OVER () AS _row, * "
            f"FROM {quote(checked)}) WHERE _problems IS NOT NULL"
        )
    except duckdb.Error as exc:  # pragma: no cover - every value is checked before its cast
        detail = str(exc).split("\n")[0]
        raise ValidationFailed(
            f"{path.name}: a value does not fit its item: {detail}", code="PRESCREEN.E005"
        ) from exc
    absent = tuple(sorted(set(items) - columns))
    return columns, absent, tuple(extra)


def prescreen_file(
    compiled: CompiledCriteria,
    path: str | Path,
    out: TextIO,
    *,
    as_of: date | None = None,
    id_column: str = "candidate_id",
    chunk_rows: int = 50_000,
    progress: Progress | None = None,
    allow_extra_columns: bool = False,
) -> PrescreenSummary:
    """Screen every candidate in ``path`` and write one CSV row each to ``out``.

    Columns written: the id column, ``verdict``, ``failed``, ``unknown``, ``missing`` (ids and
    item names separated by ``;``) and ``problems`` (for an ``invalid`` candidate, each value
    that does not fit, with its row and column). The screened candidates come first, in file
    order, then the invalid ones. ``progress(done, total)`` is called after each chunk. A
    missing ``screening_date`` is ``as_of``.
    """
    import duckdb

    conn = duckdb.connect()
    try:
        columns, absent, extra = load_candidates(
            conn,
            Path(path),
            dict(compiled.items),
            id_column,
            as_of=as_of,
            allow_extra_columns=allow_extra_columns,
        )
        query = compile_sql(compiled, columns=columns, id_column=id_column, as_of=as_of)
        try:
            invalid = conn.execute(
                f"SELECT {quote(id_column)}, _row, _problems FROM candidates_invalid"
            ).fetchall()
            total = int(_scalar(conn, "SELECT count(*) FROM candidates_raw"))
        except (duckdb.Error, UnicodeError) as exc:
            detail = str(exc).split("\n")[0]
            raise ValidationFailed(
                f"{Path(path).name}: cannot be read: {detail}",
                code="PRESCREEN.E003",
                hint="give a UTF-8 CSV file with a header row, or a Parquet file",
            ) from exc
        summary = PrescreenSummary(
            total=total,
            absent_items=absent,
            extra_columns=extra,
            problems=tuple(f"row {row} ({cid}): {why}" for cid, row, why in invalid),
        )
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([id_column, "verdict", "failed", "unknown", "missing", "problems"])
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
                    "",
                )
                for cid, verdict, failed, unknown, missing in rows
            )
            done += len(rows)
            if progress is not None:
                progress(done, total)
        if invalid:
            summary.counts["invalid"] = len(invalid)
            writer.writerows(
                (cid, "invalid", "", "", "", f"row {row}: {why}") for cid, row, why in invalid
            )
            if progress is not None:
                progress(total, total)
        return summary
    finally:
        conn.close()


def _scalar(conn: duckdb.DuckDBPyConnection, query: str) -> Any:
    row = conn.execute(query).fetchone()
    assert row is not None
    return row[0]
