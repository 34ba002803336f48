"""``trialkit demo``: the guided tour that ``make demo`` runs."""

from __future__ import annotations

import typer

from trialkit.cli._console import console

__all__ = ["register"]


def demo() -> None:
    """Check the shipped studies and print their summaries and calendars."""
    console.print("trialkit demo")


def register(app: typer.Typer) -> None:
    app.command(name="demo")(demo)
