"""The real implementations of the services' ports, from the pure core.

* :class:`CriteriaEligibility`: the criteria language (``trialkit.criteria``), three-valued, with
  each criterion's verdict, the values it used and the items still needed, stored as the
  explanation;
* :class:`ExpressionRules`: form edit checks in the same language, typed against the study's items;
* :class:`InstrumentScorer`: scores from ``trialkit.instruments``, with the instrument's version.

:func:`standard_ports` gives all three for a study. It is the factory the services bind by
default (:mod:`trialkit.services.studies`, once per loaded protocol version); nothing calls the
evaluators per request.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from trialkit.criteria import Outcome, compile_criteria, compile_expression, evaluate
from trialkit.criteria import plan as p
from trialkit.criteria.evaluator import lookup_limit
from trialkit.criteria.from_study import study_criteria, study_items, study_ranges
from trialkit.criteria.screening import Screening, coerce_record, format_value
from trialkit.errors import TrialkitError, ValidationFailed
from trialkit.instruments import INSTRUMENTS
from trialkit.protocol import Study
from trialkit.services.ports import CheckVerdict, EligibilityVerdict, Ports, ScoreResult

__all__ = [
    "CriteriaEligibility",
    "ExpressionRules",
    "InstrumentScorer",
    "explanation",
    "standard_ports",
]

_ELIGIBLE: dict[Outcome, bool | None] = {
    Outcome.ELIGIBLE: True,
    Outcome.INELIGIBLE: False,
    Outcome.INCOMPLETE: None,
}


def explanation(screening: Screening) -> dict[str, Any]:
    """The screening as JSON-able data: the outcome, each criterion, what is still missing."""
    return {
        "outcome": screening.outcome.value,
        "as_of": None if screening.as_of is None else screening.as_of.isoformat(),
        "failed": list(screening.failed),
        "unknown": list(screening.unknown),
        "missing": list(screening.missing),
        "criteria": [
            {
                "id": r.id,
                "kind": r.kind,
                "verdict": r.verdict.value,
                "excludes": r.excludes,
                "judgement": r.judgement,
                "expression": r.source,
                "used": [
                    {
                        "name": u.name,
                        "value": None if u.value is None else format_value(u.value),
                        "unit": u.unit,
                    }
                    for u in r.used
                ],
                "missing": list(r.missing),
            }
            for r in screening.results
        ],
        "text": screening.explain(),
    }


class CriteriaEligibility:
    """Eligibility from the study's criteria (compiled once per study and protocol version)."""

    def __init__(self) -> None:
        self._compiled: dict[tuple[str, str], Any] = {}

    def evaluate(self, study: Study, values: Mapping[str, Any], as_of: date) -> EligibilityVerdict:
        key = (study.id, study.protocol_version)
        if key not in self._compiled:
            spec = study_criteria(study)
            self._compiled[key] = compile_criteria(spec.criteria, spec.items, spec.ranges)
        compiled = self._compiled[key]
        wanted = {k: v for k, v in values.items() if k in compiled.items}
        screening: Screening = compiled.screen(wanted, as_of)
        return EligibilityVerdict(_ELIGIBLE[screening.outcome], explanation(screening))


class ExpressionRules:
    """Edit checks of ``study``'s forms, evaluated three-valued.

    A check that cannot be decided (an input is missing) gives ``holds=None`` and names the
    inputs it lacks.
    """

    def __init__(self, study: Study) -> None:
        self._items = study_items(study)
        self._ranges = study_ranges(study)
        self._plans: dict[str, tuple[Any, tuple[str, ...]]] = {}

    def _plan(self, expression: str) -> tuple[Any, tuple[str, ...]]:
        """The compiled check and the study items it reads: its items and, for a reference
        limit, the item and its ``_uln``/``_lln`` column when that is an item (compiled once
        per expression)."""
        found = self._plans.get(expression)
        if found is None:
            plan = compile_expression(expression, self._items, self._ranges)
            names: dict[str, None] = {}
            for ref in p.references(plan):
                if isinstance(ref, p.Item):
                    names[ref.name] = None
                elif isinstance(ref, p.Limit):
                    names[ref.item] = None
                    names[ref.column] = None
            found = self._plans[expression] = (
                plan,
                tuple(n for n in names if n in self._items),
            )
        return found

    def evaluate(self, expression: str, values: Mapping[str, Any]) -> CheckVerdict:
        # Only the values the check reads are typed: the others cannot change its verdict
        # (and every item of a saved form was validated against its definition already).
        plan, names = self._plan(expression)
        record = coerce_record(
            {k: v for k in names if (v := values.get(k)) is not None}, self._items
        )
        result = evaluate(plan, record)
        if isinstance(result, bool):
            return CheckVerdict(result)
        if result is None:
            return CheckVerdict(None, _missing(plan, record))
        raise ValidationFailed(
            f"edit check `{expression}` does not give yes or no but {result!r}",
            code="CHECK.E001",
            hint="write the check as a comparison, e.g. systolic_bp > diastolic_bp",
        )


def _missing(plan: Any, record: Mapping[str, Any]) -> tuple[str, ...]:
    """The inputs of ``plan`` that ``record`` lacks, each once, in order of appearance."""
    out: list[str] = []
    for ref in dict.fromkeys(p.references(plan)):
        if isinstance(ref, p.Item) and record.get(ref.name) is None:
            out.append(ref.name)
        elif isinstance(ref, p.Limit) and lookup_limit(ref, record) is None:
            out.append(ref.column)
    return tuple(out)


class InstrumentScorer:
    """Scores from ``trialkit.instruments``: only the instrument's own items are passed to it."""

    def score(self, instrument: str, values: Mapping[str, Any]) -> ScoreResult:
        inst = INSTRUMENTS.get(instrument)
        if inst is None:
            return ScoreResult(None, "unknown", reason=f"no instrument named {instrument!r}")
        names = {d.name for d in inst.items}
        own = {k: v for k, v in values.items() if k in names and v is not None}
        try:
            result = inst.score(own)
        except TrialkitError as exc:
            return ScoreResult(None, inst.version, reason=exc.message)
        return ScoreResult(result.value, result.version, dict(result.parts), result.reason)


def standard_ports(study: Study) -> Ports:
    """The real eligibility evaluator, edit-check evaluator and scorer for ``study``."""
    return Ports(CriteriaEligibility(), ExpressionRules(study), InstrumentScorer())
