"""Paired comparisons of within-participant differences: paired t and exact Wilcoxon.

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
    "PairedT",
    "WilcoxonExact",
    "ZeroMethod",
    "midranks",
    "paired_t",
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


def paired_t(differences: Sequence[Number], level: float = 0.95) -> PairedT:
    """Paired t-test of mean difference 0, with a two-sided ``level`` confidence interval.

    With fewer than two differences nothing but the mean is estimable; with zero spread the
    t statistic is undefined. Both are reported as None, never as a crash or a fake number.
    """
    d = [float(to_fraction(x, what="difference")) for x in differences]
    n = len(d)
    if n == 0:
        raise ValidationFailed(
            "paired t: no paired differences; at least two participants with both values "
            "are needed",
            code="ANALYSIS.E020",
        )
    mean = math.fsum(d) / n
    conv = {"hypothesis": "mean difference = 0", "interval": "two-sided t interval"}
    if n < 2:
        conv["not estimable"] = "one difference: no spread, no test"
        return PairedT(n, mean, None, None, None, 0, None, None, None, level, conventions=conv)
    sd = math.sqrt(math.fsum((x - mean) ** 2 for x in d) / (n - 1))
    se = sd / math.sqrt(n)
    df = n - 1
    q = float(stats.t.ppf(1 - (1 - level) / 2, df))
    if se == 0:
        conv["not estimable"] = "all differences equal: t undefined"
        return PairedT(n, mean, sd, se, None, df, None, mean, mean, level, conventions=conv)
    t = mean / se
    p = float(2 * stats.t.sf(abs(t), df))
    return PairedT(
        n, mean, sd, se, t, df, min(1.0, p), mean - q * se, mean + q * se, level, conventions=conv
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
    if alternative not in ("two-sided", "greater", "less"):
        raise ValidationFailed(
            f"Wilcoxon: alternative {alternative!r} is unknown; use 'two-sided', 'greater' "
            "or 'less'",
            code="ANALYSIS.E022",
        )
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
