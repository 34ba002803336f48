"""``trialkit simulate STUDY --participants N``: a synthetic trial run through the services."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from trialkit.cli._auth import UrlOption
from trialkit.cli._console import console, fail, styled
from trialkit.errors import TrialkitError

__all__ = ["register"]


def simulate_command(
    study: Annotated[str, typer.Argument(help="The study's id (a shipped study is loaded).")],
    participants: Annotated[
        int, typer.Option("--participants", help="How many candidates arrive for screening.")
    ],
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same trial.")] = 1,
    scenario: Annotated[
        Path | None,
        typer.Option("--scenario", help="A scenario YAML file; default: the study's shipped one."),
    ] = None,
    url: UrlOption = None,
) -> None:
    """Run a whole synthetic trial (screening to the last visit, doses, adverse events, queries)
    through the services as a synthetic study team, then verify the audit trail."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from trialkit.simulate import load_scenario, simulate
    from trialkit.store import Database, current_revision, default_url, head_revision, upgrade

    try:
        chosen = load_scenario(scenario, study) if scenario is not None else None
        db = Database.from_url(default_url(url))
        try:
            if current_revision(db.engine) != head_revision():
                upgrade(db.engine)
            with Progress(
                TextColumn(f"simulating {study}"),
                BarColumn(),
                MofNCompleteColumn(),
                console=console,
                transient=True,
            ) as bar:
                task = bar.add_task("participants", total=participants)
                result = simulate(
                    db,
                    study,
                    participants=participants,
                    seed=seed,
                    scenario=chosen,
                    progress=lambda: bar.advance(task),
                )
        finally:
            db.dispose()
    except TrialkitError as exc:
        fail(exc)
    console.print(result.summary(), markup=False)
    console.print(
        styled("the synthetic team's users are listed by [bold]trialkit user list[/]"),
    )
    if not result.audit_ok:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command(name="simulate")(simulate_command)
