"""Proportion intervals against R 4.2.2 (Debian r-base-core 4.2.2.20221110).

Provenance: ``binom.test(x, n)$conf.int`` (Clopper–Pearson) and
``prop.test(x, n, correct = FALSE)$conf.int`` (Wilson), R version 4.2.2 Patched
(2022-11-10 r83330), printed with ``sprintf("%.15g")``.
"""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trialkit.analysis.proportions import (
    binomial_test,
    clopper_pearson,
    jeffreys,
    proportion_ci,
    wilson,
    wilson_cc,
)
from trialkit.errors import ValidationFailed

R_REFERENCE = [
    # x, n, CP lower, CP upper, Wilson lower, Wilson upper
    (0, 4, 0.0, 0.602364635616475, 0.0, 0.489890836454597),
    (1, 4, 0.00630946320970987, 0.805879550316757, 0.0455872608097006, 0.699358157417598),
    (2, 4, 0.067585986488543, 0.932414013511457, 0.15003898915215, 0.84996101084785),
    (4, 4, 0.397635364383525, 1.0, 0.510109163545403, 1.0),
    (7, 20, 0.153909204784541, 0.592188534532828, 0.181191824101082, 0.567145723314764),
    (3, 10, 0.0667395111777345, 0.652452850059997, 0.107791267406301, 0.603221852538855),
]


@pytest.mark.parametrize(("x", "n", "cpl", "cpu", "wl", "wu"), R_REFERENCE)
def test_against_r(x: int, n: int, cpl: float, cpu: float, wl: float, wu: float) -> None:
    cp = clopper_pearson(x, n)
    assert cp.lower == pytest.approx(cpl, abs=1e-12)
    assert cp.upper == pytest.approx(cpu, abs=1e-12)
    w = wilson(x, n)
    assert w.lower == pytest.approx(wl, abs=1e-12)
    assert w.upper == pytest.approx(wu, abs=1e-12)
    assert cp.estimate == Fraction(x, n)


def test_default_is_clopper_pearson_and_records_method() -> None:
    r = proportion_ci(1, 4)
    assert r.method.startswith("Clopper")
    assert proportion_ci(1, 4, "wilson").method.startswith("Wilson")
    assert r.to_dict()["estimate_exact"] == "1/4"


@pytest.mark.parametrize(
    ("x", "n", "level", "code"),
    [(0, 0, 0.95, "ANALYSIS.E010"), (5, 4, 0.95, "ANALYSIS.E011"), (1, 4, 1.0, "ANALYSIS.E012")],
)
def test_bad_input_named(x: int, n: int, level: float, code: str) -> None:
    with pytest.raises(ValidationFailed) as exc:
        clopper_pearson(x, n, level)
    assert exc.value.code == code


def test_unknown_method() -> None:
    with pytest.raises(ValidationFailed, match="clopper-pearson"):
        proportion_ci(1, 4, "wald")  # type: ignore[arg-type]


@given(st.integers(1, 60).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_intervals_contain_estimate(xn: tuple[int, int]) -> None:
    x, n = xn
    cp, w = clopper_pearson(x, n), wilson(x, n)
    for r in (cp, w):
        assert 0.0 <= r.lower <= float(r.estimate) <= r.upper <= 1.0


# Wilson with continuity correction and Jeffreys. Provenance, R 4.2.2 Patched (2022-11-10
# r83330): ``prop.test(x, n, correct = TRUE)$conf.int`` (for 2/4 and 5/10 with p = 0.3, where
# R's default p = 0.5 would shrink the correction to |x − n/2| = 0) and
# ``qbeta(c(0.025, 0.975), x + 0.5, n - x + 0.5)`` with 0 at x = 0 and 1 at x = n; printed
# with sprintf("%.15g"). Newcombe (1998, Stat Med 17:857, Table I, method 4) publishes the
# corrected Wilson limits to 4 decimals: 81/263 0.2535–0.3682, 15/148 0.0598–0.1644, 0/20
# 0.0000–0.2005, 1/29 0.0018–0.1963.
R_CC_JEFFREYS = [
    # x, n, Wilson-cc lower, upper, Jeffreys lower, upper
    (0, 4, 0.0, 0.604226965517221, 0.0, 0.444762617657639),
    (1, 4, 0.0131911618237266, 0.780573479934637, 0.0284708950871468, 0.716248320436587),
    (2, 4, 0.0918992291790122, 0.908100770820988, 0.122753882769518, 0.877246117230482),
    (4, 4, 0.395773034482779, 1.0, 0.55523738234236, 1.0),
    (7, 20, 0.163086679716309, 0.590510433848573, 0.172276213631912, 0.567766093841496),
    (3, 10, 0.0809478242099945, 0.646329276488831, 0.0926945939381532, 0.605818318148671),
    (5, 10, 0.201422969598607, 0.798577030401393, None, None),
    (81, 263, 0.253508682295185, 0.368176201043004, 0.254521934991023, 0.365647499174082),
    (15, 148, 0.0597782084284981, 0.164449779364837, 0.0604485170092964, 0.157643143478741),
    (0, 20, 0.0, 0.200453345013487, 0.0, 0.116638982904875),
    (1, 29, 0.00180264021327967, 0.196281751009759, 0.00374617364905708, 0.150077686002232),
    (29, 29, 0.854383524420427, 1.0, 0.917713517076176, 1.0),
]
NEWCOMBE_TABLE_1 = [
    (81, 263, 0.2535, 0.3682),
    (15, 148, 0.0598, 0.1644),
    (0, 20, 0.0, 0.2005),
    (1, 29, 0.0018, 0.1963),
]


@pytest.mark.parametrize(("x", "n", "cl", "cu", "jl", "ju"), R_CC_JEFFREYS)
def test_wilson_cc_and_jeffreys_against_r(
    x: int, n: int, cl: float, cu: float, jl: float | None, ju: float | None
) -> None:
    w = proportion_ci(x, n, "wilson-cc")
    assert w.lower == pytest.approx(cl, abs=1e-12)
    assert w.upper == pytest.approx(cu, abs=1e-12)
    if jl is not None and ju is not None:
        j = proportion_ci(x, n, "jeffreys")
        assert j.lower == pytest.approx(jl, abs=1e-12)
        assert j.upper == pytest.approx(ju, abs=1e-12)
        assert "Brown, Cai & DasGupta" in j.conventions["boundaries"]


@pytest.mark.parametrize(("x", "n", "lo", "hi"), NEWCOMBE_TABLE_1)
def test_wilson_cc_newcombe_worked_example(x: int, n: int, lo: float, hi: float) -> None:
    w = wilson_cc(x, n)
    assert round(w.lower, 4) == lo
    assert round(w.upper, 4) == hi


def test_wilson_cc_other_level_against_r() -> None:
    # prop.test(3, 10, correct = TRUE, conf.level = 0.9)$conf.int
    w = wilson_cc(3, 10, 0.9)
    assert (w.lower, w.upper) == pytest.approx((0.0964490397378504, 0.60434755566045), abs=1e-12)


# Exact binomial test. Provenance: R 4.2.2 ``binom.test(x, n, p)$p.value`` with
# alternative "two.sided", "greater" and "less" (sprintf("%.15g")); 682/925 at p = 0.75 is R's
# own help-page example (Mendel's peas).
R_BINOM = [
    # x, n, p0, two-sided, greater, less
    (7, 20, "0.1", 0.00238608940896613, 0.00238608940896613, 0.999584364981155),
    (3, 10, "0.5", 0.34375, 0.9453125, 0.171875),
    (2, 12, "0.4", 0.14075324416, 0.980408958976, 0.08344332288),
    (9, 10, "0.3", 0.0001436859, 0.0001436859, 0.9999940951),
    (5, 10, "0.5", 1.0, 0.623046875, 0.623046875),
    (682, 925, "0.75", 0.382491559574852, 0.824089122352423, 0.196009267053883),
    (1, 20, "0.2", 0.155867803843811, 0.988470784953932, 0.0691752902764108),
]


@pytest.mark.parametrize(("x", "n", "p0", "two", "greater", "less"), R_BINOM)
def test_binomial_test_against_r(
    x: int, n: int, p0: str, two: float, greater: float, less: float
) -> None:
    assert float(binomial_test(x, n, p0).p_value) == pytest.approx(two, rel=1e-12)
    assert float(binomial_test(x, n, p0, alternative="greater").p_value) == pytest.approx(
        greater, rel=1e-12
    )
    assert float(binomial_test(x, n, p0, alternative="less").p_value) == pytest.approx(
        less, rel=1e-12
    )


def test_binomial_test_exact_and_refuses_floats() -> None:
    r = binomial_test(3, 10)
    assert r.p_value == Fraction(11, 32)  # 2 · P(X ≤ 3) for Bin(10, ½) = 2 · 176/1024
    assert r.to_dict()["p_value_exact"] == "11/32"
    with pytest.raises(ValidationFailed) as exc:
        binomial_test(3, 10, 0.5)  # type: ignore[arg-type]
    assert exc.value.code == "ANALYSIS.E014"
    with pytest.raises(ValidationFailed) as exc:
        binomial_test(3, 10, "1.5")
    assert exc.value.code == "ANALYSIS.E015"
    with pytest.raises(ValidationFailed) as exc:
        binomial_test(3, 10, "x")
    assert exc.value.code == "ANALYSIS.E014"
    with pytest.raises(ValidationFailed) as exc:
        binomial_test(3, 10, alternative="both")  # type: ignore[arg-type]
    assert exc.value.code == "ANALYSIS.E016"


@given(st.integers(1, 40).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_new_intervals_contain_estimate(xn: tuple[int, int]) -> None:
    x, n = xn
    for r in (wilson_cc(x, n), jeffreys(x, n)):
        assert 0.0 <= r.lower <= float(r.estimate) <= r.upper <= 1.0
    # the continuity correction widens Wilson's interval
    w, c = wilson(x, n), wilson_cc(x, n)
    assert c.lower <= w.lower + 1e-15
    assert c.upper >= w.upper - 1e-15
