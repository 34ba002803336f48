"""``trialkit analyse STUDY --data FILE | --db [--url URL]``: endpoint tables for a study's data.

The data are the tidy CSV tables (``--data``, ``--adverse-events``) or the trial-records
database (``--db``; see :mod:`trialkit.services.tidy`). The endpoint definitions are the study's
outcomes: with ``--data`` its YAML, or a shipped study by id or registry id; with ``--db`` the
newest protocol version loaded in the database. ``--spec FILE`` (a YAML or JSON list of endpoint
specs, see docs/analysis.md) replaces them.
The core is :func:`trialkit.analysis.analyse`, which takes (specs, tidy data) and returns the
results.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import sqlalchemy as sa
import typer
import yaml
from pydantic import ValidationError
from rich.table import Table

from trialkit.analysis.data import TidyData, read_tidy
from trialkit.analysis.endpoints import EndpointResult, analyse
from trialkit.cli._auth import UserOption, user_context
from trialkit.cli._console import console, fail, styled
from trialkit.errors import DefinitionError, NotFound, TrialkitError, ValidationFailed
from trialkit.protocol import Study, resolve_study
from trialkit.protocol.endpoints import EndpointSpec, EndpointSpecs
from trialkit.services.tidy import TidyExtract, tidy_extract
from trialkit.store import Database, default_url

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
    console.print(styled("[bold]{}[/]: {} endpoint(s)", study, len(results)))
    for r in results:
        if r.status != "computed":
            console.print(styled("[bold]{} ({})[/]: {}: {}", r.name, r.type, r.status, r.reason))
            continue
        table = Table(title=f"{r.name} ({r.type})", title_justify="left")
        for c in r.columns:
            table.add_column(c, justify="left" if c in ("arm", "visit", "measure") else "right")
        for row in r.display_rows():
            table.add_row(*(_fmt(v) for v in row))
        console.print(table)
        if r.listing is not None and r.listing[1]:
            listing = Table(title=f"{r.name}: per participant", title_justify="left")
            for c in r.listing[0]:
                listing.add_column(c, justify="left" if c in ("arm", "participant") else "right")
            for row in r.display_listing():
                listing.add_row(*(_fmt(v) for v in row))
            console.print(listing)
        for method, conv in r.methods.items():
            if conv:
                details = "; ".join(f"{k}: {v}" for k, v in conv.items())
                console.print(styled("  [dim]{}: {}[/]", method, details))
        for note in r.notes:
            console.print(f"  note: {note}")


def _from_database(url: str | None, study: str, user: str | None = None) -> TidyExtract:
    """The study's tables from the database at ``url`` (``study``: its id, file or registry id)."""
    target = default_url(url)
    try:
        parsed: sa.URL | None = sa.make_url(target)
    except sa.exc.ArgumentError:
        parsed = None  # Database.from_url reports it
    sqlite_file = (
        parsed.database if parsed is not None and parsed.get_backend_name() == "sqlite" else None
    )
    if sqlite_file is not None and not Path(sqlite_file).is_file():
        raise NotFound(
            f"database file {sqlite_file} does not exist",
            code="ANALYSIS.E205",
            hint="give --db sqlite:///path/to/trialkit.sqlite3, or set TRIALKIT_DATABASE_URL",
        )
    db = Database.from_url(target)
    try:
        ctx = user_context(db, user)
        try:
            return tidy_extract(db, ctx, study)
        except NotFound:
            loaded = resolve_study(study)  # a file or registry id naming a loaded study
            if loaded.id == study:
                raise
            return tidy_extract(db, ctx, loaded.id)
    finally:
        db.dispose()


def _study_specs(loaded: Study) -> list[EndpointSpec]:
    specs = [ep for outcome in loaded.outcomes for ep in outcome.endpoints]
    if not specs:
        raise DefinitionError(
            f"study {loaded.id}: its outcomes define no endpoints",
            code="ANALYSIS.E203",
            hint="add `endpoints` to the outcomes, or pass --spec FILE",
        )
    return specs


def _arms_if_study(study: str) -> list[str]:
    """The arms of ``study`` in protocol order when it names a study, else none (natural)."""
    try:
        return [a.id for a in resolve_study(study).arms]
    except TrialkitError:
        return []


def analyse_command(
    study: Annotated[
        str, typer.Argument(help="A study YAML file, or a shipped study's id or registry id.")
    ],
    data: Annotated[
        Path | None, typer.Option("--data", help="Tidy CSV of captured values.")
    ] = None,
    spec: Annotated[
        Path | None,
        typer.Option("--spec", help="YAML/JSON list of endpoint specs instead of the study's."),
    ] = None,
    adverse_events: Annotated[
        Path | None, typer.Option("--adverse-events", help="CSV of adverse events.")
    ] = None,
    db: Annotated[
        bool,
        typer.Option("--db", help="Read the trial-records database instead of CSV files."),
    ] = False,
    url: Annotated[
        str | None,
        typer.Option(
            "--url",
            help="Database URL for --db; default $TRIALKIT_DATABASE_URL, else "
            "sqlite:///./trialkit.sqlite3.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for machines.")] = False,
    user: UserOption = None,
) -> None:
    """Print the endpoint tables for a study's captured data (CSV or the database)."""
    notes: tuple[str, ...] = ()
    try:
        if db == (data is not None) or (db and adverse_events is not None):
            raise ValidationFailed(
                "give either --data (and optionally --adverse-events) or --db, not both",
                code="ANALYSIS.E206",
                hint="--data values.csv reads CSV; --db [--url URL] reads the trial-records "
                "database",
            )
        if url is not None and not db:
            raise ValidationFailed(
                "--url names the database read with --db; add --db",
                code="ANALYSIS.E207",
            )
        tidy: TidyData
        if db:
            extract = _from_database(url, study, user)
            study, tidy, notes = extract.study.id, extract.data, extract.notes
            specs = load_specs(spec) if spec is not None else _study_specs(extract.study)
            arm_order = [a.id for a in extract.study.arms]
        else:
            assert data is not None
            if spec is None:
                loaded = resolve_study(study)
                specs = _study_specs(loaded)
                study = loaded.id
                arm_order = [a.id for a in loaded.arms]
            else:
                specs = load_specs(spec)
                arm_order = _arms_if_study(study)
            for p, what in ((data, "data"), (adverse_events, "adverse events")):
                if p is not None and not p.is_file():
                    raise NotFound(
                        f"{what} file {p} does not exist; give the path of the CSV",
                        code="ANALYSIS.E204",
                    )
            tidy = read_tidy(data, adverse_events)
        results = analyse(specs, tidy, arm_order=arm_order)
    except TrialkitError as exc:
        fail(exc)
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "study": study,
                    "data_notes": list(notes),
                    "endpoints": [r.to_dict() for r in results],
                },
                ensure_ascii=False,
                indent=2,
            )
        )
    else:
        for note in notes:
            console.print(f"data note: {note}")
        _print(study, results)


def register(app: typer.Typer) -> None:
    app.command(name="analyse")(analyse_command)
