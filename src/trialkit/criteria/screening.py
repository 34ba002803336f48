"""Screening one candidate: every criterion's verdict, the overall verdict and an explanation."""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction

from trialkit.criteria import plan as p
from trialkit.criteria.checker import _run, is_terminating
from trialkit.criteria.compared import ComparedValue, compared_values
from trialkit.criteria.diagnostics import Diagnostic
from trialkit.criteria.evaluator import evaluate, lookup_limit
from trialkit.criteria.spec import CriterionLike, ItemSpec, ReferenceRanges
from trialkit.errors import ExpressionError, ValidationFailed

__all__ = [
    "DATETIME_PATTERN",
    "DATE_PATTERN",
    "EARLIEST_DATE",
    "LATEST_DATE",
    "MAX_DECIMALS",
    "MAX_MAGNITUDE",
    "NUMBER_PATTERN",
    "WHITESPACE",
    "WHOLE_PATTERN",
    "CompiledCriteria",
    "CompiledCriterion",
    "CriterionResult",
    "Outcome",
    "Screening",
    "UsedValue",
    "Verdict",
    "check_criteria",
    "coerce_record",
    "compile_criteria",
    "evaluate_criteria",
    "format_value",
]


class Verdict(StrEnum):
    """One criterion's verdict."""

    MET = "met"
    NOT_MET = "not met"
    UNKNOWN = "unknown"


class Outcome(StrEnum):
    """The overall verdict."""

    ELIGIBLE = "eligible"
    INELIGIBLE = "ineligible"
    INCOMPLETE = "incomplete"


@dataclass(frozen=True)
class CompiledCriterion:
    """A checked criterion: its plan is the expression, or the judgement item itself."""

    id: str
    kind: str
    text: str
    source: str
    plan: p.Plan
    judgement: bool

    @property
    def reads(self) -> tuple[p.Item | p.Limit | p.AsOf, ...]:
        """What the criterion reads, each once, in order of appearance."""
        return tuple(dict.fromkeys(p.references(self.plan)))


def check_criteria(
    criteria: Iterable[CriterionLike],
    items: Mapping[str, ItemSpec],
    ranges: ReferenceRanges | None = None,
) -> list[Diagnostic]:
    """Every diagnostic of every criterion (for ``study check``), each naming its criterion."""
    return _compile(criteria, items, ranges)[1]


def compile_criteria(
    criteria: Iterable[CriterionLike],
    items: Mapping[str, ItemSpec],
    ranges: ReferenceRanges | None = None,
) -> CompiledCriteria:
    """Check and compile all criteria; raises :class:`ExpressionError` listing every error."""
    compiled, diagnostics = _compile(criteria, items, ranges)
    errors = [d for d in diagnostics if d.severity == "error"]
    if errors:
        raise ExpressionError(
            f"{len(errors)} error(s) in the eligibility criteria:\n"
            + "\n".join(d.render() for d in errors),
            code=errors[0].code,
            path=f"criteria.{errors[0].criterion}",
        )
    return CompiledCriteria(tuple(compiled), dict(items))


def _compile(
    criteria: Iterable[CriterionLike],
    items: Mapping[str, ItemSpec],
    ranges: ReferenceRanges | None,
) -> tuple[list[CompiledCriterion], list[Diagnostic]]:
    compiled: list[CompiledCriterion] = []
    diagnostics: list[Diagnostic] = []
    for criterion in criteria:
        cid = criterion.id

        def tag(d: Diagnostic, cid: str = cid) -> Diagnostic:
            return Diagnostic(d.code, d.severity, d.message, d.column, cid, d.source)

        if criterion.kind not in ("inclusion", "exclusion"):
            diagnostics.append(
                Diagnostic(
                    "EXPR.E011",
                    "error",
                    f"kind {criterion.kind!r} is neither 'inclusion' nor 'exclusion'",
                    criterion=cid,
                )
            )
            continue
        if criterion.expression is not None:
            plan, found = _run(criterion.expression, items, ranges)
            diagnostics.extend(tag(d) for d in found)
            if plan is not None and not any(d.severity == "error" for d in found):
                compiled.append(
                    CompiledCriterion(
                        cid, criterion.kind, criterion.text, criterion.expression, plan, False
                    )
                )
            continue
        judged = criterion.judgement_item
        if judged is None:
            diagnostics.append(
                Diagnostic(
                    "EXPR.E011",
                    "error",
                    "the criterion has neither an expression nor a judgement item; "
                    "write an expression or name the yes/no item the investigator answers",
                    criterion=cid,
                )
            )
            continue
        spec = items.get(judged)
        if spec is None or spec.data_type != "boolean":
            what = "is not an item" if spec is None else f"is {spec.data_type}, not boolean"
            diagnostics.append(
                Diagnostic(
                    "EXPR.E012",
                    "error",
                    f"judgement item {judged!r} {what}; name a yes/no item",
                    criterion=cid,
                )
            )
            continue
        compiled.append(
            CompiledCriterion(
                cid,
                criterion.kind,
                criterion.text,
                judged,
                p.Item(judged, "boolean", "boolean"),
                True,
            )
        )
    return compiled, diagnostics


# -- candidate values ---------------------------------------------------------------------------

_TRUE = {"true", "yes", "y", "1", "t"}
_FALSE = {"false", "no", "n", "0", "f"}


def _is_missing(raw: object) -> bool:
    if raw is None:
        return True
    if isinstance(raw, float) and math.isnan(raw):
        return True
    if isinstance(raw, str) and not raw.strip(WHITESPACE):
        return True
    pd = sys.modules.get("pandas")  # a value from pandas means pandas is loaded already
    return pd is not None and bool(raw is pd.NaT or raw is pd.NA)


#: The text of a number in a candidate's record: digits, an optional point and decimals, no
#: exponent (the same pattern the pre-screening query checks, so both refuse alike).
NUMBER_PATTERN = r"^[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)$"
WHOLE_PATTERN = r"^[+-]?[0-9]+([.]0*)?$"
DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
DATETIME_PATTERN = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]{1,6})?)?)?$"
)
#: At most this many decimals, and magnitudes below 10**12 (DECIMAL(18,6) in the query).
MAX_DECIMALS = 6
MAX_MAGNITUDE = 10**12
#: Dates outside this span are typing mistakes (a screening date in the year 99999).
EARLIEST_DATE = date(1850, 1, 1)
LATEST_DATE = date(2199, 12, 31)

#: What is trimmed around a value (ASCII whitespace, as the query trims it).
WHITESPACE = " \t\n\r\f\v"

_NUMBER = re.compile(NUMBER_PATTERN)
_WHOLE = re.compile(WHOLE_PATTERN)
_DATE = re.compile(DATE_PATTERN)
_DATETIME = re.compile(DATETIME_PATTERN)


def _range_text(spec: ItemSpec) -> str:
    low = "" if spec.minimum is None else format(spec.minimum, "f")
    high = "" if spec.maximum is None else format(spec.maximum, "f")
    return f"{low}..{high}" + (f" {spec.unit}" if spec.unit else "")


def _number(spec: ItemSpec, raw: object, integer: bool) -> Fraction:
    name = spec.name
    if isinstance(raw, bool):
        raise ValueError(f"{name}: {raw!r} is a yes/no value, not a number")
    shown = raw if isinstance(raw, str) else str(raw)  # quoted as typed, as the query quotes it
    if isinstance(raw, float):
        # A float reaches us from pandas or JSON: read its shortest decimal repr, not its binary.
        raw = Decimal(repr(raw)) if math.isfinite(raw) else Decimal("NaN")
    if isinstance(raw, str):
        text = raw.strip(WHITESPACE)
        if not _NUMBER.match(text):
            raise ValueError(f"{name}: {shown!r} is not a number; enter digits such as 2.05")
        if integer and not _WHOLE.match(text):
            raise ValueError(f"{name}: {shown!r} is not a whole number; enter an integer")
        decimals = len(text.partition(".")[2])
        raw = Decimal(text)
    elif isinstance(raw, Decimal):
        if not raw.is_finite():
            raise ValueError(f"{name}: {shown!r} is not a finite number; enter digits")
        exponent = raw.as_tuple().exponent
        decimals = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    elif isinstance(raw, int | Fraction):
        decimals = 0 if isinstance(raw, int) or raw.denominator == 1 else MAX_DECIMALS + 1
    else:
        raise ValueError(f"{name}: {shown!r} is not a number; enter digits such as 2.05")
    value = Fraction(raw)
    if integer and value.denominator != 1:
        raise ValueError(f"{name}: {shown!r} is not a whole number; enter an integer")
    if not integer and decimals > MAX_DECIMALS:
        raise ValueError(f"{name}: {shown!r} has more than {MAX_DECIMALS} decimals")
    if abs(value) >= MAX_MAGNITUDE:
        raise ValueError(f"{name}: {shown!r} is out of range; a value is below 10^12")
    if (spec.minimum is not None and value < spec.minimum) or (
        spec.maximum is not None and value > spec.maximum
    ):
        raise ValueError(f"{name}: {shown!r} is outside the item's range {_range_text(spec)}")
    return value


def _when(spec: ItemSpec, raw: object) -> date | datetime:
    name, kind = spec.name, spec.data_type
    if isinstance(raw, datetime):
        value: date | datetime = raw if kind == "datetime" else raw.date()
    elif isinstance(raw, date):
        value = raw
    else:
        text = str(raw).strip(WHITESPACE)
        pattern = _DATE if kind == "date" else _DATETIME
        try:
            if not pattern.match(text):
                raise ValueError(text)
            value = date.fromisoformat(text) if kind == "date" else datetime.fromisoformat(text)
        except ValueError as exc:
            raise ValueError(f"{name}: {raw!r} is not a date; write YYYY-MM-DD") from exc
    day = value.date() if isinstance(value, datetime) else value
    if not EARLIEST_DATE <= day <= LATEST_DATE:
        raise ValueError(
            f"{name}: {raw!r} is out of range; a date lies between "
            f"{EARLIEST_DATE.isoformat()} and {LATEST_DATE.isoformat()}"
        )
    return value


def _coerce(spec: ItemSpec, raw: object) -> p.Value:
    name = spec.name
    kind = spec.data_type
    if kind in ("integer", "decimal"):
        return _number(spec, raw, kind == "integer")
    if kind == "boolean":
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip(WHITESPACE).lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ValueError(f"{name}: {raw!r} is not yes/no; enter true or false")
    if kind in ("date", "datetime"):
        return _when(spec, raw)
    text = str(raw)
    if kind == "code" and spec.codes is not None:
        text = text.strip(WHITESPACE)
        if text not in spec.codes:
            raise ValueError(f"{name}: {text!r} is not one of {', '.join(spec.codes)}")
    return text


def coerce_record(
    data: Mapping[str, object], items: Mapping[str, ItemSpec]
) -> dict[str, p.Value | None]:
    """Typed values for the items (and ``<item>_uln``/``_lln`` limits) in ``data``.

    Missing values (absent, ``None``, empty text, NaN) become ``None``. Raises
    :class:`ValidationFailed` listing every value that does not fit its item.
    """
    out: dict[str, p.Value | None] = {}
    errors: dict[str, list[str]] = {}
    for key, raw in data.items():
        spec = items.get(key)
        if spec is None and key.endswith(("_uln", "_lln")) and key[:-4] in items:
            spec = ItemSpec(key, "decimal")
        if spec is None:
            continue
        if _is_missing(raw):
            out[key] = None
            continue
        try:
            out[key] = _coerce(spec, raw)
        except ValueError as exc:
            errors.setdefault(key, []).append(str(exc))
    if errors:
        raise ValidationFailed(
            "; ".join(m for ms in errors.values() for m in ms), code="VAL.E101", errors=errors
        )
    return out


# -- results --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UsedValue:
    """A value a criterion read: ``name`` is an item, ``uln(alt)`` or ``as_of``."""

    name: str
    value: p.Value | None
    unit: str | None = None
    note: str | None = None

    def render(self) -> str:
        if self.value is None:
            return f"{self.name} = (missing)"
        unit = f" {self.unit}" if self.unit else ""
        note = f" ({self.note})" if self.note else ""
        return f"{self.name} = {format_value(self.value)}{unit}{note}"


def format_value(value: p.Value) -> str:
    """A value as a person reads it (exact decimals, ISO dates, yes/no)."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Fraction):
        if value.denominator == 1:
            return str(value.numerator)
        if is_terminating(value):
            text = format(Decimal(value.numerator) / Decimal(value.denominator), "f")
            return text.rstrip("0").rstrip(".")
        return f"{value.numerator}/{value.denominator}"
    if isinstance(value, date):
        return value.isoformat()
    return repr(value) if isinstance(value, str) else str(value)


@dataclass(frozen=True)
class CriterionResult:
    id: str
    kind: str
    text: str
    source: str
    verdict: Verdict
    judgement: bool
    used: tuple[UsedValue, ...]
    missing: tuple[str, ...]
    #: What the comparisons compared: multiples of normal limits, converted values.
    compared: tuple[ComparedValue, ...] = ()

    @property
    def excludes(self) -> bool:
        """Whether this result makes the candidate ineligible."""
        bad = Verdict.NOT_MET if self.kind == "inclusion" else Verdict.MET
        return self.verdict is bad


@dataclass(frozen=True)
class Screening:
    outcome: Outcome
    results: tuple[CriterionResult, ...]
    as_of: date | None

    @property
    def failed(self) -> tuple[str, ...]:
        """Criteria that make the candidate ineligible (inclusions not met, exclusions met)."""
        return tuple(r.id for r in self.results if r.excludes)

    @property
    def unknown(self) -> tuple[str, ...]:
        return tuple(r.id for r in self.results if r.verdict is Verdict.UNKNOWN)

    @property
    def missing(self) -> tuple[str, ...]:
        """Items still needed: those that unknown criteria use and that have no value."""
        return tuple(sorted({m for r in self.results for m in r.missing}))

    def explain(self) -> str:
        """A readable account: the verdict, each criterion with its values, what is missing."""
        lines = [f"Overall: {self.outcome.value.upper()}"]
        if self.as_of is not None:
            lines[0] += f" (as of {self.as_of.isoformat()})"
        for r in self.results:
            mark = "  <- excludes" if r.excludes else ""
            how = "investigator's judgement" if r.judgement else r.source
            lines.append(f"{r.id} {r.kind}: {r.verdict.value}{mark}")
            lines.append(f"    {how}")
            if r.used:
                lines.append("    used: " + "; ".join(u.render() for u in r.used))
            if r.compared:
                lines.append("    compared: " + "; ".join(x.render() for x in r.compared))
        if self.outcome is Outcome.INCOMPLETE:
            lines.append("Still needed: " + ", ".join(self.missing))
        return "\n".join(lines)


@dataclass(frozen=True)
class CompiledCriteria:
    """Checked criteria, ready to screen many candidates or to compile to SQL."""

    criteria: tuple[CompiledCriterion, ...]
    items: Mapping[str, ItemSpec]

    def screen(self, data: Mapping[str, object], as_of: date | None = None) -> Screening:
        """Screen one candidate (raw values are coerced; see :func:`coerce_record`)."""
        return self.screen_record(coerce_record(data, self.items), as_of)

    def screen_record(
        self, record: Mapping[str, p.Value | None], as_of: date | None = None
    ) -> Screening:
        """Screen one candidate whose values are already typed."""
        results = tuple(self._one(c, record, as_of) for c in self.criteria)
        if any(r.excludes for r in results):
            outcome = Outcome.INELIGIBLE
        elif any(r.verdict is Verdict.UNKNOWN for r in results):
            outcome = Outcome.INCOMPLETE
        else:
            outcome = Outcome.ELIGIBLE
        return Screening(outcome, results, as_of)

    def _one(
        self, c: CompiledCriterion, record: Mapping[str, p.Value | None], as_of: date | None
    ) -> CriterionResult:
        value = evaluate(c.plan, record, as_of)
        verdict = Verdict.UNKNOWN if value is None else Verdict.MET if value else Verdict.NOT_MET
        used: list[UsedValue] = []
        missing: list[str] = []
        for ref in c.reads:
            if isinstance(ref, p.Item):
                v = record.get(ref.name)
                used.append(UsedValue(ref.name, v, self._unit(ref.name)))
                if v is None:
                    missing.append(ref.name)
            elif isinstance(ref, p.Limit):
                own = record.get(ref.column)
                limit = lookup_limit(ref, record)
                note = f"candidate's {ref.column}" if own is not None else "study default"
                used.append(
                    UsedValue(f"{ref.which}({ref.item})", limit, self._unit(ref.item), note)
                )
                if limit is None:
                    missing.append(ref.column)
            else:
                used.append(UsedValue("as_of", as_of))
        return CriterionResult(
            c.id,
            c.kind,
            c.text,
            c.source,
            verdict,
            c.judgement,
            tuple(used),
            tuple(missing) if verdict is Verdict.UNKNOWN else (),
            compared_values(c.plan, record, self.items, as_of),
        )

    def _unit(self, name: str) -> str | None:
        spec = self.items.get(name)
        return spec.unit if spec is not None else None


def evaluate_criteria(
    criteria: Sequence[CriterionLike] | CompiledCriteria,
    data: Mapping[str, object],
    items: Mapping[str, ItemSpec],
    ranges: ReferenceRanges | None = None,
    as_of: date | None = None,
) -> Screening:
    """Screen one candidate's ``data`` against ``criteria`` as of the date given."""
    compiled = (
        criteria
        if isinstance(criteria, CompiledCriteria)
        else compile_criteria(criteria, items, ranges)
    )
    return compiled.screen(data, as_of)
