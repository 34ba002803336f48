"""``trialkit safety overdue|report``: the serious-event clock from the command line.

``trialkit safety overdue STUDY [--site S]`` lists the serious adverse events whose report is
past due (``safety.serious_report_hours`` after the site became aware); ``trialkit safety report
STUDY ID --at TIME --reference TEXT`` records when a report was made. The commands call the
services (:mod:`trialkit.services.safety`), which check the caller's role and sites; the caller's
:class:`~trialkit.services.Context` comes from :func:`_context`, the one place that decides who
acts on the command line.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, TypeVar

import typer
from rich.table import Table

from trialkit.cli._console import console, fail
from trialkit.cli._operator import operator_context
from trialkit.errors import StorageError, TrialkitError, ValidationFailed
from trialkit.services import Context
from trialkit.services.safety import SeriousReport, overdue_reports, record_serious_report
from trialkit.store import Database, current_revision, default_url

__all__ = ["register", "safety_app"]

T = TypeVar("T")

safety_app = typer.Typer(
    help="The serious-event clock: overdue reports, and recording a report.",
    no_args_is_help=True,
)

UrlOption = Annotated[
    str | None,
    typer.Option(
        "--url", help="Database URL; default $TRIALKIT_DATABASE_URL or ./trialkit.sqlite3."
    ),
]
AsOption = Annotated[
    str | None,
    typer.Option(
        "--as", help="Name recorded in the audit trail (default $TRIALKIT_OPERATOR or <login>@cli)."
    ),
]


def _context(who: str | None) -> Context:
    """Who acts, now: the one call the CLI's authentication replaces."""
    return operator_context(who)


@contextmanager
def _database(url: str | None) -> Iterator[Database]:
    db = Database.from_url(default_url(url))
    try:
        if current_revision(db.engine) is None:
            where = db.engine.url.render_as_string(hide_password=True)
            raise StorageError(
                f"{where} has no trialkit schema",
                code="STORE.E030",
                hint="run `trialkit db upgrade` first, or give the right --url",
            )
        yield db
    finally:
        db.dispose()


def _run(url: str | None, who: str | None, action: Callable[[Database, Context], T]) -> T:
    try:
        with _database(url) as db:
            return action(db, _context(who))
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
    who: AsOption = None,
) -> None:
    """Serious adverse events whose report is past due, most overdue first."""
    found: list[tuple[SeriousReport, datetime]] = _run(
        url,
        who,
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
    who: AsOption = None,
) -> None:
    """Record that a serious adverse event's report was made."""
    when = _when(at)
    r = _run(
        url,
        who,
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
