"""Seeded draws: the same on every machine and Python version, uniform, unguessable seeds."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import pytest

from trialkit.allocation import Draws, new_seed


def test_pinned_draws_never_change() -> None:
    # Pinned: a change here changes every sealed list made so far.
    draws = Draws("trialkit", "test", 1)
    assert [draws.below(10) for _ in range(8)] == [0, 7, 0, 3, 6, 6, 2, 9]
    assert draws.uniform(9) == Decimal("0.265579954")


def test_labels_name_separate_streams() -> None:
    first = [Draws("s", "block", "all", 1).below(1000) for _ in range(2)]
    assert first[0] == first[1]
    others = {Draws("s", "block", "all", k).below(10**9) for k in range(1, 50)}
    assert len(others) == 49
    # "1" and 1 are different labels (the JSON text differs).
    assert Draws("s", "1").below(10**9) != Draws("s", 1).below(10**9)


def test_below_is_uniform_and_in_range() -> None:
    draws = Draws("uniform", "test")
    counts = Counter(draws.below(6) for _ in range(6000))
    assert set(counts) == set(range(6))
    assert all(850 < c < 1150 for c in counts.values())


def test_shuffle_is_a_permutation() -> None:
    items = list("AABBCC")
    Draws("s", "x").shuffle(items)
    assert sorted(items) == list("AABBCC")


def test_below_refuses_nothing_to_draw_from() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        Draws("s").below(0)


def test_new_seed_is_secret_sized() -> None:
    seeds = {new_seed() for _ in range(20)}
    assert len(seeds) == 20
    assert all(len(s) == 64 and int(s, 16) >= 0 for s in seeds)
