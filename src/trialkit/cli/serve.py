"""``trialkit serve``: the web application, with uvicorn.

Outside demo mode it needs ``TRIALKIT_SECRET_KEY`` and a database made with ``trialkit db
upgrade`` (it never creates users). ``--demo`` makes (once) a local SQLite database with the
shipped studies, a demo team and made-up participants, and prints the logins.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from trialkit.cli._console import console, err_console, styled
from trialkit.errors import StorageError
from trialkit.store import Database, current_revision, default_url, head_revision

__all__ = ["DEMO_DATABASE", "register"]

#: The demo's SQLite file (in the current directory) when no --url is given.
DEMO_DATABASE = "trialkit-demo.sqlite3"


def serve_command(
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on (demo mode: loopback only).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8000,
    url: Annotated[
        str | None,
        typer.Option(
            "--url",
            help="Database URL; default $TRIALKIT_DATABASE_URL, else sqlite:///./trialkit.sqlite3 "
            f"(demo mode: sqlite:///./{DEMO_DATABASE}).",
        ),
    ] = None,
    demo: Annotated[
        bool,
        typer.Option(
            "--demo",
            help="Demo mode: make a local database with the shipped studies, a demo team and "
            "made-up participants (once), and print the logins.",
        ),
    ] = False,
) -> None:
    """Serve the web application (the study workspace) with uvicorn."""
    import uvicorn

    from trialkit.web import Settings, create_app
    from trialkit.web.demo_mode import DEMO_PASSWORD, TEAM, ensure_demo_database

    if demo and url is None:
        url = f"sqlite:///{Path.cwd() / DEMO_DATABASE}"
    settings = Settings.from_env(demo=demo, host=host, port=port, database_url=default_url(url))
    db = Database.from_url(settings.database_url)
    where = db.engine.url.render_as_string(hide_password=True)
    if demo:
        seeded = ensure_demo_database(db, date.today())
        console.print(
            styled(
                "[bold yellow]DEMO MODE[/]: made-up data and demo logins; do not enter "
                "real patient data."
            )
        )
        console.print(f"database: {where} ({'created' if seeded else 'existing demo data'})")
        # quoted, and said to be whole: "demo passphrase" alone is a wrong password
        console.print(
            styled(
                "every demo login's password, the whole of it, comma included: [bold]{}[/]",
                repr(DEMO_PASSWORD),
            )
        )
        for person in TEAM:
            site = f"site {person.site}" if person.site else "every site"
            extra = f" ({person.note})" if person.note else ""
            console.print(f"  {person.username:<14} {person.role.value} at {site}{extra}")
    else:
        revision = current_revision(db.engine)
        if revision != head_revision():
            raise StorageError(
                f"{where} is at schema revision {revision or 'none'}, not {head_revision()}",
                code="STORE.E030",
                hint="run `trialkit db upgrade` first (or `trialkit serve --demo` to try it)",
            )
    console.print(
        styled(
            "serving trialkit on [bold]http://{}:{}/[/] (Ctrl+C stops it)",
            settings.host,
            settings.port,
        )
    )
    app = create_app(settings, db=db)
    try:
        uvicorn.run(
            app,
            host=settings.host,
            port=settings.port,
            access_log=False,  # paths carry participant ids; trialkit logs routes instead
            log_config=log_config(),
            log_level="info",
            proxy_headers=False,
        )
    finally:
        db.dispose()
    err_console.print("trialkit stopped")


def log_config() -> dict[str, Any]:
    """uvicorn's logging configuration with trialkit's loggers added (uvicorn configures only
    its own, so ``trialkit.web.access``, one line a request naming the route, would be dropped):
    trialkit's records go to uvicorn's ``default`` handler (standard error), at INFO."""
    import copy

    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["trialkit"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return config


def register(app: typer.Typer) -> None:
    app.command("serve")(serve_command)
