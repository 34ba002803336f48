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

from trialkit.analysis.proportions import clopper_pearson, proportion_ci, wilson
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
