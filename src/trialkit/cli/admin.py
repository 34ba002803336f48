"""Administration from the command line: studies, sites, users, memberships and allocation.

``trialkit study load``, ``trialkit site add|list``, ``trialkit user create|deactivate``,
``trialkit member add|list|revoke`` and ``trialkit allocate``. The CLI acts as the database's
local operator (see :mod:`trialkit.cli._operator`): every change is audited under the operator's
name, given with ``--as`` or taken from ``$TRIALKIT_OPERATOR`` or the login name.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.table import Table

from trialkit.cli._console import console
from trialkit.cli._operator import operator_context
from trialkit.errors import NotFound, StorageError, ValidationFailed
from trialkit.protocol import load_study_text, resolve_study, shipped_studies
from trialkit.services import (
    Context,
    Role,
    add_membership,
    add_site,
    create_user,
    enrol,
    list_memberships,
    list_sites,
    load_study,
    revoke_membership,
    set_active,
)
from trialkit.store import Database, current_revision, default_url

__all__ = ["register"]

T = TypeVar("T")

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

user_app = typer.Typer(help="Create and deactivate users.", no_args_is_help=True)
member_app = typer.Typer(help="Give, list and revoke study memberships.", no_args_is_help=True)
site_app = typer.Typer(help="Add and list a study's sites.", no_args_is_help=True)


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
    with _database(url) as db:
        return action(db, operator_context(who))


def _study_text(ref: str) -> tuple[str, str]:
    """(YAML text, source) of a study file or a shipped study's id or registry id."""
    path = Path(ref)
    if path.suffix in {".yaml", ".yml"} or path.exists():
        try:
            return path.read_text(encoding="utf-8"), str(path)
        except OSError as exc:
            raise NotFound(f"cannot read {path}: {exc.strerror}", code="CLI.E010") from exc
    wanted = resolve_study(ref).id
    for name, text in shipped_studies():
        if load_study_text(text, source=name).id == wanted:
            return text, f"trialkit/studies/{name}"
    raise NotFound(f"no study {ref!r}", code="CLI.E011")  # pragma: no cover - resolved above


def load_command(
    study: Annotated[str, typer.Argument(help="A study YAML file, or a shipped study's id.")],
    url: UrlOption = None,
    who: AsOption = None,
) -> None:
    """Load a study definition into the database (a new study, or an amendment)."""
    text, source = _study_text(study)
    loaded = _run(url, who, lambda db, ctx: load_study(db, ctx, text, source=source))
    if loaded.created:
        console.print(f"loaded {loaded.study} protocol version {loaded.version}")
    else:
        console.print(f"{loaded.study} protocol version {loaded.version} is loaded already")


@site_app.command("add")
def site_add(
    study: Annotated[str, typer.Argument(help="The study's id.")],
    code: Annotated[
        str, typer.Argument(help="Site code (letters and digits; in participant ids).")
    ],
    name: Annotated[str, typer.Argument(help="The site's name.")],
    url: UrlOption = None,
    who: AsOption = None,
) -> None:
    """Add a site to a loaded study."""
    _run(url, who, lambda db, ctx: add_site(db, ctx, study, code, name))
    console.print(f"{study}: added site {code} ({name})")


@site_app.command("list")
def site_list(
    study: Annotated[str, typer.Argument(help="The study's id.")],
    url: UrlOption = None,
    who: AsOption = None,
) -> None:
    """List a study's sites with their participant counts."""
    sites = _run(url, who, lambda db, ctx: list_sites(db, ctx, study))
    table = Table(title=f"{study}: sites")
    for col in ("code", "name", "participants"):
        table.add_column(col)
    for s in sites:
        table.add_row(s.code, s.name, str(s.participants))
    console.print(table)


def _password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        if not line.strip():
            raise ValidationFailed(
                "no password on standard input", code="CLI.E012", hint="pipe it in, one line"
            )
        return line.rstrip("\r\n")
    if not sys.stdin.isatty():
        raise ValidationFailed(
            "no terminal to ask for the password",
            code="CLI.E013",
            hint="use --password-stdin and pipe the password in",
        )
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


@user_app.command("create")
def user_create(
    username: Annotated[str, typer.Argument(help="Login name, e.g. s.karimi.")],
    name: Annotated[str, typer.Option("--name", help="Full name, shown with signatures.")],
    email: Annotated[str | None, typer.Option("--email", help="E-mail address.")] = None,
    admin: Annotated[
        bool, typer.Option("--admin", help="A platform administrator (creates users, studies).")
    ] = False,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    url: UrlOption = None,
    who: AsOption = None,
) -> None:
    """Create a user; the password is asked twice (hidden) or read from standard input."""
    password = _password(password_stdin)
    user = _run(
        url,
        who,
        lambda db, ctx: create_user(
            db, ctx, username, password, display_name=name, email=email, is_admin=admin
        ),
    )
    console.print(
        f"created user {user.username} ({user.display_name})"
        + (", platform administrator" if user.is_admin else "")
    )


@user_app.command("deactivate")
def user_deactivate(
    username: Annotated[str, typer.Argument(help="Login name.")],
    reason: Annotated[str, typer.Option("--reason", help="Why (audited).")],
    url: UrlOption = None,
    who: AsOption = None,
) -> None:
    """Deactivate a user: no login, no API token; their records and signatures stay."""
    _run(url, who, lambda db, ctx: set_active(db, ctx, username, False, reason))
    console.print(f"deactivated {username}")


@member_app.command("add")
def member_add(
    username: Annotated[str, typer.Argument(help="Login name.")],
    study: Annotated[str, typer.Argument(help="The study's id.")],
    role: Annotated[str, typer.Argument(help="One of: " + ", ".join(r.value for r in Role))],
    site: Annotated[
        str | None, typer.Option("--site", help="Limit to one site (default: every site).")
    ] = None,
    unblinded: Annotated[
        bool, typer.Option("--unblinded", help="May see allocations in a masked study.")
    ] = False,
    url: UrlOption = None,
    who: AsOption = None,
) -> None:
    """Give a user a role in a study, at one site or every site."""
    m = _run(
        url,
        who,
        lambda db, ctx: add_membership(
            db, ctx, username, study, role, site_code=site, unblinded=unblinded
        ),
    )
    where = f"site {m.site}" if m.site else "every site"
    console.print(f"{username} is now {m.role.value} at {where} of {study} (membership {m.id})")


@member_app.command("list")
def member_list(
    study: Annotated[str, typer.Argument(help="The study's id.")],
    url: UrlOption = None,
    who: AsOption = None,
) -> None:
    """List the memberships in force in a study."""
    rows = _run(url, who, lambda db, ctx: list_memberships(db, ctx, study))
    table = Table(title=f"{study}: memberships")
    for col in ("id", "user", "role", "site", "unblinded", "granted by", "since"):
        table.add_column(col)
    for m in rows:
        table.add_row(
            str(m.id),
            m.username,
            m.role.value,
            m.site or "all",
            "yes" if m.unblinded else "no",
            m.granted_by,
            f"{m.granted_at:%Y-%m-%d}",
        )
    console.print(table)


@member_app.command("revoke")
def member_revoke(
    membership_id: Annotated[int, typer.Argument(help="The membership's id (member list).")],
    reason: Annotated[str, typer.Option("--reason", help="Why (audited).")],
    url: UrlOption = None,
    who: AsOption = None,
) -> None:
    """End a membership from now on; its history stays."""
    _run(url, who, lambda db, ctx: revoke_membership(db, ctx, membership_id, reason))
    console.print(f"revoked membership {membership_id}")


def allocate_command(
    study: Annotated[str, typer.Argument(help="The study's id.")],
    participant: Annotated[str, typer.Argument(help="The participant's id.")],
    confirmation: Annotated[
        str | None,
        typer.Option(
            "--investigator-confirmation",
            help="The investigator's confirmation of eligibility when no verdict was evaluated.",
        ),
    ] = None,
    url: UrlOption = None,
    who: AsOption = None,
) -> None:
    """Enrol a consented, eligible participant and allocate them by the study's method."""
    p = _run(
        url,
        who,
        lambda db, ctx: enrol(db, ctx, study, participant, investigator_override=confirmation),
    )
    console.print(f"{p.code}: {p.status.value}, arm {p.arm}")


def register(app: typer.Typer) -> None:
    from trialkit.cli.study import study_app

    study_app.command("load")(load_command)
    app.add_typer(user_app, name="user")
    app.add_typer(member_app, name="member")
    app.add_typer(site_app, name="site")
    app.command("allocate")(allocate_command)
