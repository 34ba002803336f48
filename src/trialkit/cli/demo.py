"""``trialkit demo``: the guided tour that ``make demo`` runs."""

from __future__ import annotations

import typer

from trialkit.cli._console import console, styled
from trialkit.cli.study import print_diagnostics, render_calendar, render_summary, run_checks
from trialkit.protocol import Severity, load_study_text, shipped_studies
from trialkit.simulate.demo import demo_records

__all__ = ["register"]


def demo() -> None:
    """Check the shipped studies, print their summaries and calendars, then walk participants
    through screening, enrolment, dosing and their first visits in a fresh database."""
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
    console.rule(styled("[bold]Trial records[/]: a fresh SQLite database, three participants"))
    demo_records(console)


def register(app: typer.Typer) -> None:
    app.command(name="demo")(demo)
