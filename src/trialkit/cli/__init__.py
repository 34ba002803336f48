"""The ``trialkit`` command (Typer + Rich).

Each command group lives in a module of its own; this module assembles them and turns every
:class:`~trialkit.errors.TrialkitError` into a one-line message and a non-zero exit, so that a
user never sees a traceback.
"""

from __future__ import annotations

import typer

from trialkit import __version__
from trialkit.cli import admin as _admin
from trialkit.cli import analyse as _analyse
from trialkit.cli import audit as _audit
from trialkit.cli import db as _db
from trialkit.cli import demo as _demo
from trialkit.cli import prescreen as _prescreen
from trialkit.cli import score as _score
from trialkit.cli import serve as _serve
from trialkit.cli import study as _study
from trialkit.cli._console import fail
from trialkit.errors import TrialkitError

__all__ = ["app", "main"]

app = typer.Typer(
    name="trialkit",
    help="Run early-phase clinical trials from the registry record to the final report.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.command()
def version() -> None:
    """Print the trialkit version."""
    typer.echo(__version__)


_study.register(app)
_demo.register(app)
_analyse.register(app)
_score.register(app)
_prescreen.register(app)
_db.register(app)
_audit.register(app)
_admin.register(app)
_serve.register(app)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: run the app and translate trialkit errors to exit codes."""
    try:
        app(args=argv)
    except TrialkitError as exc:
        fail(exc)
