"""Administration from the command line: studies, sites, users, memberships and tokens; and
``trialkit allocate``, which acts as a user.

``trialkit study load``, ``trialkit site add|list``, ``trialkit user create|list|deactivate``,
``trialkit member add|list|revoke`` and ``trialkit token create|list|revoke`` act as the
database's local operator (see :mod:`trialkit.cli._operator`), audited under the login that ran
them. ``trialkit allocate`` touches a participant, so it acts as an authenticated user
(:func:`trialkit.cli._auth.user_context`) with that user's role, sites and blinding.

The database layer and the services are imported inside the commands, so that the commands
that do not need them start fast.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from rich.table import Table

from trialkit.cli._auth import UrlOption, UserOption, open_database, user_context
from trialkit.cli._console import console, fail_message
from trialkit.cli._operator import operator_context
from trialkit.errors import NotFound, ValidationFailed

if TYPE_CHECKING:
    from trialkit.services import Context
    from trialkit.store import Database

__all__ = ["ROLE_NAMES", "register"]

T = TypeVar("T")

#: The roles of :class:`trialkit.services.Role`, spelled out so that the help needs no import.
ROLE_NAMES = (
    "administrator",
    "principal_investigator",
    "investigator",
    "coordinator",
    "data_manager",
    "monitor",
    "safety_board",
    "statistician",
    "read_only",
)

user_app = typer.Typer(help="Create, list and deactivate users.", no_args_is_help=True)
member_app = typer.Typer(help="Give, list and revoke study memberships.", no_args_is_help=True)
site_app = typer.Typer(help="Add and list a study's sites.", no_args_is_help=True)
token_app = typer.Typer(help="Create, list and revoke users' API tokens.", no_args_is_help=True)


def _run(url: str | None, action: Callable[[Database, Context], T]) -> T:
    """Run ``action`` as the local operator on the database at ``url``."""
    with open_database(url) as db:
        return action(db, operator_context())


def _study_text(ref: str) -> tuple[str, str]:
    """(YAML text, source) of a study file or a shipped study's id or registry id."""
    from trialkit.protocol.loader import read_study_file

    path = Path(ref)
    if path.suffix in {".yaml", ".yml"} or path.exists():
        return read_study_file(path), str(path)
    from trialkit.protocol import load_study_text, resolve_study, shipped_studies

    wanted = resolve_study(ref).id
    for name, text in shipped_studies():
        if load_study_text(text, source=name).id == wanted:
            return text, f"trialkit/studies/{name}"
    raise NotFound(f"no study {ref!r}", code="CLI.E011")  # pragma: no cover - resolved above


def _approval_day(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail_message("AMEND.E012", f"the approval date {value!r} is not a date: give YYYY-MM-DD")


def load_command(
    study: Annotated[str, typer.Argument(help="A study YAML file, or a shipped study's id.")],
    committee: Annotated[
        str | None, typer.Option("--committee", help="The approving ethics committee.")
    ] = None,
    reference: Annotated[
        str | None, typer.Option("--reference", help="The committee's reference.")
    ] = None,
    approved_on: Annotated[
        str | None, typer.Option("--approved-on", help="The date of the approval (YYYY-MM-DD).")
    ] = None,
    url: UrlOption = None,
) -> None:
    """Load a study definition into the database: a new study (its approval optional), or an
    amendment (a new version, which needs its approval: --committee, --reference,
    --approved-on)."""
    from trialkit.services.amendments import load_version

    given = {"--committee": committee, "--reference": reference, "--approved-on": approved_on}
    missing = [name for name, value in given.items() if value is None]
    if 0 < len(missing) < len(given):
        codes = {"--committee": "AMEND.E010", "--reference": "AMEND.E011"}
        fail_message(
            codes.get(missing[0], "AMEND.E012"),
            "an approval is given with --committee, --reference and --approved-on together: "
            f"{' and '.join(missing)} missing",
        )
    text, source = _study_text(study)
    day = _approval_day(approved_on)
    done = _run(
        url,
        lambda db, ctx: load_version(
            db,
            ctx,
            text,
            source=source,
            committee=committee,
            reference=reference,
            approved_on=day,
        ),
    )
    loaded, approval = done.loaded, done.approval
    what = f"{loaded.study} protocol version {loaded.version}"
    if approval is None:
        status = "no approval recorded (record it with `trialkit amend approve`)"
    else:
        status = (
            f"approved by {approval.committee} ({approval.reference}, "
            f"{approval.approved_on.isoformat()})"
        )
    if loaded.created:
        console.print(f"loaded {what}: {status}")
    else:
        console.print(f"{what} is loaded already: {status}")


@site_app.command("add")
def site_add(
    study: Annotated[str, typer.Argument(help="The study's id.")],
    code: Annotated[
        str, typer.Argument(help="Site code (letters and digits; in participant ids).")
    ],
    name: Annotated[str, typer.Argument(help="The site's name.")],
    url: UrlOption = None,
) -> None:
    """Add a site to a loaded study."""
    from trialkit.services import add_site

    _run(url, lambda db, ctx: add_site(db, ctx, study, code, name))
    console.print(f"{study}: added site {code} ({name})")


@site_app.command("list")
def site_list(
    study: Annotated[str, typer.Argument(help="The study's id.")],
    url: UrlOption = None,
) -> None:
    """List a study's sites with their participant counts."""
    from trialkit.services import list_sites

    sites = _run(url, lambda db, ctx: list_sites(db, ctx, study))
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
) -> None:
    """Create a user; the password is asked twice (hidden) or read from standard input."""
    from trialkit.services import create_user

    password = _password(password_stdin)
    user = _run(
        url,
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
) -> None:
    """Deactivate a user: no login, no API token; their records and signatures stay."""
    from trialkit.services import set_active

    _run(url, lambda db, ctx: set_active(db, ctx, username, False, reason))
    console.print(f"deactivated {username}")


@member_app.command("add")
def member_add(
    username: Annotated[str, typer.Argument(help="Login name.")],
    study: Annotated[str, typer.Argument(help="The study's id.")],
    role: Annotated[str, typer.Argument(help="One of: " + ", ".join(ROLE_NAMES))],
    site: Annotated[
        str | None, typer.Option("--site", help="Limit to one site (default: every site).")
    ] = None,
    unblinded: Annotated[
        bool, typer.Option("--unblinded", help="May see allocations in a masked study.")
    ] = False,
    url: UrlOption = None,
) -> None:
    """Give a user a role in a study, at one site or every site."""
    from trialkit.services import add_membership

    m = _run(
        url,
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
) -> None:
    """List the memberships in force in a study."""
    from trialkit.services import list_memberships

    rows = _run(url, lambda db, ctx: list_memberships(db, ctx, study))
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
) -> None:
    """End a membership from now on; its history stays."""
    from trialkit.services import revoke_membership

    _run(url, lambda db, ctx: revoke_membership(db, ctx, membership_id, reason))
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
    user: UserOption = None,
    url: UrlOption = None,
) -> None:
    """Enrol a consented, eligible participant and allocate them by the study's method (as a
    user: --user NAME or $TRIALKIT_TOKEN)."""
    from trialkit.services import enrol
    from trialkit.services.studies import protocol

    with open_database(url) as db:
        ctx = user_context(db, user)
        with db.read() as conn:
            protocol(conn, study)  # an unknown study is named as such (STUDY.E003)
        p = enrol(db, ctx, study, participant, investigator_override=confirmation)
    arm = p.arm if p.arm is not None else "not shown (the study is masked and you are blinded)"
    console.print(f"{p.code}: {p.status.value}, arm {arm} (by {ctx.actor})")


def _date(text: str | None, option: str) -> datetime | None:
    if text is None:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError as exc:
        raise ValidationFailed(
            f"{option} {text!r} is not a date; write YYYY-MM-DD", code="CLI.E014"
        ) from exc
    return datetime.combine(day, time())


@token_app.command("create")
def token_create(
    username: Annotated[str, typer.Argument(help="The user the token acts as.")],
    study: Annotated[
        str | None,
        typer.Option("--study", help="Limit the token to this study (default: all of the user's)."),
    ] = None,
    expires: Annotated[
        str | None,
        typer.Option("--expires", help="Expiry date YYYY-MM-DD (from its start); default never."),
    ] = None,
    name: Annotated[
        str, typer.Option("--name", help="What the token is for (shown in token list).")
    ] = "cli",
    redcap: Annotated[
        bool,
        typer.Option(
            "--redcap",
            help="A REDCap token (32 hexadecimal characters) for the REDCap-compatible "
            "endpoint /redcap/api/; needs --study.",
        ),
    ] = False,
    url: UrlOption = None,
) -> None:
    """Issue an API token for a user; it is printed once, keep it secret."""
    from trialkit.services import issue_token

    expires_at = _date(expires, "--expires")
    issued = _run(
        url,
        lambda db, ctx: issue_token(
            db,
            ctx,
            name,
            expires_at=expires_at,
            username=username,
            study_code=study,
            redcap=redcap,
        ),
    )
    scope = f"study {study}" if study else "all of the user's studies"
    until = f"until {issued.expires_at:%Y-%m-%d}" if issued.expires_at else "no expiry"
    console.print(issued.token)
    sys.stderr.write(
        f"token {issued.id} for {username} ({scope}, {until}): shown this once; "
        + (
            "give it to a REDCap client with the URL ending /redcap/api/\n"
            if redcap
            else "give it as TRIALKIT_TOKEN\n"
        )
    )


@token_app.command("list")
def token_list(
    username: Annotated[
        str | None, typer.Argument(help="Only this user's tokens (default: everyone's).")
    ] = None,
    url: UrlOption = None,
) -> None:
    """List API tokens (never the tokens themselves, only their first characters)."""
    from trialkit.services import list_tokens

    ctx = operator_context()
    with open_database(url) as db:
        rows = list_tokens(db, ctx, username)
    if not rows:
        console.print("no API tokens")
    for t in rows:
        expires = "never" if t.expires_at is None else f"{t.expires_at:%Y-%m-%d %H:%M}"
        scope = f"study {t.study}" if t.study else "all studies"
        console.print(
            f"{t.id}  {t.username}  {t.name!r}  {t.prefix}…  {scope}  "
            f"created {t.created_at:%Y-%m-%d}  expires {expires}  {t.state(ctx.as_of)}"
        )


@token_app.command("revoke")
def token_revoke(
    token_id: Annotated[int, typer.Argument(help="The token's id (token list).")],
    url: UrlOption = None,
) -> None:
    """Revoke an API token from now on."""
    from trialkit.services import revoke_token

    _run(url, lambda db, ctx: revoke_token(db, ctx, token_id))
    console.print(f"revoked token {token_id}")


@user_app.command("list")
def user_list(url: UrlOption = None) -> None:
    """List the users with their memberships in force."""
    from trialkit.services import list_users

    rows = _run(url, list_users)
    if not rows:
        console.print("no users")
    for u in rows:
        state = "active" if u.user.active else "deactivated"
        if u.user.is_admin:
            state += ", platform administrator"
        if u.locked_until is not None:
            state += f", locked until {u.locked_until:%Y-%m-%d %H:%M}"
        console.print(f"{u.user.username} ({u.user.display_name}): {state}")
        for m in u.memberships:
            where = f"site {m.site}" if m.site else "every site"
            blind = ", unblinded" if m.unblinded else ""
            console.print(f"  {m.study}: {m.role.value} at {where}{blind} (membership {m.id})")
        if not u.memberships:
            console.print("  no memberships")


def register(app: typer.Typer) -> None:
    from trialkit.cli.study import study_app

    study_app.command("load")(load_command)
    app.add_typer(user_app, name="user")
    app.add_typer(member_app, name="member")
    app.add_typer(site_app, name="site")
    app.add_typer(token_app, name="token")
    app.command("allocate")(allocate_command)
