"""``ipd``: pseudonyms, per-participant date shifts that keep intervals, top-coded ages, free
text and direct identifiers removed, and the re-identification risk summary."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest
from tests.exports.conftest import PAE

from trialkit.exports import export
from trialkit.exports.ipd import SECRET_ENV, Deidentifier, _band, _top, risk_summary
from trialkit.services import Context
from trialkit.store import Database


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_package_is_deidentified(
    db: Database,
    ctx: Context,
    filled: tuple[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    p1, p2 = filled
    monkeypatch.setenv(SECRET_ENV, "a key the data holder keeps")
    export(db, ctx, PAE, "csv", tmp_path / "csv")
    result = export(db, ctx, PAE, "ipd", tmp_path / "ipd")
    rows = _rows(tmp_path / "ipd" / "values.csv")
    ident = Deidentifier(b"a key the data holder keeps")
    assert {r["participant"] for r in rows} == {ident.pseudonym(p1), ident.pseudonym(p2)}
    for f in (tmp_path / "ipd").iterdir():
        text = f.read_text(encoding="utf-8")
        assert p1 not in text
        assert p2 not in text
        assert "dr.demo" not in text
        assert "left forearm" not in text  # free text
    items = {r["item"] for r in rows}
    assert "birth_date" not in items
    assert "lesion_site" not in items
    assert {"plaque_area", "trunk_erythema", "sex"} <= items
    original = _rows(tmp_path / "csv" / "long.csv")

    def visit_date(rows_: list[dict[str, str]], who: str, visit: str) -> date:
        return date.fromisoformat(
            next(r["visit_date"] for r in rows_ if (r["participant"], r["visit"]) == (who, visit))
        )

    for code in (p1, p2):
        shifted = ident.pseudonym(code)
        by = ident.shift(code)
        assert visit_date(rows, shifted, "D1") == visit_date(original, code, "D1") + by
        interval = visit_date(rows, shifted, "M3") - visit_date(rows, shifted, "D1")
        assert interval == visit_date(original, code, "M3") - visit_date(original, code, "D1")
    assert ident.shift(p1) != ident.shift(p2)
    dictionary = {
        r["item"]: r["deidentification"] for r in _rows(tmp_path / "ipd" / "dictionary.csv")
    }
    assert dictionary["age"] == "top-coded"
    assert dictionary["screening_date"] == "shifted"
    assert "birth_date" not in dictionary
    risk = {r["measure"]: r["value"] for r in _rows(tmp_path / "ipd" / "risk.csv")}
    assert (risk["participants"], risk["smallest_group"]) == ("2", "2")  # same site, sex, age
    assert "smallest group" in result.notes[0]
    assert "Re-identification risk" in (tmp_path / "ipd" / "README.md").read_text(encoding="utf-8")


def test_top_coding_bands_and_risk() -> None:
    assert [_top(a) for a in ("89", "90", "104", "")] == ["89", "90", "90", ""]
    assert [_band(a) for a in ("18", "44", "89", "90", "97", None)] == [
        "15-19",
        "40-44",
        "85-89",
        "90+",
        "90+",
        "unknown",
    ]
    people = {"a": ("TEH", "f", "40-44"), "b": ("TEH", "f", "40-44"), "c": ("ISF", "m", "90+")}
    assert risk_summary(people) == {
        "participants": 3,
        "combinations": 2,
        "smallest_group": 1,
        "in_groups_smaller_than_5": 3,
    }
    assert Deidentifier(b"k").shift("X").days in range(-365, 366)
    assert Deidentifier(b"k").pseudonym("X") != Deidentifier(b"other").pseudonym("X")
