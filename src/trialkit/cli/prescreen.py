"""``trialkit prescreen STUDY FILE``: screen a CSV or Parquet file of candidates in one query."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from trialkit.cli._console import console, err_console, fail
from trialkit.criteria.from_study import study_criteria
from trialkit.criteria.prescreen import prescreen_file
from trialkit.criteria.screening import compile_criteria
from trialkit.criteria.studyfile import StudyCriteria, load_criteria_file
from trialkit.errors import TrialkitError, ValidationFailed
from trialkit.protocol import resolve_study

__all__ = ["load_study_criteria", "prescreen", "register"]

_PROGRESS_FROM = 100_000  # rows: shorter runs finish before a bar would be worth drawing


def load_study_criteria(study: str) -> StudyCriteria:
    """The items, criteria and reference ranges of ``study``.

    ``study`` is a shipped study's id or registry id, a study YAML file, or a small YAML/JSON
    file holding just ``items``, ``criteria`` and ``ranges`` (see
    :mod:`trialkit.criteria.studyfile`), which is handy for screening against draft criteria.
    """
    path = Path(study)
    if path.is_file() and path.suffix.lower() in (".yaml", ".yml", ".json"):
        text = path.read_text(encoding="utf-8", errors="replace")
        if not any(line.startswith("identity:") for line in text.splitlines()):
            return load_criteria_file(path)
    return study_criteria(resolve_study(study))


def _as_of(text: str | None) -> date:
    if text is None:
        return date.today()  # the edge reads the clock; the core never does
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise ValidationFailed(
            f"--as-of {text!r} is not a date; write YYYY-MM-DD", code="PRESCREEN.E011"
        ) from exc


def prescreen(
    study: Annotated[
        str,
        typer.Argument(
            help="A study id, registry id or YAML file (or a criteria-only YAML/JSON file)."
        ),
    ],
    file: Annotated[Path, typer.Argument(help="Candidates: a .csv or .parquet file.")],
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the verdicts here (CSV); default stdout.")
    ] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Evaluation date YYYY-MM-DD; default today.")
    ] = None,
    id_column: Annotated[
        str, typer.Option("--id-column", help="The column that identifies a candidate.")
    ] = "candidate_id",
) -> None:
    """Screen every candidate in FILE against STUDY's eligibility criteria in one SQL query."""
    try:
        _run(study, file, out, as_of, id_column)
    except TrialkitError as exc:
        fail(exc)


def _run(study: str, file: Path, out: Path | None, as_of: str | None, id_column: str) -> None:
    spec = load_study_criteria(study)
    compiled = compile_criteria(spec.criteria, spec.items, spec.ranges)
    when = _as_of(as_of)
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

        if out is None:
            summary = prescreen_file(
                compiled, file, sys.stdout, as_of=when, id_column=id_column, progress=step
            )
        else:
            try:
                handle = out.open("w", encoding="utf-8", newline="")
            except OSError as exc:
                raise ValidationFailed(
                    f"cannot write {str(out)!r}: {exc.strerror}", code="PRESCREEN.E012"
                ) from exc
            with handle:
                summary = prescreen_file(
                    compiled, file, handle, as_of=when, id_column=id_column, progress=step
                )
    if summary.absent_items:
        err_console.print(
            "note: the file has no column for "
            + ", ".join(summary.absent_items)
            + "; criteria that need them are unknown"
        )
    counts = ", ".join(
        f"{summary.counts.get(v, 0)} {v}" for v in ("eligible", "ineligible", "incomplete")
    )
    target = err_console if out is None else console
    target.print(f"{summary.total} candidates screened as of {when.isoformat()}: {counts}")


def register(app: typer.Typer) -> None:
    app.command(name="prescreen")(prescreen)
