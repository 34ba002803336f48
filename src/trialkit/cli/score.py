"""``trialkit score``: compute a clinical score from item values given as JSON."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Annotated, Any

import typer
from rich.table import Table

from trialkit.cli._console import console, fail
from trialkit.cli._input import read_json_object
from trialkit.errors import TrialkitError, ValidationFailed
from trialkit.instruments import INSTRUMENTS, Instrument, ScoreResult, get_instrument

__all__ = ["register"]


def _read_values(source: str) -> dict[str, object]:
    """Item values from a JSON text, ``@file.json`` or ``-`` (standard input)."""
    return read_json_object(
        source,
        what="item values",
        read_code="INSTR.E050",
        parse_code="INSTR.E051",
        example="'{\"pain_nrs\": 3}'",
    )


def _parse_options(pairs: list[str]) -> dict[str, object]:
    out: dict[str, object] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ValidationFailed(
                f"option {pair!r} is not NAME=VALUE; write e.g. --option min_diary_days=6",
                code="INSTR.E052",
            )
        out[key.strip()] = value.strip()
    return out


def _jsonable(value: object) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    return value


def _list(as_json: bool) -> None:
    if as_json:
        rows = [
            {"name": i.name, "title": i.title, "version": i.version, "reference": i.reference}
            for i in INSTRUMENTS.values()
        ]
        console.print_json(json.dumps(rows))
        return
    table = Table(title="Instruments")
    for col in ("name", "title", "version"):
        table.add_column(col)
    for inst in INSTRUMENTS.values():
        table.add_row(inst.name, inst.title, inst.version)
    console.print(table)


def _items(inst: Instrument, as_json: bool) -> None:
    if as_json:
        payload = {
            "instrument": inst.name,
            "version": inst.version,
            "items": [item.model_dump(mode="json") for item in inst.items],
            "options": [opt.model_dump(mode="json") for opt in inst.options],
        }
        console.print_json(json.dumps(payload))
        return
    table = Table(title=f"{inst.title} items ({inst.version})")
    for col in ("item", "type", "allowed", "unit", "required", "label"):
        table.add_column(col)
    for item in inst.items:
        table.add_row(
            item.name,
            item.data_type,
            item.range_text(),
            item.unit or "",
            "yes" if item.required else "no",
            item.label,
        )
    console.print(table)
    for opt in inst.options:
        console.print(f"option {opt.name} (default {opt.default}): {opt.description}")


def _show(inst: Instrument, result: ScoreResult, as_json: bool) -> None:
    if as_json:
        console.print_json(json.dumps(result.to_dict()))
        return
    if not inst.has_total:
        shown = "profile, scores below"
    else:
        shown = "no score" if result.value is None else str(result.value)
    console.print(f"{result.instrument} ({result.version}): {shown}")
    if result.reason:
        console.print(f"reason: {result.reason}")
    if result.parts:
        table = Table()
        table.add_column("part")
        table.add_column("value", justify="right")
        for key, value in result.parts.items():
            table.add_row(key, str(value))
        console.print(table)
    for key, flag in result.flags.items():
        if flag is not None:
            console.print(f"{key}: {_jsonable(flag)}")
    if result.missing:
        console.print(f"missing: {', '.join(result.missing)}")


def score(
    name: Annotated[
        str | None, typer.Argument(help="Instrument name (see --list).", show_default=False)
    ] = None,
    values: Annotated[
        str | None,
        typer.Argument(
            help="Item values as a JSON object, @file.json, or - for standard input.",
            show_default=False,
        ),
    ] = None,
    list_: Annotated[bool, typer.Option("--list", help="List the instruments.")] = False,
    items: Annotated[bool, typer.Option("--items", help="List the instrument's items.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    option: Annotated[
        list[str] | None,
        typer.Option("--option", "-o", help="A scoring option NAME=VALUE (repeatable)."),
    ] = None,
) -> None:
    """Compute a clinical score (PASI, CDAI, Mayo, SES-CD, SF-36, CTCAE grades...)."""
    try:
        if list_:
            _list(as_json)
            return
        if name is None:
            raise ValidationFailed(
                "name an instrument, e.g. `trialkit score pasi '{...}'`; "
                "`trialkit score --list` lists them",
                code="INSTR.E053",
            )
        inst = get_instrument(name)
        if items:
            _items(inst, as_json)
            return
        if values is None:
            raise ValidationFailed(
                f"give the item values of {inst.name} as JSON, @file.json or - for standard "
                f"input; `trialkit score {inst.name} --items` lists the items",
                code="INSTR.E053",
            )
        result = inst.score(_read_values(values), _parse_options(option or []))
        _show(inst, result, as_json)
    except TrialkitError as exc:
        fail(exc)


def register(app: typer.Typer) -> None:
    app.command(name="score")(score)
