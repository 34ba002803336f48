"""Operating characteristics: exact enumeration vs an independent R implementation and vs
simulation.

Provenance: an independent R 4.2.2 Patched (2022-11-10 r83330) script (Debian r-base-core)
looping over all 35³ table triples with ``dmultinom`` probabilities, ``pbeta`` gates and
posterior mean utilities (utilities 100/40/60/0, prior Dirichlet(½,…), φ_T = 0.35, c_T = 0.95,
φ_E = 0.25, c_E = 0.9; first maximum among admissible doses).
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Sequence
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from trialkit.analysis.dose_selection import DoseSelectionRule, select_dose
from trialkit.analysis.operating import (
    ArmTables,
    _alias,
    arm_tables,
    exact_operating_characteristics,
    exact_operating_grid,
    simulate_operating_characteristics,
)
from trialkit.errors import ValidationFailed

DOSES = ("low", "mid", "high")
S1 = [(0.3, 0.55, 0.05, 0.1), (0.5, 0.3, 0.1, 0.1), (0.5, 0.1, 0.2, 0.2)]
S2 = [(0.1, 0.5, 0.1, 0.3), (0.1, 0.3, 0.2, 0.4), (0.1, 0.1, 0.3, 0.5)]
R_S1 = {
    "no dose": 2.07360000000001e-08,
    "low": 0.175480210503562,
    "mid": 0.450191445576061,
    "high": 0.374328323184373,
}
R_S2 = {
    "no dose": 0.001358954496,
    "low": 0.457215071610999,
    "mid": 0.324244570843995,
    "high": 0.217181403049001,
}
TABLES = arm_tables(4, DoseSelectionRule())


def test_thirty_five_tables() -> None:
    assert len(TABLES.tables) == math.comb(7, 3) == 35
    assert sum(TABLES.probabilities(S1[0])) == pytest.approx(1.0)


@pytest.mark.parametrize(("truth", "ref"), [(S1, R_S1), (S2, R_S2)])
def test_exact_matches_r(truth: list[tuple[float, ...]], ref: dict[str, float]) -> None:
    oc = exact_operating_characteristics(DOSES, truth, tables=TABLES)
    for k, v in ref.items():
        assert oc.pr_select[k] == pytest.approx(v, abs=1e-13)
    assert sum(oc.pr_select.values()) == pytest.approx(1.0, abs=1e-12)


def test_simulation_agrees_within_monte_carlo_error() -> None:
    n = 200_000
    exact = exact_operating_characteristics(DOSES, S2, tables=TABLES).pr_select
    sim = simulate_operating_characteristics(DOSES, S2, n, tables=TABLES, seed=11).pr_select
    for k, p in exact.items():
        se = math.sqrt(p * (1 - p) / n)
        assert abs(sim[k] - p) <= 4.5 * se + 1e-9, k


def test_enumeration_decision_equals_select_dose() -> None:
    rng = random.Random(3)
    tables = [tuple(int(x) for x in t) for t in TABLES.tables]
    truth = [(0.25, 0.25, 0.25, 0.25)] * 3
    for combo in rng.sample(list(itertools.product(range(35), repeat=3)), 150):
        chosen = select_dose(
            [(d, tables[i]) for d, i in zip(DOSES, combo, strict=True)], draws=10
        ).selected
        scores = [int(TABLES.score[i]) for i in combo]
        best = max(scores)
        expect = None if best < 0 else DOSES[scores.index(best)]
        assert chosen == expect
    assert exact_operating_characteristics(DOSES, truth, tables=TABLES).pr_select["no dose"] > 0


def test_bad_scenarios() -> None:
    with pytest.raises(ValidationFailed, match="summing to 1"):
        exact_operating_characteristics(DOSES, [(0.5, 0.5, 0.5, 0.0)] * 3, tables=TABLES)
    with pytest.raises(ValidationFailed, match="one row"):
        exact_operating_characteristics(DOSES, S1[:2], tables=TABLES)
    with pytest.raises(ValidationFailed, match="at least 1"):
        arm_tables(0, DoseSelectionRule())


# --- the grid: one computation for many scenarios -------------------------------------------


def fraction_enumeration(truth: Sequence[Sequence[float]], at: ArmTables) -> list[Fraction]:
    """Pr(select each dose), Pr(no dose) last, in exact rational arithmetic: every combination
    of tables, each float probability taken as the exact rational it is."""
    k = len(truth)
    rows = [tuple(int(x) for x in t) for t in at.tables]
    coef = [math.factorial(at.n) // math.prod(math.factorial(c) for c in t) for t in rows]
    per_arm = []
    for p in truth:
        q = [Fraction(x) for x in p]
        per_arm.append(
            [c * math.prod(q[j] ** t[j] for j in range(4)) for c, t in zip(coef, rows, strict=True)]
        )
    out = [Fraction(0)] * (k + 1)
    for combo in itertools.product(range(len(rows)), repeat=k):
        scores = [int(at.score[i]) for i in combo]
        best = max(scores)
        slot = k if best < 0 else scores.index(best)
        out[slot] += math.prod(per_arm[d][i] for d, i in enumerate(combo))
    return out


def scenarios_strategy(arms: int) -> st.SearchStrategy[list[list[list[float]]]]:
    weights = st.lists(
        st.floats(min_value=0, max_value=1, allow_nan=False, allow_subnormal=False),
        min_size=4,
        max_size=4,
    ).filter(lambda w: sum(w) > 1e-3)
    row = weights.map(lambda w: [x / math.fsum(w) for x in w]).filter(
        lambda p: abs(sum(p) - 1) <= 1e-12
    )
    return st.lists(st.lists(row, min_size=arms, max_size=arms), min_size=1, max_size=30)


@settings(max_examples=40, deadline=None)
@given(data=st.data(), arms=st.integers(1, 4), n=st.integers(1, 4))
def test_grid_equals_separate_calls_bit_for_bit(data: st.DataObject, arms: int, n: int) -> None:
    truths = data.draw(scenarios_strategy(arms))
    doses = tuple(f"d{i}" for i in range(arms))
    at = arm_tables(n, DoseSelectionRule())
    grid = exact_operating_grid(doses, truths, tables=at)
    assert len(grid) == len(truths)
    for i, truth in enumerate(truths):
        alone = exact_operating_characteristics(doses, truth, tables=at)
        assert grid.characteristics(i).pr_select == alone.pr_select  # floats, to the last bit
        assert grid.characteristics(i) == alone


@settings(max_examples=15, deadline=None)
@given(truths=scenarios_strategy(3).map(lambda t: t[:2]))
def test_grid_against_exact_rationals(truths: list[list[list[float]]]) -> None:
    at = arm_tables(2, DoseSelectionRule())  # 10 tables per arm, 1,000 combinations
    grid = exact_operating_grid(DOSES, truths, tables=at)
    for i, truth in enumerate(truths):
        exact = fraction_enumeration(truth, at)
        for got, want in zip(grid.pr_select[i].tolist(), exact, strict=True):
            assert abs(Fraction(got) - want) <= Fraction(1, 10**14)


def test_order_statistics_equal_the_enumeration() -> None:
    rng = np.random.default_rng(7)
    truths = rng.dirichlet([1, 1, 1, 1], size=(25, 3))
    grid = exact_operating_grid(DOSES, truths, tables=TABLES)
    for i, truth in enumerate(truths):
        direct = exact_operating_characteristics(DOSES, truth, tables=TABLES, method="enumeration")
        assert grid.characteristics(i).pr_select == pytest.approx(direct.pr_select, abs=1e-14)
    assert "42875 combinations" in grid.method
    assert grid.to_dict()["columns"] == [*DOSES, "no dose"]


def test_grid_checks_every_scenario() -> None:
    with pytest.raises(ValidationFailed, match="scenario 2, dose mid") as e:
        exact_operating_grid(DOSES, [S1, [S1[0], (0.5, 0.5, 0.5, 0.0), S1[2]]], tables=TABLES)
    assert e.value.code == "ANALYSIS.E062"
    with pytest.raises(ValidationFailed, match="shape") as e:
        exact_operating_grid(DOSES, [S1[:2]], tables=TABLES)
    assert e.value.code == "ANALYSIS.E066"
    with pytest.raises(ValidationFailed) as e:
        exact_operating_characteristics(DOSES, S1, tables=TABLES, method="guess")  # type: ignore[arg-type]
    assert e.value.code == "ANALYSIS.E067"


# --- simulation: drawing tables has the distribution of drawing patients ----------------------


@pytest.mark.parametrize("draw", ["tables", "patients"])
@pytest.mark.parametrize(
    ("doses", "truth"), [(DOSES, S1), (DOSES, S2), (("a", "b", "c", "d"), [*S2, S1[1]])]
)
def test_simulation_fits_the_exact_distribution(
    draw: str, doses: tuple[str, ...], truth: list[tuple[float, ...]]
) -> None:
    n = 400_000
    exact = exact_operating_characteristics(doses, truth, tables=TABLES).pr_select
    sim = simulate_operating_characteristics(doses, truth, n, tables=TABLES, seed=5, draw=draw)  # type: ignore[arg-type]
    cells = [k for k in exact if exact[k] * n >= 5]  # chi-square needs expected counts ≥ 5
    observed = [sim.pr_select[k] * n for k in cells]
    expected = [exact[k] * n for k in cells]
    rest = n - sum(observed)
    if rest:
        observed.append(rest)
        expected.append(n - sum(expected))
    expected[-1] += n - sum(expected)
    assert stats.chisquare(observed, expected).pvalue > 1e-4
    assert "each arm's result table" in sim.method if draw == "tables" else "patient" in sim.method


def test_drawing_tables_and_patients_agree() -> None:
    """Two-sample chi-square test of the two ways of drawing (counts of each decision)."""
    n = 500_000
    a = simulate_operating_characteristics(DOSES, S2, n, tables=TABLES, seed=21, draw="tables")
    b = simulate_operating_characteristics(DOSES, S2, n, tables=TABLES, seed=22, draw="patients")
    keys = [k for k in a.pr_select if a.pr_select[k] + b.pr_select[k] > 0]
    table = [[round(r.pr_select[k] * n) for k in keys] for r in (a, b)]
    assert stats.chi2_contingency(table).pvalue > 1e-4


def test_patients_draw_is_the_earlier_stream() -> None:
    """``draw="patients"`` keeps the earlier implementation's seeded results."""
    sim = simulate_operating_characteristics(
        DOSES, S2, 10_000, tables=TABLES, seed=11, draw="patients"
    )
    again = simulate_operating_characteristics(
        DOSES, S2, 10_000, tables=TABLES, seed=11, draw="patients", chunk=1_000_000
    )
    assert sim == again
    tables = simulate_operating_characteristics(DOSES, S2, 10_000, tables=TABLES, seed=11)
    assert tables == simulate_operating_characteristics(DOSES, S2, 10_000, tables=TABLES, seed=11)
    with pytest.raises(ValidationFailed) as e:
        simulate_operating_characteristics(DOSES, S2, 10, tables=TABLES, draw="dice")  # type: ignore[arg-type]
    assert e.value.code == "ANALYSIS.E067"


def test_alias_tables_reproduce_the_probabilities() -> None:
    p = TABLES.probabilities(S1[2])
    keep, alias = _alias(p)
    m = len(p)
    back = keep / m
    np.add.at(back, alias, (1 - keep) / m)
    assert back == pytest.approx(p, abs=1e-15)
