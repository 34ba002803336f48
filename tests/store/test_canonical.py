"""Canonical JSON: one text per value, exact decimals, binary floats refused anywhere."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trialkit.store import canonical


def test_sorted_compact_and_exact() -> None:
    text = canonical.dumps({"b": Decimal("1.50"), "a": ["é", None, True, 3]})
    assert text == '{"a":["é",null,true,3],"b":"1.50"}'


@pytest.mark.parametrize(
    "value",
    [1.5, [1, 2.0], {"a": {"b": [{"c": 0.1}]}}, (1.0,), {2.5}, frozenset({0.5}), {"s": ("x", 1e3)}],
)
def test_binary_floats_are_refused_at_any_depth(value: Any) -> None:
    with pytest.raises(TypeError, match="binary float"):
        canonical.dumps(value)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=12,
)


@given(_json)
def test_round_trip(value: Any) -> None:
    assert canonical.loads(canonical.dumps(value)) == value


@given(_json)
def test_text_is_that_of_json_dumps_with_the_canonical_options(value: Any) -> None:
    # The shared encoder must give exactly the text json.dumps gives: stored hashes depend on it.
    expected = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert canonical.dumps(value) == expected
