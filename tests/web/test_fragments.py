"""Fragments kept with the objects they show: rendered once per object and key, dropped with it."""

from __future__ import annotations

import gc
from dataclasses import dataclass, field

from trialkit.web.fragments import Fragments


@dataclass(frozen=True)
class Row:  # like the matrix's rows: frozen, with an unhashable field
    name: str
    cells: dict[str, int] = field(default_factory=dict)


def test_rendered_once_per_object_and_key_told_apart_by_identity() -> None:
    kept: Fragments[Row] = Fragments()
    calls: list[str] = []

    def render(row: Row) -> str:
        calls.append(row.name)
        return f"<tr>{row.name}</tr>"

    a, b = Row("a"), Row("a")  # equal values, two objects
    assert kept.get(a, "en", render) == "<tr>a</tr>"
    assert kept.get(a, "en", render) == "<tr>a</tr>"
    assert calls == ["a"]
    kept.get(a, "fa", render)  # another key renders again
    kept.get(b, "en", render)  # another object renders again, whatever its value
    assert calls == ["a", "a", "a"]
    assert len(kept) == 2


def test_a_fragment_goes_with_its_object() -> None:
    kept: Fragments[Row] = Fragments()
    rows = [Row(str(i)) for i in range(100)]
    for row in rows:
        kept.get(row, "en", lambda r: r.name)
    assert len(kept) == 100
    del rows, row
    gc.collect()
    assert len(kept) == 0


def test_markup_is_not_escaped_again() -> None:
    kept: Fragments[Row] = Fragments()
    html = kept.get(Row("x"), "en", lambda r: "<b>&amp;</b>")
    assert str(html) == "<b>&amp;</b>"
    assert html.__html__() == "<b>&amp;</b>"
