"""Scenarios: joint outcome probabilities, PCS, unacceptable selection, expected numbers.

Provenance (R 4.2.2 Patched, 2022-11-10 r83330, Debian r-base-core; sprintf("%.15g")):

* Gumbel model, an independent R function of Thall & Cook's (2004) formula
  π(a, b) = p_E^a(1 − p_E)^(1−a) p_T^b(1 − p_T)^(1−b) + (−1)^(a+b) p_E(1 − p_E)p_T(1 − p_T)
  (e^ψ − 1)/(e^ψ + 1);
* odds-ratio model solved numerically in R with ``uniroot`` on
  p11(1 − p_E − p_T + p11) − ψ(p_E − p11)(p_T − p11) = 0 (not the closed form used here);
* PCS and Pr(unacceptable) for scenario S1 of test_operating.py come from its independent R
  loop over all 35³ tables (mid is the correct dose, high is too toxic).
"""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from trialkit.analysis.dose_selection import DoseSelectionRule
from trialkit.analysis.operating import arm_tables
from trialkit.analysis.scenarios import (
    Scenario,
    joint_probabilities,
    run_scenario,
    scenario_from_marginals,
)
from trialkit.errors import ValidationFailed

R_JOINT = [
    (
        "gumbel",
        0.6,
        0.2,
        1.0,
        (0.462254701161216, 0.337745298838784, 0.137745298838784, 0.0622547011612156),
    ),
    (
        "gumbel",
        0.35,
        0.15,
        -2.0,
        (0.319590990486192, 0.530409009513808, 0.0304090095138081, 0.119590990486192),
    ),
    ("gumbel", 0.5, 0.4, 0.0, (0.3, 0.3, 0.2, 0.2)),
    (
        "odds_ratio",
        0.6,
        0.2,
        3.0,
        (0.442442890089805, 0.357557109910195, 0.157557109910195, 0.0424428900898053),
    ),
    (
        "odds_ratio",
        0.35,
        0.15,
        0.5,
        (0.315780642932094, 0.534219357067906, 0.0342193570679061, 0.115780642932094),
    ),
]


@pytest.mark.parametrize(("model", "pe", "pt", "psi", "ref"), R_JOINT)
def test_joint_probabilities_against_r(
    model: str, pe: float, pt: float, psi: float, ref: tuple[float, ...]
) -> None:
    got = joint_probabilities(pe, pt, psi, model)  # type: ignore[arg-type]
    assert got == pytest.approx(ref, abs=1e-14)


@given(
    st.floats(0, 1),
    st.floats(0, 1),
    st.floats(-20, 20),
    st.floats(0.05, 20),
)
@example(1.0, 0.75, 0.0, 0.9999999999999999)  # ψ a hair below 1: the old form summed to 1.25
@example(0.5, 0.5, 0.0, 1.0000000000000002)
def test_joint_tables_are_valid_with_the_margins(pe: float, pt: float, g: float, o: float) -> None:
    for model, psi in (("gumbel", g), ("odds_ratio", o)):
        p = joint_probabilities(pe, pt, psi, model)  # type: ignore[arg-type]
        assert min(p) >= 0
        assert sum(p) == pytest.approx(1, abs=1e-12)
        assert p[0] + p[2] == pytest.approx(pe, abs=1e-9)
        assert p[2] + p[3] == pytest.approx(pt, abs=1e-9)
        if model == "odds_ratio" and min(p) > 1e-3:
            # Plackett's table has the odds ratio it was asked for
            assert p[2] * p[1] / (p[0] * p[3]) == pytest.approx(o, rel=1e-6)


def test_bad_joint_inputs() -> None:
    for args, code in (
        ((1.2, 0.1), "ANALYSIS.E063"),
        ((0.5, 0.1, 0.0, "odds_ratio"), "ANALYSIS.E064"),
        ((0.5, 0.1, 0.0, "copula"), "ANALYSIS.E064"),
    ):
        with pytest.raises(ValidationFailed) as exc:
            joint_probabilities(*args)  # type: ignore[arg-type]
        assert exc.value.code == code


RULE = DoseSelectionRule()
TABLES = arm_tables(4, RULE)
S1 = Scenario(
    "S1",
    ("low", "mid", "high"),
    ((0.3, 0.55, 0.05, 0.1), (0.5, 0.3, 0.1, 0.1), (0.5, 0.1, 0.2, 0.2)),
)


def test_pcs_unacceptable_and_expected_numbers() -> None:
    s = run_scenario(S1, RULE, 4, tables=TABLES)
    # true utilities 55, 68, 66; high has p_T = 0.4 > 0.35: unacceptable; mid is correct
    assert s.true_utility == pytest.approx({"low": 55, "mid": 68, "high": 66})
    assert s.correct == ("mid",)
    assert s.unacceptable == ("high",)
    assert s.pcs == pytest.approx(0.450191445576061, abs=1e-13)
    assert s.pr_unacceptable == pytest.approx(0.374328323184373, abs=1e-13)
    assert s.expected_toxicities == pytest.approx({"low": 0.6, "mid": 0.8, "high": 1.6})
    assert s.expected_responses == pytest.approx({"low": 1.4, "mid": 2.4, "high": 2.8})
    assert s.expected_toxicities_total == pytest.approx(3.0)
    assert s.to_dict()["expected_responses_total"] == pytest.approx(6.6)


def test_no_acceptable_dose_makes_no_dose_correct_and_named_correct() -> None:
    bad = scenario_from_marginals("toxic", {"a": (0.1, 0.5), "b": (0.2, 0.6)})
    s = run_scenario(bad, RULE, 4, tables=TABLES)
    assert s.correct == ("no dose",)
    assert s.pcs == s.characteristics.pr_select["no dose"]
    assert s.pr_unacceptable == pytest.approx(1 - s.pcs)
    named = Scenario("named", S1.doses, S1.probabilities, ("low", "mid"))
    assert run_scenario(named, RULE, 4, tables=TABLES).pcs == pytest.approx(
        0.175480210503562 + 0.450191445576061, abs=1e-13
    )
    with pytest.raises(ValidationFailed) as exc:
        run_scenario(Scenario("x", S1.doses, S1.probabilities, ("top",)), RULE, 4, tables=TABLES)
    assert exc.value.code == "ANALYSIS.E065"


def test_simulated_scenario_agrees() -> None:
    exact = run_scenario(S1, RULE, 4, tables=TABLES)
    sim = run_scenario(S1, RULE, 4, trials=40_000, seed=5, tables=TABLES)
    se = (exact.pcs * (1 - exact.pcs) / 40_000) ** 0.5
    assert abs(sim.pcs - exact.pcs) <= 4.5 * se
    assert sim.characteristics.trials == 40_000
