"""Mayo score for ulcerative colitis (Schroeder 1987): full, partial and modified, with rules."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

from trialkit.errors import ValidationFailed
from trialkit.instruments.base import Instrument, Value, flag_options, required_missing
from trialkit.instruments.items import ItemDef
from trialkit.instruments.result import ScoreResult

__all__ = [
    "MAYO",
    "MAYO_RULES",
    "MODIFIED_MAYO",
    "PARTIAL_MAYO",
    "MayoRemissionRule",
    "MayoResponseRule",
    "MayoScore",
    "RuleOutcome",
]

_REFERENCE = (
    "Schroeder KW, Tremaine WJ, Ilstrup DM. Coated oral 5-aminosalicylic acid therapy for "
    "mildly to moderately active ulcerative colitis. N Engl J Med 1987;317:1625-1629. "
    "Modified score: FDA guidance, Ulcerative Colitis: Clinical Trial Endpoints (2016 draft)."
)

_STOOL = ItemDef(
    name="stool_frequency",
    label="Stool frequency subscore",
    data_type="integer",
    minimum=Decimal(0),
    maximum=Decimal(3),
    codes={
        "0": "normal for the patient",
        "1": "1-2 more than normal",
        "2": "3-4 more than normal",
        "3": "5 or more than normal",
    },
)
_BLEEDING = ItemDef(
    name="rectal_bleeding",
    label="Rectal bleeding subscore",
    data_type="integer",
    minimum=Decimal(0),
    maximum=Decimal(3),
    codes={
        "0": "none",
        "1": "streaks, under half the time",
        "2": "obvious blood most of the time",
        "3": "blood alone passed",
    },
)
_ENDOSCOPY = ItemDef(
    name="endoscopy",
    label="Mayo endoscopic subscore",
    data_type="integer",
    minimum=Decimal(0),
    maximum=Decimal(3),
    codes={"0": "normal or inactive", "1": "mild", "2": "moderate", "3": "severe"},
)
_MODIFIED_ENDOSCOPY = _ENDOSCOPY.model_copy(
    update={
        "label": "Mayo endoscopic subscore, friability excluded from 1",
        "description": "Modified Mayo: any friability scores at least 2.",
    }
)
_FRIABILITY = ItemDef(
    name="friability",
    label="Mucosal friability seen",
    data_type="boolean",
    required=False,
    description="Optional check: with friability the modified endoscopic subscore is >= 2.",
)
_PGA = ItemDef(
    name="physician_global",
    label="Physician global assessment",
    data_type="integer",
    minimum=Decimal(0),
    maximum=Decimal(3),
    codes={"0": "normal", "1": "mild", "2": "moderate", "3": "severe"},
)


class MayoScore(Instrument):
    """Sum of the Mayo subscores the variant includes."""

    reference = _REFERENCE

    def __init__(self, name: str, title: str, version: str, items: tuple[ItemDef, ...]) -> None:
        self.name = name
        self.title = title
        self.version = version
        self.items = items
        self.score_range = (Decimal(0), Decimal(3 * sum(1 for i in items if i.required)))

    def _score(self, values: dict[str, Value], options: dict[str, object]) -> ScoreResult:
        missing = required_missing(self, values)
        if missing:
            return self._missing(missing, options)
        if values.get("friability") is True and values.get("endoscopy") == Decimal(1):
            raise ValidationFailed(
                f"{self.title}: endoscopic subscore 1 with friability present; in the modified "
                "Mayo score friability scores at least 2: correct the subscore or the finding",
                code="INSTR.E020",
                errors={"endoscopy": ["friability present: subscore must be >= 2"]},
            )
        parts: dict[str, Decimal] = {}
        for item in self.items:
            v = values.get(item.name)
            if item.data_type == "integer" and isinstance(v, Decimal):
                parts[item.name] = v
        return ScoreResult(
            instrument=self.name,
            version=self.version,
            value=sum(parts.values(), Decimal(0)),
            parts=parts,
            options=flag_options(options),
        )


MAYO = MayoScore("mayo", "Mayo score", "Mayo 1987 (0-12)", (_STOOL, _BLEEDING, _ENDOSCOPY, _PGA))
PARTIAL_MAYO = MayoScore(
    "partial_mayo", "Partial Mayo score", "Partial Mayo (0-9)", (_STOOL, _BLEEDING, _PGA)
)
MODIFIED_MAYO = MayoScore(
    "modified_mayo",
    "Modified Mayo score",
    "Modified Mayo, FDA 2016 (0-9)",
    (_STOOL, _BLEEDING, _MODIFIED_ENDOSCOPY, _FRIABILITY),
)


@dataclass(frozen=True)
class RuleOutcome:
    """Whether a rule is met; ``met`` is None (with the reason) when it cannot be decided."""

    rule: str
    met: bool | None
    reason: str | None = None


def _check(result: ScoreResult, instrument: str, rule: str, role: str) -> str | None:
    if result.instrument != instrument:
        return f"rule {rule!r} applies to {instrument}, not {result.instrument} ({role})"
    if result.value is None:
        return f"rule {rule!r}: the {role} {instrument} has no score ({result.reason})"
    return None


Bound = int | Fraction
Subscore = Decimal | Fraction | int


@dataclass(frozen=True)
class MayoRemissionRule:
    """Remission: the total at most ``max_total`` (if set) and each named subscore at most its
    limit; ``max_any_subscore`` bounds every subscore.

    :meth:`evaluate` applies the rule to a score result; :meth:`decide` to the numbers alone
    (the endpoint analysis uses it on captured totals and subscores), so there is one
    implementation of the rule.
    """

    name: str
    instrument: str
    description: str
    max_total: Bound | None = None
    max_subscores: dict[str, Bound] = field(default_factory=dict)
    max_any_subscore: Bound | None = None

    def evaluate(self, current: ScoreResult) -> RuleOutcome:
        problem = _check(current, self.instrument, self.name, "current")
        if problem:
            return RuleOutcome(self.name, None, problem)
        assert current.value is not None
        return self.decide(current.value, current.parts)

    def decide(self, total: Subscore, subscores: Mapping[str, Subscore]) -> RuleOutcome:
        """The rule on a total and its subscores (by item name), compared exactly."""
        absent = [k for k in self.max_subscores if k not in subscores]
        if absent:
            return RuleOutcome(
                self.name, None, f"rule {self.name!r}: no {', '.join(absent)} subscore"
            )
        if self.max_any_subscore is not None and not subscores:
            return RuleOutcome(
                self.name,
                None,
                f"rule {self.name!r} bounds every subscore (<= {self.max_any_subscore}); "
                "no subscores given",
            )
        ok = self.max_total is None or Fraction(total) <= self.max_total
        for key, limit in self.max_subscores.items():
            ok = ok and Fraction(subscores[key]) <= limit
        if self.max_any_subscore is not None:
            bound = self.max_any_subscore
            ok = ok and all(Fraction(v) <= bound for v in subscores.values())
        return RuleOutcome(self.name, ok)


@dataclass(frozen=True)
class MayoResponseRule:
    """Response: a fall of at least ``min_point_fall`` points and ``min_percent_fall`` percent
    from baseline, with a rectal-bleeding fall of at least ``bleeding_fall`` or a rectal
    bleeding subscore of at most ``bleeding_max``.

    :meth:`evaluate` applies the rule to two score results; :meth:`decide` to the numbers
    alone (the endpoint analysis uses it), so there is one implementation of the rule. A
    baseline of 0 leaves the percent fall, and so the response, undefined (``met`` None).
    """

    name: str
    instrument: str
    description: str
    min_point_fall: Bound
    min_percent_fall: Bound
    bleeding_fall: Bound = 1
    bleeding_max: Bound = 1

    def evaluate(self, baseline: ScoreResult, current: ScoreResult) -> RuleOutcome:
        for result, role in ((baseline, "baseline"), (current, "current")):
            problem = _check(result, self.instrument, self.name, role)
            if problem:
                return RuleOutcome(self.name, None, problem)
        assert baseline.value is not None
        assert current.value is not None
        return self.decide(
            baseline.value,
            current.value,
            baseline.parts["rectal_bleeding"],
            current.parts["rectal_bleeding"],
        )

    def decide(
        self,
        baseline_total: Subscore,
        current_total: Subscore,
        baseline_bleeding: Subscore,
        current_bleeding: Subscore,
    ) -> RuleOutcome:
        """The rule on the baseline and current totals and rectal-bleeding subscores."""
        base = Fraction(baseline_total)
        if base == 0:
            return RuleOutcome(
                self.name, None, f"rule {self.name!r}: baseline score 0, percent fall undefined"
            )
        fall = base - Fraction(current_total)
        percent = 100 * fall / base
        bleed_base, bleed_now = Fraction(baseline_bleeding), Fraction(current_bleeding)
        bleeding_ok = bleed_base - bleed_now >= self.bleeding_fall or bleed_now <= self.bleeding_max
        met = fall >= self.min_point_fall and percent >= self.min_percent_fall and bleeding_ok
        return RuleOutcome(self.name, met)


#: Named, documented rules; protocols may define their own with the same classes.
MAYO_RULES: dict[str, MayoRemissionRule | MayoResponseRule] = {
    rule.name: rule
    for rule in (
        MayoRemissionRule(
            name="mayo_remission",
            instrument="mayo",
            description="Full Mayo score <= 2 with no subscore > 1.",
            max_total=2,
            max_any_subscore=1,
        ),
        MayoResponseRule(
            name="mayo_response",
            instrument="mayo",
            description=(
                "Full Mayo fall >= 3 points and >= 30 % from baseline, with a rectal bleeding "
                "fall >= 1 or a rectal bleeding subscore <= 1."
            ),
            min_point_fall=3,
            min_percent_fall=30,
        ),
        MayoRemissionRule(
            name="fda_2016_modified_remission",
            instrument="modified_mayo",
            description=(
                "Modified Mayo remission: stool frequency <= 1, rectal bleeding 0, "
                "endoscopic subscore (friability excluded from 1) <= 1."
            ),
            max_subscores={"stool_frequency": 1, "rectal_bleeding": 0, "endoscopy": 1},
        ),
        MayoResponseRule(
            name="modified_mayo_response",
            instrument="modified_mayo",
            description=(
                "Modified Mayo fall >= 2 points and >= 30 % from baseline, with a rectal "
                "bleeding fall >= 1 or a rectal bleeding subscore <= 1."
            ),
            min_point_fall=2,
            min_percent_fall=30,
        ),
        MayoRemissionRule(
            name="partial_mayo_remission",
            instrument="partial_mayo",
            description="Partial Mayo score <= 2 with no subscore > 1.",
            max_total=2,
            max_any_subscore=1,
        ),
    )
}
