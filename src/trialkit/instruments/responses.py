"""Response and remission rules of the scores, applied to a baseline and a follow-up result.

Every rule trialkit names is here, by its stable name, with the instrument it applies to:
PASI 50/75/90/100, CDAI 70/100 response and remission, the Mayo rules
(:data:`trialkit.instruments.mayo.MAYO_RULES`) and SES-CD endoscopic remission and response.
Each compares exact values (the result's ``exact`` Fraction when the score is not a terminating
decimal) and states its inequality; a rule that cannot be decided (no score, a baseline of 0
for a percent fall) says why instead of guessing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from types import MappingProxyType
from typing import Literal

from trialkit.instruments.change import percent_improvement
from trialkit.instruments.mayo import (
    MAYO_RULES,
    MayoRemissionRule,
    MayoResponseRule,
    RuleOutcome,
)
from trialkit.instruments.result import ScoreResult

__all__ = [
    "RESPONSE_RULES",
    "MayoRule",
    "ResponseRule",
    "ScoreChange",
    "ThresholdRule",
    "change_from_baseline",
    "rules_for",
]

Kind = Literal["percent_fall", "point_fall", "below", "at_most"]


@dataclass(frozen=True)
class ScoreChange:
    """Follow-up minus baseline (``change``; negative when the score fell) and the percent fall
    from baseline (``percent_fall``; None when the baseline is 0), both exact."""

    baseline: Fraction
    followup: Fraction
    change: Fraction
    percent_fall: Fraction | None


def change_from_baseline(baseline: ScoreResult, followup: ScoreResult) -> ScoreChange | None:
    """The change of a total from baseline to follow-up; None when either has no score."""
    base, now = baseline.exact_value, followup.exact_value
    if base is None or now is None:
        return None
    return ScoreChange(base, now, now - base, percent_improvement(base, now))


def _missing(rule: str, instrument: str, result: ScoreResult | None, role: str) -> str | None:
    if result is None:
        return f"rule {rule!r} needs the {role} {instrument} score"
    if result.instrument != instrument:
        return f"rule {rule!r} applies to {instrument}, not {result.instrument} ({role})"
    if result.exact_value is None:
        return f"rule {rule!r}: the {role} {instrument} has no score ({result.reason})"
    return None


@dataclass(frozen=True)
class ThresholdRule:
    """A rule on one total: a percent fall or a point fall from baseline of at least
    ``threshold`` (inclusive), or a follow-up total ``below`` (strict) or ``at_most``
    (inclusive) the threshold."""

    name: str
    instrument: str
    description: str
    kind: Kind
    threshold: Fraction

    @property
    def needs_baseline(self) -> bool:
        return self.kind in ("percent_fall", "point_fall")

    def evaluate(self, baseline: ScoreResult | None, followup: ScoreResult) -> RuleOutcome:
        problem = _missing(self.name, self.instrument, followup, "follow-up")
        if problem is None and self.needs_baseline:
            problem = _missing(self.name, self.instrument, baseline, "baseline")
        if problem is not None:
            return RuleOutcome(self.name, None, problem)
        now = followup.exact_value
        assert now is not None
        if self.kind == "below":
            return RuleOutcome(self.name, now < self.threshold)
        if self.kind == "at_most":
            return RuleOutcome(self.name, now <= self.threshold)
        assert baseline is not None
        base = baseline.exact_value
        assert base is not None
        if self.kind == "point_fall":
            return RuleOutcome(self.name, base - now >= self.threshold)
        fall = percent_improvement(base, now)
        if fall is None:
            return RuleOutcome(
                self.name, None, f"rule {self.name!r}: baseline score 0, percent fall undefined"
            )
        return RuleOutcome(self.name, fall >= self.threshold)


@dataclass(frozen=True)
class MayoRule:
    """A Mayo rule (:data:`MAYO_RULES`) behind the same interface."""

    rule: MayoRemissionRule | MayoResponseRule

    @property
    def name(self) -> str:
        return self.rule.name

    @property
    def instrument(self) -> str:
        return self.rule.instrument

    @property
    def description(self) -> str:
        return self.rule.description

    @property
    def needs_baseline(self) -> bool:
        return isinstance(self.rule, MayoResponseRule)

    def evaluate(self, baseline: ScoreResult | None, followup: ScoreResult) -> RuleOutcome:
        if isinstance(self.rule, MayoRemissionRule):
            return self.rule.evaluate(followup)
        if baseline is None:
            return RuleOutcome(
                self.name, None, f"rule {self.name!r} needs the baseline {self.instrument} score"
            )
        return self.rule.evaluate(baseline, followup)


ResponseRule = ThresholdRule | MayoRule

_F = Fraction


def _pasi(percent: int) -> ThresholdRule:
    return ThresholdRule(
        f"pasi{percent}",
        "pasi",
        f"PASI {percent}: PASI improved by at least {percent} % from baseline "
        "(100 x (baseline - follow-up) / baseline >= "
        f"{percent}; undefined when the baseline is 0).",
        "percent_fall",
        _F(percent),
    )


def _build() -> Mapping[str, ResponseRule]:
    rules: list[ResponseRule] = [_pasi(p) for p in (50, 75, 90, 100)]
    rules += [
        ThresholdRule(
            "cdai70",
            "cdai",
            "CDAI 70 response: a fall of at least 70 points from baseline.",
            "point_fall",
            _F(70),
        ),
        ThresholdRule(
            "cdai100",
            "cdai",
            "CDAI 100 response: a fall of at least 100 points from baseline.",
            "point_fall",
            _F(100),
        ),
        ThresholdRule(
            "cdai_remission",
            "cdai",
            "CDAI remission: CDAI below 150 (strict, on the exact value).",
            "below",
            _F(150),
        ),
    ]
    rules += [MayoRule(rule) for rule in MAYO_RULES.values()]
    rules += [
        ThresholdRule(
            "sescd_remission",
            "sescd",
            "SES-CD endoscopic remission: SES-CD at most 2.",
            "at_most",
            _F(2),
        ),
        ThresholdRule(
            "sescd_response",
            "sescd",
            "SES-CD endoscopic response: SES-CD fell by at least 50 % from baseline "
            "(undefined when the baseline is 0).",
            "percent_fall",
            _F(50),
        ),
    ]
    table: dict[str, ResponseRule] = {}
    for rule in rules:
        if rule.name in table:
            raise RuntimeError(f"duplicate response rule {rule.name!r}")
        table[rule.name] = rule
    return MappingProxyType(table)


#: Every named response and remission rule (read-only), by name.
RESPONSE_RULES: Mapping[str, ResponseRule] = _build()


def rules_for(instrument: str) -> tuple[ResponseRule, ...]:
    """The rules that apply to ``instrument``, in their documented order."""
    return tuple(r for r in RESPONSE_RULES.values() if r.instrument == instrument)
