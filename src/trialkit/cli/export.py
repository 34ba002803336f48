"""``trialkit export STUDY --format F --out DIR [--as-of DATE] [--user NAME] [--url URL]``.

Writes a study's data in one of :data:`trialkit.exports.FORMATS` into a folder, as the
authenticated user (:func:`trialkit.cli._auth.user_context`), with that user's sites and
blinding. ``--as-of DATE`` exports the data as they stood at the end of that day (rebuilt from
the audit trail). A progress bar is shown on standard error while a long export reads.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

from trialkit.cli._auth import UrlOption, UserOption, open_database, user_context
from trialkit.cli._console import console, err_console, fail, styled
from trialkit.cli.screen import parse_as_of
from trialkit.errors import TrialkitError

__all__ = ["export_command", "register"]

#: Exports with fewer form instances than this show no progress bar.
BAR_FROM = 2000


def export_command(
    study: Annotated[str, typer.Argument(help="The study's id.")],
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            help="csv, stata, xpt, odm, fhir, ipd, sdtm or ctgov-results (docs/exports.md).",
        ),
    ],
    out: Annotated[Path, typer.Option("--out", help="The folder to write (created).")],
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Export the data as they stood at the end of this day."),
    ] = None,
    url: UrlOption = None,
    user: UserOption = None,
) -> None:
    """Export a study's data (as a user, with that user's sites and blinding)."""
    from trialkit.exports import export

    try:
        cut = None
        if as_of is not None:
            day = parse_as_of(as_of, code="EXPORT.E004")
            cut = datetime.combine(day + timedelta(days=1), time()) - timedelta(microseconds=1)
        with open_database(url) as db:
            ctx = user_context(db, user)
            bar = Progress(
                "{task.description}",
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                console=err_console,
                transient=True,
            )
            task = bar.add_task("reading forms", total=None)
            shown = False

            def progress(done: int, total: int) -> None:
                nonlocal shown
                if total < BAR_FROM:
                    return  # short exports show no bar
                if not shown:
                    bar.start()
                    shown = True
                bar.update(task, completed=done, total=total)

            try:
                result = export(db, ctx, study, fmt, out, as_of=cut, progress=progress)
            finally:
                if shown:
                    bar.stop()
    except TrialkitError as exc:
        fail(exc)
    console.print(
        styled(
            "[bold]{}[/]: {} participants, {} values, {} files in {}",
            result.format,
            result.participants,
            result.values,
            len(result.files),
            out,
        )
    )
    for note in result.notes:
        console.print(note)


def register(app: typer.Typer) -> None:
    app.command("export")(export_command)
