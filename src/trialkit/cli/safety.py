"""``trialkit safety overdue|report``: the serious-event clock from the command line.

``trialkit safety overdue STUDY [--site S]`` lists the serious adverse events whose report is
past due (``safety.serious_report_hours`` after the site became aware); ``trialkit safety report
STUDY ID --at TIME --reference TEXT`` records when a report was made. The commands call the
services (:mod:`trialkit.services.safety`), which check the caller's role and sites; the caller's
:class:`~trialkit.services.Context` is the authenticated user's
(:func:`trialkit.cli._auth.user_context`: ``--user`` with its password, or ``$TRIALKIT_TOKEN``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, TypeVar

import typer
from rich.table import Table

from trialkit.cli._auth import UrlOption, UserOption, open_database, user_context
from trialkit.cli._console import console, fail
from trialkit.errors import TrialkitError, ValidationFailed
from trialkit.services import Context
from trialkit.services.safety import SeriousReport, overdue_reports, record_serious_report
from trialkit.store import Database

__all__ = ["register", "safety_app"]

T = TypeVar("T")

safety_app = typer.Typer(
    help="The serious-event clock: overdue reports, and recording a report.",
    no_args_is_help=True,
)


def _run(url: str | None, user: str | None, action: Callable[[Database, Context], T]) -> T:
    """Run ``action`` as the authenticated user (:func:`trialkit.cli._auth.user_context`)."""
    try:
        with open_database(url) as db:
            return action(db, user_context(db, user))
    except TrialkitError as exc:
        fail(exc)


def _json(r: SeriousReport) -> dict[str, object]:
    return {
        "id": r.id,
        "participant": r.participant,
        "site": r.site,
        "term": r.term,
        "aware_at": r.aware_at.isoformat(),
        "aware_source": r.aware_source,
        "due_at": r.due_at.isoformat(),
        "hours_overdue": None,
        "status": r.status,
    }


@safety_app.command("overdue")
def overdue_command(
    study: Annotated[str, typer.Argument(help="The study's id.")],
    site: Annotated[str | None, typer.Option("--site", help="Only this site's.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    url: UrlOption = None,
    user: UserOption = None,
) -> None:
    """Serious adverse events whose report is past due, most overdue first."""
    found: list[tuple[SeriousReport, datetime]] = _run(
        url,
        user,
        lambda db, ctx: [(r, ctx.as_of) for r in overdue_reports(db, ctx, study, site_code=site)],
    )
    if as_json:
        out = []
        for r, now in found:
            item = _json(r)
            item["hours_overdue"] = round((now - r.due_at).total_seconds() / 3600, 1)
            out.append(item)
        typer.echo(json.dumps(out, indent=2))
        return
    if not found:
        where = f" at site {site}" if site else ""
        console.print(f"{study}: no serious-event report is overdue{where}")
        return
    table = Table(title=f"{study}: overdue serious-event reports")
    for col in ("id", "participant", "site", "term", "aware at", "due at", "overdue by"):
        table.add_column(col)
    for r, now in found:
        hours = (now - r.due_at).total_seconds() / 3600
        table.add_row(
            str(r.id),
            r.participant,
            r.site,
            r.term,
            f"{r.aware_at:%Y-%m-%d %H:%M}"
            + (" (recorded)" if r.aware_source == "recorded" else ""),
            f"{r.due_at:%Y-%m-%d %H:%M}",
            f"{hours:.1f} h",
        )
    console.print(table)


def _when(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        fail(
            ValidationFailed(
                f"--at {text!r} is not a date and time",
                code="CLI.E030",
                hint="give it as YYYY-MM-DDTHH:MM, e.g. 2025-03-13T09:00",
            )
        )


@safety_app.command("report")
def report_command(
    study: Annotated[str, typer.Argument(help="The study's id.")],
    report_id: Annotated[int, typer.Argument(help="The report's id (see `safety overdue`).")],
    at: Annotated[str, typer.Option("--at", help="When the report was made (ISO date-time).")],
    reference: Annotated[str, typer.Option("--reference", help="Where it went and its number.")],
    url: UrlOption = None,
    user: UserOption = None,
) -> None:
    """Record that a serious adverse event's report was made."""
    when = _when(at)
    r = _run(
        url,
        user,
        lambda db, ctx: record_serious_report(
            db, ctx, study, report_id, reported_at=when, reference=reference
        ),
    )
    timing = "late" if r.late else "on time"
    console.print(
        f"serious-event report {r.id} ({r.participant}, {r.term}) recorded: reported "
        f"{r.reported_at:%Y-%m-%d %H:%M}, due {r.due_at:%Y-%m-%d %H:%M} ({timing})"
    )


def register(app: typer.Typer) -> None:
    app.add_typer(safety_app, name="safety")
