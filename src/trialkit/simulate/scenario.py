"""The scenario of a synthetic trial: the truth the simulation draws from (docs/simulate.md).

A scenario is a YAML file: when candidates arrive and where, how many fail screening and why,
how late visits are done and how many are missed, who withdraws or is lost, the true response
and toxicity rates of each arm, how the scores fall for a responder, the distributions of the
laboratory and vital-sign values, the adverse events and the data queries. Each shipped study
has a default scenario beside this module (``scenarios/<study>.yaml``).
"""

from __future__ import annotations

from datetime import date
from importlib import resources
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from trialkit.errors import DefinitionError, NotFound

__all__ = [
    "AdverseEvents",
    "ArmTruth",
    "Measurement",
    "Queries",
    "Response",
    "Scenario",
    "ScreenFailure",
    "Visits",
    "default_scenario",
    "load_scenario",
]

Rate = Annotated[float, Field(ge=0, le=1)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ScreenFailure(_Model):
    """One way a candidate fails screening: changes to the eligible screening values of one
    form that fail a criterion (``name`` is the reason recorded with the screen failure)."""

    name: str
    form: str
    values: dict[str, str]


class Visits(_Model):
    lateness_sd_days: float = Field(1.0, ge=0, description="Normal spread around the target.")
    out_of_window_rate: Rate = 0.03
    missed_rate: Rate = 0.04
    dose_lateness_sd_hours: float = Field(1.0, ge=0)
    withdrawal_per_visit: Rate = 0.01
    lost_per_visit: Rate = 0.01
    first_dose_after_enrolment_days: tuple[int, int] = (3, 10)


class ArmTruth(_Model):
    """The true rates of one arm: ``response`` (the chance a participant responds),
    ``toxicity`` (a related adverse event of grade 2 or more) and ``severe`` (that related
    event is grade 3, which fires a grade-3 stopping rule)."""

    response: Rate
    toxicity: Rate
    severe: Rate = 0.0
    serious: Rate = 0.0


class Response(_Model):
    """How scores move: the fraction of the baseline severity a responder (or non-responder)
    has lost by the last visit, reached linearly from the first dose; ``scaled``: form ->
    items that follow it; rows whose ``role_item`` is not ``improving_role`` stay as at baseline
    (the untreated control lesion)."""

    responder: tuple[float, float] = (0.6, 0.95)
    non_responder: tuple[float, float] = (0.0, 0.2)
    scaled: dict[str, list[str]] = Field(default_factory=dict)
    role_item: str | None = None
    improving_role: str | None = None


class Measurement(_Model):
    """A normally distributed value, rounded to ``decimals`` and kept inside the item's range;
    ``per_participant``: drawn once (a body weight) and re-entered at every visit."""

    mean: float
    sd: float = Field(ge=0)
    decimals: int = Field(1, ge=0, le=4)
    per_participant: bool = False


class AdverseEvents(_Model):
    """Background events (not related, grade 1 or 2) with ``per_visit`` chance, and the terms
    of the related events the arms' toxicity draws."""

    per_visit: Rate = 0.05
    terms: list[str] = Field(default_factory=lambda: ["Headache", "Fatigue", "Nasopharyngitis"])
    related_terms: list[str] = Field(default_factory=lambda: ["Infusion-related reaction"])
    flag_item: str | None = Field(
        None, description="A yes/no item set to yes on a related event (at the injection site)."
    )


class Queries(_Model):
    per_form: Rate = 0.03
    answer_days: tuple[int, int] = (1, 7)
    closed_rate: Rate = 0.8


class Scenario(_Model):
    study: str
    description: str = ""
    start: date
    arrivals_per_week: float = Field(gt=0)
    sites: dict[str, float] = Field(min_length=1, description="site code -> share of candidates")
    screen_failure_rate: Rate = 0.15
    screen_failures: list[ScreenFailure] = Field(default_factory=list)
    visits: Visits = Field(default_factory=Visits)
    arms: dict[str, ArmTruth] = Field(min_length=1)
    response: Response = Field(default_factory=Response)
    baseline: dict[str, dict[str, str]] = Field(
        default_factory=dict, description="form -> item -> value entered at baseline"
    )
    rows: dict[str, list[dict[str, str]]] = Field(
        default_factory=dict, description="repeating group -> rows entered at baseline"
    )
    measurements: dict[str, Measurement] = Field(default_factory=dict)
    choices: dict[str, dict[str, float]] = Field(
        default_factory=dict,
        description="item -> code -> weight, drawn once per participant (sex, say)",
    )
    adverse_events: AdverseEvents = Field(default_factory=AdverseEvents)
    queries: Queries = Field(default_factory=Queries)


def _parse(text: str, source: str) -> Scenario:
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise DefinitionError(
            f"scenario {source}: not valid YAML ({exc})", code="SIM.E001"
        ) from exc
    try:
        return Scenario.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5]
        )
        raise DefinitionError(
            f"scenario {source}: {problems}",
            code="SIM.E002",
            hint="see docs/simulate.md for the scenario's fields",
        ) from exc


def default_scenario(study: str) -> Scenario:
    """The default scenario shipped for ``study``."""
    folder = resources.files("trialkit.simulate") / "scenarios"
    path = folder / f"{study}.yaml"
    if not path.is_file():
        shipped = sorted(p.name.removesuffix(".yaml") for p in folder.iterdir())
        raise NotFound(
            f"no default scenario for study {study!r}",
            code="SIM.E003",
            hint=f"give --scenario FILE; shipped: {', '.join(shipped)}",
        )
    return _parse(path.read_text(encoding="utf-8"), f"trialkit/simulate/scenarios/{path.name}")


def load_scenario(path: Path, study: str) -> Scenario:
    """A scenario file; refused when it names another study."""
    if not path.is_file():
        raise NotFound(f"scenario file {path} does not exist", code="SIM.E004")
    scenario = _parse(path.read_text(encoding="utf-8"), str(path))
    if scenario.study != study:
        raise DefinitionError(
            f"scenario {path} is for study {scenario.study!r}, not {study!r}",
            code="SIM.E005",
        )
    return scenario
