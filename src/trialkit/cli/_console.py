"""Shared Rich consoles and the one way the CLI prints a message or reports an error.

Text a user typed (a file name, a YAML key, a score's item name) may contain square brackets,
which Rich reads as markup: ``no[/such].yaml`` would raise instead of printing. So both consoles
are made with markup off, and what the CLI styles goes through :func:`styled`, which escapes
every value interpolated into its template. A plain ``console.print(text)`` therefore always
prints ``text`` literally, tables and titles included.
"""

from __future__ import annotations

import sys
from typing import NoReturn

from rich.console import Console
from rich.markup import escape
from rich.text import Text

from trialkit.errors import StorageError, TrialkitError

__all__ = ["console", "err_console", "fail", "fail_message", "styled"]

console = Console(highlight=False, soft_wrap=True, markup=False)
err_console = Console(stderr=True, highlight=False, soft_wrap=True, markup=False)


def styled(template: str, *values: object) -> Text:
    """``template`` (Rich markup written by trialkit) with ``values`` put in escaped.

    ``styled("[bold]{}[/]: {}", study_id, message)`` styles the id; the values are shown as
    typed, brackets and all.
    """
    return Text.from_markup(template.format(*(escape(str(v)) for v in values)))


def fail_message(code: str, message: str, exit_code: int = 1) -> NoReturn:
    """Print ``error [CODE]: message`` on standard error and exit with ``exit_code``."""
    err_console.print(styled("[bold red]error[/] \\[{}]: {}", code, message))
    sys.exit(exit_code)


def fail(exc: TrialkitError, exit_code: int = 1) -> NoReturn:
    """Print ``exc`` as ``error [CODE]: message`` on standard error and exit.

    A database driver's message may span lines (psycopg's "Is the server running ..."): a
    :class:`StorageError` is joined into one line. Lists by design (the problems of a study
    definition, one per line) are kept.
    """
    message = str(exc)
    if isinstance(exc, StorageError):
        message = " ".join(message.split())
    fail_message(exc.code, message, exit_code)
