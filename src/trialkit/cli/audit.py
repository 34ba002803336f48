"""``trialkit audit``: check the audit trail's hash chain."""

from __future__ import annotations

from typing import Annotated

import sqlalchemy as sa
import typer

from trialkit.cli._console import console, err_console
from trialkit.errors import StorageError
from trialkit.store import Database, current_revision, default_url, verify

__all__ = ["register"]

audit_app = typer.Typer(help="Check the audit trail.", no_args_is_help=True)


@audit_app.command("verify")
def verify_command(
    url: Annotated[
        str | None,
        typer.Option(
            "--url", help="Database URL; default $TRIALKIT_DATABASE_URL or ./trialkit.sqlite3."
        ),
    ] = None,
) -> None:
    """Walk the audit trail and report the first edited, deleted, inserted or reordered entry."""
    db = Database.from_url(default_url(url))
    try:
        where = db.engine.url.render_as_string(hide_password=True)
        if current_revision(db.engine) is None:
            raise StorageError(
                f"{where} has no trialkit schema",
                code="STORE.E030",
                hint="run `trialkit db upgrade` first, or give the right --url",
            )
        try:
            with db.read() as conn:
                result = verify(conn)
        except sa.exc.DBAPIError as exc:
            raise StorageError(
                f"cannot read the audit trail of {where}: {exc.orig}", code="STORE.E031"
            ) from exc
    finally:
        db.dispose()
    if result.problem is None:
        console.print(
            f"audit trail intact: {result.entries} entries; head {result.head_seq} "
            f"sha256:{result.head_hash}"
        )
        console.print("Keep the head hash outside the database (e.g. in a signed report).")
        return
    p = result.problem
    err_console.print(f"audit trail BROKEN at entry {p.seq}: {p.kind}: {p.detail}")
    raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(audit_app, name="audit")
