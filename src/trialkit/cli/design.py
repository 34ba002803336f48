"""``trialkit design oc STUDY --scenario FILE``: operating characteristics of a study's
dose-selection rule under stated true scenarios.

The rule is the study's ``dose_selection`` endpoint (its thresholds, cut-offs, utilities,
prior, score and gate). The scenario file (YAML or JSON) states, per scenario, every dose's
true outcome probabilities: the four joint probabilities, or marginal efficacy and toxicity
rates with an association (see :func:`trialkit.analysis.scenarios.joint_probabilities`). The
result is exact (every result table enumerated) unless ``--simulate N`` asks for N simulated
trials. A ``grid`` in the file adds every combination of the listed marginal rates per dose
(a thousand scenarios are computed together, in about the time of one); more than
``COMPACT`` scenarios are printed one line each. See docs/analysis.md and docs/cli.md.
"""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from rich.table import Table

from trialkit.analysis.dose_selection import CATEGORIES, DoseSelectionRule
from trialkit.analysis.endpoints import rule_from_spec
from trialkit.analysis.operating import arm_tables
from trialkit.analysis.scenarios import (
    OperatingSummary,
    Scenario,
    joint_probabilities,
    run_scenarios,
)
from trialkit.cli._console import console, fail, styled
from trialkit.errors import DefinitionError, NotFound, TrialkitError, ValidationFailed
from trialkit.protocol import Study, resolve_study
from trialkit.protocol.endpoints import DoseSelection

__all__ = ["ScenarioFile", "load_scenarios", "register"]

design_app = typer.Typer(
    help="Design a study's rules: operating characteristics of its dose selection.",
    no_args_is_help=True,
)


class DoseTruth(BaseModel):
    """One dose's true outcome probabilities: four joint ones, or the two marginals."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    probabilities: tuple[float, float, float, float] | None = Field(
        default=None, description="E¬T, ¬E¬T, ET, ¬ET; summing to 1."
    )
    efficacy: float | None = Field(default=None, ge=0, le=1)
    toxicity: float | None = Field(default=None, ge=0, le=1)

    @model_validator(mode="after")
    def _one_way(self) -> DoseTruth:
        marginals = (self.efficacy is not None, self.toxicity is not None)
        if self.probabilities is not None and not any(marginals):
            if abs(sum(self.probabilities) - 1) > 1e-9 or min(self.probabilities) < 0:
                raise ValueError("the four probabilities must be ≥ 0 and sum to 1")
            return self
        if self.probabilities is None and all(marginals):
            return self
        raise ValueError(
            "give either probabilities (four joint) or both efficacy and toxicity, not both"
        )


class Association(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    model: Literal["gumbel", "odds_ratio"] = "gumbel"
    psi: float = 0.0


class ScenarioSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    doses: dict[str, DoseTruth]
    association: Association = Field(default_factory=Association)
    correct: list[str] | None = None


class GridRates(BaseModel):
    """One dose's candidate true rates: every efficacy with every toxicity."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    efficacy: list[Annotated[float, Field(ge=0, le=1)]] = Field(min_length=1)
    toxicity: list[Annotated[float, Field(ge=0, le=1)]] = Field(min_length=1)


class GridSpec(BaseModel):
    """A grid of scenarios: the Cartesian product over the doses of their (efficacy,
    toxicity) pairs, joined by one association."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    doses: dict[str, GridRates]
    association: Association = Field(default_factory=Association)

    @property
    def size(self) -> int:
        return math.prod(len(r.efficacy) * len(r.toxicity) for r in self.doses.values())


GRID_LIMIT = 100_000
COMPACT = 12


class ScenarioFile(BaseModel):
    """The ``--scenario`` file: listed scenarios, a grid, or both (the listed ones first)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    n_per_arm: int | None = Field(default=None, ge=1, le=12)
    scenarios: list[ScenarioSpec] = Field(default_factory=list)
    grid: GridSpec | None = None

    @model_validator(mode="after")
    def _some(self) -> ScenarioFile:
        if not self.scenarios and self.grid is None:
            raise ValueError("give at least one scenario, or a grid")
        if self.grid is not None and self.grid.size > GRID_LIMIT:
            raise ValueError(
                f"the grid has {self.grid.size:,} scenarios; at most {GRID_LIMIT:,}: list fewer "
                "rates per dose"
            )
        return self


def load_scenarios(path: Path) -> ScenarioFile:
    """The scenario file at ``path``, validated (DESIGN.E001–E003)."""
    if not path.is_file():
        raise NotFound(
            f"scenario file {path} does not exist; give the path of a YAML or JSON file",
            code="DESIGN.E001",
        )
    try:
        raw: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise DefinitionError(
            f"the scenario file is not valid YAML/JSON: {getattr(exc, 'problem', exc)}",
            code="DESIGN.E002",
            file=str(path),
            line=None if mark is None else mark.line + 1,
            hint="fix the syntax at that line",
        ) from exc
    try:
        return ScenarioFile.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise DefinitionError(
            f"scenario file invalid: {first['msg']}",
            code="DESIGN.E003",
            file=str(path),
            path=".".join(str(p) for p in first["loc"]) or None,
            hint="see docs/analysis.md (Operating characteristics) for the scenario file",
        ) from exc


def _endpoint(study: Study, name: str | None) -> DoseSelection:
    found = [ep for o in study.outcomes for ep in o.endpoints if isinstance(ep, DoseSelection)]
    if name is not None:
        found = [ep for ep in found if ep.name == name]
    if len(found) == 1:
        return found[0]
    if not found:
        raise DefinitionError(
            f"study {study.id} has no dose_selection endpoint"
            + (f" named {name!r}" if name else ""),
            code="DESIGN.E004",
            hint="add a dose_selection endpoint to an outcome, or check --endpoint",
        )
    raise DefinitionError(
        f"study {study.id} has {len(found)} dose_selection endpoints: "
        + ", ".join(repr(ep.name) for ep in found),
        code="DESIGN.E005",
        hint="choose one with --endpoint NAME",
    )


def _n_per_arm(study: Study, spec: DoseSelection, file: ScenarioFile, given: int | None) -> int:
    if given is not None:
        return given
    if file.n_per_arm is not None:
        return file.n_per_arm
    sizes = {a.planned_size for a in study.arms if a.id in spec.doses}
    if len(sizes) == 1 and None not in sizes:
        size = sizes.pop()
        assert size is not None
        return size
    raise ValidationFailed(
        "the number of patients per arm is not known: the dose arms' planned sizes are "
        f"{sorted(str(s) for s in sizes)}",
        code="DESIGN.E006",
        hint="give --n-per-arm N, or n_per_arm in the scenario file",
    )


def _scenario(spec: DoseSelection, s: ScenarioSpec) -> Scenario:
    missing = [d for d in spec.doses if d not in s.doses]
    extra = [d for d in s.doses if d not in spec.doses]
    if missing or extra:
        raise ValidationFailed(
            f"scenario {s.name}: "
            + (f"no truth for dose(s) {', '.join(missing)}" if missing else "")
            + ("; " if missing and extra else "")
            + (f"dose(s) {', '.join(extra)} are not the rule's" if extra else ""),
            code="DESIGN.E007",
            hint="give every dose of the endpoint: " + ", ".join(spec.doses),
        )
    probs = []
    for d in spec.doses:
        t = s.doses[d]
        if t.probabilities is not None:
            probs.append(t.probabilities)
        else:
            assert t.efficacy is not None
            assert t.toxicity is not None
            probs.append(
                joint_probabilities(t.efficacy, t.toxicity, s.association.psi, s.association.model)
            )
    return Scenario(
        s.name, tuple(spec.doses), tuple(probs), None if s.correct is None else tuple(s.correct)
    )


def _grid(spec: DoseSelection, grid: GridSpec) -> list[Scenario]:
    missing = [d for d in spec.doses if d not in grid.doses]
    extra = [d for d in grid.doses if d not in spec.doses]
    if missing or extra:
        raise ValidationFailed(
            "scenario grid: "
            + (f"no rates for dose(s) {', '.join(missing)}" if missing else "")
            + ("; " if missing and extra else "")
            + (f"dose(s) {', '.join(extra)} are not the rule's" if extra else ""),
            code="DESIGN.E007",
            hint="give every dose of the endpoint: " + ", ".join(spec.doses),
        )
    psi, model = grid.association.psi, grid.association.model
    per_dose = []
    for d in spec.doses:
        rates = grid.doses[d]
        per_dose.append(
            [
                (f"{d} E{e:g} T{t:g}", joint_probabilities(e, t, psi, model))
                for e, t in itertools.product(rates.efficacy, rates.toxicity)
            ]
        )
    return [
        Scenario(", ".join(n for n, _ in combo), tuple(spec.doses), tuple(p for _, p in combo))
        for combo in itertools.product(*per_dose)
    ]


def _print_compact(
    study: str, endpoint: str, rule: DoseSelectionRule, out: list[OperatingSummary]
) -> None:
    doses = out[0].characteristics.doses
    table = Table(
        title=f"{study}: {endpoint!r} under {len(out)} scenarios ({rule.score} score, gate "
        f"{rule.gate}; {out[0].characteristics.method})",
        title_justify="left",
    )
    for c in ("scenario", *(f"Pr({d})" for d in doses), "Pr(no dose)", "PCS", "Pr(unacc.)"):
        table.add_column(c, justify="left" if c == "scenario" else "right")
    for s in out:
        pr = s.characteristics.pr_select
        table.add_row(
            s.scenario,
            *(f"{pr[d]:.4f}" for d in doses),
            f"{pr['no dose']:.4f}",
            f"{s.pcs:.4f}",
            f"{s.pr_unacceptable:.4f}",
        )
    console.print(table)


def _print(study: str, endpoint: str, rule: DoseSelectionRule, out: list[OperatingSummary]) -> None:
    console.print(
        styled(
            "[bold]{}[/]: operating characteristics of {!r} ({} score, gate {})",
            study,
            endpoint,
            rule.score,
            rule.gate,
        )
    )
    for s in out:
        table = Table(title=f"{s.scenario} ({s.characteristics.method})", title_justify="left")
        for c in (
            "dose",
            "true eff",
            "true tox",
            "true utility",
            "acceptable",
            "correct",
            "Pr(select)",
            "E[tox]",
            "E[resp]",
        ):
            table.add_column(c, justify="left" if c == "dose" else "right")
        for d in s.characteristics.doses:
            n_tox, n_resp = s.expected_toxicities[d], s.expected_responses[d]
            table.add_row(
                d,
                f"{s.true_efficacy[d]:.4g}",
                f"{s.true_toxicity[d]:.4g}",
                f"{s.true_utility[d]:.4g}",
                "no" if d in s.unacceptable else "yes",
                "yes" if d in s.correct else "",
                f"{s.characteristics.pr_select[d]:.4f}",
                f"{n_tox:.4g}",
                f"{n_resp:.4g}",
            )
        no_dose = "yes" if "no dose" in s.correct else ""
        pr_none = f"{s.characteristics.pr_select['no dose']:.4f}"
        table.add_row("no dose", "", "", "", "", no_dose, pr_none, "", "")
        total_tox, total_resp = s.expected_toxicities_total, s.expected_responses_total
        table.add_row("total", "", "", "", "", "", "", f"{total_tox:.4g}", f"{total_resp:.4g}")
        console.print(table)
        console.print(
            f"  PCS {s.pcs:.4f}; Pr(select an unacceptable dose) {s.pr_unacceptable:.4f}; "
            f"expected toxicities {s.expected_toxicities_total:.4g}, responses "
            f"{s.expected_responses_total:.4g}"
        )
        for k, v in s.conventions.items():
            console.print(styled("  [dim]{}: {}[/]", k, v))


@design_app.command("oc")
def oc_command(
    study: Annotated[
        str, typer.Argument(help="A study YAML file, or a shipped study's id or registry id.")
    ],
    scenario: Annotated[Path, typer.Option("--scenario", help="YAML/JSON file of true scenarios.")],
    endpoint: Annotated[
        str | None,
        typer.Option("--endpoint", help="The dose_selection endpoint, when there are several."),
    ] = None,
    n_per_arm: Annotated[
        int | None,
        typer.Option(
            "--n-per-arm",
            min=1,
            max=12,
            help="Patients per arm (default: the file's n_per_arm, else the arms' planned size).",
        ),
    ] = None,
    simulate: Annotated[
        int | None,
        typer.Option("--simulate", min=100, help="Simulate N trials instead of exact enumeration."),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of --simulate.")] = 1,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (full precision).")] = False,
) -> None:
    """PCS, Pr(unacceptable), expected toxicities and responses under each scenario (or a
    grid of them)."""
    try:
        loaded = resolve_study(study)
        spec = _endpoint(loaded, endpoint)
        rule = rule_from_spec(spec)
        file = load_scenarios(scenario)
        n = _n_per_arm(loaded, spec, file, n_per_arm)
        scenarios = [_scenario(spec, s) for s in file.scenarios]
        if file.grid is not None:
            scenarios += _grid(spec, file.grid)
        out = run_scenarios(
            scenarios, rule, n, trials=simulate, seed=seed, tables=arm_tables(n, rule)
        )
    except TrialkitError as exc:
        fail(exc)
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "study": loaded.id,
                    "endpoint": spec.name,
                    "rule": rule.to_dict(),
                    "n_per_arm": n,
                    "categories": list(CATEGORIES),
                    "scenarios": [s.to_dict() for s in out],
                },
                ensure_ascii=False,
                indent=2,
            )
        )
    elif len(out) > COMPACT:
        _print_compact(loaded.id, spec.name, rule, out)
    else:
        _print(loaded.id, spec.name, rule, out)


def register(app: typer.Typer) -> None:
    app.add_typer(design_app, name="design")
