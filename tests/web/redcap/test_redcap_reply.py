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


def test_a_record_export_is_written_in_chunks_that_join_into_one_table() -> None:
    import csv
    import io
    import json

    from trialkit.web.redcap.reply import _list_chunks

    columns = ["record_id", "a", "b"]
    for count in (0, 1, 2048, 5000):
        rows = [
            [f"P{n}", str(n), 'say "hi", then\nleave' if n % 7 == 0 else ""] for n in range(count)
        ]
        as_json = json.loads("".join(_list_chunks(iter(rows), columns, "json")))
        assert as_json == [dict(zip(columns, r, strict=True)) for r in rows]
        text = "".join(_list_chunks(iter(rows), columns, "csv"))
        assert list(csv.reader(io.StringIO(text))) == [columns, *rows]
