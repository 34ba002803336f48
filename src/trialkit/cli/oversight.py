"""``trialkit query|sdv|sign|lock``: data queries, source data verification, signatures and locks
from the command line, for people who script what the web pages do.

Every command acts as the authenticated user (:func:`trialkit.cli._auth.user_context`:
``--user`` with its password, or ``$TRIALKIT_TOKEN``) and calls the services
(:mod:`trialkit.services.queries`, ``monitoring``, ``signatures``, ``locks``), which check the
user's role and sites. Signing re-enters the signer's password: ``$TRIALKIT_SIGN_PASSWORD``, else
``$TRIALKIT_PASSWORD``, else asked without echo.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from typing import Annotated, TypeVar

import typer
from rich.table import Table

from trialkit.cli._auth import (
    PASSWORD_ENV,
    UrlOption,
    UserOption,
    run_as_user,
)
from trialkit.cli._console import console, fail
from trialkit.errors import ValidationFailed
from trialkit.services import Context
from trialkit.services.locks import Lock, lock, locks, unlock
from trialkit.services.monitoring import sdv_progress, sdv_status, verify
from trialkit.services.queries import (
    DataQuery,
    answer_query,
    close_query,
    comment,
    list_queries,
    open_query,
    query_history,
    reopen_query,
    summarise_queries,
)
from trialkit.services.signatures import Signature, sign, signatures
from trialkit.store import Database

__all__ = ["SIGN_PASSWORD_ENV", "register"]

T = TypeVar("T")
SIGN_PASSWORD_ENV = "TRIALKIT_SIGN_PASSWORD"

query_app = typer.Typer(help="Data queries: list, show, open, answer, close, re-open, comment.")
sdv_app = typer.Typer(help="Source data verification: verify, status, progress.")
sign_app = typer.Typer(help="Signatures: sign a form, a visit or a casebook; list them.")
lock_app = typer.Typer(help="Locks: lock and unlock a form, a participant or the study; list.")

Study = Annotated[str, typer.Argument(help="The study's id.")]
Participant = Annotated[str, typer.Argument(help="The participant's code.")]
QueryId = Annotated[int, typer.Argument(help="The query's number (see `query list`).")]
Visit = Annotated[str, typer.Option("--visit", help="The visit's id (e.g. SCR).")]
FormId = Annotated[str, typer.Option("--form", help="The form's id (e.g. VITALS).")]
Instance = Annotated[int, typer.Option("--instance", help="The form's instance number.")]
Text = Annotated[str, typer.Option("--text", help="The question, answer or comment.")]
Version = Annotated[
    int | None,
    typer.Option("--version", help="The query version acted on (default: the current one)."),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


_run = run_as_user


def _query_json(q: DataQuery) -> dict[str, object]:
    return {
        "id": q.id,
        "participant": q.participant,
        "site": q.site,
        "visit": q.visit,
        "form": q.form_id,
        "instance": q.instance_no,
        "item": q.item,
        "check": q.check_id,
        "text": q.text,
        "status": q.status,
        "opened_by": q.opened_by,
        "opened_at": q.opened_at.isoformat(),
        "version": q.version,
        "events": [
            {
                "action": e.action,
                "text": e.text,
                "status": e.status,
                "actor": e.actor,
                "at": e.at.isoformat(),
            }
            for e in q.events
        ],
    }


@query_app.command("list")
def query_list(
    study: Study,
    status: Annotated[
        str | None, typer.Option("--status", help="open, answered or closed (default: any).")
    ] = None,
    participant: Annotated[str | None, typer.Option("--participant", help="Only theirs.")] = None,
    site: Annotated[str | None, typer.Option("--site", help="Only this site's.")] = None,
    form: Annotated[str | None, typer.Option("--form", help="Only this form's.")] = None,
    as_json: AsJson = False,
    url: UrlOption = None,
    user: UserOption = None,
) -> None:
    """The study's queries at your sites, oldest first, with counts by state, site and age."""
    found, now = _run(
        url,
        user,
        lambda db, ctx: (
            list_queries(
                db, ctx, study, status=status, participant=participant, site=site, form_id=form
            ),
            ctx.as_of,
        ),
    )
    if as_json:
        typer.echo(json.dumps([_query_json(q) for q in found], indent=2))
        return
    table = Table(title=f"{study}: data queries")
    for col in ("id", "participant", "site", "visit", "form", "item", "status", "opened", "text"):
        table.add_column(col)
    for q in found:
        table.add_row(
            str(q.id),
            q.participant,
            q.site,
            q.visit,
            q.form_id,
            q.item,
            q.status,
            f"{q.opened_at:%Y-%m-%d}",
            q.text,
        )
    console.print(table)
    s = summarise_queries(found, now)
    console.print(
        f"{s.total} queries: "
        + ", ".join(f"{k} {n}" for k, n in s.by_status.items())
        + "; not closed by age: "
        + ", ".join(f"{k} {n}" for k, n in s.by_age.items())
        + "; by site: "
        + (", ".join(f"{k} {n}" for k, n in s.by_site.items()) or "none")
    )


@query_app.command("show")
def query_show(
    study: Study,
    query_id: QueryId,
    as_json: AsJson = False,
    url: UrlOption = None,
    user: UserOption = None,
) -> None:
    """One query with its whole history."""
    q = _run(url, user, lambda db, ctx: query_history(db, ctx, study, query_id))
    if as_json:
        typer.echo(json.dumps(_query_json(q), indent=2))
        return
    console.print(
        f"query {q.id} ({q.status}, version {q.version}): {q.participant} {q.visit} {q.form_id} "
        f"{q.item}" + (f" (edit check {q.check_id})" if q.check_id else "")
    )
    for e in q.events:
        console.print(f"  {e.at:%Y-%m-%d %H:%M} {e.actor} {e.action} -> {e.status}: {e.text}")


@query_app.command("open")
def query_open(
    study: Study,
    participant: Participant,
    visit: Visit,
    form: FormId,
    item: Annotated[str, typer.Option("--item", help="The item path, e.g. VS/weight.")],
    text: Text,
    instance: Instance = 1,
    url: UrlOption = None,
    user: UserOption = None,
) -> None:
    """Open a query on an item of an entered form (an item left empty too)."""
    q = _run(
        url,
        user,
        lambda db, ctx: open_query(
            db,
            ctx,
            study,
            participant,
            visit=visit,
            form_id=form,
            item=item,
            text=text,
            instance_no=instance,
        ),
    )
    console.print(f"query {q.id} opened on {q.item} of {q.form_id} at {q.visit} ({q.participant})")


def _act(
    name: str,
    url: str | None,
    user: str | None,
    study: str,
    query_id: int,
    text: str,
    version: int | None,
) -> None:
    def act(db: Database, ctx: Context) -> DataQuery:
        if name == "comment":
            return comment(db, ctx, study, query_id, text=text)
        v = version if version is not None else query_history(db, ctx, study, query_id).version
        if name == "answer":
            return answer_query(db, ctx, study, query_id, text=text, expected_version=v)
        if name == "close":
            return close_query(db, ctx, study, query_id, text=text, expected_version=v)
        return reopen_query(db, ctx, study, query_id, text=text, expected_version=v)

    q = _run(url, user, act)
    console.print(f"query {q.id}: {name} recorded; it is {q.status} (version {q.version})")


@query_app.command("answer")
def query_answer(
    study: Study,
    query_id: QueryId,
    text: Text,
    version: Version = None,
    url: UrlOption = None,
    user: UserOption = None,
) -> None:
    """Answer an open query (site staff)."""
    _act("answer", url, user, study, query_id, text, version)


@query_app.command("close")
def query_close(
    study: Study,
    query_id: QueryId,
    text: Text = "closed",
    version: Version = None,
    url: UrlOption = None,
    user: UserOption = None,
) -> None:
    """Close an open or answered query (data managers, monitors)."""
    _act("close", url, user, study, query_id, text, version)


@query_app.command("reopen")
def query_reopen(
    study: Study,
    query_id: QueryId,
    text: Text,
    version: Version = None,
    url: UrlOption = None,
    user: UserOption = None,
) -> None:
    """Re-open an answered or closed query (data managers, monitors)."""
    _act("reopen", url, user, study, query_id, text, version)


@query_app.command("comment")
def query_comment(
    study: Study, query_id: QueryId, text: Text, url: UrlOption = None, user: UserOption = None
) -> None:
    """Add a comment to a query in any state."""
    _act("comment", url, user, study, query_id, text, None)


@sdv_app.command("verify")
def sdv_verify(
    study: Study,
    participant: Participant,
    visit: Visit,
    form: FormId,
    item: Annotated[
        list[str] | None,
        typer.Option("--item", help="An item path to verify (repeat it); none: the whole form."),
    ] = None,
    instance: Instance = 1,
    url: UrlOption = None,
    user: UserOption = None,
) -> None:
    """Mark items, or the whole form, verified at source (monitors)."""
    marks = _run(
        url,
        user,
        lambda db, ctx: verify(
            db,
            ctx,
            study,
            participant,
            visit=visit,
            form_id=form,
            items=item or None,
            instance_no=instance,
        ),
    )
    for m in marks:
        what = "the whole form" if m.item == "*" else m.item
        console.print(f"verified {what} at form version {m.form_version} by {m.verified_by}")


@sdv_app.command("status")
def sdv_show(
    study: Study,
    participant: Participant,
    visit: Visit,
    form: FormId,
    instance: Instance = 1,
    url: UrlOption = None,
    user: UserOption = None,
) -> None:
    """The SDV state of a form and of each of its items."""
    s = _run(
        url,
        user,
        lambda db, ctx: sdv_status(
            db, ctx, study, participant, visit=visit, form_id=form, instance_no=instance
        ),
    )
    console.print(f"{form} at {visit} ({participant}), form version {s.version}: {s.form.state}")
    for path, i in s.items.items():
        extra = f" by {i.verified_by}" if i.verified_by else ""
        why = f" ({i.cleared_reason})" if i.cleared_reason else ""
        console.print(f"  {path}: {i.state}{extra}{why}")


@sdv_app.command("progress")
def sdv_progress_command(
    study: Study, as_json: AsJson = False, url: UrlOption = None, user: UserOption = None
) -> None:
    """SDV progress per site, form and monitor at your sites."""
    p = _run(url, user, lambda db, ctx: sdv_progress(db, ctx, study))
    rows = [
        ("total", p.total),
        *(("site", r) for r in p.by_site),
        *(("form", r) for r in p.by_form),
    ]
    if as_json:
        out = {
            "rows": [
                {
                    "by": by,
                    "key": r.key,
                    "forms_entered": r.forms_entered,
                    "forms_not_reviewed": r.forms_not_reviewed,
                    "items": r.items,
                    "items_verified": r.items_verified,
                    "open_queries": r.open_queries,
                    "oldest_query_days": r.oldest_query_days,
                }
                for by, r in rows
            ],
            "monitors": [
                {"monitor": m.monitor, "forms": m.forms, "items_verified": m.items_verified}
                for m in p.by_monitor
            ],
        }
        typer.echo(json.dumps(out, indent=2))
        return
    table = Table(title=f"{study}: source data verification")
    for col in ("by", "key", "verified", "share", "forms", "not reviewed", "queries", "oldest"):
        table.add_column(col)
    for by, r in rows:
        table.add_row(
            by,
            r.key,
            f"{r.items_verified}/{r.items}",
            f"{float(r.share_verified):.0%}",
            str(r.forms_entered),
            str(r.forms_not_reviewed),
            str(r.open_queries),
            "-" if r.oldest_query_days is None else f"{r.oldest_query_days} d",
        )
    console.print(table)
    for m in p.by_monitor:
        console.print(f"{m.monitor}: {m.items_verified} items on {m.forms} forms")


def _sign_password(username: str) -> str:
    for name in (SIGN_PASSWORD_ENV, PASSWORD_ENV):
        given = os.environ.get(name)
        if given:
            return given
    if not sys.stdin.isatty():
        fail(
            ValidationFailed(
                "no terminal to ask the signer's password",
                code="CLI.E040",
                hint=f"set ${SIGN_PASSWORD_ENV} (a signature re-enters the password)",
            )
        )
    return str(typer.prompt(f"Password of {username} (to sign)", hide_input=True, err=True))


Meaning = Annotated[
    str,
    typer.Option(
        "--meaning",
        help='What the signature means, e.g. "I confirm that I reviewed these data and they '
        'are accurate".',
    ),
]


def _sign(
    url: str | None,
    user: str | None,
    study: str,
    participant: str,
    scope: str,
    visit: str | None,
    form: str | None,
    instance: int,
    meaning: str,
) -> None:
    def act(db: Database, ctx: Context) -> Signature:
        password = _sign_password(ctx.principal.username)
        return sign(
            db,
            ctx,
            study,
            participant,
            scope=scope,  # type: ignore[arg-type]
            visit=visit,
            form_id=form,
            instance_no=instance,
            meaning=meaning,
            password=password,
        )

    s = _run(url, user, act)
    console.print(
        f"signed {s.scope} of {s.participant} by {s.signer_name} ({s.signed_by}) at "
        f"{s.signed_at:%Y-%m-%d %H:%M}: {s.forms} forms, content hash {s.content_hash}"
    )


@sign_app.command("form")
def sign_form(
    study: Study,
    participant: Participant,
    visit: Visit,
    form: FormId,
    meaning: Meaning,
    instance: Instance = 1,
    url: UrlOption = None,
    user: UserOption = None,
) -> None:
    """Sign one form (investigators)."""
    _sign(url, user, study, participant, "form", visit, form, instance, meaning)


@sign_app.command("visit")
def sign_visit(
    study: Study,
    participant: Participant,
    visit: Visit,
    meaning: Meaning,
    url: UrlOption = None,
    user: UserOption = None,
) -> None:
    """Sign every form entered at a visit (investigators)."""
    _sign(url, user, study, participant, "visit", visit, None, 1, meaning)


@sign_app.command("casebook")
def sign_casebook(
    study: Study,
    participant: Participant,
    meaning: Meaning,
    url: UrlOption = None,
    user: UserOption = None,
) -> None:
    """Sign every form entered for the participant (principal investigators)."""
    _sign(url, user, study, participant, "casebook", None, None, 1, meaning)


@sign_app.command("list")
def sign_list(
    study: Study, participant: Participant, url: UrlOption = None, user: UserOption = None
) -> None:
    """The participant's signatures: valid, voided (with the change) or mismatch."""
    found = _run(url, user, lambda db, ctx: signatures(db, ctx, study, participant))
    if not found:
        console.print(f"{participant}: nothing is signed")
    for s in found:
        what = " ".join(x for x in (s.scope, s.visit, s.form_id) if x)
        line = f"{s.id} {what}: {s.status}, {s.signed_by} {s.signed_at:%Y-%m-%d %H:%M}, "
        line += f"hash {s.content_hash}"
        if s.void_reason:
            line += f"; voided {s.voided_at:%Y-%m-%d %H:%M}: {s.void_reason}"
        if s.problem:
            line += f"; {s.problem}"
        console.print(line)


Scope = Annotated[str, typer.Option("--scope", help="form, participant or study.")]
LockParticipant = Annotated[
    str | None, typer.Option("--participant", help="The participant (form or participant lock).")
]
LockVisit = Annotated[str | None, typer.Option("--visit", help="The visit (form lock).")]
LockForm = Annotated[str | None, typer.Option("--form", help="The form (form lock).")]
Reason = Annotated[str, typer.Option("--reason", help="Why.")]


def _lock_line(lk: Lock) -> str:
    return (
        f"{lk.target}: locked by {lk.locked_by} since {lk.locked_at:%Y-%m-%d %H:%M} ({lk.reason})"
    )


def _lock_change(
    change: Callable[..., Lock],
    url: str | None,
    user: str | None,
    study: str,
    scope: str,
    reason: str,
    participant: str | None,
    visit: str | None,
    form: str | None,
    instance: int,
) -> Lock:
    """Run ``lock`` or ``unlock`` as the signed-in user, on what the options name."""
    return _run(
        url,
        user,
        lambda db, ctx: change(
            db,
            ctx,
            study,
            scope=scope,
            participant=participant,
            visit=visit,
            form_id=form,
            instance_no=instance,
            reason=reason,
        ),
    )


@lock_app.command("add")
def lock_add(
    study: Study,
    scope: Scope,
    reason: Reason,
    participant: LockParticipant = None,
    visit: LockVisit = None,
    form: LockForm = None,
    instance: Instance = 1,
    url: UrlOption = None,
    user: UserOption = None,
) -> None:
    """Lock a form, a participant's records or the study (data managers)."""
    lk = _lock_change(lock, url, user, study, scope, reason, participant, visit, form, instance)
    console.print(_lock_line(lk))


@lock_app.command("remove")
def lock_remove(
    study: Study,
    scope: Scope,
    reason: Reason,
    participant: LockParticipant = None,
    visit: LockVisit = None,
    form: LockForm = None,
    instance: Instance = 1,
    url: UrlOption = None,
    user: UserOption = None,
) -> None:
    """Unlock a form, a participant's records or the study, with the reason."""
    lk = _lock_change(unlock, url, user, study, scope, reason, participant, visit, form, instance)
    console.print(f"{lk.target}: unlocked by {lk.unlocked_by} ({lk.unlock_reason})")


@lock_app.command("list")
def lock_list(study: Study, url: UrlOption = None, user: UserOption = None) -> None:
    """The study's active locks at your sites."""
    found = _run(url, user, lambda db, ctx: locks(db, ctx, study))
    if not found:
        console.print(f"{study}: nothing is locked")
    for lk in found:
        console.print(_lock_line(lk))


def register(app: typer.Typer) -> None:
    app.add_typer(query_app, name="query")
    app.add_typer(sdv_app, name="sdv")
    app.add_typer(sign_app, name="sign")
    app.add_typer(lock_app, name="lock")
