"""Binomial proportions: Clopper–Pearson, Wilson (with or without continuity correction) and
Jeffreys intervals, and the exact binomial test against a stated null proportion.

Clopper–Pearson inverts two one-sided exact binomial tests: the lower limit is the α/2
quantile of Beta(x, n − x + 1) (0 when x = 0) and the upper limit the 1 − α/2 quantile of
Beta(x + 1, n − x) (1 when x = n). It is conservative (coverage ≥ the nominal level).

Wilson inverts the score test without continuity correction:
centre (x + z²/2)/(n + z²), half-width z/(n + z²)·√(x(n − x)/n + z²/4). It equals the
interval of R's ``prop.test(x, n, correct = FALSE)``.

Wilson with continuity correction is Newcombe's (1998, Stat Med 17:857–872) method 4:
L = (2x + z² − 1 − z√(z² − 2 − 1/n + 4p̂(n(1 − p̂) + 1)))/(2(n + z²)),
U = (2x + z² + 1 + z√(z² + 2 − 1/n + 4p̂(n(1 − p̂) − 1)))/(2(n + z²)), with L = 0 at x = 0
and U = 1 at x = n. It equals R's ``prop.test(x, n, correct = TRUE)`` whenever
|x − n·p₀| ≥ ½ for the test's null p₀; R shrinks the correction to |x − n·p₀| below that (at
x = n/2 with its default p₀ = ½ R gives the uncorrected interval), which the interval here does
not do: it depends on x and n only.

Jeffreys: the equal-tailed interval of the Beta(x + ½, n − x + ½) posterior (Jeffreys prior),
with the boundary modification of Brown, Cai & DasGupta (2001, Stat Sci 16:101–133): the lower
limit is 0 when x = 0 and the upper limit is 1 when x = n.

Exact binomial test (:func:`binomial_test`) of H₀: p = p₀, with exact rational p-values.
One-sided: the binomial tail. Two-sided by R's ``binom.test`` method (the "minimum likelihood"
method): the sum of the probabilities of all outcomes no more likely than the observed one,
computed as R does: with d = P(X = x) and m = n·p₀, if x = m the p-value is 1; if x < m it is
P(X ≤ x) + P(X ≥ n − y + 1), y the number of outcomes i ≥ ⌈m⌉ with P(X = i) ≤ d·(1 + 10⁻⁷);
if x > m, P(X ≥ x) + P(X ≤ y − 1), y the number of outcomes i ≤ ⌊m⌋ with P(X = i) ≤
d·(1 + 10⁻⁷). The tolerance 1 + 10⁻⁷ is R's ``relErr``; the comparison is exact here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Literal

from scipy import stats

from trialkit.errors import ValidationFailed

__all__ = [
    "BinomialTest",
    "ProportionCI",
    "ProportionMethod",
    "binomial_test",
    "clopper_pearson",
    "jeffreys",
    "proportion_ci",
    "wilson",
    "wilson_cc",
]

ProportionMethod = Literal["clopper-pearson", "wilson", "wilson-cc", "jeffreys"]
METHODS: tuple[str, ...] = ("clopper-pearson", "wilson", "wilson-cc", "jeffreys")


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


def wilson_cc(x: int, n: int, level: float = 0.95) -> ProportionCI:
    """The Wilson score interval with continuity correction (Newcombe 1998, method 4)."""
    _check(x, n, level)
    z = float(stats.norm.ppf(1 - (1 - level) / 2))
    z2 = z * z
    p = x / n
    denom = 2 * (n + z2)
    lower = 0.0
    if x > 0:
        root = math.sqrt(max(0.0, z2 - 2 - 1 / n + 4 * p * (n * (1 - p) + 1)))
        lower = max(0.0, (2 * x + z2 - 1 - z * root) / denom)
    upper = 1.0
    if x < n:
        root = math.sqrt(max(0.0, z2 + 2 - 1 / n + 4 * p * (n * (1 - p) - 1)))
        upper = min(1.0, (2 * x + z2 + 1 + z * root) / denom)
    return ProportionCI(
        x,
        n,
        Fraction(x, n),
        lower,
        upper,
        level,
        "Wilson score interval with continuity correction (Newcombe method 4)",
        {
            "continuity correction": "½ (Yates), always; R's prop.test shrinks it to "
            "|x − n·p₀| when that is smaller",
            "boundaries": "exactly 0 when x = 0, 1 when x = n",
        },
    )


def jeffreys(x: int, n: int, level: float = 0.95) -> ProportionCI:
    """The Jeffreys interval (Beta(x + ½, n − x + ½) quantiles), boundary-modified."""
    _check(x, n, level)
    alpha = 1 - level
    lower = 0.0 if x == 0 else float(stats.beta.ppf(alpha / 2, x + 0.5, n - x + 0.5))
    upper = 1.0 if x == n else float(stats.beta.ppf(1 - alpha / 2, x + 0.5, n - x + 0.5))
    return ProportionCI(
        x,
        n,
        Fraction(x, n),
        lower,
        upper,
        level,
        "Jeffreys interval",
        {
            "prior": "Jeffreys Beta(½, ½); equal-tailed posterior Beta(x + ½, n − x + ½) quantiles",
            "boundaries": "modified (Brown, Cai & DasGupta 2001): lower 0 when x = 0, "
            "upper 1 when x = n",
        },
    )


def proportion_ci(
    x: int, n: int, method: ProportionMethod = "clopper-pearson", level: float = 0.95
) -> ProportionCI:
    """Dispatch on ``method``: "clopper-pearson" (default), "wilson", "wilson-cc", "jeffreys"."""
    if method == "clopper-pearson":
        return clopper_pearson(x, n, level)
    if method == "wilson":
        return wilson(x, n, level)
    if method == "wilson-cc":
        return wilson_cc(x, n, level)
    if method == "jeffreys":
        return jeffreys(x, n, level)
    raise ValidationFailed(
        f"proportion: method {method!r} is unknown; use one of " + ", ".join(METHODS),
        code="ANALYSIS.E013",
    )


Alternative = Literal["two-sided", "greater", "less"]
#: R's ``relErr`` in ``binom.test``: outcomes within this relative margin of the observed
#: outcome's probability count as "no more likely".
REL_ERR = 1 + Fraction(1, 10**7)


@dataclass(frozen=True)
class BinomialTest:
    """The exact binomial test of H₀: p = p₀ with its Clopper–Pearson interval."""

    successes: int
    n: int
    null: Fraction
    alternative: str
    p_value: Fraction
    interval: ProportionCI
    method: str = "exact binomial test"
    conventions: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "successes": self.successes,
            "n": self.n,
            "null": str(self.null),
            "alternative": self.alternative,
            "p_value": float(self.p_value),
            "p_value_exact": str(self.p_value),
            "interval": self.interval.to_dict(),
            "method": self.method,
            "conventions": dict(self.conventions),
        }


def binomial_test(
    x: int,
    n: int,
    null: Fraction | int | str = Fraction(1, 2),
    *,
    alternative: Alternative = "two-sided",
    level: float = 0.95,
) -> BinomialTest:
    """Exact test of p = ``null``; two-sided p by R's ``binom.test`` method (module docstring).

    ``null`` is exact: a Fraction, a whole number or decimal text such as ``"0.2"`` (a float
    is refused, so that 0.1 means one tenth and not its binary neighbour).
    """
    _check(x, n, level)
    if isinstance(null, float | bool) or not isinstance(null, Fraction | int | str):
        raise ValidationFailed(
            f"binomial test: null proportion {null!r} must be exact (a Fraction, or decimal "
            "text such as '0.2'), not a float",
            code="ANALYSIS.E014",
        )
    try:
        p0 = Fraction(null)
    except ValueError:
        raise ValidationFailed(
            f"binomial test: null proportion {null!r} is not a number; give e.g. '0.2'",
            code="ANALYSIS.E014",
        ) from None
    if not 0 <= p0 <= 1:
        raise ValidationFailed(
            f"binomial test: null proportion {p0} is outside 0..1; give a proportion such as 0.2",
            code="ANALYSIS.E015",
        )
    if alternative not in ("two-sided", "greater", "less"):
        raise ValidationFailed(
            f"binomial test: alternative {alternative!r} is unknown; use 'two-sided', "
            "'greater' or 'less'",
            code="ANALYSIS.E016",
        )
    pmf = [math.comb(n, i) * p0**i * (1 - p0) ** (n - i) for i in range(n + 1)]

    def upto(k: int) -> Fraction:  # P(X ≤ k)
        return sum(pmf[: k + 1], Fraction(0)) if k >= 0 else Fraction(0)

    def from_(k: int) -> Fraction:  # P(X ≥ k)
        return sum(pmf[k:], Fraction(0)) if k <= n else Fraction(0)

    if alternative == "less":
        p = upto(x)
    elif alternative == "greater":
        p = from_(x)
    else:
        d = pmf[x]
        m = n * p0
        if x == m:
            p = Fraction(1)
        elif x < m:
            y = sum(1 for i in range(math.ceil(m), n + 1) if pmf[i] <= d * REL_ERR)
            p = upto(x) + from_(n - y + 1)
        else:
            y = sum(1 for i in range(math.floor(m) + 1) if pmf[i] <= d * REL_ERR)
            p = from_(x) + upto(y - 1)
        p = min(Fraction(1), p)
    return BinomialTest(
        x,
        n,
        p0,
        alternative,
        p,
        clopper_pearson(x, n, level),
        conventions={
            "null": f"p = {p0}",
            "p-value": "exact (rational)"
            + (
                "; two-sided by R's binom.test method: outcomes no more likely than the "
                "observed one (relative tolerance 1e-7)"
                if alternative == "two-sided"
                else f"; one-sided ({alternative})"
            ),
            "interval": "two-sided Clopper–Pearson (for every alternative)",
        },
    )
