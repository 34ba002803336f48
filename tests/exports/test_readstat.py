"""``stata`` and ``xpt``: one dataset per form, read back with pyreadstat and with R's haven
(one Rscript call per database), every value compared with the long CSV export of the same
database (the values as stored), and the names within each format's limits."""

from __future__ import annotations

import csv
import math
import re
import shutil
import subprocess
from collections import defaultdict
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from tests.exports.conftest import PAE

from trialkit.exports import export
from trialkit.exports.readstat import stata_name, xpt_name
from trialkit.services import Context
from trialkit.store import Database

pyreadstat = pytest.importorskip("pyreadstat")
R_SCRIPT = Path(__file__).with_name("read_back.R")


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _expected(folder: Path) -> dict[tuple[str, str, str, str, str], str]:
    """(form, participant, visit, instance, item) -> value text, from the long CSV."""
    return {
        (r["form"], r["participant"], r["visit"], r["instance"], r["item"]): r["value"]
        for r in _rows(folder / "long.csv")
    }


def _text(value: Any, kind: str, data_type: str, codes: dict[float, str]) -> str:
    """A value read back, as the long CSV writes it."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value == "":
        return ""
    if data_type == "boolean":
        return "true" if float(value) == 1 else "false"
    if data_type == "code" and kind == "stata" and codes:
        return codes[float(value)]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _same(expected: str, got: str, data_type: str) -> bool:
    if data_type in ("integer", "decimal") and expected and got:
        return math.isclose(float(expected), float(got), rel_tol=1e-15)
    if data_type == "datetime" and expected and got:
        return datetime.fromisoformat(expected) == datetime.fromisoformat(got)
    return expected == got


def _compare(
    folder: Path, kind: str, reader: str, tables: dict[str, dict[str, list[Any]]], want: dict
) -> int:
    """Compare every value of every dataset with ``want``; the number of values compared."""
    names = _rows(folder / "names.csv")
    by_var = {(n["dataset"], n["variable"]): n for n in names}
    codes: dict[tuple[str, str], dict[float, str]] = defaultdict(dict)
    if kind == "stata":
        for c in _rows(folder / "codes.csv"):
            codes[(c["dataset"], c["variable"])][float(c["number"])] = c["code"]
    keys = (
        ["participant", "visit", "instance"] if kind == "stata" else ["SUBJID", "VISIT", "INSTANCE"]
    )
    compared = 0
    for dataset, columns in tables.items():
        length = len(columns[keys[0]])
        assert length > 0
        for i in range(length):
            participant, visit, instance = (str(columns[k][i]) for k in keys)
            for variable, values in columns.items():
                meta = by_var[(dataset, variable)]
                if meta["item"] in (
                    "participant",
                    "site",
                    "arm",
                    "visit",
                    "visit_date",
                    "instance",
                ):
                    continue
                got = _text(values[i], kind, meta["type"], codes[(dataset, variable)])
                exp = want.get((meta["form"], participant, visit, instance, meta["item"]), "")
                assert _same(exp, got, meta["type"]), (reader, dataset, variable, i, exp, got)
                compared += 1
    return compared


def _pyreadstat(folder: Path, kind: str) -> dict[str, dict[str, list[Any]]]:
    read = pyreadstat.read_dta if kind == "stata" else pyreadstat.read_xport
    names = {n["dataset"] for n in _rows(folder / "names.csv")}
    out = {}
    for f in sorted(folder.glob("*.dta" if kind == "stata" else "*.xpt")):
        frame, meta = read(str(f))
        dataset = f.stem if kind == "stata" else str(meta.table_name)
        assert dataset in names
        out[dataset] = {c: list(frame[c]) for c in frame.columns}
    return out


def _haven(tsv: Path, folders: dict[str, Path]) -> dict[str, dict[str, dict[str, list[Any]]]]:
    """kind -> dataset -> variable -> values, from the R script's TSV."""
    raw: dict[str, dict[str, dict[str, dict[int, str]]]] = defaultdict(
        lambda: defaultdict(lambda: defaultdict(dict))
    )
    with tsv.open(encoding="utf-8") as fh:
        for line in fh:
            file, row, variable, value = line.rstrip("\n").split("\t")
            path = Path(file)
            kind = "stata" if path.suffix == ".dta" else "xpt"
            dataset = path.stem if kind == "stata" else path.stem.upper()
            raw[kind][dataset][variable][int(row)] = value
    return {
        kind: {
            ds: {v: [cells[i] for i in sorted(cells)] for v, cells in cols.items()}
            for ds, cols in tables.items()
        }
        for kind, tables in raw.items()
    }


def test_round_trip_through_pyreadstat_and_haven(
    db: Database, ctx: Context, filled: tuple[str, str], tmp_path: Path
) -> None:
    export(db, ctx, PAE, "csv", tmp_path / "csv")
    want = _expected(tmp_path / "csv")
    folders = {kind: tmp_path / kind for kind in ("stata", "xpt")}
    for kind, folder in folders.items():
        result = export(db, ctx, PAE, kind, folder)
        assert result.participants == 2
        compared = _compare(folder, kind, "pyreadstat", _pyreadstat(folder, kind), want)
        assert compared > 100
    # dates are dates, labels and value labels are there
    frame, meta = pyreadstat.read_dta(str(folders["stata"] / "screen.dta"))
    assert isinstance(frame["visit_date"][0], date)
    assert meta.column_names_to_labels["sex"] == "Sex"
    assert meta.variable_value_labels["sex"] == {1.0: "Female", 2.0: "Male"}
    frame, meta = pyreadstat.read_xport(str(folders["xpt"] / "lesion.xpt"))
    assert meta.table_name == "LESION"
    assert all(len(c) <= 8 for c in frame.columns)
    assert "value $" in (folders["xpt"] / "formats.sas").read_text(encoding="utf-8")
    if shutil.which("Rscript") is None:
        pytest.skip("Rscript is not installed (.ci/run installs r-cran-haven)")
    tsv = tmp_path / "haven.tsv"
    subprocess.run(
        ["Rscript", str(R_SCRIPT), str(folders["stata"]), str(folders["xpt"]), str(tsv)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    read = _haven(tsv, folders)
    for kind, folder in folders.items():
        assert set(read[kind]) == set(_pyreadstat(folder, kind))
        assert _compare(folder, kind, "haven", read[kind], want) > 100


def test_names_keep_within_the_limits() -> None:
    taken: set[str] = set()
    assert xpt_name("upper_limbs_erythema", taken) == "ULERYTHE"
    assert xpt_name("upper_limbs_erythema_x", taken) == "ULEX"
    assert xpt_name("ulerythe", taken) == "ULERYTH1"
    assert xpt_name("2nd", taken) == "_2ND"
    stata: set[str] = set()
    assert stata_name("in", stata) == "in_"
    long = "a" * 40
    assert stata_name(long, stata) == "a" * 32
    assert stata_name(long, stata) == "a" * 31 + "1"
    assert all(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,31}", n) for n in stata)


def test_text_over_200_bytes_is_counted_for_sas(tmp_path: Path) -> None:
    from trialkit.exports.readstat import _KEYS, Dataset, Variable, _typed_xpt, _write_xpt
    from trialkit.protocol import DataType

    keys = [
        Variable(name, label, key, DataType.DATE if key == "visit_date" else DataType.TEXT)
        for key, name, label in _KEYS["xpt"]
    ]
    ds = Dataset("F", "F", "F", [*keys, Variable("A", "A", "a", DataType.TEXT)])
    rows = [("P", "S", "A", "V", None, "1", text) for text in ("x" * 200, "ی" * 101, None)]
    # 101 Persian letters are 202 bytes in UTF-8
    assert _write_xpt(ds, [_typed_xpt(ds, rows)], tmp_path / "f.xpt") == 1
