"""``trialkit amend``: amendments from the command line, for people who script what the
amendments page does: check and compare a new protocol version, load it with its approval,
record the approval of a version loaded without one, apply a version to participants.

Every command acts as the authenticated user (:func:`trialkit.cli._auth.user_context`:
``--user`` with its password, or ``$TRIALKIT_TOKEN``) and calls
:mod:`trialkit.services.amendments`, which allows the study's administrator only (a
membership at every site).
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.table import Table

from trialkit.cli._auth import UrlOption, UserOption, run_as_user
from trialkit.cli._console import console, fail_message
from trialkit.errors import TrialkitError
from trialkit.services import Context
from trialkit.services.amendments import (
    AmendmentPreview,
    apply_to_all,
    apply_version,
    approve_amendment,
    load_amendment,
    preview_amendment,
    versions,
)
from trialkit.store import Database

__all__ = ["register"]

T = TypeVar("T")

amend_app = typer.Typer(
    help="Amendments: check, load with the approval, approve, apply to participants, list."
)

Study = Annotated[str, typer.Argument(help="The study's id.")]
File = Annotated[
    Path, typer.Argument(help="The new version's YAML file.", exists=True, dir_okay=False)
]
VersionArg = Annotated[str, typer.Argument(help="The protocol version (e.g. 2.0).")]
Committee = Annotated[str, typer.Option("--committee", help="The approving ethics committee.")]
Reference = Annotated[str, typer.Option("--reference", help="The committee's reference.")]
ApprovedOn = Annotated[
    str, typer.Option("--approved-on", help="The date of the approval (YYYY-MM-DD).")
]
Reason = Annotated[str, typer.Option("--reason", help="Why (recorded with each move).")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


_run = run_as_user


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        fail_message("AMEND.E005", f"{path} is not UTF-8 text: save the YAML as UTF-8")


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail_message("AMEND.E012", f"the approval date {value!r} is not a date: give YYYY-MM-DD")


def _print_preview(p: AmendmentPreview) -> None:
    console.print(
        f"{p.study}: version {p.new_version} against the current version {p.current_version}"
    )
    for d in p.findings:
        console.print(f"  {d}")
    if p.errors:
        return
    if not p.changes:
        console.print("  nothing changes in the visits, windows, forms, items, criteria or rules")
    for c in p.changes:
        console.print(f"  {c.kind} {c.section} {c.key}")
        for f in c.fields:
            console.print(f"    {f.path}: {f.old!r} -> {f.new!r}")


@amend_app.command("check")
def amend_check(study: Study, file: File, url: UrlOption = None, user: UserOption = None) -> None:
    """Check FILE as a new version of STUDY and list what it changes (writes nothing); exit 1
    when a check finds an error."""
    text = _text(file)
    preview = _run(
        url, user, lambda db, ctx: preview_amendment(db, ctx, study, text, source=str(file))
    )
    _print_preview(preview)
    if preview.errors:
        raise typer.Exit(1)


@amend_app.command("load")
def amend_load(
    study: Study,
    file: File,
    committee: Committee,
    reference: Reference,
    approved_on: ApprovedOn,
    url: UrlOption = None,
    user: UserOption = None,
) -> None:
    """Check FILE, list what it changes, and load it as a new version of STUDY with its
    approval (refused, with every finding, on an error)."""
    text = _text(file)
    day = _day(approved_on)

    def act(db: Database, ctx: Context) -> tuple[AmendmentPreview, str]:
        preview = preview_amendment(db, ctx, study, text, source=str(file))
        if preview.errors:
            return preview, ""
        state = load_amendment(
            db,
            ctx,
            study,
            text,
            checked=preview.sha256,
            committee=committee,
            reference=reference,
            approved_on=day,
            source=str(file),
        )
        return preview, state.version

    preview, loaded = _run(url, user, act)
    _print_preview(preview)
    if not loaded:
        fail_message(
            "AMEND.E006",
            f"protocol version {preview.new_version} has {len(preview.errors)} error(s) and "
            "was not loaded",
        )
    console.print(f"{study}: version {loaded} loaded with its approval ({reference})")


@amend_app.command("approve")
def amend_approve(
    study: Study,
    version: VersionArg,
    committee: Committee,
    reference: Reference,
    approved_on: ApprovedOn,
    url: UrlOption = None,
    user: UserOption = None,
) -> None:
    """Record the approval of a version loaded without one (e.g. by `trialkit study load`)."""
    day = _day(approved_on)
    found = _run(
        url,
        user,
        lambda db, ctx: approve_amendment(
            db, ctx, study, version, committee=committee, reference=reference, approved_on=day
        ),
    )
    console.print(
        f"{study}: version {version} approved by {found.committee} ({found.reference}, "
        f"{found.approved_on.isoformat()}), recorded by {found.recorded_by}"
    )


@amend_app.command("apply")
def amend_apply(
    study: Study,
    version: VersionArg,
    reason: Reason,
    participants: Annotated[
        list[str] | None, typer.Argument(help="The participants to move (or --all).")
    ] = None,
    every: Annotated[
        bool, typer.Option("--all", help="Every participant you reach on another version.")
    ] = False,
    as_json: AsJson = False,
    url: UrlOption = None,
    user: UserOption = None,
) -> None:
    """Move participants to the approved VERSION, each with the reason; exit 1 when one could
    not be moved (each is named with why)."""
    codes = list(participants or [])
    if every == bool(codes):
        fail_message("AMEND.E017", "name the participants to move, or give --all (not both)")

    def act(db: Database, ctx: Context) -> tuple[list[str], list[tuple[str, str]]]:
        if every:
            report = apply_to_all(db, ctx, study, version, reason)
            return list(report.moved), list(report.not_moved)
        moved, not_moved = [], []
        for code in codes:
            try:
                apply_version(db, ctx, study, version, code, reason)
            except TrialkitError as exc:
                if exc.code.startswith("AUTH.") or exc.code == "AMEND.E013":
                    raise
                not_moved.append((code, f"[{exc.code}] {exc.message}"))
            else:
                moved.append(code)
        return moved, not_moved

    moved, not_moved = _run(url, user, act)
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "version": version,
                    "moved": moved,
                    "not_moved": [{"participant": c, "why": w} for c, w in not_moved],
                },
                indent=2,
            )
        )
    else:
        console.print(f"{study}: moved to version {version}: {', '.join(moved) or 'nobody'}")
        for code, why in not_moved:
            console.print(f"  not moved: {code}: {why}")
    if not_moved:
        raise typer.Exit(1)


@amend_app.command("versions")
def amend_versions(
    study: Study, as_json: AsJson = False, url: UrlOption = None, user: UserOption = None
) -> None:
    """The study's loaded versions, newest first, with their approvals and participants."""
    found = _run(url, user, lambda db, ctx: versions(db, ctx, study))
    if as_json:
        typer.echo(
            json.dumps(
                [
                    {
                        "version": v.version,
                        "current": v.current,
                        "loaded_at": v.loaded_at.isoformat(),
                        "loaded_by": v.loaded_by,
                        "participants": v.participants,
                        "approval": None
                        if v.approval is None
                        else {
                            "committee": v.approval.committee,
                            "reference": v.approval.reference,
                            "approved_on": v.approval.approved_on.isoformat(),
                            "recorded_by": v.approval.recorded_by,
                            "recorded_at": v.approval.recorded_at.isoformat(),
                        },
                    }
                    for v in found
                ],
                indent=2,
            )
        )
        return
    table = Table(title=f"{study}: protocol versions")
    for col in ("version", "loaded", "approval", "participants"):
        table.add_column(col)
    for v in found:
        approval = (
            "none recorded"
            if v.approval is None
            else f"{v.approval.committee} {v.approval.reference} {v.approval.approved_on}"
        )
        table.add_row(
            v.version + (" (current)" if v.current else ""),
            f"{v.loaded_at:%Y-%m-%d %H:%M} {v.loaded_by}",
            approval,
            str(v.participants),
        )
    console.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(amend_app, name="amend")
