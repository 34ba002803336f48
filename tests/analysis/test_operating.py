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

import pytest

from trialkit.analysis.dose_selection import DoseSelectionRule, select_dose
from trialkit.analysis.operating import (
    arm_tables,
    exact_operating_characteristics,
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
