"""Shared Rich consoles and the one way the CLI reports an error."""

from __future__ import annotations

import sys
from typing import NoReturn

from rich.console import Console

from trialkit.errors import TrialkitError

__all__ = ["console", "err_console", "fail"]

console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def fail(exc: TrialkitError, exit_code: int = 1) -> NoReturn:
    """Print ``exc`` as ``error [CODE]: message`` on standard error and exit."""
    err_console.print(f"[bold red]error[/] [{exc.code}]: {exc}", markup=True, highlight=False)
    sys.exit(exit_code)
