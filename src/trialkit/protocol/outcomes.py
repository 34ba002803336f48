"""Outcomes: the registry's words plus a computable endpoint definition."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field

from trialkit.protocol._base import Code, Model, Name

__all__ = [
    "AdverseEventIncidence",
    "ChangeFromBaseline",
    "Endpoint",
    "Outcome",
    "PercentImprovement",
    "ResponderRule",
    "TimeToFirstEvent",
    "WithinPatientDifference",
]


class PercentImprovement(Model):
    """(baseline − value) / baseline × 100 at ``visit``; responders at each threshold (≥)."""

    type: Literal["percent_improvement"]
    item: Name
    baseline_visit: Code
    visit: Code
    responder_thresholds: list[Decimal] = Field(default_factory=list)


class WithinPatientDifference(Model):
    """Treated minus control, within each participant, at each visit."""

    type: Literal["within_patient_difference"]
    item: Name
    role_item: Name = Field(description="The item saying which row is treated and which control.")
    treated: str = "treated"
    control: str = "control"
    visits: list[Code] = Field(min_length=1)


class ChangeFromBaseline(Model):
    type: Literal["change_from_baseline"]
    item: Name
    baseline_visit: Code
    visits: list[Code] = Field(min_length=1)


class ResponderRule(Model):
    """A named response or remission rule of an instrument, e.g. CDAI remission (< 150)."""

    type: Literal["responder_rule"]
    item: Name
    rule: str
    parameters: dict[str, Decimal] = Field(default_factory=dict)
    baseline_visit: Code | None = None
    visits: list[Code] = Field(min_length=1)


AEDimension = Literal["arm", "grade", "serious", "related"]


def _by_arm() -> list[AEDimension]:
    return ["arm"]


class AdverseEventIncidence(Model):
    type: Literal["adverse_event_incidence"]
    by: list[AEDimension] = Field(default_factory=_by_arm)


class TimeToFirstEvent(Model):
    type: Literal["time_to_first_event"]
    min_grade: int = Field(default=1, ge=1, le=5)
    related_only: bool = False
    origin: Code = Field(description="The anchor time counts from, e.g. first_dose.")


Endpoint = Annotated[
    PercentImprovement
    | WithinPatientDifference
    | ChangeFromBaseline
    | ResponderRule
    | AdverseEventIncidence
    | TimeToFirstEvent,
    Field(discriminator="type"),
]


class Outcome(Model):
    id: Code
    kind: Literal["primary", "secondary", "other"]
    description: str = Field(description="Verbatim registry text.")
    timepoint: str | None = None
    method: str | None = None
    endpoints: list[Endpoint] = Field(default_factory=list)
