"""``trialkit study``: check, show and describe study definitions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from trialkit.checks import check_full
from trialkit.cli._console import console, err_console, styled
from trialkit.cli.study_import import register_import
from trialkit.protocol import (
    Diagnostic,
    Intervention,
    Severity,
    Study,
    json_schema,
    resolve_study,
)
from trialkit.schedule import template

__all__ = ["register", "render_calendar", "render_summary", "study_app"]

study_app = typer.Typer(help="Check, show and describe study definitions.", no_args_is_help=True)

StudyRef = Annotated[
    str, typer.Argument(help="A study YAML file, or a shipped study's id or registry id.")
]


def run_checks(study: Study) -> list[Diagnostic]:
    return check_full(study)


_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}


def print_diagnostics(study: Study, found: list[Diagnostic]) -> None:
    errors = sum(d.severity is Severity.ERROR for d in found)
    warnings = sum(d.severity is Severity.WARNING for d in found)
    for d in found:
        console.print(
            styled(
                f"[{_STYLE[d.severity]}]{{}}[/] {{}} [dim]{{}}[/]: {{}}",
                d.severity.value,
                d.code,
                d.path,
                d.message,
            )
        )
        if d.hint:
            console.print(f"    fix: {d.hint}")
        for cite in d.cites:
            console.print(f"    “{cite}”")
    verdict = "[bold red]invalid[/]" if errors else "[green]valid[/]"
    console.print(
        styled(
            f"{{}} (protocol {{}}): {verdict}, "
            f"{errors} error{'s' if errors != 1 else ''}, "
            f"{warnings} warning{'s' if warnings != 1 else ''}",
            study.id,
            study.protocol_version,
        )
    )


@study_app.command("check")
def check_cmd(
    study: StudyRef,
    as_json: Annotated[bool, typer.Option("--json", help="Print the findings as JSON.")] = False,
) -> None:
    """Validate a study definition; exit 1 when it has errors (warnings alone exit 0)."""
    loaded = resolve_study(study)
    found = run_checks(loaded)
    if as_json:
        payload = {
            "study": loaded.id,
            "protocol_version": loaded.protocol_version,
            "findings": [
                {
                    "code": d.code,
                    "severity": d.severity.value,
                    "path": d.path,
                    "message": d.message,
                    "hint": d.hint,
                    "cites": list(d.cites),
                }
                for d in found
            ],
        }
        typer.echo(json.dumps(payload, indent=2, ensure_ascii=False))
    else:
        print_diagnostics(loaded, found)
    if any(d.severity is Severity.ERROR for d in found):
        raise typer.Exit(1)


def _short(text: str, width: int = 90) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def render_summary(study: Study) -> None:
    ident = study.identity
    design = study.design
    console.rule(styled("[bold]{}[/]  {}", study.id, ", ".join(study.registry_ids)))
    console.print(styled("[bold]{}[/]", ident.scientific_title))
    age = design.age
    age_text = f"{age.minimum if age.minimum is not None else 'any'}–" + (
        f"{age.maximum}" if age.maximum is not None else "no upper limit"
    )
    sample = f"{design.sample_size.target}"
    if design.sample_size.with_attrition:
        sample += f" ({design.sample_size.with_attrition} with attrition)"
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="dim")
    facts.add_column()
    facts.add_row("phase", ident.phase)
    facts.add_row("conditions", ", ".join(f"{c.name} ({c.icd10})" for c in ident.conditions))
    model = design.intervention_model.replace("_", " ")
    allocation = design.allocation.value.replace("_", " ")
    facts.add_row("design", f"{model}, allocation {allocation}, masking {design.masking.level}")
    if design.control:
        facts.add_row("control", design.control)
    facts.add_row("sample size", sample)
    facts.add_row("age, sex", f"{age_text} years, {design.sex}")
    if design.cohorts:
        facts.add_row(
            "cohorts",
            f"{' → '.join(design.cohorts.order)} of {design.cohorts.cohort_size}, "
            f"review {design.cohorts.review_after_days} d after each cohort's last dose",
        )
    if design.randomisation:
        facts.add_row("randomisation", design.randomisation.summary())
    incl = sum(c.kind == "inclusion" for c in study.eligibility)
    judged = sum(c.judgement_item is not None for c in study.eligibility)
    facts.add_row(
        "eligibility",
        f"{incl} inclusion, {len(study.eligibility) - incl} exclusion "
        f"({judged} by investigator's judgement)",
    )
    facts.add_row(
        "outcomes",
        "; ".join(f"{o.id} {o.kind}: {o.description[:60]}" for o in study.outcomes),
    )
    facts.add_row(
        "stopping rules", "; ".join(f"{r.id}: {r.text}" for r in study.safety.stopping_rules)
    )
    console.print(facts)
    arms = Table(title="Arms", title_justify="left", show_lines=False)
    for col in ("arm", "product", "route", "dose per administration"):
        arms.add_column(col)
    for arm in study.arms:
        if not arm.interventions:
            arms.add_row(f"{arm.id} {arm.name}", "(no intervention)", "—", "—")
        for iv in arm.interventions:
            route = iv.route + (f" ({iv.site})" if iv.site else "")
            dose = _dose_text(iv)
            if iv.infusion_duration:
                dose += f", over {iv.infusion_duration}"
            arms.add_row(f"{arm.id} {arm.name}", iv.product.name, route, dose)
    if study.arms:
        console.print(arms)
    else:
        console.print(f"no arms ({ident.study_type} study)")


def _dose_text(iv: Intervention) -> str:
    if iv.dose is not None:
        return str(iv.dose)
    return "none (device)" if iv.product.kind == "device" else "not stated"


def _offset_text(anchor: str, days: int, hours: int) -> str:
    text = f"{anchor} {days:+d} d"
    if hours:
        text += f" {hours:+d} h"
    return text


def render_calendar(study: Study) -> None:
    tpl = template(study)
    doses = {a.id: "; ".join(dict.fromkeys(map(_dose_text, a.interventions))) for a in study.arms}
    groups = [f"arm {a} ({d or 'no intervention'})" for a, d in doses.items()] or [
        "all participants (no arms)"
    ]
    for group in groups:
        table = Table(
            title=f"Calendar template, {group}; study day 1 = {tpl.origin}",
            title_justify="left",
        )
        for col in ("study day", "what", "id", "from anchor", "window", "forms"):
            table.add_column(col)
        for e in tpl.entries:
            day = "—" if e.study_day is None else str(e.study_day)
            if e.kind == "dose":
                hour = f" +{e.offset_hours} h" if e.offset_hours else ""
                day += hour
                what = f"dose: {e.label}"
            else:
                what = e.label
            if e.window_lower == 0 and e.window_upper == 0:
                window = "on the day" if e.kind == "visit" else "at the time"
            else:
                window = f"{e.window_lower:+d} to {e.window_upper:+d} {e.window_unit}"
            table.add_row(
                day,
                what,
                e.id,
                _offset_text(e.anchor, e.offset_days, e.offset_hours),
                window,
                ", ".join(e.forms),
            )
        console.print(table)


@study_app.command("show")
def show_cmd(study: StudyRef) -> None:
    """Print a readable summary and the calendar template of each arm."""
    loaded = resolve_study(study)
    render_summary(loaded)
    render_calendar(loaded)


@study_app.command("schema")
def schema_cmd(
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write to this file instead of stdout.")
    ] = None,
) -> None:
    """Write the JSON Schema of a study definition."""
    text = json_schema()
    if out is None:
        typer.echo(text)
    else:
        out.write_text(text + "\n", encoding="utf-8")
        err_console.print(f"wrote {out}")


register_import(study_app)


def register(app: typer.Typer) -> None:
    app.add_typer(study_app, name="study")
