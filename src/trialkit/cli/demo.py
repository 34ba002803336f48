"""``trialkit demo``: the guided tour that ``make demo`` runs."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from trialkit.cli._console import console, styled
from trialkit.cli.study import print_diagnostics, render_calendar, render_summary, run_checks
from trialkit.protocol import Severity, load_study_text, shipped_studies

__all__ = ["register"]


def demo(
    out: Annotated[
        Path, typer.Option("--out", help="Folder of the demo database and the reports.")
    ] = Path("demo-reports"),
    participants: Annotated[
        int | None,
        typer.Option(
            "--participants",
            help="Candidates simulated per study (default 14, 10 and 8; fewer is quicker).",
        ),
    ] = None,
) -> None:
    """Check the shipped studies and print their summaries and calendars, then simulate each
    study's trial in a fresh SQLite database and write its report (English and Persian)."""
    from trialkit.simulate.demo import DEMO_PARTICIPANTS, demo_reports

    console.print(styled("[bold]trialkit demo[/]: the three shipped studies\n"))
    failed = False
    for name, text in shipped_studies():
        study = load_study_text(text, source=f"trialkit/studies/{name}")
        render_summary(study)
        found = run_checks(study)
        print_diagnostics(study, found)
        failed |= any(d.severity is Severity.ERROR for d in found)
        render_calendar(study)
        console.print()
    if failed:
        raise typer.Exit(1)
    counts = DEMO_PARTICIPANTS["demo"]
    if participants is not None:
        counts = dict.fromkeys(counts, participants)
    console.rule(styled("[bold]Synthetic trials[/]: simulated through the services, then reported"))
    written = demo_reports(console, out, date.today(), counts)
    console.print(styled("[bold]reports[/] (open them in a browser):"))
    for path in written:
        console.print(f"  {path.resolve()}", markup=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command(name="demo")(demo)
