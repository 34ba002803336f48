"""REDCap's list parameters in the three shapes clients send read as the same list."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from starlette.datastructures import FormData

from trialkit.web.redcap.reply import listed

names = st.lists(st.from_regex(r"[a-z][a-z0-9_]{0,12}", fullmatch=True), unique=True, max_size=8)


@given(names)
def test_indexed_comma_joined_and_bracketed_lists_agree(values: list[str]) -> None:
    pycap = FormData([(f"fields[{i}]", v) for i, v in enumerate(values)])
    redcapr = FormData([("fields", ",".join(values))] if values else [])
    brackets = FormData([("fields[]", v) for v in values])
    assert listed(pycap, "fields") == listed(redcapr, "fields") == listed(brackets, "fields")
    assert listed(pycap, "fields") == values


def test_indexes_order_the_values_and_other_keys_are_not_read() -> None:
    form = FormData([("forms[1]", "b"), ("forms[0]", "a"), ("fields", "x"), ("forms", "c, a")])
    assert listed(form, "forms") == ["a", "b", "c"]
