"""Dose selection: exact posterior quantities, gates, ties, "no dose", EffTox.

Reference values: R 4.2.2 Patched (2022-11-10 r83330), Debian r-base-core:
``pbeta(0.35, 2, 4, lower.tail = FALSE)`` = 0.428415 and ``pbeta(0.25, 4, 2)`` = 0.015625
(prior Dirichlet(½,…), counts (1, 2, 0, 1) and (2, 1, 1, 0));
prior Dirichlet(¼,…), counts (1, 2, 0, 1): ``pbeta(0.35, 1.5, 3.5, lower.tail = FALSE)`` =
0.360181513126987 and ``pbeta(0.25, 1.5, 3.5)`` = 0.457382334803237.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trialkit.analysis.boin12 import boin12_rds_table
from trialkit.analysis.dose_selection import (
    DoseSelectionRule,
    beta_sf,
    boin12_benchmark,
    boin12_desirability,
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


# BOIN12 rank-based desirability. Provenance: R 4.2.2 Patched (2022-11-10 r83330), an
# independent script: ū = Σ u·(rates at φ_T = 0.35, φ_E = 0.25) = 41, u_b = ū + (100 − ū)/2 =
# 70.5; x = sum(u * counts)/100; ``pbeta(ub/100, 1 + x, 1 + n - x, lower.tail = FALSE)``;
# utilities 100/30/50/0 with utility prior Beta(2, 1): u_b = 67.625. The RDS table values are
# Lin, Zhou, Yan, Li & Yuan (2020, JCO Precis Oncol 4:1393, Table 3), as the R package
# escalation's tests of ``boin12_rds`` (0/0/0 → 60, 3/0/3 → 91, 6/1/5 → 87, 9/0/8 → 99,
# 9/2/3 and 9/5/5 tied at 32.5, 9/3/1 → 7; 6/5/1, 9/4/0, 9/6/9 eliminated).
BOIN12 = DoseSelectionRule(score="boin12_desirability")
R_DESIRABILITY = [
    ((2, 1, 1, 0), "0.4614662056375", True),  # x = 3: Beta(4, 2), exact
    ((1, 1, 1, 1), "0.15652832123125", True),  # x = 2: Beta(3, 3)
    ((3, 1, 0, 0), "0.615365555382885", False),  # x = 3.4
    ((0, 3, 0, 1), "0.042920087872482", False),
    ((4, 0, 0, 0), "0.825841135309375", True),
]


def test_boin12_benchmark_and_desirability_against_r() -> None:
    assert boin12_benchmark(BOIN12) == F("70.5")
    for counts, ref, exact in R_DESIRABILITY:
        s = summarise_dose("d", counts, BOIN12)
        assert s.desirability is not None
        assert float(s.desirability) == pytest.approx(float(ref), rel=1e-12)
        assert s.desirability_exact is exact
    assert boin12_desirability((0, 0, 0, 0), BOIN12) == (F("0.295"), True)
    other = DoseSelectionRule(
        score="boin12_desirability",
        utilities=(F(100), F(30), F(50), F(0)),
        utility_prior=(F(2), F(1)),
    )
    assert boin12_benchmark(other) == F("67.625")
    assert float(boin12_desirability((2, 1, 1, 0), other)[0]) == pytest.approx(
        0.561313136811598, rel=1e-12
    )
    assert float(boin12_desirability((1, 2, 0, 1), other)[0]) == pytest.approx(
        0.197880065715926, rel=1e-12
    )


def test_boin12_rds_table_reproduces_lin_et_al_table_3() -> None:
    rule = DoseSelectionRule(score="boin12_desirability", gate="reaches")
    table = {
        (e.patients, e.toxicities, e.efficacies): e for e in boin12_rds_table([0, 3, 6, 9], rule)
    }
    expected = {
        (0, 0, 0): F(60),
        (3, 0, 3): F(91),
        (6, 1, 5): F(87),
        (9, 0, 8): F(99),
        (9, 2, 3): F("32.5"),
        (9, 5, 5): F("32.5"),
        (9, 3, 1): F(7),
        (6, 5, 1): None,
        (9, 4, 0): None,
        (9, 6, 9): None,
    }
    for key, rds in expected.items():
        assert table[key].rds == rds, key
    with pytest.raises(ValidationFailed) as exc:
        boin12_rds_table([3], DoseSelectionRule(utilities=(F(100), F(30), F(50), F(0))))
    assert exc.value.code == "ANALYSIS.E080"


def test_boin12_score_selects_by_desirability() -> None:
    counts = [("low", (2, 1, 1, 0)), ("high", (3, 1, 0, 0))]
    d = select_dose(counts, BOIN12, draws=2000)
    assert d.selected == "high"  # 0.615 > 0.461
    assert "BOIN12 desirability" in d.conventions["selection"]
    assert sum(d.pr_best.values()) == pytest.approx(1.0)
    assert d.to_dict()["rule"]["score"] == "boin12_desirability"


def test_gate_inequality_is_selectable() -> None:
    # one patient without toxicity: Beta(1, 2) for p_T, Pr(p_T > 0.35) = 0.65² = 0.4225
    exceeds = DoseSelectionRule(c_t=F("0.4225"))
    reaches = DoseSelectionRule(c_t=F("0.4225"), gate="reaches")
    assert summarise_dose("d", (1, 0, 0, 0), exceeds).pr_tox_over == F("0.4225")
    assert summarise_dose("d", (1, 0, 0, 0), exceeds).safe  # 0.4225 > 0.4225 is false
    assert not summarise_dose("d", (1, 0, 0, 0), reaches).safe  # 0.4225 ≥ 0.4225
    assert (
        "Pr(p_T > φ_T) < c_T"
        in select_dose([("d", (1, 0, 0, 0))], reaches, draws=100).conventions["admissibility"]
    )


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"phi_t": 0.35}, "ANALYSIS.E056"),
        ({"utilities": (100.0, 40, 60, 0)}, "ANALYSIS.E056"),
        ({"prior": (0.5, 0.5, 0.5, 0.5)}, "ANALYSIS.E056"),
        ({"c_e": True}, "ANALYSIS.E056"),
        ({"score": "mean"}, "ANALYSIS.E057"),
        ({"gate": ">="}, "ANALYSIS.E058"),
        ({"utility_prior": (F(0), F(1))}, "ANALYSIS.E059"),
        (
            {"score": "boin12_desirability", "utilities": (F(90), F(40), F(60), F(0))},
            "ANALYSIS.E055",
        ),
    ],
)
def test_rule_refuses_floats_and_unknown_choices(kwargs: dict[str, object], code: str) -> None:
    with pytest.raises(ValidationFailed) as exc:
        DoseSelectionRule(**kwargs)  # type: ignore[arg-type]
    assert exc.value.code == code
    if code == "ANALYSIS.E056" and "phi_t" in kwargs:
        assert "float" in exc.value.message
        assert "'0.35'" in exc.value.message


def test_exact_inputs_converted_and_floats_refused_elsewhere() -> None:
    r = DoseSelectionRule(phi_t="0.35", c_t=Decimal("0.95"), utilities=(100, 40, 60, 0))  # type: ignore[arg-type]
    assert r.phi_t == F(35, 100)
    assert r.c_t == F(95, 100)
    assert r.utilities[1] == F(40)
    with pytest.raises(ValidationFailed) as exc:
        beta_sf(0.3, F(1), F(2))  # type: ignore[arg-type]
    assert exc.value.code == "ANALYSIS.E056"
    with pytest.raises(ValidationFailed) as exc:
        summarise_dose("d", (1.0, 0, 0, 0), RULE)  # type: ignore[arg-type]
    assert exc.value.code == "ANALYSIS.E053"
