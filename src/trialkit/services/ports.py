"""What the services need from the pure core, as small interfaces, bound once.

Eligibility (``trialkit.criteria``), edit checks (the same language) and scores
(``trialkit.instruments``) are separate packages; the services reach them through the shapes
below. They are bound where the services are composed, never passed per call: every protocol
version the services read (:class:`trialkit.services.studies.ProtocolRef`) carries its
:class:`Ports`, built once per loaded study and protocol version by the bound factory
(:func:`trialkit.services.standard.standard_ports` unless a test binds a stand-in with
:func:`trialkit.services.studies.bind_ports`). So no call path can leave an edit check, a
derived score or the eligibility verdict out.

An edit check whose inputs are missing cannot be decided; its :class:`CheckVerdict` names the
missing inputs, and the save reports the check "not evaluated" with them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Protocol

from trialkit.protocol import Study

__all__ = [
    "CheckVerdict",
    "EligibilityEvaluator",
    "EligibilityVerdict",
    "Ports",
    "PortsFactory",
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


@dataclass(frozen=True)
class CheckVerdict:
    """Whether an edit check holds: True, False, or None with the ``missing`` inputs named."""

    holds: bool | None
    missing: tuple[str, ...] = ()


class RuleEvaluator(Protocol):
    """Evaluates an edit-check expression over a form's typed values."""

    def evaluate(self, expression: str, values: Mapping[str, Any]) -> CheckVerdict: ...


@dataclass(frozen=True)
class ScoreResult:
    """A score (``value``, ``parts``) and the instrument ``version``; or no score and why."""

    value: Decimal | None
    version: str
    parts: Mapping[str, Decimal] = field(default_factory=dict)
    reason: str | None = None


class Scorer(Protocol):
    def score(self, instrument: str, values: Mapping[str, Any]) -> ScoreResult: ...


@dataclass(frozen=True)
class Ports:
    """The evaluators one protocol version is served with."""

    eligibility: EligibilityEvaluator
    rules: RuleEvaluator
    scorer: Scorer


#: Builds the ports of one protocol version (the study with its instrument items written out).
PortsFactory = Callable[[Study], Ports]
