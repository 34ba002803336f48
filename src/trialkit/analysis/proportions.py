"""Confidence intervals for a binomial proportion: Clopper–Pearson (exact) and Wilson (score).

Clopper–Pearson inverts two one-sided exact binomial tests: the lower limit is the α/2
quantile of Beta(x, n − x + 1) (0 when x = 0) and the upper limit the 1 − α/2 quantile of
Beta(x + 1, n − x) (1 when x = n). It is conservative (coverage ≥ the nominal level).

Wilson inverts the score test without continuity correction:
centre (x + z²/2)/(n + z²), half-width z/(n + z²)·√(x(n − x)/n + z²/4). It equals the
interval of R's ``prop.test(x, n, correct = FALSE)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Literal

from scipy import stats

from trialkit.errors import ValidationFailed

__all__ = ["ProportionCI", "ProportionMethod", "clopper_pearson", "proportion_ci", "wilson"]

ProportionMethod = Literal["clopper-pearson", "wilson"]


@dataclass(frozen=True)
class ProportionCI:
    """A proportion x/n (exact) with a two-sided confidence interval."""

    successes: int
    n: int
    estimate: Fraction
    lower: float
    upper: float
    level: float
    method: str
    conventions: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "successes": self.successes,
            "n": self.n,
            "estimate": float(self.estimate),
            "estimate_exact": str(self.estimate),
            "lower": self.lower,
            "upper": self.upper,
            "level": self.level,
            "method": self.method,
            "conventions": dict(self.conventions),
        }


def _check(x: int, n: int, level: float) -> None:
    if n <= 0:
        raise ValidationFailed(
            f"proportion: n = {n} participants; an interval needs at least one participant",
            code="ANALYSIS.E010",
        )
    if not 0 <= x <= n:
        raise ValidationFailed(
            f"proportion: {x} successes out of {n} is impossible; use 0 ≤ successes ≤ n",
            code="ANALYSIS.E011",
        )
    if not 0 < level < 1:
        raise ValidationFailed(
            f"proportion: confidence level {level} is not between 0 and 1; use e.g. 0.95",
            code="ANALYSIS.E012",
        )


def clopper_pearson(x: int, n: int, level: float = 0.95) -> ProportionCI:
    """The exact (Clopper–Pearson) interval for x successes out of n."""
    _check(x, n, level)
    alpha = 1 - level
    lower = 0.0 if x == 0 else float(stats.beta.ppf(alpha / 2, x, n - x + 1))
    upper = 1.0 if x == n else float(stats.beta.ppf(1 - alpha / 2, x + 1, n - x))
    return ProportionCI(
        x,
        n,
        Fraction(x, n),
        lower,
        upper,
        level,
        "Clopper–Pearson exact interval",
        {"tails": "equal-tailed, α/2 each side", "boundaries": "0 when x = 0, 1 when x = n"},
    )


def wilson(x: int, n: int, level: float = 0.95) -> ProportionCI:
    """The Wilson score interval (no continuity correction) for x out of n."""
    _check(x, n, level)
    z = float(stats.norm.ppf(1 - (1 - level) / 2))
    z2 = z * z
    centre = (x + z2 / 2) / (n + z2)
    half = z / (n + z2) * math.sqrt(x * (n - x) / n + z2 / 4)
    return ProportionCI(
        x,
        n,
        Fraction(x, n),
        0.0 if x == 0 else max(0.0, centre - half),
        1.0 if x == n else min(1.0, centre + half),
        level,
        "Wilson score interval",
        {"continuity correction": "none", "boundaries": "exactly 0 when x = 0, 1 when x = n"},
    )


def proportion_ci(
    x: int, n: int, method: ProportionMethod = "clopper-pearson", level: float = 0.95
) -> ProportionCI:
    """Dispatch on ``method`` ("clopper-pearson", the default, or "wilson")."""
    if method == "clopper-pearson":
        return clopper_pearson(x, n, level)
    if method == "wilson":
        return wilson(x, n, level)
    raise ValidationFailed(
        f"proportion: method {method!r} is unknown; use 'clopper-pearson' or 'wilson'",
        code="ANALYSIS.E013",
    )
