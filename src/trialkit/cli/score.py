"""``trialkit score``: compute a clinical score from item values given as JSON; with
``--baseline`` and ``--followup``, the change from baseline and every response and remission
rule of the instrument."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Annotated, Any

import typer
from rich import box
from rich.table import Table

from trialkit.cli._console import console, fail
from trialkit.cli._input import read_json_object
from trialkit.errors import TrialkitError, ValidationFailed
from trialkit.instruments import (
    INSTRUMENTS,
    Instrument,
    ScoreResult,
    change_from_baseline,
    get_instrument,
    rules_for,
)
from trialkit.instruments._numbers import fraction_to_decimal

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


def _visit_source(source: str) -> str:
    """``--baseline``/``--followup``: JSON text, ``@file.json``, ``-``, or a plain file path."""
    if source == "-" or source.startswith("@") or source.lstrip().startswith(("{", "[")):
        return source
    return "@" + source


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
    table = Table(title=f"{inst.title} items ({inst.version})", box=box.SIMPLE_HEAD)
    # The item name is what a user types: never wrapped or shortened; its label goes under it.
    width = max(len(item.name) for item in inst.items)
    table.add_column("item / label", no_wrap=False, min_width=width, overflow="fold")
    table.add_column("type", no_wrap=True)
    table.add_column("allowed", overflow="fold")
    table.add_column("unit", overflow="fold")
    table.add_column("required", overflow="fold", min_width=8)
    for item in inst.items:
        table.add_row(
            f"{item.name}\n{item.label}",
            item.data_type,
            item.range_text(),
            item.unit or "",
            item.required_text(),
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


def _number(value: object) -> str:
    from fractions import Fraction

    if isinstance(value, Fraction):
        return str(fraction_to_decimal(value))
    return str(value)


def _compare(
    inst: Instrument,
    baseline: ScoreResult | None,
    followup: ScoreResult,
    as_json: bool,
) -> None:
    """Both scores, the change from baseline and every rule of the instrument."""
    change = None if baseline is None else change_from_baseline(baseline, followup)
    rules = [
        (rule, rule.evaluate(baseline, followup))
        for rule in rules_for(inst.name)
        if baseline is not None or not rule.needs_baseline
    ]
    if as_json:
        payload = {
            "instrument": inst.name,
            "baseline": None if baseline is None else baseline.to_dict(),
            "followup": followup.to_dict(),
            "change": None
            if change is None
            else {
                "change": _number(change.change),
                "change_exact": str(change.change),
                "percent_fall": None
                if change.percent_fall is None
                else _number(change.percent_fall),
                "percent_fall_exact": None
                if change.percent_fall is None
                else str(change.percent_fall),
            },
            "rules": [
                {
                    "rule": rule.name,
                    "met": outcome.met,
                    "reason": outcome.reason,
                    "description": rule.description,
                }
                for rule, outcome in rules
            ],
        }
        console.print_json(json.dumps(payload))
        return
    if baseline is not None:
        console.print("baseline")
        _show(inst, baseline, False)
        console.print("")
    console.print("follow-up")
    _show(inst, followup, False)
    if baseline is not None:
        console.print("")
        if change is None:
            console.print("change from baseline: none (a score is missing)")
        else:
            fall = (
                "undefined (baseline 0)"
                if change.percent_fall is None
                else f"{_number(change.percent_fall)} %"
            )
            console.print(
                f"change from baseline: {_number(change.change)} "
                f"(follow-up minus baseline); fall from baseline: {fall}"
            )
    if not rules:
        console.print(f"{inst.name} has no named response or remission rule")
        return
    table = Table(title="Response and remission rules (exact values)")
    for col in ("rule", "met", "definition"):
        table.add_column(col, overflow="fold")
    for rule, outcome in rules:
        met = "undecided" if outcome.met is None else "yes" if outcome.met else "no"
        text = rule.description if outcome.reason is None else f"{outcome.reason}"
        table.add_row(rule.name, met, text)
    console.print(table)
    if baseline is None and any(r.needs_baseline for r in rules_for(inst.name)):
        console.print("the response rules need --baseline as well")


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
    baseline: Annotated[
        str | None,
        typer.Option(
            "--baseline",
            help="Baseline item values (a JSON file, @file.json, JSON text or -): adds the "
            "change from baseline and the response rules.",
            show_default=False,
        ),
    ] = None,
    followup: Annotated[
        str | None,
        typer.Option(
            "--followup",
            help="Follow-up item values (a JSON file, @file.json, JSON text or -), instead of "
            "VALUES: adds the instrument's response and remission rules.",
            show_default=False,
        ),
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
        if values is not None and followup is not None:
            raise ValidationFailed(
                "give the follow-up values once: as VALUES or as --followup, not both",
                code="INSTR.E054",
            )
        current = followup if followup is not None else values
        if current is None:
            raise ValidationFailed(
                f"give the item values of {inst.name} as JSON, @file.json or - for standard "
                f"input (with --baseline: --followup as well); `trialkit score {inst.name} "
                "--items` lists the items",
                code="INSTR.E053",
            )
        if "-" in (current, baseline) and current == baseline:
            raise ValidationFailed(
                "standard input (-) can give only one of --baseline and --followup; give the "
                "other as @file.json",
                code="INSTR.E054",
            )
        options = _parse_options(option or [])
        if (baseline is not None or followup is not None) and not inst.has_total:
            raise ValidationFailed(
                f"{inst.name} is a profile without a total: it has no change from baseline "
                "or response rule; score each visit on its own",
                code="INSTR.E055",
            )
        if followup is not None:
            current = _visit_source(followup)
        result = inst.score(_read_values(current), options)
        if baseline is None and followup is None:
            _show(inst, result, as_json)
            return
        before = (
            None if baseline is None else inst.score(_read_values(_visit_source(baseline)), options)
        )
        _compare(inst, before, result, as_json)
    except TrialkitError as exc:
        fail(exc)


def register(app: typer.Typer) -> None:
    app.command(name="score")(score)
