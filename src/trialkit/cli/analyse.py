"""``trialkit analyse STUDY --data FILE``: endpoint tables for a study's captured data.

The endpoint definitions are the study's outcomes (its YAML, or a shipped study by id or registry
id); ``--spec FILE`` (a YAML or JSON list of endpoint specs, see docs/analysis.md) replaces them.
The core is :func:`trialkit.analysis.analyse`, which takes (specs, tidy data) and returns the
results.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from pydantic import ValidationError
from rich.table import Table

from trialkit.analysis.data import read_tidy
from trialkit.analysis.endpoints import EndpointResult, analyse
from trialkit.cli._console import console, fail
from trialkit.errors import DefinitionError, NotFound, TrialkitError
from trialkit.protocol import resolve_study
from trialkit.protocol.endpoints import EndpointSpec, EndpointSpecs

__all__ = ["load_specs", "register"]


def load_specs(path: Path) -> list[EndpointSpec]:
    """Endpoint specs from a YAML or JSON file (a list, or a mapping with ``endpoints``)."""
    if not path.is_file():
        raise NotFound(
            f"spec file {path} does not exist; give the path of a YAML or JSON list of "
            "endpoint specs",
            code="ANALYSIS.E200",
        )
    try:
        raw: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise DefinitionError(
            f"the spec file is not valid YAML/JSON: {getattr(exc, 'problem', exc)}",
            code="ANALYSIS.E201",
            file=str(path),
            line=None if mark is None else mark.line + 1,
            hint="fix the syntax at that line",
        ) from exc
    if isinstance(raw, dict) and "endpoints" in raw:
        raw = raw["endpoints"]
    try:
        return list(EndpointSpecs.model_validate(raw).root)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise DefinitionError(
            f"endpoint spec invalid: {first['msg']}",
            code="ANALYSIS.E202",
            file=str(path),
            path=where or None,
            hint="see docs/analysis.md for the fields of each endpoint type",
        ) from exc


def _fmt(v: object) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def _print(study: str, results: list[EndpointResult]) -> None:
    console.print(f"[bold]{study}[/]: {len(results)} endpoint(s)")
    for r in results:
        table = Table(title=f"{r.name} ({r.type})", title_justify="left")
        for c in r.columns:
            table.add_column(c, justify="left" if c in ("arm", "visit", "measure") else "right")
        for row in r.rows:
            table.add_row(*(_fmt(v) for v in row))
        console.print(table)
        for method, conv in r.methods.items():
            if conv:
                details = "; ".join(f"{k}: {v}" for k, v in conv.items())
                console.print(f"  [dim]{method}: {details}[/]")
        for note in r.notes:
            console.print(f"  note: {note}")


def analyse_command(
    study: Annotated[
        str, typer.Argument(help="A study YAML file, or a shipped study's id or registry id.")
    ],
    data: Annotated[Path, typer.Option("--data", help="Tidy CSV of captured values.")],
    spec: Annotated[
        Path | None,
        typer.Option("--spec", help="YAML/JSON list of endpoint specs instead of the study's."),
    ] = None,
    adverse_events: Annotated[
        Path | None, typer.Option("--adverse-events", help="CSV of adverse events.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for machines.")] = False,
) -> None:
    """Print the endpoint tables for a study's captured data."""
    try:
        if spec is None:
            loaded = resolve_study(study)
            specs = [ep for outcome in loaded.outcomes for ep in outcome.endpoints]
            if not specs:
                raise DefinitionError(
                    f"study {loaded.id}: its outcomes define no endpoints",
                    code="ANALYSIS.E203",
                    hint="add `endpoints` to the outcomes, or pass --spec FILE",
                )
            study = loaded.id
        else:
            specs = load_specs(spec)
        for p, what in ((data, "data"), (adverse_events, "adverse events")):
            if p is not None and not p.is_file():
                raise NotFound(
                    f"{what} file {p} does not exist; give the path of the CSV",
                    code="ANALYSIS.E204",
                )
        tidy = read_tidy(data, adverse_events)
        results = analyse(specs, tidy)
    except TrialkitError as exc:
        fail(exc)
    if as_json:
        typer.echo(
            json.dumps(
                {"study": study, "endpoints": [r.to_dict() for r in results]},
                ensure_ascii=False,
                indent=2,
            )
        )
    else:
        _print(study, results)


def register(app: typer.Typer) -> None:
    app.command(name="analyse")(analyse_command)
