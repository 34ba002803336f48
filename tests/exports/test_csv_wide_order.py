"""The wide rows spooled in the dictionary's column order: columns first seen late (a later
instance, a form the first rows lack), values to quote, and the rewrite of the segments."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from types import SimpleNamespace

from trialkit.exports.csv_export import WIDE_KEYS, _inst, _Writer, wide_column


def _rec(code: str, visit: str, form: str, cells: list[tuple[str, str]], texts: list[str],
         lid: int) -> SimpleNamespace:  # fmt: skip
    layout = SimpleNamespace(
        id=lid, shared=lid >= 0, cells=tuple((i, "G", item, "", "") for i, item in cells)
    )
    person = SimpleNamespace(code=code, site="S1", arm="A")
    return SimpleNamespace(
        person=person, visit=visit, visit_date="2025-01-01", form=form,
        protocol_version="1.0", layout=layout, texts=texts,
    )  # fmt: skip


def test_late_columns_are_placed_in_the_dictionary_order(tmp_path: Path) -> None:
    rank = {("LABS", "crp"): 0, ("LABS", "alt"): 1, ("VS", "hr"): 2}
    recs = [
        _rec("P1", "V1", "VS", [("1", "hr")], ["70"], 0),
        _rec("P1", "V2", "LABS", [("1", "alt")], ["a,1"], 1),  # a new column, a quoted value
        _rec("P2", "V1", "VS", [("1", "hr"), ("2", "hr")], ["71", "72"], -1),  # own layout
        _rec("P2", "V2", "LABS", [("1", "crp"), ("1", "alt")], ['"x"', "3"], 2),
        _rec("P3", "V1", "XTRA", [("1.3", "z")], ["9"], 3),  # not in the dictionary
    ]
    w = _Writer(tmp_path, rank)
    for rec in recs:
        w.records([rec])  # type: ignore[list-item]
    w.finish()
    w.close()
    columns: dict[tuple[str, str, str], None] = {}
    rows: dict[tuple[str, str], dict[tuple[str, str, str], str]] = {}
    for r in recs:
        for (instance, _, item, _, _), t in zip(r.layout.cells, r.texts, strict=True):
            columns[(r.form, item, instance)] = None
            rows.setdefault((r.person.code, r.visit), {})[(r.form, item, instance)] = t
    ordered = sorted(
        columns, key=lambda c: (rank.get((c[0], c[1]), len(rank)), c[0], c[1], _inst(c[2]))
    )
    want = io.StringIO()
    out = csv.writer(want, lineterminator="\n")
    out.writerow([*WIDE_KEYS, *(wide_column(*c) for c in ordered)])
    for (code, visit), cells in rows.items():
        out.writerow([code, "S1", "A", visit, "2025-01-01", *(cells.get(c, "") for c in ordered)])
    assert (tmp_path / "wide.csv").read_text(encoding="utf-8") == want.getvalue()
    long = list(csv.reader(io.StringIO((tmp_path / "long.csv").read_text(encoding="utf-8"))))
    assert [r[9] for r in long[1:]] == [t for r in recs for t in r.texts]
