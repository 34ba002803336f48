"""Paired comparisons of within-participant differences: paired t, exact Wilcoxon, sign
test and the Hodges–Lehmann estimate with its exact interval.

The direction of a difference (treated − control or control − treated, value − baseline or
baseline − value) is chosen by the endpoint definition; the functions here take the
differences as given and test their centre against 0.

Paired t (R's ``t.test(d, alternative = ...)``): t = mean/(sd/√n) on n − 1 degrees of freedom;
two-sided p = 2·P(T ≥ |t|), ``greater`` p = P(T ≥ t), ``less`` p = P(T ≤ t); the interval
follows the alternative (one-sided: (lower, +∞) or (−∞, upper), the infinite end as None).

Sign test: zeros (exact) are discarded; the number of positive differences among the m
non-zero ones is tested against Bin(m, ½) by :func:`trialkit.analysis.proportions.binomial_test`
(exact rational p; the two-sided p is R's ``binom.test``'s, which for p₀ = ½ is
min(1, 2·smaller tail)).

Hodges–Lehmann (Hollander & Wolfe; R's ``wilcox.test(d, conf.int = TRUE, exact = TRUE)``): the
estimate is the median of the n(n + 1)/2 Walsh averages (d_i + d_j)/2, i ≤ j, exact. The exact
interval takes order statistics of the sorted Walsh averages W₍₁₎ ≤ … ≤ W₍N₎: with
q = the smallest v such that P(V ≤ v) ≥ α/2 under the signed-rank null for n (at least 1),
the interval is [W₍q₎, W₍N − q + 1₎], and its achieved level 1 − 2·P(V ≤ q − 1) is reported
(≥ the requested level, except for very few differences where even [min d, max d] falls short:
R warns "requested conf.level not achievable" there, and the result says so). All n differences
are used, zeros included; with ties among the |d| the interval is the one the continuous-data
null gives (R refuses "exact" there).

The Wilcoxon signed-rank test here is exact for any data, including ties and zeros: the null
distribution is enumerated over all 2^m equally likely sign assignments of the observed
(mid)ranks, conditional on those ranks. Midranks are multiples of ½, so doubled ranks are
integers and the enumeration is an exact integer convolution (no normal approximation, no
continuity correction).

Zeros (differences exactly equal to 0, compared exactly):

* ``"wilcox"`` (default): zeros are discarded before ranking (Wilcoxon 1945; the convention
  of R's ``wilcox.test``);
* ``"pratt"``: zeros are ranked with the other absolute differences, then their ranks are
  left out of the statistic and of the enumeration (Pratt 1959).

The statistic V is the sum of the ranks of the positive differences (as R reports it). The
two-sided p-value is min(1, 2·min(P(V ≤ v), P(V ≥ v))); the null distribution is symmetric,
so this equals P(|V − E V| ≥ |v − E V|).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Literal

import numpy as np
from scipy import stats

from trialkit.analysis._numbers import Number, to_fraction
from trialkit.errors import ValidationFailed

__all__ = [
    "Alternative",
    "HodgesLehmann",
    "PairedT",
    "SignTest",
    "WilcoxonExact",
    "ZeroMethod",
    "hodges_lehmann",
    "midranks",
    "paired_t",
    "sign_test",
    "signed_rank_distribution",
    "wilcoxon_signed_rank_exact",
]

ZeroMethod = Literal["wilcox", "pratt"]
Alternative = Literal["two-sided", "greater", "less"]


@dataclass(frozen=True)
class PairedT:
    """Paired t on differences d (treated − control, or later − earlier)."""

    n: int
    mean: float
    sd: float | None
    se: float | None
    t: float | None
    df: int
    p_value: float | None
    lower: float | None
    upper: float | None
    level: float
    alternative: str = "two-sided"
    method: str = "paired t-test"
    conventions: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass(frozen=True)
class WilcoxonExact:
    """Exact Wilcoxon signed-rank test with its conventions."""

    n: int
    n_used: int
    zeros: int
    ties: bool
    statistic: Fraction
    p_value: Fraction
    alternative: str
    zero_method: str
    method: str = "Wilcoxon signed-rank test, exact enumeration"
    conventions: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {k: getattr(self, k) for k in self.__dataclass_fields__}
        out["statistic"] = float(self.statistic)
        out["p_value"] = float(self.p_value)
        out["p_value_exact"] = str(self.p_value)
        return out


def _check_alternative(alternative: str, what: str) -> None:
    if alternative not in ("two-sided", "greater", "less"):
        raise ValidationFailed(
            f"{what}: alternative {alternative!r} is unknown; use 'two-sided', 'greater' or 'less'",
            code="ANALYSIS.E022",
        )


def paired_t(
    differences: Sequence[Number], level: float = 0.95, alternative: Alternative = "two-sided"
) -> PairedT:
    """Paired t-test of mean difference 0 (statistic, df, p) with a ``level`` interval.

    ``alternative`` "greater" or "less" gives the one-sided p and one-sided interval (its
    infinite end None), as R's ``t.test``. With fewer than two differences nothing but the
    mean is estimable; with zero spread the t statistic is undefined. Both are reported as
    None, never as a crash or a fake number.
    """
    _check_alternative(alternative, "paired t")
    d = [float(to_fraction(x, what="difference")) for x in differences]
    n = len(d)
    if n == 0:
        raise ValidationFailed(
            "paired t: no paired differences; at least two participants with both values "
            "are needed",
            code="ANALYSIS.E020",
        )
    mean = math.fsum(d) / n
    conv = {
        "hypothesis": "mean difference = 0",
        "alternative": alternative,
        "degrees of freedom": "n − 1",
        "interval": "two-sided t interval"
        if alternative == "two-sided"
        else f"one-sided t bound ({alternative})",
    }
    if n < 2:
        conv["not estimable"] = "one difference: no spread, no test"
        return PairedT(
            n, mean, None, None, None, 0, None, None, None, level, alternative, conventions=conv
        )
    sd = math.sqrt(math.fsum((x - mean) ** 2 for x in d) / (n - 1))
    se = sd / math.sqrt(n)
    df = n - 1
    if se == 0:
        conv["not estimable"] = "all differences equal: t undefined"
        return PairedT(
            n, mean, sd, se, None, df, None, mean, mean, level, alternative, conventions=conv
        )
    t = mean / se
    lower: float | None
    upper: float | None
    if alternative == "two-sided":
        q = float(stats.t.ppf(1 - (1 - level) / 2, df))
        p = min(1.0, float(2 * stats.t.sf(abs(t), df)))
        lower, upper = mean - q * se, mean + q * se
    else:
        q = float(stats.t.ppf(level, df))
        if alternative == "greater":
            p = float(stats.t.sf(t, df))
            lower, upper = mean - q * se, None
        else:
            p = float(stats.t.cdf(t, df))
            lower, upper = None, mean + q * se
    return PairedT(n, mean, sd, se, t, df, p, lower, upper, level, alternative, conventions=conv)


@dataclass(frozen=True)
class SignTest:
    """Exact sign test: positives among the non-zero differences against Bin(m, ½)."""

    n: int
    zeros: int
    positive: int
    negative: int
    p_value: Fraction
    alternative: str
    method: str = "exact sign test"
    conventions: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {k: getattr(self, k) for k in self.__dataclass_fields__}
        out["p_value"] = float(self.p_value)
        out["p_value_exact"] = str(self.p_value)
        return out


def sign_test(
    differences: Sequence[Number | str], *, alternative: Alternative = "two-sided"
) -> SignTest:
    """The exact sign test of median difference 0 (zeros discarded)."""
    from trialkit.analysis.proportions import binomial_test

    _check_alternative(alternative, "sign test")
    d = [to_fraction(x, what="difference") for x in differences]
    pos = sum(1 for x in d if x > 0)
    neg = sum(1 for x in d if x < 0)
    if pos + neg == 0:
        raise ValidationFailed(
            f"sign test: all {len(d)} differences are zero (or there are none); the sign "
            "test needs at least one non-zero difference",
            code="ANALYSIS.E024",
        )
    bt = binomial_test(pos, pos + neg, Fraction(1, 2), alternative=alternative)
    return SignTest(
        len(d),
        len(d) - pos - neg,
        pos,
        neg,
        bt.p_value,
        alternative,
        conventions={
            "zeros": "discarded",
            "statistic": "number of positive differences, Bin(m, ½) under H₀",
            "p-value": "exact (R's binom.test)",
        },
    )


@dataclass(frozen=True)
class HodgesLehmann:
    """Hodges–Lehmann estimate (median of Walsh averages) with its exact interval."""

    n: int
    estimate: Fraction
    lower: Fraction
    upper: Fraction
    level: float
    achieved_level: Fraction
    method: str = "Hodges–Lehmann estimate, exact signed-rank interval"
    conventions: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "estimate": float(self.estimate),
            "estimate_exact": str(self.estimate),
            "lower": float(self.lower),
            "upper": float(self.upper),
            "lower_exact": str(self.lower),
            "upper_exact": str(self.upper),
            "level": self.level,
            "achieved_level": float(self.achieved_level),
            "achieved_level_exact": str(self.achieved_level),
            "method": self.method,
            "conventions": dict(self.conventions),
        }


def _median(sorted_values: Sequence[Fraction]) -> Fraction:
    m = len(sorted_values)
    mid = m // 2
    return sorted_values[mid] if m % 2 else (sorted_values[mid - 1] + sorted_values[mid]) / 2


def hodges_lehmann(differences: Sequence[Number | str], level: float = 0.95) -> HodgesLehmann:
    """The one-sample (paired) Hodges–Lehmann estimate and exact interval (module docstring)."""
    if not 0 < level < 1:
        raise ValidationFailed(
            f"Hodges–Lehmann: confidence level {level} is not between 0 and 1; use e.g. 0.95",
            code="ANALYSIS.E025",
        )
    d = [to_fraction(x, what="difference") for x in differences]
    n = len(d)
    if n == 0:
        raise ValidationFailed(
            "Hodges–Lehmann: no differences; at least one participant with both values is needed",
            code="ANALYSIS.E026",
        )
    walsh = sorted((d[i] + d[j]) / 2 for i in range(n) for j in range(i, n))
    total = len(walsh)
    null = signed_rank_distribution(list(range(1, n + 1)))  # 2^n·P(V = v), v = 0..N
    alpha = Fraction(1 - level).limit_denominator(10**12)
    cumulative = 0
    q = 0
    for v, c in enumerate(null):
        cumulative += c
        if Fraction(cumulative, 2**n) >= alpha / 2:
            q = v
            break
    q = max(q, 1)
    achieved = 1 - 2 * Fraction(sum(null[:q]), 2**n)
    return HodgesLehmann(
        n,
        _median(walsh),
        walsh[q - 1],
        walsh[total - q],
        level,
        achieved,
        conventions={
            "estimate": "median of the n(n + 1)/2 Walsh averages (exact)",
            "interval": "order statistics q and N − q + 1 of the Walsh averages, q from the "
            "exact signed-rank null (R wilcox.test conf.int, exact)",
            "achieved level": f"{float(achieved):.6g}"
            + (
                f" (≥ the requested {level:g})"
                if achieved >= Fraction(level).limit_denominator(10**12)
                else f" (the requested {level:g} is not achievable with {n} differences; "
                "the interval is [min, max] of the differences)"
            ),
            "zeros and ties": "all differences used; the null is that of continuous data",
        },
    )


def midranks(values: Sequence[Fraction]) -> list[Fraction]:
    """Ranks 1..n of ``values`` with tied values given the mean of their ranks (exact)."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks: list[Fraction] = [Fraction(0)] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        rank = Fraction(i + 1 + j + 1, 2)
        for k in range(i, j + 1):
            ranks[order[k]] = rank
        i = j + 1
    return ranks


def signed_rank_distribution(doubled_ranks: Sequence[int]) -> list[int]:
    """Counts c[s] of sign assignments whose doubled positive-rank sum equals s (exact ints)."""
    total = sum(doubled_ranks)
    counts = np.zeros(total + 1, dtype=object)
    counts[0] = 1
    reach = 0
    for r in doubled_ranks:
        shifted = counts[: reach + 1].copy()
        counts[r : r + reach + 1] = counts[r : r + reach + 1] + shifted
        reach += r
    return [int(c) for c in counts]


def wilcoxon_signed_rank_exact(
    differences: Sequence[Number | str],
    *,
    zero_method: ZeroMethod = "wilcox",
    alternative: Alternative = "two-sided",
) -> WilcoxonExact:
    """Exact signed-rank test of symmetry about 0 (see the module docstring for conventions)."""
    if zero_method not in ("wilcox", "pratt"):
        raise ValidationFailed(
            f"Wilcoxon: zero method {zero_method!r} is unknown; use 'wilcox' or 'pratt'",
            code="ANALYSIS.E021",
        )
    _check_alternative(alternative, "Wilcoxon")
    d = [to_fraction(x, what="difference") for x in differences]
    zeros = sum(1 for x in d if x == 0)
    if zero_method == "wilcox":
        kept = [x for x in d if x != 0]
        ranks = midranks([abs(x) for x in kept])
        signed = list(zip(kept, ranks, strict=True))
    else:
        ranks = midranks([abs(x) for x in d])
        signed = [(x, r) for x, r in zip(d, ranks, strict=True) if x != 0]
    abs_used = [abs(x) for x, _ in signed]
    ties = len(set(abs_used)) < len(abs_used)
    conv = {
        "zeros": (
            "discarded before ranking (Wilcoxon)"
            if zero_method == "wilcox"
            else "ranked, then left out of the statistic (Pratt)"
        ),
        "ties": "midranks; exact distribution conditional on the observed ranks",
        "statistic": "V = sum of ranks of positive differences",
        "p-value": "exact; two-sided = min(1, 2·min(P(V ≤ v), P(V ≥ v)))",
    }
    if not signed:
        raise ValidationFailed(
            f"Wilcoxon: all {len(d)} differences are zero (or there are none); the signed-rank "
            "test needs at least one non-zero difference",
            code="ANALYSIS.E023",
        )
    doubled = [int(2 * r) for _, r in signed]
    v2 = sum(int(2 * r) for x, r in signed if x > 0)
    counts = signed_rank_distribution(doubled)
    total = 2 ** len(signed)
    p_le = Fraction(sum(counts[: v2 + 1]), total)
    p_ge = Fraction(sum(counts[v2:]), total)
    if alternative == "greater":
        p = p_ge
    elif alternative == "less":
        p = p_le
    else:
        p = min(Fraction(1), 2 * min(p_le, p_ge))
    return WilcoxonExact(
        n=len(d),
        n_used=len(signed),
        zeros=zeros,
        ties=ties,
        statistic=Fraction(v2, 2),
        p_value=p,
        alternative=alternative,
        zero_method=zero_method,
        conventions=conv,
    )
