"""Who acts on the command line: the one place a CLI command becomes a user's :class:`Context`.

Everything that touches a participant (``allocate``, ``analyse --db``, the safety commands) is
done by an authenticated user, with that user's role, sites and blinding, as on the web:

* ``--user NAME``: the password is read from ``$TRIALKIT_PASSWORD`` (for scripts), else asked
  without echo on the terminal; wrong passwords count toward the account's lockout;
* otherwise the API token in ``$TRIALKIT_TOKEN`` (``trialkit token create``).

The local operator (whoever holds the database credentials) keeps administration only: see
:mod:`trialkit.cli._operator`. The CLI is the one edge that reads the clock.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from trialkit.cli._console import fail
from trialkit.errors import AccessDenied, StorageError, TrialkitError, ValidationFailed

if TYPE_CHECKING:
    from trialkit.services import Context
    from trialkit.store import Database

__all__ = [
    "PASSWORD_ENV",
    "TOKEN_ENV",
    "UrlOption",
    "UserOption",
    "open_database",
    "revision_of",
    "run_as_user",
    "user_context",
]

T = TypeVar("T")

TOKEN_ENV = "TRIALKIT_TOKEN"
PASSWORD_ENV = "TRIALKIT_PASSWORD"

UserOption = Annotated[
    str | None,
    typer.Option(
        "--user",
        help=f"Act as this user; the password is ${PASSWORD_ENV} or asked (hidden). "
        f"Default: the API token in ${TOKEN_ENV}.",
        show_default=False,
    ),
]
UrlOption = Annotated[
    str | None,
    typer.Option(
        "--url", help="Database URL; default $TRIALKIT_DATABASE_URL or ./trialkit.sqlite3."
    ),
]


@contextmanager
def open_database(url: str | None) -> Iterator[Database]:
    """The database at ``url`` (default as for ``trialkit db``), refused without the schema."""
    from trialkit.store import Database, default_url

    db = Database.from_url(default_url(url))
    try:
        if revision_of(db) is None:
            raise _no_schema(db)
        yield db
    finally:
        db.dispose()


def _no_schema(db: Database) -> StorageError:
    where = db.engine.url.render_as_string(hide_password=True)
    return StorageError(
        f"{where} has no trialkit schema",
        code="STORE.E030",
        hint="run `trialkit db upgrade` first, or give the right --url",
    )


def revision_of(db: Database) -> str | None:
    """The database's schema revision; a file that is no database is named as such."""
    import sqlalchemy as sa

    from trialkit.store import current_revision

    try:
        return current_revision(db.engine)
    except sa.exc.DatabaseError as exc:  # e.g. SQLite: "file is not a database"
        where = db.engine.url.render_as_string(hide_password=True)
        detail = " ".join(str(getattr(exc, "orig", exc)).split())
        raise StorageError(
            f"{where} is not a database trialkit can read: {detail}",
            code="STORE.E031",
            hint="give the URL of a trialkit database (sqlite:///path/to/trialkit.sqlite3)",
        ) from exc


def _password(username: str) -> str:
    given = os.environ.get(PASSWORD_ENV)
    if given:
        return given
    if not sys.stdin.isatty():
        raise ValidationFailed(
            f"no terminal to ask the password of {username!r}",
            code="CLI.E021",
            hint=f"set ${PASSWORD_ENV} for a script, or use an API token in ${TOKEN_ENV}",
        )
    return str(typer.prompt(f"Password for {username}", hide_input=True, err=True))


def user_context(db: Database, user: str | None, now: datetime | None = None) -> Context:
    """The context of the user acting on the command line, or a one-line refusal.

    ``user`` is ``--user``: their password is checked (``AUTH.E020`` wrong, ``AUTH.E021``
    deactivated, ``AUTH.E022`` locked out). Without it, the token in ``$TRIALKIT_TOKEN`` is
    (``AUTH.E033`` unknown, ``AUTH.E034`` revoked, ``AUTH.E035`` expired). Neither refuses
    with ``CLI.E020``. ``now`` is the time of the call (default the local clock).
    """
    from trialkit.services import authenticate, context_for_token

    if revision_of(db) is None:
        raise _no_schema(db)
    when = datetime.now() if now is None else now
    if user is not None:
        if not user.strip():
            raise ValidationFailed("--user is empty; give a user name", code="CLI.E022")
        return authenticate(db, user.strip(), _password(user.strip()), when)
    token = os.environ.get(TOKEN_ENV, "").strip()
    if token:
        return context_for_token(db, token, when)
    raise AccessDenied(
        "this command acts on participants and needs a user",
        code="CLI.E020",
        hint=f"give --user NAME (password asked, or ${PASSWORD_ENV}) or set ${TOKEN_ENV} "
        "to an API token (`trialkit token create`)",
    )


def run_as_user(url: str | None, user: str | None, action: Callable[[Database, Context], T]) -> T:
    """Run ``action`` as the authenticated user (:func:`user_context`) on the database at
    ``url``; a trialkit error ends the command with its code and message."""
    try:
        with open_database(url) as db:
            return action(db, user_context(db, user))
    except TrialkitError as exc:
        fail(exc)
