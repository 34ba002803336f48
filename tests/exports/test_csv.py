"""``csv``: long, wide and the dictionary, as the authenticated user sees the study; the data
as of a past day rebuilt from the audit trail; sites and blinding."""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path

import pytest
from tests.exports.conftest import CORRECTED, PAE
from tests.services.conftest import MASKED, UCM, People, Screened, masked  # noqa: F401

from trialkit.errors import AccessDenied
from trialkit.exports import ExportError, export
from trialkit.services import Context, Role, add_site, enrol, save_form
from trialkit.store import Database


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _pick(rows: list[dict[str, str]], **where: str) -> list[dict[str, str]]:
    return [r for r in rows if all(r[k] == v for k, v in where.items())]


def test_long_wide_and_dictionary(
    db: Database, ctx: Context, filled: tuple[str, str], person: People, tmp_path: Path
) -> None:
    p1, p2 = filled
    stats = person("stat", PAE, Role.STATISTICIAN)
    result = export(db, stats, PAE, "csv", tmp_path)
    assert result.participants == 2  # the screen failure is not exported
    long = _rows(tmp_path / "long.csv")
    assert {r["participant"] for r in long} == {p1, p2}
    (trunk,) = _pick(long, participant=p2, visit="M3", item="trunk_erythema")
    assert (trunk["value"], trunk["form"], trunk["arm"], trunk["site"]) == (
        "2",
        "PASI",
        "G100",
        "TEH",
    )
    assert trunk["protocol_version"] == "1.0"
    # derived score: (2 + 1 + 1) x area score 1 x 0.3 = 1.2 (the corrected values)
    (score,) = _pick(long, participant=p2, visit="M3", item="pasi")
    assert score["value"] == "1.2"
    area = _pick(long, participant=p1, visit="D1", item="plaque_area")
    assert [(r["value"], r["unit"], r["instance"]) for r in area] == [
        ("3.20", "cm2", "1.1"),
        ("3.20", "cm2", "1.2"),
    ]
    dose = _pick(long, participant=p1, item="dose_given")
    assert (dose[0]["value"], dose[0]["unit"]) == ("160", "ug")
    gone = _pick(long, participant=p1, visit="M3", form="LESION")
    assert gone
    assert all(r["value"] == "" for r in gone)
    assert {r["missing_reason"] for r in gone} == {"not required: lesion resolved"}
    wide = _rows(tmp_path / "wide.csv")
    (row,) = _pick(wide, participant=p1, visit="D1")
    assert row["LESION.plaque_area[1.2]"] == "3.20"
    assert row["PASI.pasi"] == "3.0"  # (2 + 2 + 1) x 2 x 0.3
    assert row["visit_date"] == "2025-03-11"
    assert len(wide) == len({(r["participant"], r["visit"]) for r in long})
    dictionary = _rows(tmp_path / "dictionary.csv")
    (entry,) = _pick(dictionary, form="LESION", item="plaque_area")
    assert (entry["type"], entry["unit"]) == ("decimal", "cm2")
    (sex,) = _pick(dictionary, form="SCREEN", item="sex")
    assert "female=Female" in sex["codes"]


def test_as_of_a_past_day_rebuilds_the_values_from_the_trail(
    db: Database, ctx: Context, filled: tuple[str, str], tmp_path: Path
) -> None:
    p1, p2 = filled
    export(db, ctx, PAE, "csv", tmp_path, as_of=CORRECTED.replace(hour=0))
    long = _rows(tmp_path / "long.csv")
    (trunk,) = _pick(long, participant=p2, visit="M3", item="trunk_erythema")
    assert trunk["value"] == "1"  # as entered before the correction
    (score,) = _pick(long, participant=p2, visit="M3", item="pasi")
    assert score["value"] == "0.6"
    assert not _pick(long, participant=p1, visit="M3", form="LESION")  # marked later
    before = datetime(2025, 3, 1)
    assert export(db, ctx, PAE, "csv", tmp_path / "early", as_of=before).participants == 0


def test_sites_roles_and_blinding(
    db: Database,
    ctx: Context,
    filled: tuple[str, str],
    person: People,
    screened: Screened,
    masked: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    add_site(db, ctx, PAE, "ISF", "Isfahan")
    elsewhere = person("isf", PAE, Role.DATA_MANAGER, site="ISF")
    assert export(db, elsewhere, PAE, "csv", tmp_path / "isf").participants == 0
    entry = person("coord", PAE, Role.COORDINATOR)
    with pytest.raises(AccessDenied):
        export(db, entry, PAE, "csv", tmp_path / "coord")
    with pytest.raises(ExportError, match="'sas7bdat' is not known"):
        export(db, ctx, PAE, "sas7bdat", tmp_path)
    code = screened(MASKED, like=UCM)
    enrol(db, ctx, MASKED, code)
    blind = person("blind", MASKED, Role.STATISTICIAN)
    export(db, blind, MASKED, "csv", tmp_path / "blind")
    assert {r["arm"] for r in _rows(tmp_path / "blind" / "long.csv")} == {"BLINDED"}
    board = person("dsmb", MASKED, Role.SAFETY_BOARD)
    export(db, board, MASKED, "csv", tmp_path / "dsmb")
    assert {r["arm"] for r in _rows(tmp_path / "dsmb" / "long.csv")} == {"UCMSC"}


def test_an_item_saved_empty_with_its_missing_data_reason_is_exported_with_it(
    db: Database, ctx: Context, filled: tuple[str, str], person: People, tmp_path: Path
) -> None:
    p1, _ = filled
    vitals = {"systolic_bp": "120", "diastolic_bp": "80", "heart_rate": "72", "temperature": ""}
    later = ctx.at(datetime(2025, 6, 20, 9, 0))
    save_form(
        db, later, PAE, p1, visit="M3", form_id="VITALS", values=vitals,
        missing={"temperature": "not_done"},
    )  # fmt: skip
    export(db, person("stat", PAE, Role.STATISTICIAN), PAE, "csv", tmp_path)
    (temp,) = _pick(_rows(tmp_path / "long.csv"), participant=p1, visit="M3", item="temperature")
    assert (temp["value"], temp["missing_reason"]) == ("", "not_done")
