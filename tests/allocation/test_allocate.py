"""allocate() and schedule(): reproducible, concealed, balanced as each method promises."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trialkit.allocation import (
    ALL,
    Assignment,
    Candidate,
    Decision,
    allocate,
    candidate_from_values,
    factor_level,
    schedule,
    stratum_key,
)
from trialkit.errors import DefinitionError, TransitionError
from trialkit.protocol import Factor, Randomisation

AB = ["A", "B"]
SEX = {"name": "sex", "source": "sex", "levels": ["female", "male"]}
SITE = {"name": "site", "source": "site"}


def _spec(**fields: Any) -> Randomisation:
    return Randomisation.model_validate(fields)


def _run(
    spec: Randomisation, arms: Sequence[str], seed: str, candidates: Sequence[dict[str, str]]
) -> list[Decision]:
    history: list[Assignment] = []
    out: list[Decision] = []
    for levels in candidates:
        decision = allocate(spec, arms, seed, history, Candidate(levels))
        history.append(Assignment(decision.arm, levels, decision.number))
        out.append(decision)
    return out


def _people(n: int, sites: int = 3) -> list[dict[str, str]]:
    """A fixed, varied stream of candidates (no randomness: the test is about allocation)."""
    return [
        {"sex": "female" if k % 2 else "male", "site": f"S{(k // 2 + k // 7) % sites + 1}"}
        for k in range(n)
    ]


SPECS = {
    "simple": _spec(method="simple"),
    "blocks": _spec(method="permuted_blocks", block_sizes=[4, 6]),
    "stratified": _spec(method="stratified_blocks", block_sizes=[4], factors=[SEX, SITE]),
    "minimisation": _spec(method="minimisation", factors=[SEX, SITE]),
}


@settings(max_examples=25, deadline=None)
@given(
    method=st.sampled_from(sorted(SPECS)),
    seed=st.text(min_size=1, max_size=40),
    other=st.text(min_size=1, max_size=40),
)
def test_same_seed_same_decisions_other_seed_other_decisions(
    method: str, seed: str, other: str
) -> None:
    spec, people = SPECS[method], _people(48)
    first = _run(spec, AB, seed, people)
    assert first == _run(spec, AB, seed, people)
    if other != seed:
        assert [d.arm for d in _run(spec, AB, other, people)] != [d.arm for d in first]


def test_pinned_list_never_changes() -> None:
    slots = schedule(_spec(method="permuted_blocks", block_sizes=[4, 6]), AB, "pinned", n=10)
    assert "".join(s.arm for s in slots) == "BABABABAAB"
    assert [s.block_size for s in slots] == [6] * 6 + [4] * 4
    assert [(s.block, s.position) for s in slots[5:7]] == [(1, 6), (2, 1)]


def test_detail_is_json_and_never_holds_the_seed() -> None:
    seed = "s3cret-seed-value"
    for spec in SPECS.values():
        for decision in _run(spec, AB, seed, _people(6)):
            text = json.dumps(decision.detail)
            assert seed not in text
            assert decision.detail["method"] == spec.method
            assert decision.detail["arm"] == decision.arm


# -- permuted blocks ---------------------------------------------------------------------------


def test_every_complete_block_keeps_the_ratio() -> None:
    spec = _spec(method="permuted_blocks", ratio={"A": 2, "B": 1}, block_sizes=[3, 6])
    slots = schedule(spec, AB, "ratio", n=300)
    blocks: dict[int, list[str]] = {}
    for s in slots:
        blocks.setdefault(s.block, []).append(s.arm)
        assert s.block_size in (3, 6)
    sizes = {s.block: s.block_size for s in slots}
    complete = [arms for number, arms in blocks.items() if len(arms) == sizes[number]]
    assert len(complete) >= len(blocks) - 1
    for arms in complete:
        assert Counter(arms)["A"] == 2 * Counter(arms)["B"]


@pytest.mark.parametrize("sizes", [[2], [4], [4, 6, 8]])
def test_running_imbalance_never_exceeds_half_the_largest_block(sizes: list[int]) -> None:
    for seed in ("a", "b", "c"):
        slots = schedule(_spec(method="permuted_blocks", block_sizes=sizes), AB, seed, n=200)
        diff = 0
        for s in slots:
            diff += 1 if s.arm == "A" else -1
            assert abs(diff) <= max(sizes) // 2
            if s.position == s.block_size:
                assert diff == 0


def test_variable_blocks_use_each_size() -> None:
    slots = schedule(_spec(method="permuted_blocks", block_sizes=[4, 6, 8]), AB, "v", n=300)
    sizes = Counter(s.block_size for s in slots if s.position == 1)
    assert set(sizes) == {4, 6, 8}
    assert min(sizes.values()) >= 8


def test_allocate_follows_the_sealed_list_of_each_stratum() -> None:
    spec = SPECS["stratified"]
    people = _people(60)
    decisions = _run(spec, AB, "sealed", people)
    by_stratum: dict[str, list[str]] = {}
    for d in decisions:
        by_stratum.setdefault(d.stratum, []).append(d.arm)
        assert d.detail["sequence"] == len(by_stratum[d.stratum])
    assert len(by_stratum) == 6
    for stratum, arms in by_stratum.items():
        listed = schedule(spec, AB, "sealed", stratum, len(arms))
        assert [s.arm for s in listed] == arms


def test_stratified_blocks_balance_within_each_stratum() -> None:
    spec = SPECS["stratified"]
    decisions = _run(spec, AB, "strata", _people(120))
    counts: dict[str, Counter[str]] = {}
    for d in decisions:
        counts.setdefault(d.stratum, Counter())[d.arm] += 1
        assert abs(counts[d.stratum]["A"] - counts[d.stratum]["B"]) <= 2
    assert stratum_key(spec, {"sex": "male", "site": "S2"}) == "sex=male|site=S2"


def test_simple_randomisation_follows_its_list_too() -> None:
    spec = SPECS["simple"]
    decisions = _run(spec, AB, "simple", _people(30))
    assert [s.arm for s in schedule(spec, AB, "simple", ALL, 30)] == [d.arm for d in decisions]


def test_simple_randomisation_keeps_the_ratio_on_average() -> None:
    spec = _spec(method="simple", ratio={"A": 3, "B": 1})
    arms = Counter(s.arm for s in schedule(spec, AB, "avg", n=4000))
    assert 2850 < arms["A"] < 3150


# -- minimisation ------------------------------------------------------------------------------


def test_deterministic_minimisation_keeps_every_level_within_one() -> None:
    spec = _spec(method="minimisation", probability=1, factors=[SITE])
    people = [{"site": f"S{(k * k) % 4}"} for k in range(80)]
    history: list[Assignment] = []
    for levels in people:
        d = allocate(spec, AB, "p1", history, Candidate(levels))
        assert d.detail["draw"] is None
        assert d.detail["overridden"] is False
        assert d.arm == d.detail["preferred"]
        history.append(Assignment(d.arm, levels, d.number))
        here = Counter(a.arm for a in history if a.levels == levels)
        assert abs(here["A"] - here["B"]) <= 1


def test_deterministic_minimisation_is_the_same_for_any_seed_but_ties() -> None:
    spec = _spec(method="minimisation", probability=1, factors=[SEX, SITE])
    for seed in ("x", "y"):
        for d in _run(spec, AB, seed, _people(40)):
            assert d.arm in d.detail["tied"]
            if len(d.detail["tied"]) == 1:
                assert d.detail["tie_draw"] is None


def test_minimisation_scores_a_worked_example() -> None:
    """Hand-computed: earlier participants A: (female, S1), (male, S1), (female, S2);
    B: (male, S2), (female, S1). Candidate (female, S1), sex weight 1, site weight 2.
    Marginal counts: female A 2, B 1; S1 A 2, B 1. If A: female 3-1 = 2, S1 3-1 = 2, G = 2 + 2*2
    = 6. If B: female 2-2 = 0, S1 2-2 = 0, G = 0. B is preferred."""
    spec = _spec(
        method="minimisation",
        probability="0.75",
        factors=[SEX, {**SITE, "weight": 2}],
    )
    history = [
        Assignment("A", {"sex": "female", "site": "S1"}, 1),
        Assignment("A", {"sex": "male", "site": "S1"}, 2),
        Assignment("A", {"sex": "female", "site": "S2"}, 3),
        Assignment("B", {"sex": "male", "site": "S2"}, 4),
        Assignment("B", {"sex": "female", "site": "S1"}, 5),
    ]
    d = allocate(spec, AB, "worked", history, Candidate({"sex": "female", "site": "S1"}))
    assert d.number == 6
    assert d.detail["counts"] == {"sex": {"A": 2, "B": 1}, "site": {"A": 2, "B": 1}}
    assert d.detail["scores"] == {"A": "6", "B": "0"}
    assert d.detail["preferred"] == "B"
    assert d.detail["tied"] == ["B"]
    draw = Decimal(str(d.detail["draw"]))
    assert d.arm == ("B" if draw < Decimal("0.75") else "A")
    assert d.detail["overridden"] is (d.arm == "A")


def test_variance_and_sd_measure_three_arms() -> None:
    """Three arms, counts 2, 1, 0 at the candidate's level. If A: 3, 1, 0: range 3, variance
    (mean 4/3) ((5/3)^2 + (1/3)^2 + (4/3)^2) / 2 = 7/3. If C: 2, 1, 1: range 1, variance 1/3."""
    history = [
        Assignment("A", {"site": "S1"}, 1),
        Assignment("A", {"site": "S1"}, 2),
        Assignment("B", {"site": "S1"}, 3),
    ]
    abc = ["A", "B", "C"]
    for measure, a_score, c_score in [("range", "3", "1"), ("variance", "7/3", "1/3")]:
        spec = _spec(method="minimisation", imbalance=measure, factors=[SITE], probability=1)
        d = allocate(spec, abc, "v", history, Candidate({"site": "S1"}))
        assert d.detail["scores"]["A"] == a_score
        assert d.detail["scores"]["C"] == c_score
        assert d.arm == "C"
    spec = _spec(method="minimisation", imbalance="sd", factors=[SITE], probability=1)
    d = allocate(spec, abc, "v", history, Candidate({"site": "S1"}))
    score = Decimal(d.detail["scores"]["C"])
    assert abs(score - Decimal(1) / Decimal(3).sqrt()) < Decimal("1e-20")


def test_unequal_ratio_divides_counts_by_the_shares() -> None:
    spec = _spec(method="minimisation", ratio={"A": 2, "B": 1}, factors=[SITE], probability=1)
    # First participant: A gives 1/2 - 0, B gives 1 - 0: A is preferred.
    d = allocate(spec, AB, "r", [], Candidate({"site": "S1"}))
    assert d.detail["scores"] == {"A": "0.5", "B": "1"}
    assert d.arm == "A"
    decisions = _run(spec, AB, "r", [{"site": "S1"}] * 30)
    assert Counter(x.arm for x in decisions) == {"A": 20, "B": 10}


def test_the_random_element_picks_among_the_other_arms_equally() -> None:
    spec = _spec(method="minimisation", probability="0.6", factors=[SITE])
    history = [Assignment("A", {"site": "S1"}, 1), Assignment("B", {"site": "S1"}, 2)]
    overridden: Counter[str] = Counter()
    for k in range(600):
        d = allocate(spec, ["A", "B", "C"], f"seed{k}", history, Candidate({"site": "S1"}))
        assert d.detail["preferred"] == "C"
        if d.detail["overridden"]:
            overridden[d.arm] += 1
    total = sum(overridden.values())
    assert 190 < total < 290  # 0.4 of 600 = 240
    assert abs(overridden["A"] - overridden["B"]) < 60
    assert Fraction(total, 600) != 0


# -- candidates and errors ---------------------------------------------------------------------


def test_screening_values_become_levels_exactly() -> None:
    pasi = Factor.model_validate({"name": "pasi_band", "source": "pasi", "cut_points": [10, 20]})
    assert factor_level(pasi, Decimal("9.99")) == "< 10"
    assert factor_level(pasi, 10) == "10 to < 20"
    assert factor_level(pasi, "19.999") == "10 to < 20"
    assert factor_level(pasi, 20.0) == ">= 20"
    diabetic = Factor.model_validate({"name": "d", "source": "diabetes", "levels": ["yes", "no"]})
    assert factor_level(diabetic, True) == "yes"
    spec = _spec(method="minimisation", factors=[SEX, SITE])
    candidate = candidate_from_values(spec, {"sex": "male", "age": 40}, site="TEH")
    assert candidate.levels == {"sex": "male", "site": "TEH"}


@pytest.mark.parametrize(
    ("factor", "value", "code", "text"),
    [
        (SEX, None, "ALLOC.E030", "the participant has no value of sex"),
        (SEX, "F", "ALLOC.E031", "'F' is not one of its levels (female, male)"),
        ({"name": "p", "source": "pasi", "cut_points": [10]}, "ten", "ALLOC.E031", "not a number"),
    ],
)
def test_unusable_screening_values_are_refused(
    factor: dict[str, Any], value: object, code: str, text: str
) -> None:
    with pytest.raises(TransitionError, match=re.escape(text)) as caught:
        factor_level(Factor.model_validate(factor), value)
    assert caught.value.code == code


@pytest.mark.parametrize(
    ("spec", "arms", "code"),
    [
        (_spec(method="simple", ratio={"A": 1, "X": 1}), AB, "ALLOC.E020"),
        (_spec(method="simple"), ["A"], "ALLOC.E021"),
        (
            _spec(method="permuted_blocks", ratio={"A": 2, "B": 1}, block_sizes=[4]),
            AB,
            "ALLOC.E022",
        ),
        (_spec(method="minimisation"), AB, "ALLOC.E023"),
    ],
)
def test_specs_that_cannot_allocate_are_refused(
    spec: Randomisation, arms: list[str], code: str
) -> None:
    with pytest.raises(DefinitionError) as caught:
        allocate(spec, arms, "s", [], Candidate())
    assert caught.value.code == code
    assert caught.value.hint


def test_candidate_levels_are_checked() -> None:
    spec = SPECS["minimisation"]
    with pytest.raises(TransitionError) as caught:
        allocate(spec, AB, "s", [], Candidate({"site": "S1"}))
    assert caught.value.code == "ALLOC.E030"
    with pytest.raises(TransitionError) as caught:
        allocate(spec, AB, "s", [], Candidate({"site": "S1", "sex": "other"}))
    assert caught.value.code == "ALLOC.E031"


def test_seed_and_list_errors() -> None:
    with pytest.raises(DefinitionError) as caught:
        allocate(SPECS["simple"], AB, "", [], Candidate())
    assert caught.value.code == "ALLOC.E024"
    with pytest.raises(DefinitionError) as caught:
        schedule(SPECS["minimisation"], AB, "s", n=3)
    assert caught.value.code == "ALLOC.E025"
    with pytest.raises(DefinitionError) as caught:
        schedule(SPECS["stratified"], AB, "s", n=3)
    assert caught.value.code == "ALLOC.E026"
    assert "sex=<level>|site=<level>" in (caught.value.hint or "")
    with pytest.raises(DefinitionError) as caught:
        schedule(SPECS["blocks"], AB, "s", "sex=male", 3)
    assert caught.value.code == "ALLOC.E026"
