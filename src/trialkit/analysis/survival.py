"""Kaplan–Meier estimate with Greenwood standard errors and a stated interval transform.

Survival S(t) = Π (1 − d_j / n_j) over event times t_j ≤ t is kept as an exact Fraction.
At a time where events and censorings tie, the censored participants count as still at
risk (events happen first), the usual convention.

Greenwood: Var(log S) ≈ σ² = Σ d_j / (n_j (n_j − d_j)); SE(S) = S·σ.
Interval transforms (two-sided, z the normal quantile):

* ``"log-log"`` (default): log(−log S) ± z·σ/|log S|, back-transformed (stays inside 0..1);
* ``"log"``: exp(log S ± z·σ), upper limit capped at 1 (R's ``survfit`` default);
* ``"plain"``: S ± z·S·σ, clipped to 0..1.

Where S = 0 (σ infinite) the SE and limits are not estimable and are reported as None; with
log-log, the limits at S = 1 are also None. The median is the smallest event time with
S(t) < ½; if S equals ½ exactly from t_j to the next event time, the median is their
midpoint (as in R's ``survival``); if S never falls below ½ it is not reached (None).
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

__all__ = ["CITransform", "KMRow", "KaplanMeier", "kaplan_meier"]

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
class KaplanMeier:
    """The Kaplan–Meier table at event times, the median and the conventions used."""

    n: int
    events: int
    rows: tuple[KMRow, ...]
    median: Fraction | None
    level: float
    transform: str
    method: str = "Kaplan–Meier with Greenwood standard errors"
    conventions: dict[str, str] = field(default_factory=dict)

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
    sf = float(s)
    if transform == "plain":
        half = z * sf * sigma
        return max(0.0, sf - half), min(1.0, sf + half)
    if transform == "log":
        return sf * math.exp(-z * sigma), min(1.0, sf * math.exp(z * sigma))
    if s == 1:
        return None, None
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
    median: Fraction | None = None
    half = Fraction(1, 2)
    for i, row in enumerate(rows):
        if row.survival < half:
            median = row.time
            break
        if row.survival == half:
            median = (row.time + rows[i + 1].time) / 2 if i + 1 < len(rows) else None
            break
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
            "median": "smallest time with S < 1/2; midpoint where S = 1/2 exactly",
        },
    )
