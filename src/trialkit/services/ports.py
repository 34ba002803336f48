"""What the services need from the pure core, as small interfaces passed in.

Eligibility (``trialkit.criteria``) and scores (``trialkit.instruments``) are separate packages;
the services receive them as objects with these shapes (dependency injection, no registry).
When none is given the services say so in their results: edit checks are reported "not
evaluated" (never passed silently), derived items stay empty with the reason "no scorer
configured", and eligibility is "not evaluated".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Protocol

from trialkit.protocol import Study

__all__ = [
    "EligibilityEvaluator",
    "EligibilityVerdict",
    "RuleEvaluator",
    "ScoreResult",
    "Scorer",
]


@dataclass(frozen=True)
class EligibilityVerdict:
    """``eligible`` is three-valued: True, False, or None when it cannot be decided yet.

    ``explanation`` is JSON-able data (per criterion: id, verdict, why) and is stored as is.
    """

    eligible: bool | None
    explanation: Any


class EligibilityEvaluator(Protocol):
    def evaluate(
        self, study: Study, values: Mapping[str, Any], as_of: date
    ) -> EligibilityVerdict: ...


class RuleEvaluator(Protocol):
    """Evaluates an edit-check expression over a form's typed values: True, False or None."""

    def evaluate(self, expression: str, values: Mapping[str, Any]) -> bool | None: ...


@dataclass(frozen=True)
class ScoreResult:
    """A score (``value``, ``parts``) and the instrument ``version``; or no score and why."""

    value: Decimal | None
    version: str
    parts: Mapping[str, Decimal] = field(default_factory=dict)
    reason: str | None = None


class Scorer(Protocol):
    def score(self, instrument: str, values: Mapping[str, Any]) -> ScoreResult: ...
