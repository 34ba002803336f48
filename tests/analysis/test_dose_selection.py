"""Dose selection: exact posterior quantities, gates, ties, "no dose", EffTox.

Reference values: R 4.2.2 Patched (2022-11-10 r83330), Debian r-base-core:
``pbeta(0.35, 2, 4, lower.tail = FALSE)`` = 0.428415 and ``pbeta(0.25, 4, 2)`` = 0.015625
(prior Dirichlet(½,…), counts (1, 2, 0, 1) and (2, 1, 1, 0));
prior Dirichlet(¼,…), counts (1, 2, 0, 1): ``pbeta(0.35, 1.5, 3.5, lower.tail = FALSE)`` =
0.360181513126987 and ``pbeta(0.25, 1.5, 3.5)`` = 0.457382334803237.
"""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trialkit.analysis.dose_selection import (
    DoseSelectionRule,
    beta_sf,
    select_dose,
    summarise_dose,
    tabulate_outcomes,
)
from trialkit.analysis.efftox import EffToxContour
from trialkit.errors import ValidationFailed

F = Fraction
RULE = DoseSelectionRule()
CONTOUR = EffToxContour(F(1, 2), F(65, 100), F(7, 10), F(25, 100))


def test_posterior_quantities_exact_and_against_r() -> None:
    s = summarise_dose("low", (1, 2, 0, 1), RULE)
    # posterior Dirichlet(1.5, 2.5, 0.5, 1.5): (100·1.5 + 40·2.5 + 60·0.5)/6 = 140/3
    assert s.mean_utility == F(140, 3)
    assert s.mean_tox == F(1, 3)
    assert s.pr_tox_over == F("0.428415")
    assert s.exact
    m = summarise_dose("mid", (2, 1, 1, 0), RULE)
    assert m.pr_eff_under == F("0.015625")


def test_non_integer_prior_uses_scipy_and_matches_r() -> None:
    rule = DoseSelectionRule(prior=(F(1, 4),) * 4)  # type: ignore[arg-type]
    s = summarise_dose("low", (1, 2, 0, 1), rule)
    assert not s.exact
    assert float(s.pr_tox_over) == pytest.approx(0.360181513126987, rel=1e-12)
    assert float(s.pr_eff_under) == pytest.approx(0.457382334803237, rel=1e-12)


def test_beta_sf_binomial_identity() -> None:
    assert beta_sf(F(1, 2), F(1), F(1)) == (F(1, 2), True)
    assert beta_sf(F(1, 10), F(1), F(3)) == (F(9, 10) ** 3, True)


def test_safety_gate_boundary_is_exact() -> None:
    # Beta(1, 1) posterior for toxicity: Pr(p_T > φ) = 1 − φ exactly. With φ_T = 1/20 the
    # probability is 19/20, exactly c_T: not "> c_T", so still safe. Just beside it: unsafe.
    prior = (F(1, 2),) * 4
    on = DoseSelectionRule(phi_t=F(1, 20), c_t=F(19, 20), prior=prior)  # type: ignore[arg-type]
    s = summarise_dose("d", (0, 0, 0, 0), on)
    assert s.pr_tox_over == F(19, 20)
    assert s.safe
    beside = DoseSelectionRule(phi_t=F(1, 20), c_t=F(19, 20) - F(1, 10**12))
    assert not summarise_dose("d", (0, 0, 0, 0), beside).safe


def test_futility_gate() -> None:
    s = summarise_dose("d", (0, 4, 0, 0), RULE)  # no efficacy in 4
    # p_E ~ Beta(1, 5): Pr(p_E < 1/4) = 1 − (3/4)^5
    assert s.pr_eff_under == 1 - F(3, 4) ** 5
    assert s.promising  # 0.7627 ≤ 0.9
    strict = DoseSelectionRule(c_e=F(3, 4))
    assert not summarise_dose("d", (0, 4, 0, 0), strict).promising


def test_ties_go_to_lower_dose() -> None:
    d = select_dose([("a", (2, 1, 1, 0)), ("b", (2, 1, 1, 0)), ("c", (1, 2, 0, 1))])
    assert d.doses[0].mean_utility == d.doses[1].mean_utility
    assert d.selected == "a"


def test_no_dose_when_none_admissible() -> None:
    d = select_dose([("a", (0, 0, 0, 4)), ("b", (0, 0, 1, 3))])
    assert d.selected is None
    assert d.pr_best["no dose"] == 1.0
    assert all(not s.admissible for s in d.doses)


def test_inadmissible_best_utility_is_skipped() -> None:
    rule = DoseSelectionRule(phi_t=F(1, 5), c_t=F(7, 10))
    d2 = select_dose([("a", (1, 3, 0, 0)), ("b", (2, 0, 2, 0))], rule)
    assert d2.doses[1].mean_utility > d2.doses[0].mean_utility
    assert not d2.doses[1].safe
    assert d2.selected == "a"


def test_pr_best_reproducible_and_sums_to_one() -> None:
    c = [("low", (1, 2, 0, 1)), ("mid", (2, 1, 1, 0)), ("high", (2, 0, 1, 1))]
    d1 = select_dose(c, seed=7, draws=5000)
    d2 = select_dose(c, seed=7, draws=5000)
    assert d1.pr_best == d2.pr_best
    assert sum(d1.pr_best.values()) == pytest.approx(1.0)
    assert d1.selected == "mid"
    assert max(d1.pr_best, key=lambda k: d1.pr_best[k]) == "mid"
    assert d1.pr_best["high"] > 0.1  # uncertainty reported, not one confident winner


def test_efftox_sensitivity() -> None:
    c = [("low", (1, 2, 0, 1)), ("mid", (2, 1, 1, 0)), ("high", (2, 0, 1, 1))]
    d = select_dose(c, efftox=CONTOUR)
    assert d.efftox is not None
    assert d.efftox.selected == "mid"
    assert d.efftox.agrees
    assert "desirability" in d.to_dict()["efftox"]


def test_efftox_contour_passes_through_its_points() -> None:
    assert CONTOUR.desirability(0.5, 0.0) == pytest.approx(0.0, abs=1e-12)
    assert CONTOUR.desirability(1.0, 0.65) == pytest.approx(0.0, abs=1e-12)
    assert CONTOUR.desirability(0.7, 0.25) == pytest.approx(0.0, abs=1e-10)
    assert CONTOUR.desirability(0.9, 0.1) > 0 > CONTOUR.desirability(0.3, 0.5)


def test_efftox_bad_points() -> None:
    with pytest.raises(ValidationFailed, match="strictly between"):
        EffToxContour(F(1, 2), F(65, 100), F(4, 10), F(25, 100))
    with pytest.raises(ValidationFailed, match="anchor"):
        EffToxContour(F(1), F(65, 100), F(7, 10), F(25, 100))


def test_tabulate_and_bad_counts() -> None:
    assert tabulate_outcomes([(True, False), (False, False), (True, True), (False, True)]) == (
        1,
        1,
        1,
        1,
    )
    with pytest.raises(ValidationFailed, match="four non-negative"):
        summarise_dose("d", (1, 2, 3), RULE)
    with pytest.raises(ValidationFailed, match="strictly between"):
        DoseSelectionRule(c_t=F(1))


counts4 = st.tuples(*[st.integers(0, 4)] * 4)


@settings(max_examples=50)
@given(st.lists(counts4, min_size=1, max_size=4))
def test_selected_is_admissible_with_max_utility(cs: list[tuple[int, int, int, int]]) -> None:
    d = select_dose([(f"d{i}", c) for i, c in enumerate(cs)], draws=200)
    adm = [s for s in d.doses if s.admissible]
    if not adm:
        assert d.selected is None
        return
    best = max(s.mean_utility for s in adm)
    first = next(s for s in adm if s.mean_utility == best)
    assert d.selected == first.dose


def test_a_dose_without_patients_is_not_explored() -> None:
    """The prior alone (Dirichlet ½ each) passes both gates; an empty dose must not."""
    empty = summarise_dose("high", (0, 0, 0, 0), DoseSelectionRule())
    # the gates on the prior alone: Pr(Beta(1, 1) > 0.35) = 0.65, Pr(Beta(1, 1) < 0.25) = 0.25
    assert (empty.pr_tox_over, empty.pr_eff_under) == (Fraction(65, 100), Fraction(25, 100))
    assert (empty.safe, empty.promising) == (True, True)
    assert (empty.explored, empty.admissible) == (False, False)
    assert empty.to_dict()["explored"] is False
    d = select_dose([("low", (0, 3, 0, 0)), ("high", (0, 0, 0, 0))], draws=500, seed=1)
    # low: no efficacy in 3 → Pr(p_E < 0.25) = Pr(Beta(1, 4) < 0.25) = 1 − 0.75⁴ = 0.68 ≤ 0.9
    assert d.doses[0].admissible
    assert d.selected == "low"
    assert d.pr_best == {"low": 1.0, "high": 0.0, "no dose": 0.0}
    alone = select_dose([("only", (0, 0, 0, 0))], draws=500, seed=1)
    assert alone.selected is None
    assert alone.pr_best == {"only": 0.0, "no dose": 1.0}
