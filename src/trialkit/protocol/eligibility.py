"""Eligibility criteria: verbatim text, inclusion or exclusion, and a computable expression.

An exclusion's expression states the condition that excludes (met means ineligible). A criterion
that only an investigator can judge names its yes/no item in ``judgement_item`` instead.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from trialkit.protocol._base import Code, Model, Name

__all__ = ["Criterion", "Passage"]


class Passage(Model):
    """Another place in the registry record that states the same thing, verbatim."""

    where: str
    text: str


class Criterion(Model):
    id: Code
    kind: Literal["inclusion", "exclusion"]
    text: str = Field(description="Verbatim registry text.")
    expression: str | None = None
    judgement_item: Name | None = None
    also_stated: list[Passage] = Field(default_factory=list)
    group: str | None = Field(
        default=None,
        description="The sub-group heading the registry lists it under (``For adult "
        "participants``), verbatim.",
    )
    note: str | None = None

    @model_validator(mode="after")
    def _computable(self) -> Criterion:
        if self.expression is None and self.judgement_item is None:
            raise ValueError(
                f"criterion {self.id}: give an `expression`, or a `judgement_item` (a yes/no item "
                "the investigator answers)"
            )
        return self
