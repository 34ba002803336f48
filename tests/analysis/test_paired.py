"""Paired t and exact Wilcoxon against R 4.2.2 (Debian r-base-core).

Provenance (R version 4.2.2 Patched (2022-11-10 r83330)):

* paired t: ``t.test(c(1.5, -0.5, 2, 3.25, 0.75, 1))``.
* Wilcoxon without ties/zeros (Hollander & Wolfe depression data, R's ``wilcox.test`` example):
  ``wilcox.test(x, y, paired = TRUE, exact = TRUE)`` with
  x = c(1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30),
  y = c(0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29): V = 40, p = 0.0390625;
  ``alternative = "greater"``: p = 0.01953125.
* Wilcoxon with ties and zeros: R's ``wilcox.test`` cannot be exact there, so the reference is
  an independent brute force in R over all 2^m sign vectors
  (``expand.grid(rep(list(c(0, 1)), m)) %*% rank(abs(d))``) for
  d = c(0, 0, 1, -1, 2, 2, 3, -3, 4, 5, 1): discard zeros V = 36.5, two-sided p = 0.12109375,
  P(V ≥ v) = 0.060546875; Pratt V = 50.5, two-sided p = 0.1015625, P(V ≥ v) = 0.05078125.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trialkit.analysis.paired import (
    hodges_lehmann,
    midranks,
    paired_t,
    sign_test,
    signed_rank_distribution,
    wilcoxon_signed_rank_exact,
)
from trialkit.errors import ValidationFailed

HW_X = ["1.83", "0.50", "1.62", "2.48", "1.68", "1.88", "1.55", "3.06", "1.30"]
HW_Y = ["0.878", "0.647", "0.598", "2.05", "1.06", "1.29", "1.06", "3.14", "1.29"]
HW_D = [Decimal(a) - Decimal(b) for a, b in zip(HW_X, HW_Y, strict=True)]
TIES_ZEROS = [0, 0, 1, -1, 2, 2, 3, -3, 4, 5, 1]


def test_paired_t_against_r() -> None:
    r = paired_t([1.5, -0.5, 2, 3.25, 0.75, 1])
    assert r.t == pytest.approx(2.58873920676229, rel=1e-12)
    assert r.df == 5
    assert r.p_value == pytest.approx(0.0489114703435173, rel=1e-10)
    assert r.lower == pytest.approx(0.00935197647748113, rel=1e-9)
    assert r.upper == pytest.approx(2.65731469018919, rel=1e-12)


def test_paired_t_small_samples_not_estimable() -> None:
    one = paired_t([2])
    assert one.t is None
    assert one.p_value is None
    assert "not estimable" in one.conventions
    same = paired_t([1, 1, 1])
    assert same.t is None
    assert same.lower == same.upper == 1.0
    with pytest.raises(ValidationFailed):
        paired_t([])


def test_wilcoxon_no_ties_against_r() -> None:
    r = wilcoxon_signed_rank_exact(HW_D)
    assert r.statistic == 40
    assert r.p_value == Fraction("0.0390625")
    assert not r.ties
    g = wilcoxon_signed_rank_exact(HW_D, alternative="greater")
    assert g.p_value == Fraction("0.01953125")


def test_wilcoxon_ties_zeros_discard_against_r_bruteforce() -> None:
    r = wilcoxon_signed_rank_exact(TIES_ZEROS)
    assert r.zeros == 2
    assert r.n_used == 9
    assert r.ties
    assert r.statistic == Fraction("36.5")
    assert r.p_value == Fraction("0.12109375")
    assert wilcoxon_signed_rank_exact(TIES_ZEROS, alternative="greater").p_value == Fraction(
        "0.060546875"
    )
    assert "Wilcoxon" in r.conventions["zeros"]


def test_wilcoxon_ties_zeros_pratt_against_r_bruteforce() -> None:
    r = wilcoxon_signed_rank_exact(TIES_ZEROS, zero_method="pratt")
    assert r.statistic == Fraction("50.5")
    assert r.p_value == Fraction("0.1015625")
    assert wilcoxon_signed_rank_exact(
        TIES_ZEROS, zero_method="pratt", alternative="greater"
    ).p_value == Fraction("0.05078125")


def test_wilcoxon_all_zero_is_a_clear_error() -> None:
    with pytest.raises(ValidationFailed, match="non-zero"):
        wilcoxon_signed_rank_exact([0, "0.0", Decimal("0")])


def test_wilcoxon_bad_options() -> None:
    with pytest.raises(ValidationFailed, match="pratt"):
        wilcoxon_signed_rank_exact([1, 2], zero_method="zsplit")  # type: ignore[arg-type]
    with pytest.raises(ValidationFailed, match="two-sided"):
        wilcoxon_signed_rank_exact([1, 2], alternative="both")  # type: ignore[arg-type]


def test_bad_number_named() -> None:
    with pytest.raises(ValidationFailed, match="'abc' is not a number"):
        wilcoxon_signed_rank_exact([1, "abc"])


def test_midranks() -> None:
    assert midranks([Fraction(v) for v in (3, 1, 3, 2)]) == [
        Fraction(7, 2),
        Fraction(1),
        Fraction(7, 2),
        Fraction(2),
    ]


@given(st.lists(st.integers(-5, 5), min_size=1, max_size=12))
def test_distribution_is_symmetric_and_sums_to_two_power(d: list[int]) -> None:
    nz = [x for x in d if x != 0]
    if not nz:
        return
    doubled = [int(2 * r) for r in midranks([Fraction(abs(x)) for x in nz])]
    counts = signed_rank_distribution(doubled)
    assert sum(counts) == 2 ** len(nz)
    assert counts == counts[::-1]
    r = wilcoxon_signed_rank_exact(d)
    assert 0 < r.p_value <= 1
    flipped = wilcoxon_signed_rank_exact([-x for x in d])
    assert flipped.p_value == r.p_value


# One-sided paired t, sign test and Hodges–Lehmann. Provenance (R 4.2.2 Patched, 2022-11-10
# r83330, sprintf("%.15g")):
# * ``t.test(d, alternative = "greater")`` / ``"less"`` for d = c(1.5, -0.5, 2, 3.25, 0.75, 1);
# * sign test ``binom.test(sum(d > 0), sum(d != 0))`` (two-sided; ``alternative = "greater"``);
# * ``wilcox.test(x, y, paired = TRUE, exact = TRUE, conf.int = TRUE[, conf.level = 0.9])``
#   (Hollander & Wolfe data above): estimate 0.46, 95 % [0.01, 0.786], 90 % [0.175, 0.726];
#   ``wilcox.test(d, exact = TRUE, conf.int = TRUE)``: 1.375 [-0.5, 3.25];
#   ``wilcox.test(c(1, 2, 4), exact = TRUE, conf.int = TRUE)``: 2.25 [1, 4] (with R's warning
#   "requested conf.level not achievable");
# * achieved levels ``1 - 2 * psignrank(qsignrank(alpha / 2, n) - 1, n)`` (q at least 1):
#   n = 9: 0.9609375 (95 %), 0.90234375 (90 %); n = 6: 0.96875; n = 11: 0.9580078125;
#   n = 3: 0.75;
# * for the tied data (R's wilcox.test refuses an exact interval there) the same rule applied
#   in R to ``sort(outer(d, d, "+")[!lower.tri(...)] / 2)``: estimate 1.25, [-0.5, 3].
T_D = [1.5, -0.5, 2, 3.25, 0.75, 1]


def test_paired_t_one_sided_against_r() -> None:
    g = paired_t(T_D, alternative="greater")
    assert g.t == pytest.approx(2.58873920676229, rel=1e-12)
    assert g.df == 5
    assert g.p_value == pytest.approx(0.0244557351717586, rel=1e-10)
    assert g.lower == pytest.approx(0.295480173993929, rel=1e-10)
    assert g.upper is None
    low = paired_t(T_D, alternative="less")
    assert low.p_value == pytest.approx(0.975544264828241, rel=1e-12)
    assert low.lower is None
    assert low.upper == pytest.approx(2.37118649267274, rel=1e-12)
    assert low.conventions["alternative"] == "less"
    with pytest.raises(ValidationFailed) as exc:
        paired_t(T_D, alternative="up")  # type: ignore[arg-type]
    assert exc.value.code == "ANALYSIS.E022"


def test_sign_test_against_r() -> None:
    hw = sign_test(HW_D)
    assert (hw.positive, hw.negative, hw.zeros) == (7, 2, 0)
    assert hw.p_value == Fraction("0.1796875")
    tz = sign_test(TIES_ZEROS)
    assert (tz.positive, tz.negative, tz.zeros) == (7, 2, 2)
    assert tz.p_value == Fraction("0.1796875")
    assert sign_test(TIES_ZEROS, alternative="greater").p_value == Fraction("0.08984375")
    with pytest.raises(ValidationFailed) as exc:
        sign_test([0, "0.0"])
    assert exc.value.code == "ANALYSIS.E024"


@pytest.mark.parametrize(
    ("d", "level", "est", "lo", "hi", "achieved"),
    [
        (HW_D, 0.95, "0.46", "0.01", "0.786", "0.9609375"),
        (HW_D, 0.90, "0.46", "0.175", "0.726", "0.90234375"),
        (T_D, 0.95, "1.375", "-0.5", "3.25", "0.96875"),
        (TIES_ZEROS, 0.95, "1.25", "-0.5", "3", "0.9580078125"),
        ([1, 2, 4], 0.95, "2.25", "1", "4", "0.75"),
    ],
)
def test_hodges_lehmann_against_r(
    d: list[object], level: float, est: str, lo: str, hi: str, achieved: str
) -> None:
    hl = hodges_lehmann(d, level)  # type: ignore[arg-type]
    assert hl.estimate == Fraction(est)
    assert (hl.lower, hl.upper) == (Fraction(lo), Fraction(hi))
    assert hl.achieved_level == Fraction(achieved)
    if hl.achieved_level < Fraction(level).limit_denominator(100):
        assert "not achievable" in hl.conventions["achieved level"]


def test_hodges_lehmann_bad_input() -> None:
    with pytest.raises(ValidationFailed) as exc:
        hodges_lehmann([])
    assert exc.value.code == "ANALYSIS.E026"
    with pytest.raises(ValidationFailed) as exc:
        hodges_lehmann([1, 2], 1.5)
    assert exc.value.code == "ANALYSIS.E025"


@given(st.lists(st.integers(-6, 6), min_size=1, max_size=10))
def test_hodges_lehmann_interval_contains_estimate_and_flips(d: list[int]) -> None:
    hl = hodges_lehmann(d)
    assert hl.lower <= hl.estimate <= hl.upper
    neg = hodges_lehmann([-x for x in d])
    assert (neg.estimate, neg.lower, neg.upper) == (-hl.estimate, -hl.upper, -hl.lower)
