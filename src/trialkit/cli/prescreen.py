"""``trialkit prescreen STUDY FILE``: screen a CSV or Parquet file of candidates in one query.

With ``--engine postgresql|spark`` (or ``--engine duckdb --url DB --table T``) the query runs
where the candidates are, on a table of that engine; ``--sql-only`` prints the query instead.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TextIO

import typer

from trialkit.cli._console import console, err_console, fail
from trialkit.errors import TrialkitError, ValidationFailed

if TYPE_CHECKING:
    from trialkit.criteria.mapping import ColumnMapping
    from trialkit.criteria.studyfile import StudyCriteria

__all__ = ["load_study_criteria", "prescreen", "register"]

_PROGRESS_FROM = 100_000  # rows: shorter runs finish before a bar would be worth drawing


def load_study_criteria(study: str) -> StudyCriteria:
    """The items, criteria and reference ranges of ``study``.

    ``study`` is a shipped study's id or registry id, a study YAML file, or a small YAML/JSON
    file holding just ``items``, ``criteria`` and ``ranges`` (see
    :mod:`trialkit.criteria.studyfile`), which is handy for screening against draft criteria.
    """
    from trialkit.criteria.from_study import study_criteria
    from trialkit.criteria.studyfile import load_criteria_file
    from trialkit.protocol import resolve_study
    from trialkit.protocol.loader import read_study_file

    path = Path(study)
    if path.is_file() and path.suffix.lower() in (".yaml", ".yml", ".json"):
        text = read_study_file(path)
        if not any(line.startswith("identity:") for line in text.splitlines()):
            return load_criteria_file(path)
    return study_criteria(resolve_study(study))


def prescreen(
    study: Annotated[
        str,
        typer.Argument(
            help="A study id, registry id or YAML file (or a criteria-only YAML/JSON file)."
        ),
    ],
    file: Annotated[
        Path | None,
        typer.Argument(help="Candidates: a .csv or .parquet file (not with --template)."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the verdicts here (CSV); default stdout.")
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="Evaluation date YYYY-MM-DD; default today; also a missing screening_date.",
        ),
    ] = None,
    id_column: Annotated[
        str, typer.Option("--id-column", help="The column that identifies a candidate.")
    ] = "candidate_id",
    allow_extra_columns: Annotated[
        bool,
        typer.Option(
            "--allow-extra-columns", help="Ignore columns that are no item of the criteria."
        ),
    ] = False,
    template: Annotated[
        bool,
        typer.Option("--template", help="Write the CSV header the study needs, and stop."),
    ] = False,
    engine: Annotated[
        str,
        typer.Option(
            "--engine", help="Where the query runs: duckdb (default), postgresql or spark."
        ),
    ] = "duckdb",
    sql_only: Annotated[
        bool,
        typer.Option("--sql-only", help="Print the compiled query in the engine's dialect."),
    ] = False,
    table: Annotated[
        str | None,
        typer.Option("--table", help="The engine's table of candidates (schema.table)."),
    ] = None,
    url: Annotated[
        str | None,
        typer.Option(
            "--url",
            help="A PostgreSQL URL, a Spark master (default local[*]) or a DuckDB database file.",
        ),
    ] = None,
    columns: Annotated[
        Path | None,
        typer.Option("--columns", help="A YAML file mapping each item to the table's column."),
    ] = None,
) -> None:
    """Screen every candidate in FILE against STUDY's eligibility criteria in one SQL query."""
    try:
        if template:
            _template(study, out, id_column)
            return
        if engine not in ("duckdb", "postgresql", "spark"):
            raise ValidationFailed(
                f"--engine {engine!r} is not one of duckdb, postgresql, spark",
                code="PRESCREEN.E020",
            )
        if sql_only:
            _sql_only(study, engine, table, columns, id_column, as_of, out)
            return
        if engine != "duckdb" or table is not None or url is not None:
            _run_table(
                study, engine, file, table, url, columns, out, as_of, id_column, allow_extra_columns
            )
            return
        if columns is not None:
            raise ValidationFailed(
                "--columns maps a table's columns: give --table (and --url) with it",
                code="PRESCREEN.E027",
            )
        if file is None:
            raise ValidationFailed(
                "give the candidate file (.csv or .parquet), or --template for its header",
                code="PRESCREEN.E013",
            )
        _run(study, file, out, as_of, id_column, allow_extra_columns)
    except TrialkitError as exc:
        fail(exc)


def _open(out: Path) -> TextIO:
    try:
        return out.open("w", encoding="utf-8", newline="")
    except OSError as exc:
        raise ValidationFailed(
            f"cannot write {str(out)!r}: {exc.strerror}", code="PRESCREEN.E012"
        ) from exc


def _template(study: str, out: Path | None, id_column: str) -> None:
    import csv

    from trialkit.criteria.prescreen import template_columns

    spec = load_study_criteria(study)
    header = template_columns(dict(spec.items), id_column)
    if out is None:
        csv.writer(sys.stdout, lineterminator="\n").writerow(header)
        return
    with _open(out) as handle:
        csv.writer(handle, lineterminator="\n").writerow(header)
    console.print(f"wrote the header of {len(header) - 1} item(s) to {out}")


def _mapping(columns: Path | None, id_column: str) -> ColumnMapping | None:
    from trialkit.criteria.mapping import load_mapping

    return None if columns is None else load_mapping(columns, id_column)


def _sql_only(
    study: str,
    engine: str,
    table: str | None,
    columns: Path | None,
    id_column: str,
    as_of: str | None,
    out: Path | None,
) -> None:
    from trialkit.cli.screen import parse_as_of
    from trialkit.criteria.dialects import engine_sql
    from trialkit.criteria.screening import compile_criteria

    spec = load_study_criteria(study)
    compiled = compile_criteria(spec.criteria, spec.items, spec.ranges)
    mapping = _mapping(columns, id_column)
    name = table or (mapping.table if mapping is not None else None) or "candidates"
    query = engine_sql(
        compiled,
        engine,  # type: ignore[arg-type]
        table=name,
        id_column=id_column,
        as_of=parse_as_of(as_of, code="PRESCREEN.E011"),
        mapping=mapping,
    )
    if out is None:
        sys.stdout.write(query + "\n")
        return
    with _open(out) as handle:
        handle.write(query + "\n")
    console.print(f"wrote the {engine} query to {out}")


def _run_table(
    study: str,
    engine: str,
    file: Path | None,
    table: str | None,
    url: str | None,
    columns: Path | None,
    out: Path | None,
    as_of: str | None,
    id_column: str,
    allow_extra_columns: bool,
) -> None:
    from trialkit.cli.screen import parse_as_of
    from trialkit.criteria.engines import TableSource, prescreen_table
    from trialkit.criteria.prescreen import VERDICTS
    from trialkit.criteria.screening import compile_criteria

    mapping = _mapping(columns, id_column)
    name = table or (mapping.table if mapping is not None else None)
    parquet = None
    if file is not None:
        if engine != "spark" or file.suffix.lower() != ".parquet":
            raise ValidationFailed(
                f"{engine}: screen a table with --table; a file ({file.name}) is read by "
                "DuckDB (no --engine), or as a .parquet file by --engine spark",
                code="PRESCREEN.E027",
            )
        parquet, name = file, name or "candidates"
    if name is None:
        raise ValidationFailed(
            f"{engine}: name the table of candidates with --table (or table: in --columns)",
            code="PRESCREEN.E027",
        )
    spec = load_study_criteria(study)
    compiled = compile_criteria(spec.criteria, spec.items, spec.ranges)
    when = parse_as_of(as_of, code="PRESCREEN.E011")
    source = TableSource(engine, name, url, parquet)  # type: ignore[arg-type]
    options = {
        "mapping": mapping,
        "as_of": when,
        "id_column": id_column,
        "allow_extra_columns": allow_extra_columns,
    }
    with _progress() as step:
        if out is None:
            summary = prescreen_table(compiled, source, sys.stdout, progress=step, **options)  # type: ignore[arg-type]
        else:
            with _open(out) as handle:
                summary = prescreen_table(compiled, source, handle, progress=step, **options)  # type: ignore[arg-type]
    if summary.absent_items:
        err_console.print(
            "note: the table has no column for "
            + ", ".join(summary.absent_items)
            + "; criteria that need them are unknown"
        )
    if summary.extra_columns:
        err_console.print("note: columns ignored: " + ", ".join(summary.extra_columns))
    counts = ", ".join(f"{summary.counts.get(v, 0)} {v}" for v in VERDICTS[:3])
    target = err_console if out is None else console
    target.print(
        f"{summary.total} candidates screened on {engine} ({name}) as of "
        f"{when.isoformat()}: {counts}"
    )


@contextmanager
def _progress() -> Iterator[Callable[[int, int], None]]:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    with Progress(
        TextColumn("screening"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    ) as bar:
        task = bar.add_task("screening", total=None, visible=False)

        def step(done: int, total: int) -> None:
            size = total or done
            bar.update(task, completed=done, total=total or None, visible=size >= _PROGRESS_FROM)

        yield step


def _run(
    study: str,
    file: Path,
    out: Path | None,
    as_of: str | None,
    id_column: str,
    allow_extra_columns: bool,
) -> None:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    from trialkit.cli.screen import parse_as_of
    from trialkit.criteria.prescreen import VERDICTS, prescreen_file
    from trialkit.criteria.screening import compile_criteria

    spec = load_study_criteria(study)
    compiled = compile_criteria(spec.criteria, spec.items, spec.ranges)
    when = parse_as_of(as_of, code="PRESCREEN.E011")
    with Progress(
        TextColumn("screening"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    ) as bar:
        task = bar.add_task("screening", total=None, visible=False)

        def step(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total, visible=total >= _PROGRESS_FROM)

        options = {
            "as_of": when,
            "id_column": id_column,
            "progress": step,
            "allow_extra_columns": allow_extra_columns,
        }
        if out is None:
            summary = prescreen_file(compiled, file, sys.stdout, **options)  # type: ignore[arg-type]
        else:
            with _open(out) as handle:
                summary = prescreen_file(compiled, file, handle, **options)  # type: ignore[arg-type]
    if summary.absent_items:
        err_console.print(
            "note: the file has no column for "
            + ", ".join(summary.absent_items)
            + "; criteria that need them are unknown"
        )
    if summary.extra_columns:
        err_console.print("note: columns ignored: " + ", ".join(summary.extra_columns))
    for problem in summary.problems:
        err_console.print(f"invalid: {problem}")
    counts = ", ".join(f"{summary.counts.get(v, 0)} {v}" for v in VERDICTS)
    target = err_console if out is None else console
    target.print(f"{summary.total} candidates screened as of {when.isoformat()}: {counts}")


def register(app: typer.Typer) -> None:
    app.command(name="prescreen")(prescreen)
