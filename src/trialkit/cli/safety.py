"""``trialkit safety status|lift|review|overdue|report``: the safety board's work and the
serious-event clock from the command line.

``trialkit safety status STUDY`` prints what is paused, each stopping rule's state and firings,
the board's decisions and the open serious-event reports
(:func:`trialkit.services.safety_board.safety_board`); ``trialkit safety lift STUDY PAUSE
--reason TEXT`` lifts a pause (:func:`trialkit.services.safety.lift_pause`); ``trialkit safety
review STUDY`` lists the sequential cohorts and their reviews, and with ``--open ARM --reason
TEXT`` records the board's review opening cohort ``ARM``
(:func:`trialkit.services.allocation.open_cohort`).

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
from trialkit.services.allocation import cohorts, open_cohort
from trialkit.services.safety import (
    SeriousReport,
    lift_pause,
    overdue_reports,
    record_serious_report,
)
from trialkit.services.safety_board import SafetyBoard, safety_board
from trialkit.store import Database

__all__ = ["register", "safety_app"]

T = TypeVar("T")

safety_app = typer.Typer(
    help="Safety review: status, lifting a pause, cohort reviews, the serious-event clock.",
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


def _status_json(b: SafetyBoard) -> dict[str, object]:
    s = b.status
    return {
        "study": b.study,
        "blinded": b.blind,
        "enrolment_paused": s.enrolment_paused,
        "dosing_paused": s.dosing_paused,
        "paused_arms": list(s.paused_arms),
        "stopped_participants": list(s.stopped_participants),
        "rules": [
            {
                "id": r.rule.id,
                "text": r.rule.text,
                "state": r.state,
                "firings": [
                    {
                        "pause": p.id,
                        "status": p.status,
                        "target": p.target,
                        "fired_at": p.fired_at.isoformat(),
                        "events": p.trigger.get("events", []),
                        "lifted_by": p.lifted_by,
                        "lifted_at": None if p.lifted_at is None else p.lifted_at.isoformat(),
                        "lift_reason": p.lift_reason,
                    }
                    for p in r.firings
                ],
            }
            for r in b.rules
        ],
        "decisions": [
            {
                "kind": d["kind"],
                "target": d.get("target"),
                "text": d["text"],
                "decided_by": d["decided_by"],
                "decided_at": d["decided_at"].isoformat(),
            }
            for d in s.decisions
        ],
        "serious_reports_open": sum(1 for r in b.reports if r.status == "open"),
        "serious_reports_overdue": sum(1 for r in b.reports if r.overdue),
    }


@safety_app.command("status")
def status_command(
    study: Annotated[str, typer.Argument(help="The study's id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")] = False,
    url: UrlOption = None,
    user: UserOption = None,
) -> None:
    """What the stopping rules pause now, each rule's firings, and the board's decisions."""
    b = _run(url, user, lambda db, ctx: safety_board(db, ctx, study))
    if as_json:
        typer.echo(json.dumps(_status_json(b), indent=2, default=str))
        return
    s = b.status
    view = "blinded view" if b.blind else ("unblinded view" if b.masked else "open label")
    console.print(f"{study}: safety status ({view})")
    console.print(f"enrolment: {'PAUSED' if s.enrolment_paused else 'open'}")
    console.print(f"dosing in the whole study: {'PAUSED' if s.dosing_paused else 'open'}")
    console.print("dose groups paused: " + (", ".join(s.paused_arms) or "none"))
    if s.stopped_participants:
        console.print("participants whose dosing is stopped: " + ", ".join(s.stopped_participants))
    for r in b.rules:
        console.print(f"rule {r.rule.id} ({r.state}): {r.rule.text}")
        for p in r.firings:
            target = f" {p.target}" if p.target else ""
            line = f"  pause {p.id}{target} fired {p.fired_at:%Y-%m-%d %H:%M}: "
            if p.status == "active":
                line += f"ACTIVE (lift with `trialkit safety lift {study} {p.id} --reason ...`)"
            else:
                line += f"lifted {p.lifted_at:%Y-%m-%d %H:%M} by {p.lifted_by}: {p.lift_reason}"
            console.print(line)
            for e in p.trigger.get("events", []):
                who = e.get("participant") or "(not shown)"
                console.print(
                    f"    {who}: {e.get('term')}, grade {e.get('grade')}, "
                    f"serious {e.get('serious')}, related {e.get('related')}, "
                    f"onset {e.get('onset')}"
                )
    for d in s.decisions:
        target = f" {d['target']}" if d.get("target") else ""
        console.print(
            f"decision {d['kind']}{target} by {d['decided_by']} "
            f"{d['decided_at']:%Y-%m-%d %H:%M}: {d['text']}"
        )
    opened = sum(1 for r in b.reports if r.status == "open")
    late = sum(1 for r in b.reports if r.overdue)
    console.print(f"serious-event reports: {opened} open, {late} overdue")


@safety_app.command("lift")
def lift_command(
    study: Annotated[str, typer.Argument(help="The study's id.")],
    pause_id: Annotated[int, typer.Argument(help="The pause's id (see `safety status`).")],
    reason: Annotated[str, typer.Option("--reason", help="The board's decision and grounds.")],
    url: UrlOption = None,
    user: UserOption = None,
) -> None:
    """The safety board lifts a pause, with its decision (recorded with the data it saw)."""
    _run(url, user, lambda db, ctx: lift_pause(db, ctx, study, pause_id, reason))
    console.print(f"{study}: pause {pause_id} lifted")


@safety_app.command("review")
def review_command(
    study: Annotated[str, typer.Argument(help="The study's id.")],
    open_arm: Annotated[
        str | None, typer.Option("--open", help="Open this cohort (the board's review).")
    ] = None,
    reason: Annotated[
        str | None, typer.Option("--reason", help="The review's conclusion (with --open).")
    ] = None,
    url: UrlOption = None,
    user: UserOption = None,
) -> None:
    """The sequential cohorts and their reviews; with --open, the board opens the next one."""
    if open_arm is not None:
        if reason is None:
            fail(
                ValidationFailed(
                    "--open needs the review's conclusion",
                    code="CLI.E031",
                    hint='add --reason "..."',
                )
            )
        _run(url, user, lambda db, ctx: open_cohort(db, ctx, study, open_arm, reason or ""))
        console.print(f"{study}: cohort {open_arm} opened")
        return
    for c in _run(url, user, lambda db, ctx: cohorts(db, ctx, study)):
        console.print(c.describe())


def register(app: typer.Typer) -> None:
    app.add_typer(safety_app, name="safety")
