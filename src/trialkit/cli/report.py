"""``trialkit report STUDY --out FILE.html|FILE.pdf``: the study report, as a user."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from trialkit.cli._auth import UrlOption, UserOption, open_database, user_context
from trialkit.cli._console import console, fail
from trialkit.errors import TrialkitError

__all__ = ["register"]


def report_command(
    study: Annotated[str, typer.Argument(help="The study's id in the database.")],
    out: Annotated[Path, typer.Option("--out", help="The report file: .html or .pdf.")],
    language: Annotated[
        str, typer.Option("--language", help="en (English) or fa (Persian, Solar Hijri dates).")
    ] = "en",
    url: UrlOption = None,
    user: UserOption = None,
) -> None:
    """Write the study report (protocol, CONSORT flow, recruitment, baseline, exposure, every
    endpoint, adverse events, completeness, queries, audit verification) as an authenticated
    user with the right to analyse (a statistician, the safety board, a data manager)."""
    from trialkit.report import collect, write_report

    try:
        with open_database(url) as db:
            ctx = user_context(db, user)
            data = collect(db, ctx, study)
            written = write_report(data, out, language)
    except TrialkitError as exc:
        fail(exc)
    console.print(f"report of {study} written to {written}", markup=False)


def register(app: typer.Typer) -> None:
    app.command(name="report")(report_command)
