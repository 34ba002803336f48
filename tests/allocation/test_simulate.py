"""Balance and predictability: exact for one block, by simulation for each method."""

from __future__ import annotations

from fractions import Fraction
from functools import cache
from itertools import permutations
from typing import Any

import pytest

from trialkit.allocation import Assignment, Candidate, Simulation, forced_arm, guess_credit
from trialkit.allocation import simulate as run_simulation
from trialkit.errors import DefinitionError
from trialkit.protocol import Randomisation

AB = ["A", "B"]
POPULATION = {"sex": {"female": 1, "male": 1}, "site": {"S1": 2, "S2": 1, "S3": 1}}
FACTORS = [
    {"name": "sex", "source": "sex", "levels": ["female", "male"]},
    {"name": "site", "source": "site"},
]


def _spec(**fields: Any) -> Randomisation:
    return Randomisation.model_validate(fields)


@cache
def _sim(name: str) -> Simulation:
    specs = {
        "simple": _spec(method="simple"),
        "blocks4": _spec(method="permuted_blocks", block_sizes=[4]),
        "blocks468": _spec(method="permuted_blocks", block_sizes=[4, 6, 8]),
        "stratified": _spec(method="stratified_blocks", block_sizes=[4], factors=FACTORS),
        "min1": _spec(method="minimisation", probability=1, factors=FACTORS),
        "min08": _spec(method="minimisation", probability="0.8", factors=FACTORS),
    }
    return run_simulation(
        specs[name], AB, n=40, runs=40, seed="figures", factor_distribution=POPULATION
    )


def _block_orders(block: str) -> list[tuple[str, ...]]:
    return sorted(set(permutations(block)))


def test_one_block_of_four_is_guessed_17_times_in_24_by_enumeration() -> None:
    spec = _spec(method="permuted_blocks", block_sizes=[4])
    ratio = {"A": 1, "B": 1}
    orders = _block_orders("AABB")
    assert len(orders) == 6
    total = Fraction(0)
    for order in orders:
        history: list[Assignment] = []
        for k, arm in enumerate(order):
            total += guess_credit(spec, ratio, history, Candidate(), arm)
            history.append(Assignment(arm, {}, k + 1))
    assert total / (len(orders) * 4) == Fraction(17, 24)


def test_one_block_of_four_is_certain_a_third_of_the_time_by_enumeration() -> None:
    """The fourth place always, the third after AA or BB (2 orders of 6): (6 + 2) / 24."""
    forced = sum(
        forced_arm(order[:k], {"A": 1, "B": 1}, [4]) is not None
        for order in _block_orders("AABB")
        for k in range(4)
    )
    assert Fraction(forced, 24) == Fraction(1, 3)


def test_forced_arm_with_variable_blocks_considers_every_possible_boundary() -> None:
    ratio = {"A": 1, "B": 1}
    # AB could be a whole block of 2 or the start of a block of 4: nothing is certain.
    assert forced_arm(["A", "B"], ratio, [2, 4]) is None
    assert forced_arm(["A"], ratio, [2, 4]) is None
    assert forced_arm(["A", "A"], ratio, [2, 4]) == "B"
    assert forced_arm(["A"], ratio, [2]) == "B"


def test_simple_randomisation_is_the_least_predictable() -> None:
    simple = _sim("simple").guess_rate
    assert Fraction(45, 100) < simple < Fraction(55, 100)
    for other in ("blocks4", "blocks468", "stratified", "min1", "min08"):
        assert _sim(other).guess_rate > simple, other


def test_simple_randomisation_is_the_least_balanced() -> None:
    simple = _sim("simple")
    for other in ("blocks4", "blocks468", "min1", "min08"):
        assert _sim(other).final_imbalance < simple.final_imbalance, other
        assert _sim(other).running_imbalance < simple.running_imbalance, other


def test_fixed_blocks_are_more_predictable_than_variable_blocks() -> None:
    fixed, variable = _sim("blocks4"), _sim("blocks468")
    assert fixed.guess_rate > variable.guess_rate
    assert fixed.deterministic is not None
    assert variable.deterministic is not None
    assert fixed.deterministic > 2 * variable.deterministic
    assert fixed.final_imbalance == 0  # 40 is ten whole blocks of 4


def test_deterministic_minimisation_is_more_predictable_than_with_its_random_element() -> None:
    p1, p08 = _sim("min1"), _sim("min08")
    assert p1.guess_rate > p08.guess_rate
    assert p1.marginal_final < p08.marginal_final
    assert p1.deterministic is None


def test_stratification_and_minimisation_balance_what_blocks_alone_do_not() -> None:
    assert _sim("stratified").stratum_final < _sim("blocks4").stratum_final
    assert _sim("min1").marginal_final < _sim("blocks4").marginal_final


def test_simulation_is_reproducible_and_reports_a_row() -> None:
    spec = _spec(method="permuted_blocks", block_sizes=[4])
    first = run_simulation(spec, AB, n=12, runs=3, seed="r")
    assert first == run_simulation(spec, AB, n=12, runs=3, seed="r")
    assert first.row()["method"] == "permuted_blocks"
    assert _sim("simple").row()["deterministic"] == "–"


def test_each_factor_needs_a_distribution() -> None:
    spec = _spec(method="minimisation", factors=FACTORS)
    with pytest.raises(DefinitionError) as caught:
        run_simulation(spec, AB, n=4, runs=1, seed="s", factor_distribution={"sex": {"male": 1}})
    assert caught.value.code == "ALLOC.E027"
