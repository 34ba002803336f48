"""Kaplan–Meier estimate with Greenwood standard errors and a stated interval transform.

Survival S(t) = Π (1 − d_j / n_j) over event times t_j ≤ t is kept as an exact Fraction.
At a time where events and censorings tie, the censored participants count as still at
risk (events happen first), the usual convention.

Greenwood: Var(log S) ≈ σ² = Σ d_j / (n_j (n_j − d_j)); SE(S) = S·σ.
Interval transforms (two-sided, z the normal quantile):

* ``"log-log"`` (default): log(−log S) ± z·σ/|log S|, back-transformed (stays inside 0..1);
* ``"log"``: exp(log S ± z·σ), upper limit capped at 1 (R's ``survfit`` default);
* ``"plain"``: S ± z·S·σ, clipped to 0..1.

Where S = 0 (σ infinite) the SE and limits are not estimable and are reported as None. Where
S = 1 (before the first event, or an arm without events) σ = 0: SE 0 and both limits 1 under
every transform (as R's ``summary(survfit(...), times = ...)`` reports them).

The median is the smallest event time with S(t) < ½; if S equals ½ exactly from t_j to the
next event time, the median is their midpoint, and if S stays at ½ to the end of follow-up, the
midpoint of t_j and the last time observed (both as R's ``quantile(survfit(...))``); if S never
reaches ½ it is not reached (None).

Median confidence interval (Brookmeyer & Crowley 1982, Biometrics 38:29–41): the times t whose
test of S(t) = ½ is not rejected, |g(S(t)) − g(½)| ≤ z·SE(g(S(t))), with g the curve's own
transform. That set runs from the first time the **lower** limit curve falls below ½ to the
first time the **upper** limit curve falls below ½, which is how R's
``quantile(survfit(...))`` computes it: the same rule as the median applied to each limit curve
(a limit within √ε ≈ 1.5·10⁻⁸ of ½ counts as equal to ½, R's tolerance). A limit curve that
never falls below ½ leaves that end not reached (None).

:meth:`KaplanMeier.at` gives S, SE and limits at any time: the values of the last event time
≤ t (S = 1 with limits 1 before the first event); a time after the last follow-up time is
flagged ``beyond_follow_up``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Literal

from scipy import stats

from trialkit.analysis._numbers import Number, to_fraction
from trialkit.errors import ValidationFailed

__all__ = ["CITransform", "KMAt", "KMRow", "KaplanMeier", "kaplan_meier"]

#: R's tolerance for a limit curve "equal to" ½ (``sqrt(.Machine$double.eps)``).
HALF_TOLERANCE = 1.4901161193847656e-08

CITransform = Literal["log-log", "log", "plain"]


@dataclass(frozen=True)
class KMRow:
    """One distinct event time of the Kaplan–Meier table."""

    time: Fraction
    n_risk: int
    n_event: int
    n_censor: int
    survival: Fraction
    se: float | None
    lower: float | None
    upper: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "time": float(self.time),
            "n_risk": self.n_risk,
            "n_event": self.n_event,
            "n_censor": self.n_censor,
            "survival": float(self.survival),
            "survival_exact": str(self.survival),
            "se": self.se,
            "lower": self.lower,
            "upper": self.upper,
        }


@dataclass(frozen=True)
class KMAt:
    """S(t) with its standard error and limits at a requested time t."""

    time: Fraction
    n_risk: int
    survival: Fraction
    se: float | None
    lower: float | None
    upper: float | None
    beyond_follow_up: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "time": float(self.time),
            "n_risk": self.n_risk,
            "survival": float(self.survival),
            "survival_exact": str(self.survival),
            "se": self.se,
            "lower": self.lower,
            "upper": self.upper,
            "beyond_follow_up": self.beyond_follow_up,
        }


@dataclass(frozen=True)
class KaplanMeier:
    """The Kaplan–Meier table at event times, the median with its Brookmeyer–Crowley
    interval and the conventions used."""

    n: int
    events: int
    rows: tuple[KMRow, ...]
    median: Fraction | None
    level: float
    transform: str
    method: str = "Kaplan–Meier with Greenwood standard errors"
    conventions: dict[str, str] = field(default_factory=dict)
    median_lower: Fraction | None = None
    median_upper: Fraction | None = None
    times: tuple[Fraction, ...] = ()

    def at(self, t: Number | str) -> KMAt:
        """S(t), its SE and limits at any time ``t`` ≥ 0 (module docstring)."""
        tt = to_fraction(t, what="time")
        if tt < 0:
            raise ValidationFailed(
                f"Kaplan–Meier: time {tt} is negative; ask for a time ≥ 0 from the origin",
                code="ANALYSIS.E034",
            )
        last: KMRow | None = None
        for row in self.rows:
            if row.time <= tt:
                last = row
        at_risk = sum(1 for x in self.times if x >= tt)
        beyond = bool(self.times) and tt > max(self.times)
        if last is None:
            return KMAt(tt, at_risk, Fraction(1), 0.0, 1.0, 1.0, beyond)
        return KMAt(tt, at_risk, last.survival, last.se, last.lower, last.upper, beyond)

    def survival_at(self, t: Number) -> Fraction:
        """S(t), right-continuous step function (1 before the first event)."""
        tt = to_fraction(t, what="time")
        s = Fraction(1)
        for row in self.rows:
            if row.time <= tt:
                s = row.survival
        return s

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "events": self.events,
            "rows": [r.to_dict() for r in self.rows],
            "median": None if self.median is None else float(self.median),
            "median_lower": None if self.median_lower is None else float(self.median_lower),
            "median_upper": None if self.median_upper is None else float(self.median_upper),
            "level": self.level,
            "transform": self.transform,
            "method": self.method,
            "conventions": dict(self.conventions),
        }


def _limits(
    s: Fraction, sigma: float | None, z: float, transform: CITransform
) -> tuple[float | None, float | None]:
    if sigma is None or s == 0:
        return None, None
    if s == 1:
        return 1.0, 1.0
    sf = float(s)
    if transform == "plain":
        half = z * sf * sigma
        return max(0.0, sf - half), min(1.0, sf + half)
    if transform == "log":
        return sf * math.exp(-z * sigma), min(1.0, sf * math.exp(z * sigma))
    log_s = math.log(sf)
    theta = math.log(-log_s)
    se_theta = sigma / abs(log_s)
    return math.exp(-math.exp(theta + z * se_theta)), math.exp(-math.exp(theta - z * se_theta))


def kaplan_meier(
    times: Sequence[Number | str],
    events: Sequence[bool],
    *,
    level: float = 0.95,
    transform: CITransform = "log-log",
) -> KaplanMeier:
    """Kaplan–Meier of right-censored times; ``events[i]`` False means censored at times[i]."""
    if len(times) != len(events):
        raise ValidationFailed(
            f"Kaplan–Meier: {len(times)} times but {len(events)} event flags; give one flag "
            "per time",
            code="ANALYSIS.E030",
        )
    if transform not in ("log-log", "log", "plain"):
        raise ValidationFailed(
            f"Kaplan–Meier: interval transform {transform!r} is unknown; use 'log-log', "
            "'log' or 'plain'",
            code="ANALYSIS.E031",
        )
    if not times:
        raise ValidationFailed(
            "Kaplan–Meier: no participants; at least one time is needed", code="ANALYSIS.E032"
        )
    tt = [to_fraction(t, what="time") for t in times]
    if any(t < 0 for t in tt):
        bad = next(t for t in tt if t < 0)
        raise ValidationFailed(
            f"Kaplan–Meier: time {bad} is negative; times count from the origin (≥ 0)",
            code="ANALYSIS.E033",
        )
    z = float(stats.norm.ppf(1 - (1 - level) / 2))
    distinct = sorted(set(tt))
    at_risk = len(tt)
    s = Fraction(1)
    greenwood = 0.0
    infinite = False
    rows: list[KMRow] = []
    for t in distinct:
        d = sum(1 for ti, ei in zip(tt, events, strict=True) if ti == t and ei)
        c = sum(1 for ti, ei in zip(tt, events, strict=True) if ti == t and not ei)
        if d:
            s *= Fraction(at_risk - d, at_risk)
            if at_risk == d:
                infinite = True
            else:
                greenwood += d / (at_risk * (at_risk - d))
            sigma = None if infinite else math.sqrt(greenwood)
            lo, hi = _limits(s, sigma, z, transform)
            se = None if sigma is None else float(s) * sigma
            rows.append(KMRow(t, at_risk, d, c, s, se, lo, hi))
        at_risk -= d + c
    median = _first_below_half([(r.time, r.survival) for r in rows], exact=True, last=distinct[-1])
    median_lower = _first_below_half(
        [(r.time, r.lower) for r in rows], exact=False, last=distinct[-1]
    )
    median_upper = _first_below_half(
        [(r.time, r.upper) for r in rows], exact=False, last=distinct[-1]
    )
    return KaplanMeier(
        n=len(tt),
        events=sum(1 for e in events if e),
        rows=tuple(rows),
        median=median,
        level=level,
        transform=transform,
        conventions={
            "ties": "events before censorings at the same time",
            "standard error": "Greenwood",
            "interval": f"{transform} transform, two-sided {level:g}",
            "median": "smallest time with S < 1/2; midpoint where S = 1/2 exactly (with the last "
            "time observed when S = 1/2 to the end)",
            "median interval": f"Brookmeyer–Crowley with the {transform} transform: where "
            "the lower and the upper limit curves first fall below 1/2 (R quantile.survfit)",
        },
        median_lower=median_lower,
        median_upper=median_upper,
        times=tuple(sorted(tt)),
    )


def _first_below_half(
    curve: Sequence[tuple[Fraction, Fraction | float | None]], *, exact: bool, last: Fraction
) -> Fraction | None:
    """The first time the step curve is below ½; the midpoint with the next event time where
    it equals ½ (exactly for S, within R's tolerance for a limit curve), or with ``last``, the
    last time observed, where it equals ½ to the end of follow-up (R's
    ``quantile(survfit(...))``); None if never.

    A limit that is not estimable (None, where S = 0) is skipped, as R skips its NA: a limit
    curve that is above ½ until S reaches 0 leaves that end of the interval not reached.
    """
    half = Fraction(1, 2)
    for i, (time, value) in enumerate(curve):
        if value is None:
            continue
        equal = value == half if exact else abs(float(value) - 0.5) < HALF_TOLERANCE
        if equal:
            return (time + (curve[i + 1][0] if i + 1 < len(curve) else last)) / 2
        if value < half:
            return time
    return None
