"""The ``trialkit`` command (Typer + Rich).

Each command group lives in a module of its own. The modules are imported only when their
command runs (:class:`_LazyGroup`), so that ``trialkit --help``, ``version``, ``score`` and
``study check`` do not pay for the database layer or the statistics libraries; ``--help``
lists the commands from :data:`_LAZY` without importing them.

:func:`main` turns every :class:`~trialkit.errors.TrialkitError` into a one-line message and a
non-zero exit, so that a user never sees a traceback; anything else that escapes a command is
reported on one line too (``CLI.E999``), with a request to report it.
"""

from __future__ import annotations

import importlib
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup

from trialkit import __version__
from trialkit.cli._console import fail, fail_message
from trialkit.errors import TrialkitError

__all__ = ["LAZY_COMMANDS", "app", "main"]

#: name -> (module whose ``register(app)`` adds it, short help shown by ``trialkit --help``).
#: A command group added by a new module is listed here.
LAZY_COMMANDS: dict[str, tuple[str, str]] = {
    "study": ("trialkit.cli.study", "Check, show, import, load and describe study definitions."),
    "demo": ("trialkit.cli.demo", "The guided tour: the shipped studies, then trial records."),
    "analyse": ("trialkit.cli.analyse", "Endpoint tables for a study's data (CSV or database)."),
    "design": ("trialkit.cli.design", "Operating characteristics of a study's dose selection."),
    "score": ("trialkit.cli.score", "Compute a clinical score (PASI, CDAI, Mayo, SES-CD, ...)."),
    "screen": ("trialkit.cli.screen", "Screen one candidate and explain the verdict."),
    "prescreen": ("trialkit.cli.prescreen", "Screen a CSV or Parquet file of candidates."),
    "db": ("trialkit.cli.db", "Create or migrate the trialkit database."),
    "audit": ("trialkit.cli.audit", "Check the audit trail."),
    "serve": ("trialkit.cli.serve", "Serve the web workspace (--demo: a local demo team)."),
    "safety": ("trialkit.cli.safety", "Serious-event reports due and overdue (as a user)."),
    "site": ("trialkit.cli.admin", "Add and list a study's sites."),
    "user": ("trialkit.cli.admin", "Create, list and deactivate users."),
    "member": ("trialkit.cli.admin", "Give, list and revoke study memberships."),
    "token": ("trialkit.cli.admin", "Create, list and revoke users' API tokens."),
    "allocate": ("trialkit.cli.admin", "Enrol and allocate a participant (as a user)."),
    "export": ("trialkit.cli.export", "Export a study's data: CSV, Stata, SAS, ODM, IPD."),
    "simulate": ("trialkit.cli.simulate", "Run a synthetic trial through the services."),
    "report": ("trialkit.cli.report", "Write the study report (HTML or PDF)."),
    "query": ("trialkit.cli.oversight", "Data queries: list, open, answer, close (as a user)."),
    "sdv": ("trialkit.cli.oversight", "Source data verification and its progress (as a user)."),
    "sign": ("trialkit.cli.oversight", "Sign a form, a visit or a casebook (as a user)."),
    "lock": ("trialkit.cli.oversight", "Lock and unlock a form, participant or study (as a user)."),
    "amend": (
        "trialkit.cli.amend",
        "Amendments: check, load with the approval, apply (as a user).",
    ),
}
#: Modules that add commands to another module's group (``study load`` lives in admin).
_ALSO = {"study": ("trialkit.cli.admin",)}


def _group() -> None:
    """Holds the commands of one module."""


def _build(name: str) -> Any:
    module, _ = LAZY_COMMANDS[name]
    holder = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    holder.callback()(_group)  # a group even when the module adds one command
    for each in (*_ALSO.get(name, ()), module):
        importlib.import_module(each).register(holder)
    group = typer.main.get_command(holder)
    commands: dict[str, Any] = getattr(group, "commands", {})
    return commands.get(name)


class _LazyGroup(TyperGroup):
    """A Typer group whose commands are imported when they are run (or their help shown)."""

    _listing = False

    def list_commands(self, ctx: Any) -> list[str]:
        return [*super().list_commands(ctx), *(n for n in LAZY_COMMANDS if n not in self.commands)]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        found = super().get_command(ctx, cmd_name)
        if found is not None or cmd_name not in LAZY_COMMANDS:
            return found
        if self._listing:  # `trialkit --help`: the name and its short help, nothing imported
            short = LAZY_COMMANDS[cmd_name][1]
            return TyperCommand(cmd_name, help=short, short_help=short)
        built = _build(cmd_name)
        if built is not None:
            self.add_command(built, cmd_name)
        return built

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


app = typer.Typer(
    name="trialkit",
    cls=_LazyGroup,
    help="Run early-phase clinical trials from the registry record to the final report.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _always_a_group() -> None:
    # With one eager command (`version`) and no callback, Typer would run that command as the
    # whole application; the callback keeps `trialkit` a group of commands.
    pass


@app.command()
def version() -> None:
    """Print the trialkit version."""
    typer.echo(__version__)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: run the app and translate errors to one line and an exit code.

    Deep nesting is refused where files are read (``CLI`` and ``DEF`` codes); the
    ``RecursionError`` and ``MemoryError`` cases here are the last resort.
    """
    try:
        app(args=argv)
    except TrialkitError as exc:
        fail(exc)
    except RecursionError:
        fail_message("CLI.E998", "the input is nested too deeply to be read; flatten it")
    except KeyboardInterrupt:
        fail_message("CLI.E997", "interrupted", exit_code=130)
    except Exception as exc:  # the user gets one line, never a traceback
        name = type(exc).__name__
        detail = " ".join(str(exc).split())[:300]
        fail_message(
            "CLI.E999",
            f"unexpected {name}: {detail} (this is a trialkit bug; please report it with the "
            "command that caused it)",
        )
