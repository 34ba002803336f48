"""``trialkit db``: create or migrate the database."""

from __future__ import annotations

from typing import Annotated

import typer

from trialkit.cli._auth import revision_of
from trialkit.cli._console import console

__all__ = ["register"]

db_app = typer.Typer(help="Create or migrate the trialkit database.", no_args_is_help=True)

UrlOption = Annotated[
    str | None,
    typer.Option(
        "--url",
        help="Database URL; default $TRIALKIT_DATABASE_URL, else sqlite:///./trialkit.sqlite3.",
    ),
]


@db_app.command("upgrade")
def upgrade_command(url: UrlOption = None) -> None:
    """Create the schema in a new database, or migrate an existing one to this version."""
    from trialkit.store import Database, default_url, upgrade

    db = Database.from_url(default_url(url))
    try:
        revision_of(db)  # a file that is no database is named before migrating
        result = upgrade(db.engine)
    finally:
        db.dispose()
    where = db.engine.url.render_as_string(hide_password=True)
    if result.before == result.after:
        console.print(f"{where}: already at schema revision {result.after}")
    elif result.before is None:
        console.print(f"{where}: created the schema at revision {result.after}")
    else:
        console.print(f"{where}: migrated from revision {result.before} to {result.after}")


@db_app.command("head")
def head_command() -> None:
    """Print the newest schema revision this version of trialkit ships."""
    from trialkit.store import head_revision

    console.print(head_revision())


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")
