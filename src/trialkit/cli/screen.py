"""``trialkit screen STUDY [FILE.json|-]``: screen one candidate and explain the verdict.

Pure: no database. The explanation is in the protocol's own wording: each criterion's text, the
items it read by their form labels with the values used, and what is still needed.
"""

from __future__ import annotations

import json
from datetime import date
from typing import TYPE_CHECKING, Annotated, Any

import typer

from trialkit.cli._console import console, fail, styled
from trialkit.cli._input import read_json_object
from trialkit.errors import TrialkitError, ValidationFailed

if TYPE_CHECKING:
    from trialkit.criteria.compared import ComparedValue
    from trialkit.criteria.screening import CompiledCriteria, Screening, UsedValue

__all__ = ["explain", "register", "screen_command"]


def parse_as_of(text: str | None, option: str = "--as-of", code: str = "SCREEN.E002") -> date:
    """The evaluation date (default today, the clock read at the edge), within the dates a
    record may hold."""
    from trialkit.criteria.screening import EARLIEST_DATE, LATEST_DATE

    if text is None:
        return date.today()
    try:
        when = date.fromisoformat(text.strip())
        if len(text.strip()) != 10:
            raise ValueError(text)
    except ValueError as exc:
        raise ValidationFailed(
            f"{option} {text!r} is not a date; write YYYY-MM-DD", code=code
        ) from exc
    if not EARLIEST_DATE <= when <= LATEST_DATE:
        raise ValidationFailed(
            f"{option} {text} is out of range; a date lies between {EARLIEST_DATE} and "
            f"{LATEST_DATE}",
            code=code,
        )
    return when


def _label(compiled: CompiledCriteria, name: str) -> str:
    spec = compiled.items.get(name)
    if spec is not None and spec.label:
        return f"{spec.label} ({name})"
    return name


def _used(compiled: CompiledCriteria, used: UsedValue) -> str:
    from trialkit.criteria.screening import format_value

    if used.name == "as_of":
        return "screening date (as of) = " + (
            "(none)" if used.value is None else format_value(used.value)
        )
    base = used.name.split("(", 1)[1].rstrip(")") if "(" in used.name else used.name
    who = _label(compiled, base)
    if "(" in used.name:
        who = f"{used.name.split('(', 1)[0]} of {who}"
    if used.value is None:
        return f"{who} = (missing)"
    unit = f" {used.unit}" if used.unit else ""
    note = f" ({used.note})" if used.note else ""
    return f"{who} = {format_value(used.value)}{unit}{note}"


def explain(compiled: CompiledCriteria, result: Screening) -> list[str]:
    """The explanation, line by line, in the protocol's wording."""
    lines = [f"Overall: {result.outcome.value.upper()}"]
    if result.as_of is not None:
        lines[0] += f" (as of {result.as_of.isoformat()})"
    for r in result.results:
        mark = "  <- excludes" if r.excludes else ""
        lines.append(f"{r.id} {r.kind}: {r.verdict.value}{mark}")
        lines.append(f"    {r.text}")
        if r.judgement:
            lines.append("    (the investigator's judgement)")
        else:
            lines.append(f"    rule: {r.source}")
        if r.used:
            lines.append("    used: " + "; ".join(_used(compiled, u) for u in r.used))
        if r.compared:
            lines.append("    compared: " + "; ".join(x.render() for x in r.compared))
    if result.missing:
        lines.append("Still needed: " + "; ".join(_label(compiled, m) for m in result.missing))
    return lines


def _compared(x: ComparedValue) -> dict[str, Any]:
    """One comparison fact for machines: exact values as text, beside the sentence."""
    from trialkit.criteria.screening import format_value

    return {
        "kind": x.kind,
        "item": x.item or None,
        "text": x.render(),
        "value": format_value(x.value),
        "unit": x.from_unit,
        "multiple": None if x.multiple is None else format_value(x.multiple),
        "limit": x.limit,
        "converted": None if x.converted is None else format_value(x.converted),
        "converted_unit": x.unit if x.kind == "converted" else None,
    }


def _as_json(compiled: CompiledCriteria, result: Screening) -> dict[str, Any]:
    from trialkit.criteria.screening import format_value

    return {
        "outcome": result.outcome.value,
        "as_of": None if result.as_of is None else result.as_of.isoformat(),
        "criteria": [
            {
                "id": r.id,
                "kind": r.kind,
                "text": r.text,
                "rule": None if r.judgement else r.source,
                "verdict": r.verdict.value,
                "excludes": r.excludes,
                "used": [
                    {
                        "name": u.name,
                        "label": _label(compiled, u.name) if u.name != "as_of" else "as of",
                        "value": None if u.value is None else format_value(u.value),
                        "unit": u.unit,
                    }
                    for u in r.used
                ],
                "compared": [_compared(x) for x in r.compared],
            }
            for r in result.results
        ],
        "still_needed": [{"item": m, "label": _label(compiled, m)} for m in result.missing],
    }


def screen_command(
    study: Annotated[
        str,
        typer.Argument(
            help="A study id, registry id or YAML file (or a criteria-only YAML/JSON file)."
        ),
    ],
    values: Annotated[
        str,
        typer.Argument(
            help="The candidate's item values: a JSON file, - for standard input, or JSON text.",
        ),
    ] = "-",
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="Screening date YYYY-MM-DD (default today); also screening_date's default.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Screen one candidate against STUDY's eligibility criteria and explain the verdict."""
    try:
        from trialkit.cli.prescreen import load_study_criteria
        from trialkit.criteria.prescreen import SCREENING_DATE
        from trialkit.criteria.screening import compile_criteria

        spec = load_study_criteria(study)
        compiled = compile_criteria(spec.criteria, spec.items, spec.ranges)
        when = parse_as_of(as_of)
        source = values if values == "-" or values.lstrip().startswith("{") else "@" + values
        data: dict[str, object] = read_json_object(
            source,
            what="candidate values",
            read_code="SCREEN.E001",
            parse_code="SCREEN.E003",
            example='{"age": 44, "pasi": 8}',
        )
        unknown = sorted(
            k for k in data if k not in compiled.items and not k.endswith(("_uln", "_lln"))
        )
        if unknown:
            raise ValidationFailed(
                f"{', '.join(unknown)} {'are' if len(unknown) > 1 else 'is'} no item of the "
                f"criteria of {study} (items: {', '.join(compiled.items)})",
                code="SCREEN.E004",
                hint="correct the item names",
            )
        if SCREENING_DATE in compiled.items and data.get(SCREENING_DATE) in (None, ""):
            data[SCREENING_DATE] = when.isoformat()
        result = compiled.screen(data, when)
    except TrialkitError as exc:
        fail(exc)
    if as_json:
        typer.echo(json.dumps(_as_json(compiled, result), ensure_ascii=False, indent=2))
        return
    style = {"eligible": "bold green", "ineligible": "bold red", "incomplete": "bold yellow"}
    lines = explain(compiled, result)
    console.print(styled(f"[{style[result.outcome.value]}]{{}}[/]", lines[0]))
    for line in lines[1:]:
        console.print(line)


def register(app: typer.Typer) -> None:
    app.command(name="screen")(screen_command)
