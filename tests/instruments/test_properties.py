"""Properties over every instrument: random valid input never crashes, scores stay in range."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trialkit.errors import ValidationFailed
from trialkit.instruments import INSTRUMENTS, ItemDef

OPTIONS = {"lesion_grade": {"minimum": 1, "maximum": 3}}


def item_value(item: ItemDef) -> st.SearchStrategy[object]:
    if item.data_type == "boolean":
        return st.booleans()
    if item.data_type == "code" or (item.codes and item.minimum is None):
        return st.sampled_from(list(item.codes))
    low = item.minimum if item.minimum is not None else Decimal(0)
    high = item.maximum if item.maximum is not None else low + 1000
    if item.data_type == "integer":
        return st.integers(int(low), int(high))
    return st.decimals(min_value=low, max_value=high, places=2).map(str)


@pytest.mark.parametrize("name", list(INSTRUMENTS))
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_random_valid_input_scores_in_range(name: str, data: st.DataObject) -> None:
    inst = INSTRUMENTS[name]
    options = OPTIONS.get(name, {})
    values: dict[str, object] = {}
    for item in inst.item_defs(inst.parse_options(options)):
        present = True if item.required else data.draw(st.booleans())
        if present and data.draw(st.integers(0, 19)) > 0:  # now and then leave one out
            values[item.name] = data.draw(item_value(item))
    try:
        result = inst.score(values, options)
    except ValidationFailed:
        return  # a cross-item rule refused the combination (explained in the message)
    assert result.version == inst.version
    if result.value is None:
        assert result.reason or not inst.has_total
        return
    assert result.reason is None
    if inst.score_range is not None:
        low, high = inst.score_range
        assert low <= result.value <= high, (name, result.value)
