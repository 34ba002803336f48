"""Safety as data: the grading scheme, reporting clocks and the stopping rules."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from trialkit.protocol._base import Code, Model

__all__ = ["EventFilter", "Safety", "StoppingRule"]


class EventFilter(Model):
    """Which adverse events a rule counts."""

    min_grade: int = Field(default=1, ge=1, le=5)
    related_only: bool = False
    serious_only: bool = False
    terms: list[str] = Field(default_factory=list, description="Only these terms (empty: any).")


class StoppingRule(Model):
    """When ``count`` or more matching events occur within ``scope``, ``action`` is taken."""

    id: Code
    text: str = Field(description="The rule in words, as the protocol states it.")
    events: EventFilter
    count: int = Field(default=1, ge=1)
    scope: Literal["study", "arm", "participant"] = "arm"
    action: Literal["pause_enrolment", "pause_arm", "pause_dosing", "stop_participant_dosing"]
    resumed_by: str = Field(default="safety board review")


class Safety(Model):
    grading: str = Field(default="CTCAE v5.0")
    serious_report_hours: int = Field(default=24, ge=1)
    stopping_rules: list[StoppingRule] = Field(default_factory=list)
