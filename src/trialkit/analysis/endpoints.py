"""Endpoints computed from the tidy table: specs in, tables of results out.

:func:`analyse` is the core the CLI calls: ``(specs, data) → [EndpointResult]``. Results are
given per arm. Each result is a small table (``columns`` and ``rows``) plus the methods and
conventions used and notes on what was excluded and why (missing visits, baseline 0,
not-estimable statistics); nothing is silently dropped.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any, Literal

from trialkit.analysis._numbers import to_fraction
from trialkit.analysis.data import AdverseEvent, Observation, TidyData
from trialkit.analysis.dose_selection import DoseSelectionRule, select_dose, tabulate_outcomes
from trialkit.analysis.efftox import EffToxContour
from trialkit.analysis.mixed import change_mixed_model
from trialkit.analysis.paired import (
    hodges_lehmann,
    paired_t,
    sign_test,
    wilcoxon_signed_rank_exact,
)
from trialkit.analysis.proportions import binomial_test, proportion_ci
from trialkit.analysis.survival import kaplan_meier
from trialkit.errors import DefinitionError, ValidationFailed
from trialkit.instruments.cdai import REMISSION_BELOW, cdai_remission, cdai_response
from trialkit.instruments.change import percent_improvement as _instrument_percent_improvement
from trialkit.instruments.mayo import MAYO_RULES, MayoRemissionRule, MayoResponseRule
from trialkit.protocol.endpoints import (
    AdverseEventIncidence,
    ChangeFromBaseline,
    DoseSelection,
    EndpointSpec,
    PercentImprovement,
    ResponderRule,
    TimeToFirstEvent,
    WithinPatientDifference,
)

__all__ = [
    "DISPLAY_DIGITS",
    "EndpointResult",
    "analyse",
    "order_arms",
    "percent_improvement",
    "rule_from_spec",
]

Cell = str | int | float | None


#: ``computed``: the table holds the results; ``no data``: nothing was captured for an item the
#: endpoint reads, ``reason`` says which (the table is empty, every other endpoint is computed).
Status = Literal["computed", "no data"]

#: Decimal places of a column in human tables (``to_dict(display=True)``, the CLI's tables);
#: every other number has 4. JSON (``to_dict()``) keeps full precision.
DISPLAY_DIGITS: dict[str, int] = {
    "percent": 2,
    "lower %": 2,
    "upper %": 2,
    "mean utility": 2,
    "Pr(best)": 3,
}


def _display(column: str, value: Cell) -> Cell:
    if isinstance(value, float):
        return round(value, DISPLAY_DIGITS.get(column, 4))
    return value


@dataclass(frozen=True)
class EndpointResult:
    name: str
    type: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    methods: dict[str, dict[str, str]] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    status: Status = "computed"
    reason: str | None = None
    #: A per-participant listing beside the summary table (columns, rows), where the endpoint
    #: gives one (percent_improvement).
    listing: tuple[tuple[str, ...], tuple[tuple[Cell, ...], ...]] | None = None
    #: Per-arm model results in full precision, JSON-ready (the mixed model's variance
    #: components, log-likelihoods and AIC; the Kaplan–Meier median and its interval).
    details: dict[str, Any] = field(default_factory=dict)

    def display_rows(self) -> tuple[tuple[Cell, ...], ...]:
        """The rows as human tables show them: numbers rounded (:data:`DISPLAY_DIGITS`)."""
        return tuple(
            tuple(_display(c, v) for c, v in zip(self.columns, r, strict=True)) for r in self.rows
        )

    def to_dict(self, *, display: bool = False) -> dict[str, Any]:
        """The result as JSON-ready data: full precision, or rounded as displayed."""
        rows = self.display_rows() if display else self.rows
        return {
            "name": self.name,
            "type": self.type,
            "status": self.status,
            "reason": self.reason,
            "columns": list(self.columns),
            "rows": [dict(zip(self.columns, r, strict=True)) for r in rows],
            "methods": {k: dict(v) for k, v in self.methods.items()},
            "notes": list(self.notes),
            "details": dict(self.details),
            "listing": None
            if self.listing is None
            else {
                "columns": list(self.listing[0]),
                "rows": [dict(zip(self.listing[0], r, strict=True)) for r in self.listing[1]],
            },
        }

    def display_listing(self) -> tuple[tuple[Cell, ...], ...]:
        """The listing's rows rounded as human tables show them."""
        if self.listing is None:
            return ()
        cols = self.listing[0]
        return tuple(
            tuple(_display(c, v) for c, v in zip(cols, r, strict=True)) for r in self.listing[1]
        )


def percent_improvement(baseline: Fraction, value: Fraction) -> Fraction | None:
    """(baseline − value)/baseline × 100, exactly; None when the baseline is 0.

    The instruments' implementation (:func:`trialkit.instruments.change.percent_improvement`,
    which PASI 50/75/90 use), so the endpoint and the instrument cannot disagree.
    """
    return _instrument_percent_improvement(baseline, value)


def _r(x: Fraction | float | None) -> float | None:
    """Full precision (the nearest float); rounding is for human tables only (DISPLAY_DIGITS)."""
    return None if x is None else float(x)


class _NoData(Exception):
    """An item the endpoint reads has no captured value at all."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Values:
    """Index of one item's values: (participant, visit, role) → exact value."""

    def __init__(self, data: TidyData, item: str) -> None:
        self.arms = data.participants()
        self.by: dict[tuple[str, str, str | None], Fraction] = {}
        rows: dict[tuple[str, str, str | None], Observation] = {}
        for o in data.observations:
            if o.item != item or o.value == "":
                continue
            key = (o.participant, o.visit, o.role)
            if key in rows:
                raise ValidationFailed(
                    f"item {item}: participant {o.participant} visit {o.visit}"
                    + (f" role {o.role}" if o.role else "")
                    + f" has two values (rows {rows[key].row} and {o.row}); keep one",
                    code="ANALYSIS.E110",
                )
            rows[key] = o
            self.by[key] = to_fraction(o.value, what=f"row {o.row}, column value ({item})")
        if not rows:
            raise _NoData(
                f"no value of item {item!r} was captured (at any visit, in any arm); enter it "
                "on its form, or check the item name in the endpoint"
            )

    def get(self, participant: str, visit: str, role: str | None = None) -> Fraction | None:
        return self.by.get((participant, visit, role))

    def arm_participants(self, order: Sequence[str] | None = None) -> dict[str, list[str]]:
        """Participants per arm, arms in dose order (:func:`order_arms`)."""
        out: dict[str, list[str]] = defaultdict(list)
        for p, arm in sorted(self.arms.items()):
            out[arm].append(p)
        return {a: out[a] for a in order_arms(out, order)}


def _binomial_p(
    spec: PercentImprovement | ResponderRule, x: int, n: int, methods: dict[str, dict[str, str]]
) -> float | None:
    """The exact binomial test's p against the spec's null proportion, when it states one."""
    if spec.null_proportion is None:
        return None
    bt = binomial_test(x, n, Fraction(spec.null_proportion), alternative=spec.test_alternative)
    methods["binomial test"] = {k: v for k, v in bt.conventions.items() if k != "interval"}
    return float(bt.p_value)


def _pct(v: Fraction | float) -> float:
    return float(v * 100) if isinstance(v, Fraction) else v * 100


def _median(values: Sequence[Fraction]) -> Fraction | None:
    ordered = sorted(values)
    m = len(ordered)
    if m == 0:
        return None
    return ordered[m // 2] if m % 2 else (ordered[m // 2 - 1] + ordered[m // 2]) / 2


def _percent_improvement(
    spec: PercentImprovement, data: TidyData, arm_order: Sequence[str] | None = None
) -> EndpointResult:
    vals = _Values(data, spec.item)
    level = float(spec.level)
    rows: list[tuple[Cell, ...]] = []
    listing: list[tuple[Cell, ...]] = []
    notes: list[str] = []
    method: dict[str, str] = {}
    tests: dict[str, dict[str, str]] = {}
    thresholds = [
        (thr, Fraction(thr), f"≥ {thr.normalize():f}%") for thr in spec.responder_thresholds
    ]
    for arm, people in vals.arm_participants(arm_order).items():
        imps: list[Fraction] = []
        for p in people:
            b, v = vals.get(p, spec.baseline_visit), vals.get(p, spec.visit)
            if b is None or v is None:
                why = f"no {spec.item} at {spec.baseline_visit if b is None else spec.visit}"
                notes.append(f"{arm}: {p} has {why}; excluded")
                listing.append((arm, p, _r(b), _r(v), None, *([None] * len(thresholds)), why))
                continue
            imp = percent_improvement(b, v)
            if imp is None:
                notes.append(f"{arm}: {p} has baseline {spec.item} 0; improvement undefined")
                listing.append(
                    (arm, p, _r(b), _r(v), None, *([None] * len(thresholds)), "baseline 0")
                )
                continue
            imps.append(imp)
            listing.append(
                (
                    arm,
                    p,
                    _r(b),
                    _r(v),
                    _r(imp),
                    *(("yes" if imp >= t else "no") for _, t, _ in thresholds),
                    None,
                )
            )
        n = len(imps)
        mean = sum(imps, Fraction(0)) / n if n else None
        rows.append((arm, "mean % improvement", n, None, _r(mean), None, None, None))
        rows.append((arm, "median % improvement", n, None, _r(_median(imps)), None, None, None))
        for thr, t, _ in thresholds:
            x = sum(1 for i in imps if i >= t)
            label = f"{spec.item} {thr.normalize():f} (≥ {thr.normalize():f}%)"
            if n == 0:
                rows.append((arm, label, 0, 0, None, None, None, None))
                continue
            ci = proportion_ci(x, n, spec.ci_method, level)
            method = {"interval": ci.method, **ci.conventions}
            rows.append(
                (
                    arm,
                    label,
                    n,
                    x,
                    _pct(ci.estimate),
                    _pct(ci.lower),
                    _pct(ci.upper),
                    _binomial_p(spec, x, n, tests),
                )
            )
    return EndpointResult(
        spec.name,
        spec.type,
        ("arm", "measure", "n", "responders", "percent", "lower %", "upper %", "binomial p"),
        tuple(rows),
        {
            "improvement": {
                "formula": "(baseline − value)/baseline × 100, exact",
                "responder": "improvement ≥ threshold (inclusive)",
                "median": "middle value, mean of the two middle values for an even count",
                "missing": "complete cases; baseline 0 is undefined and excluded",
                "listing": "one row per participant of the arm, excluded ones with the reason",
            },
            "proportion": method,
            **tests,
        },
        tuple(notes),
        listing=(
            (
                "arm",
                "participant",
                "baseline",
                "value",
                "% improvement",
                *(label for _, _, label in thresholds),
                "excluded",
            ),
            tuple(listing),
        ),
    )


def _within(
    spec: WithinPatientDifference, data: TidyData, arm_order: Sequence[str] | None = None
) -> EndpointResult:
    vals = _Values(data, spec.item)
    rows: list[tuple[Cell, ...]] = []
    notes: list[str] = []
    methods: dict[str, dict[str, str]] = {}
    reverse = spec.direction == "control_minus_treated"
    alt = spec.alternative
    level = float(spec.level)
    for arm, people in vals.arm_participants(arm_order).items():
        for visit in spec.visits:
            diffs = []
            for p in people:
                t, c = vals.get(p, visit, spec.treated), vals.get(p, visit, spec.control)
                if t is None or c is None:
                    notes.append(
                        f"{arm} {visit}: {p} lacks the "
                        f"{spec.treated if t is None else spec.control} value; excluded"
                    )
                    continue
                diffs.append(c - t if reverse else t - c)
            if not diffs:
                rows.append((arm, visit, 0, *([None] * 13)))
                continue
            tt = paired_t(diffs, level, alt)
            methods["paired t"] = tt.conventions
            try:
                w = wilcoxon_signed_rank_exact(diffs, zero_method=spec.zero_method, alternative=alt)
                methods["Wilcoxon"] = w.conventions
                wv, wp = _r(w.statistic), _r(w.p_value)
            except ValidationFailed as exc:
                notes.append(f"{arm} {visit}: Wilcoxon not estimable: {exc.message}")
                wv = wp = None
            try:
                sg = sign_test(diffs, alternative=alt)
                methods["sign test"] = sg.conventions
                sp: float | None = _r(sg.p_value)
            except ValidationFailed as exc:
                notes.append(f"{arm} {visit}: sign test not estimable: {exc.message}")
                sp = None
            hl = hodges_lehmann(diffs, level)
            methods["Hodges–Lehmann"] = {
                k: v for k, v in hl.conventions.items() if k != "achieved level"
            }
            rows.append(
                (
                    arm,
                    visit,
                    tt.n,
                    _r(tt.mean),
                    _r(tt.lower),
                    _r(tt.upper),
                    _r(tt.t),
                    tt.df if tt.t is not None else None,
                    _r(tt.p_value),
                    wv,
                    wp,
                    sp,
                    _r(hl.estimate),
                    _r(hl.lower),
                    _r(hl.upper),
                    _r(hl.achieved_level),
                )
            )
    first, second = (spec.control, spec.treated) if reverse else (spec.treated, spec.control)
    return EndpointResult(
        spec.name,
        spec.type,
        (
            "arm",
            "visit",
            "n",
            "mean difference",
            "lower",
            "upper",
            "t",
            "df",
            "t p",
            "Wilcoxon V",
            "Wilcoxon p",
            "sign p",
            "HL estimate",
            "HL lower",
            "HL upper",
            "HL level",
        ),
        tuple(rows),
        {
            "difference": {
                "definition": f"{first} − {second} within participant",
                "alternative": alt,
            },
            **methods,
        },
        tuple(notes),
    )


def _change(
    spec: ChangeFromBaseline, data: TidyData, arm_order: Sequence[str] | None = None
) -> EndpointResult:
    vals = _Values(data, spec.item)
    rows: list[tuple[Cell, ...]] = []
    notes: list[str] = []
    reverse = spec.direction == "baseline_minus_value"
    methods: dict[str, dict[str, str]] = {
        "change": {
            "definition": "baseline − value" if reverse else "value − baseline",
            "alternative": spec.alternative,
        }
    }
    fits: dict[str, Any] = {}
    for arm, people in vals.arm_participants(arm_order).items():
        long_p: list[str] = []
        long_v: list[str] = []
        long_c: list[Fraction] = []
        long_b: list[Fraction] = []
        for visit in spec.visits:
            changes = []
            absent = []
            for p in people:
                b, v = vals.get(p, spec.baseline_visit), vals.get(p, visit)
                if b is None or v is None:
                    absent.append(p)
                    continue
                change = b - v if reverse else v - b
                changes.append(change)
                long_p.append(p)
                long_v.append(visit)
                long_c.append(change)
                long_b.append(b)
            if absent:
                notes.append(
                    f"{arm} {visit}: no {spec.item} at {spec.baseline_visit} or {visit} for "
                    f"{', '.join(absent)}; excluded"
                )
            if not changes:
                rows.append(
                    (arm, visit, 0, None, None, None, None, None, "mean change, t interval")
                )
                continue
            tt = paired_t(changes, float(spec.level), spec.alternative)
            methods["mean change"] = {"interval": "one-sample t on changes", **tt.conventions}
            rows.append(
                (
                    arm,
                    visit,
                    tt.n,
                    _r(tt.mean),
                    _r(tt.lower),
                    _r(tt.upper),
                    _r(tt.p_value),
                    tt.df if tt.t is not None else None,
                    "mean change, t interval",
                )
            )
        mm = change_mixed_model(
            long_p,
            long_v,
            long_c,
            visit_order=spec.visits,
            level=float(spec.level),
            baseline=long_b if spec.adjust_for_baseline else None,
            df_method=spec.df_method,
        )
        methods["mixed model"] = {"model": mm.method, **mm.conventions}
        if not mm.fitted:
            notes.append(f"{arm}: mixed model not fitted: {mm.reason}")
            continue
        for w in mm.warnings:
            notes.append(f"{arm}: mixed model warning: {w}")
        for ve in (*mm.visits, *mm.covariates):
            rows.append(
                (
                    arm,
                    ve.visit if ve.visit != "baseline" else f"baseline ({spec.baseline_visit})",
                    mm.n_participants,
                    _r(ve.estimate),
                    _r(ve.lower),
                    _r(ve.upper),
                    _r(ve.p_value),
                    ve.df,
                    "mixed model" if ve.visit != "baseline" else "mixed model, per unit",
                )
            )
        fits[arm] = {
            k: v
            for k, v in mm.to_dict().items()
            if k not in ("visits", "covariates", "method", "conventions", "warnings")
        }
        notes.append(
            f"{arm}: mixed model variance components σ²_participant = "
            f"{_g(mm.var_participant)}, σ²_residual = {_g(mm.var_residual)}; log-likelihood "
            f"REML {_g(mm.loglik_reml)}, ML {_g(mm.loglik_ml)}; AIC REML {_g(mm.aic_reml)}, "
            f"ML {_g(mm.aic_ml)} ({mm.n_parameters} parameters)"
        )
    return EndpointResult(
        spec.name,
        spec.type,
        ("arm", "visit", "n", "mean change", "lower", "upper", "p", "df", "method"),
        tuple(rows),
        methods,
        tuple(notes),
        details={"mixed model": fits},
    )


def _g(x: float | None) -> str:
    return "not available" if x is None else f"{x:.6g}"


def _param(spec: ResponderRule, key: str, default: int | Fraction) -> Fraction:
    return Fraction(spec.parameters.get(key, default))


#: (decided, reason): ``(None, None)`` when a value is missing, ``(None, why)`` when the rule
#: cannot be decided from the values (e.g. a Mayo baseline of 0).
Decision = tuple[bool | None, str | None]


def _fr_text(x: Fraction) -> str:
    return str(x) if x.denominator == 1 else f"{float(x):g}"


def _mayo_rule(spec: ResponderRule) -> MayoRemissionRule | MayoResponseRule:
    """The instrument's named rule (:data:`MAYO_RULES`), with the spec's parameters applied."""
    named = MAYO_RULES[spec.rule]
    p = spec.parameters
    if isinstance(named, MayoRemissionRule):
        return replace(
            named,
            max_total=Fraction(p["max_total"]) if "max_total" in p else named.max_total,
            max_any_subscore=(
                Fraction(p["max_subscore"]) if "max_subscore" in p else named.max_any_subscore
            ),
        )
    return replace(
        named,
        min_point_fall=_param(spec, "min_fall", named.min_point_fall),
        min_percent_fall=_param(spec, "min_fall_percent", named.min_percent_fall),
    )


def _responder_test(
    spec: ResponderRule, vals: _Values, extra: dict[str, _Values]
) -> tuple[Callable[[str, str], Decision], str]:
    rule = spec.rule
    base = str(spec.baseline_visit)

    def value(p: str, v: str) -> Fraction | None:
        return vals.get(p, v)

    if rule == "cdai_remission":
        thr = _param(spec, "threshold", REMISSION_BELOW)

        def remission_cdai(p: str, v: str) -> Decision:
            x = value(p, v)
            return (None, None) if x is None else (cdai_remission(x, thr), None)

        return remission_cdai, f"CDAI < {_fr_text(thr)} (trialkit.instruments.cdai_remission)"
    if rule in ("value_below", "value_at_most", "value_at_least"):
        thr = _param(spec, "threshold", 0)
        op: Callable[[Fraction], bool] = {
            "value_below": lambda x: x < thr,
            "value_at_most": lambda x: x <= thr,
            "value_at_least": lambda x: x >= thr,
        }[rule]

        def compare(p: str, v: str) -> Decision:
            x = value(p, v)
            return (None, None) if x is None else (op(x), None)

        return compare, f"{rule} {_fr_text(thr)}"
    if rule == "cdai_response":
        fall = _param(spec, "fall", 100)

        def response(p: str, v: str) -> Decision:
            b, x = value(p, base), value(p, v)
            return (None, None) if b is None or x is None else (cdai_response(b, x, fall), None)

        return response, (
            f"CDAI fall ≥ {_fr_text(fall)} from baseline (trialkit.instruments.cdai_response)"
        )
    mayo = _mayo_rule(spec)
    if isinstance(mayo, MayoRemissionRule):
        if not spec.subscore_items:
            raise DefinitionError(
                f"endpoint {spec.name!r}: rule mayo_remission bounds every Mayo subscore; "
                "list them in subscore_items",
                code="ANALYSIS.E113",
                hint="subscore_items: [stool_frequency, rectal_bleeding, endoscopy, "
                "physician_global]",
            )
        remission_rule = mayo

        def remission(p: str, v: str) -> Decision:
            x = value(p, v)
            subs = {s: extra[s].get(p, v) for s in spec.subscore_items}
            known = {s: y for s, y in subs.items() if y is not None}
            if x is None or len(known) < len(subs):
                return None, None
            outcome = remission_rule.decide(x, known)
            return outcome.met, outcome.reason

        limits = [
            *(
                [f"Mayo total ≤ {_fr_text(Fraction(mayo.max_total))}"]
                if mayo.max_total is not None
                else []
            ),
            *(
                [f"every subscore ≤ {_fr_text(Fraction(mayo.max_any_subscore))}"]
                if mayo.max_any_subscore is not None
                else []
            ),
        ]
        return remission, " and ".join(limits) + f" (MAYO_RULES[{mayo.name!r}])"
    bleeding = spec.bleeding_item
    if bleeding is None:
        raise DefinitionError(
            f"endpoint {spec.name!r}: rule mayo_response needs the rectal bleeding subscore "
            "(a fall ≥ 1 or a subscore ≤ 1); name its item in bleeding_item",
            code="ANALYSIS.E112",
            hint="bleeding_item: rectal_bleeding",
        )
    response_rule = mayo

    def mayo_response(p: str, v: str) -> Decision:
        b, x = value(p, base), value(p, v)
        rb, rx = extra[bleeding].get(p, base), extra[bleeding].get(p, v)
        if b is None or x is None or rb is None or rx is None:
            return None, None
        outcome = response_rule.decide(b, x, rb, rx)
        return outcome.met, outcome.reason

    return mayo_response, (
        f"Mayo fall ≥ {_fr_text(Fraction(mayo.min_point_fall))} and ≥ "
        f"{_fr_text(Fraction(mayo.min_percent_fall))}% from baseline, rectal bleeding fall "
        f"≥ {mayo.bleeding_fall} or ≤ {mayo.bleeding_max}; baseline 0 undefined "
        f"(MAYO_RULES[{mayo.name!r}])"
    )


def _responder(
    spec: ResponderRule, data: TidyData, arm_order: Sequence[str] | None = None
) -> EndpointResult:
    vals = _Values(data, spec.item)
    extra_items = [*spec.subscore_items, *([spec.bleeding_item] if spec.bleeding_item else [])]
    extra = {i: _Values(data, i) for i in extra_items}
    test, definition = _responder_test(spec, vals, extra)
    rows: list[tuple[Cell, ...]] = []
    notes: list[str] = []
    method: dict[str, str] = {}
    tests: dict[str, dict[str, str]] = {}
    for arm, people in vals.arm_participants(arm_order).items():
        for visit in spec.visits:
            outcomes = [(p, *test(p, visit)) for p in people]
            missing = [p for p, o, why in outcomes if o is None and why is None]
            if missing:
                notes.append(f"{arm} {visit}: no value for {', '.join(missing)}; excluded")
            for p, o, why in outcomes:
                if o is None and why is not None:
                    notes.append(f"{arm} {visit}: {p} undecided ({why}); excluded")
            known = [o for _, o, _ in outcomes if o is not None]
            n, x = len(known), sum(1 for o in known if o)
            if n == 0:
                rows.append((arm, visit, 0, 0, None, None, None, None))
                continue
            ci = proportion_ci(x, n, spec.ci_method, float(spec.level))
            method = {"interval": ci.method, **ci.conventions}
            rows.append(
                (
                    arm,
                    visit,
                    n,
                    x,
                    _pct(ci.estimate),
                    _pct(ci.lower),
                    _pct(ci.upper),
                    _binomial_p(spec, x, n, tests),
                )
            )
    return EndpointResult(
        spec.name,
        spec.type,
        ("arm", "visit", "n", "responders", "percent", "lower %", "upper %", "binomial p"),
        tuple(rows),
        {
            "rule": {
                "name": spec.rule,
                "definition": definition,
                "missing": "complete cases; undecided participants are listed in the notes",
            },
            "proportion": method,
            **tests,
        },
        tuple(notes),
    )


def _yn(b: bool) -> str:
    return "yes" if b else "no"


def _natural_key(text: str) -> list[tuple[int, int | str]]:
    """G50 < G100 < G200: digit runs compare as numbers."""
    return [(0, int(t)) if t.isdigit() else (1, t) for t in re.split(r"(\d+)", text) if t]


def order_arms(arms: Iterable[str], order: Sequence[str] | None = None) -> list[str]:
    """``arms`` in dose order: those named in ``order`` (lowest dose first) in that order,
    then any others in natural order (digits compared as numbers: G50, G100, G200)."""
    present = set(arms)
    first = [a for a in dict.fromkeys(order or ()) if a in present]
    rest = sorted(present - set(first), key=_natural_key)
    return [*first, *rest]


_GRADES = (1, 2, 3, 4, 5)
_NOT_CODED = "(not coded)"


def _incidence(
    spec: AdverseEventIncidence, data: TidyData, arm_order: Sequence[str] | None
) -> EndpointResult:
    arms = data.participants()
    by_arm = "arm" in spec.by
    label_dims = [d for d in ("organ_system", "term") if d in spec.by]
    yes_no = [d for d in spec.by if d in ("serious", "related")]
    by_grade = "grade" in spec.by

    def labels(e: AdverseEvent) -> tuple[str, ...]:
        out: list[str] = []
        for d in label_dims:
            value = e.organ_system if d == "organ_system" else e.term
            out.append(value or _NOT_CODED)
        out.extend(_yn(getattr(e, d)) for d in yes_no)
        return tuple(out)

    groups = order_arms(arms.values(), spec.arm_order or arm_order) if by_arm else ["all"]
    denominators = {g: sum(1 for a in arms.values() if not by_arm or a == g) for g in groups}
    # participant × cell → worst grade; events per (group, cell, grade)
    worst: dict[tuple[str, tuple[str, ...], str], int] = {}
    events: dict[tuple[str, tuple[str, ...], int | None], int] = defaultdict(int)
    for e in data.adverse_events:
        group = e.arm if by_arm else "all"
        key = labels(e)
        k = (group, key, e.participant)
        worst[k] = max(worst.get(k, 0), e.grade)
        events[(group, key, e.grade if by_grade else None)] += 1
    cells: dict[tuple[str, tuple[str, ...], int | None], set[str]] = defaultdict(set)
    for (group, key, p), g in worst.items():
        cells[(group, key, g if by_grade else None)].add(p)
    keys = sorted({key for _, key, _ in worst}, key=lambda k: [_natural_key(x) for x in k])
    grades: tuple[int | None, ...] = (
        tuple(g for g in _GRADES if any(c[2] == g for c in events)) if by_grade else (None,)
    )
    rows: list[tuple[Cell, ...]] = []
    notes: list[str] = []
    method: dict[str, str] = {}
    n_dims = len(label_dims) + len(yes_no)
    for group in groups:
        n = denominators[group]
        if not any(c[0] == group for c in cells):
            notes.append(f"{group}: 0 of {n} participants with an adverse event")
        if not keys:
            # No event anywhere: one row per arm, "0 of N", never a missing row.
            ci = proportion_ci(0, n, spec.ci_method, float(spec.level))
            method = {"interval": ci.method, **ci.conventions}
            rows.append(
                (
                    group,
                    *([None] * n_dims),
                    *([None] if by_grade else []),
                    0,
                    n,
                    _pct(ci.estimate),
                    _pct(ci.lower),
                    _pct(ci.upper),
                    0,
                )
            )
            continue
        for key in keys:
            for grade in grades:
                people = cells.get((group, key, grade), set())
                ci = proportion_ci(len(people), n, spec.ci_method, float(spec.level))
                method = {"interval": ci.method, **ci.conventions}
                rows.append(
                    (
                        group,
                        *key,
                        *([grade] if by_grade else []),
                        len(people),
                        n,
                        _pct(ci.estimate),
                        _pct(ci.lower),
                        _pct(ci.upper),
                        events.get((group, key, grade), 0),
                    )
                )
    uncoded = sum(
        1 for e in data.adverse_events if "organ_system" in spec.by and not e.organ_system
    )
    if uncoded:
        notes.append(
            f"{uncoded} event(s) without an organ system are counted under {_NOT_CODED}; "
            "add the organ_system column (MedDRA system organ class)"
        )
    return EndpointResult(
        spec.name,
        spec.type,
        (
            "arm",
            *(["organ system"] if "organ_system" in label_dims else []),
            *(["term"] if "term" in label_dims else []),
            *yes_no,
            *(["worst grade"] if by_grade else []),
            "participants",
            "N",
            "percent",
            "lower %",
            "upper %",
            "events",
        ),
        tuple(rows),
        {
            "counting": {
                "unit": "participants with ≥ 1 event, once per cell; events: every event "
                "of the cell",
                "grade": "participants at their worst grade within the cell; events at "
                "their own grade",
                "denominator": "all participants of the arm (values or events)",
                "arms": "in dose order (the protocol's arm order or arm_order, else "
                "natural order: G50, G100, G200)",
                "empty cells": "every cell seen in any arm (and every grade any event has) "
                "is shown for every arm, 0 of N",
                "arms without events": "their cells with 0 of N; with no event anywhere one "
                "row per arm, 0 of N",
            },
            "proportion": method,
        },
        tuple(notes),
    )


def _matches(spec: TimeToFirstEvent | DoseSelection, e: AdverseEvent) -> bool:
    if isinstance(spec, DoseSelection):
        t = spec.toxicity
        return (
            e.grade >= t.min_grade
            and (t.related is None or e.related == t.related)
            and (t.serious is None or e.serious == t.serious)
        )
    return (
        e.grade >= spec.min_grade
        and (spec.related is None or e.related == spec.related)
        and (spec.serious is None or e.serious == spec.serious)
    )


def _time_to_first(
    spec: TimeToFirstEvent, data: TidyData, arm_order: Sequence[str] | None
) -> EndpointResult:
    arms = data.participants()
    last = data.last_contact()
    first: dict[str, int] = {}
    for e in data.adverse_events:
        if _matches(spec, e):
            first[e.participant] = min(first.get(e.participant, e.onset_day), e.onset_day)
    rows: list[tuple[Cell, ...]] = []
    notes: list[str] = []
    methods: dict[str, dict[str, str]] = {}
    medians: dict[str, Any] = {}
    for arm in order_arms(arms.values(), arm_order):
        times: list[int] = []
        events: list[bool] = []
        for p in sorted(q for q, a in arms.items() if a == arm):
            if p in first:
                time, event = first[p] - 1, True
            elif p in last:
                time, event = last[p] - 1, False
            else:
                notes.append(f"{arm}: {p} has no day recorded; left out (no follow-up time)")
                continue
            if time < 0:
                what = "the first event" if event else "the last contact"
                notes.append(
                    f"{arm}: {p}: {what} is on day {time + 1}, before day 1; "
                    "left out (no follow-up time)"
                )
                continue
            times.append(time)
            events.append(event)
        if not times:
            continue
        km = kaplan_meier(times, events, level=float(spec.level), transform=spec.ci_transform)
        methods["Kaplan–Meier"] = km.conventions
        medians[arm] = {
            "n": km.n,
            "events": km.events,
            "median": _r(km.median),
            "median_lower": _r(km.median_lower),
            "median_upper": _r(km.median_upper),
            "level": km.level,
            "transform": km.transform,
        }
        if not km.rows:
            # No event in the arm: its row says so (all at risk at day 0, survival 1).
            rows.append((arm, 0.0, len(times), 0, 1.0, 0.0, 1.0, 1.0, "event time"))
        for row in km.rows:
            rows.append(
                (
                    arm,
                    float(row.time),
                    row.n_risk,
                    row.n_event,
                    _r(row.survival),
                    _r(row.se),
                    _r(row.lower),
                    _r(row.upper),
                    "event time",
                )
            )
        for day in spec.at_days:
            at = km.at(Fraction(day))
            if at.beyond_follow_up:
                notes.append(
                    f"{arm}: day {day.normalize():f} is after the last follow-up time; "
                    "S carried forward"
                )
            rows.append(
                (
                    arm,
                    float(at.time),
                    at.n_risk,
                    None,
                    _r(at.survival),
                    _r(at.se),
                    _r(at.lower),
                    _r(at.upper),
                    "requested day",
                )
            )

        def _end(x: Fraction | None) -> str:
            return "not reached" if x is None else f"{float(x):g}"

        note = f"{arm}: {km.events} of {km.n} with an event; median " + (
            "not reached" if km.median is None else f"{float(km.median):g} days"
        )
        if km.events:
            note += (
                f"; {float(spec.level) * 100:g}% CI {_end(km.median_lower)} to "
                f"{_end(km.median_upper)} (Brookmeyer–Crowley, {spec.ci_transform})"
            )
        notes.append(note)
    filt = [f"grade ≥ {spec.min_grade}"]
    if spec.related is not None:
        filt.append("related" if spec.related else "not related")
    if spec.serious is not None:
        filt.append("serious" if spec.serious else "not serious")
    return EndpointResult(
        spec.name,
        spec.type,
        ("arm", "days", "at risk", "events", "survival", "se", "lower", "upper", "row"),
        tuple(rows),
        {
            "event": {
                "definition": "first adverse event with " + ", ".join(filt),
                "time": "onset day − 1 (Day 1 = first dose), in days",
                "censoring": "at last contact day − 1",
                "arms without events": "one row: day 0, all at risk, survival 1 (SE 0, limits 1)",
                "requested days": "S, SE and limits at each of at_days (rows 'requested day'; "
                "at risk = participants with time ≥ the day)",
            },
            **methods,
        },
        tuple(notes),
        details={"median": medians},
    )


def rule_from_spec(spec: DoseSelection) -> DoseSelectionRule:
    """The exact :class:`DoseSelectionRule` a protocol's dose_selection endpoint states."""
    u, a, up = spec.utilities, spec.prior, spec.utility_prior
    return DoseSelectionRule(
        phi_t=Fraction(spec.phi_t),
        c_t=Fraction(spec.c_t),
        phi_e=Fraction(spec.phi_e),
        c_e=Fraction(spec.c_e),
        utilities=(Fraction(u[0]), Fraction(u[1]), Fraction(u[2]), Fraction(u[3])),
        prior=(Fraction(a[0]), Fraction(a[1]), Fraction(a[2]), Fraction(a[3])),
        score=spec.score,
        gate=spec.gate,
        utility_prior=(Fraction(up[0]), Fraction(up[1])),
    )


def _dose_selection(spec: DoseSelection, data: TidyData) -> EndpointResult:
    eff = spec.efficacy
    vals = _Values(data, eff.item)
    arms = data.participants()
    toxic = {e.participant for e in data.adverse_events if _matches(spec, e)}
    margin = Fraction(eff.margin)
    notes: list[str] = []
    counts: list[tuple[str, tuple[int, int, int, int]]] = []
    for dose in spec.doses:
        outcomes: list[tuple[bool, bool]] = []
        for p in sorted(q for q, a in arms.items() if a == dose):
            if eff.kind == "lesion_better":
                t, c = vals.get(p, eff.visit, eff.treated), vals.get(p, eff.visit, eff.control)
                e = None if t is None or c is None else c - t >= margin
            else:
                b, v = vals.get(p, str(eff.baseline_visit)), vals.get(p, eff.visit)
                imp = None if b is None or v is None else percent_improvement(b, v)
                e = None if imp is None else imp >= margin
            if e is None:
                notes.append(f"{dose}: {p} efficacy unknown at {eff.visit}; left out")
                continue
            outcomes.append((e, p in toxic))
        counts.append((dose, tabulate_outcomes(outcomes)))
    unknown = sorted(set(arms.values()) - set(spec.doses))
    if unknown:
        notes.append(f"arms not among the doses, ignored: {', '.join(unknown)}")
    rule = rule_from_spec(spec)
    contour = None
    if spec.efftox is not None:
        pts = spec.efftox
        contour = EffToxContour(
            Fraction(pts.eff_at_no_tox),
            Fraction(pts.tox_at_full_eff),
            Fraction(pts.mid_eff),
            Fraction(pts.mid_tox),
        )
    d = select_dose(counts, rule, draws=spec.draws, seed=spec.seed, efftox=contour)
    rows: list[tuple[Cell, ...]] = []
    for s in d.doses:
        des = None if d.efftox is None else _r(d.efftox.desirability[s.dose])
        if not s.explored:
            given = sum(1 for a in arms.values() if a == s.dose)
            notes.append(
                f"{s.dose}: not explored ("
                + (
                    "nobody received it"
                    if given == 0
                    else f"no known efficacy outcome among its {given} participant(s)"
                )
                + "); never admissible, no probability of being best"
            )
            rows.append((s.dose, 0, 0, 0, 0, 0, None, None, None, "not explored", None, None, None))
            continue
        rows.append(
            (
                s.dose,
                sum(s.counts),
                *s.counts,
                _r(s.mean_utility),
                _r(s.pr_tox_over),
                _r(s.pr_eff_under),
                "yes" if s.admissible else "no",
                _r(d.pr_best[s.dose]),
                des,
                _r(s.desirability),
            )
        )
    rows.append(
        (
            "no dose",
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            _r(d.pr_best["no dose"]),
            None,
            None,
        )
    )
    notes.append("selected: " + (d.selected or "no dose (none admissible)"))
    if d.efftox is not None:
        notes.append(
            f"EffTox contour sensitivity selects {d.efftox.selected or 'no dose'}: "
            + ("agrees" if d.efftox.agrees else "DISAGREES")
            + (", same ranking" if d.efftox.ranking_agrees else ", ranking differs")
        )
    return EndpointResult(
        spec.name,
        spec.type,
        (
            "dose",
            "n",
            "E¬T",
            "¬E¬T",
            "ET",
            "¬ET",
            "mean utility",
            "Pr(tox>φT)",
            "Pr(eff<φE)",
            "admissible",
            "Pr(best)",
            "EffTox δ",
            "BOIN12 desirability",
        ),
        tuple(rows),
        {"dose selection": {"rule": str(rule.to_dict()), **d.conventions}},
        tuple(notes),
    )


def _compute(spec: EndpointSpec, data: TidyData, arm_order: Sequence[str] | None) -> EndpointResult:
    if isinstance(spec, PercentImprovement):
        return _percent_improvement(spec, data, arm_order)
    if isinstance(spec, WithinPatientDifference):
        return _within(spec, data, arm_order)
    if isinstance(spec, ChangeFromBaseline):
        return _change(spec, data, arm_order)
    if isinstance(spec, ResponderRule):
        return _responder(spec, data, arm_order)
    if isinstance(spec, AdverseEventIncidence):
        return _incidence(spec, data, arm_order)
    if isinstance(spec, TimeToFirstEvent):
        return _time_to_first(spec, data, arm_order)
    return _dose_selection(spec, data)


def analyse(
    specs: Sequence[EndpointSpec], data: TidyData, *, arm_order: Sequence[str] | None = None
) -> list[EndpointResult]:
    """Compute every endpoint in ``specs`` from ``data``, one result per spec, in order.

    ``arm_order`` (the protocol's arms, lowest dose first) orders the arms of every table;
    arms it does not name follow in natural order (:func:`order_arms`).

    An endpoint whose item has no captured value at all is returned with status ``no data``
    and the reason; it never stops the other endpoints.
    """
    out: list[EndpointResult] = []
    for spec in specs:
        try:
            out.append(_compute(spec, data, arm_order))
        except _NoData as exc:
            out.append(
                EndpointResult(spec.name, spec.type, (), (), status="no data", reason=exc.reason)
            )
    return out
