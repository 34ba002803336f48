"""The native transport v5 writer (trialkit.exports.xport): whole files byte for byte those of
``pyreadstat.write_xport(..., file_format_version=5)`` for the same values, names, labels,
formats, table name and file label (the creation time taken from pyreadstat's file), on frames
drawn by Hypothesis and fixed ones; and read back by pyreadstat."""

from __future__ import annotations

import math
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trialkit.exports.xport import (
    XportVariable,
    XportWriter,
    ibm_doubles,
    text_bytes,
    timestamp,
    write_xport,
)

pyreadstat = pytest.importorskip("pyreadstat")
pd = pytest.importorskip("pandas")

SAS_EPOCH = date(1960, 1, 1)


def _created(data: bytes) -> datetime:
    """The creation time pyreadstat wrote (the library's real header, bytes 64-80)."""
    text = data[80 + 64 : 80 + 80].decode("ascii")
    return datetime.strptime(text.title(), "%d%b%y:%H:%M:%S")


def _both(
    tmp: Path,
    columns: dict[str, tuple[str, list[Any]]],
    labels: list[str | None] | None,
    name: str | None,
    label: str,
) -> tuple[bytes, bytes]:
    """pyreadstat's file and ours for ``columns`` (name -> (kind, cells); kind ``num``,
    ``int``, ``date``, ``text``, ``datetime``)."""
    data: dict[str, Any] = {}
    formats: dict[str, str] = {}
    variables, ours = [], []
    for n, (col, (kind, cells)) in enumerate(columns.items()):
        lab = labels[n] if labels else None
        if kind == "num":
            data[col] = np.array(cells, dtype="float64")
            ours.append(np.array(cells, dtype="float64"))
            variables.append(XportVariable(col, lab))
        elif kind == "int":
            data[col] = np.array(cells, dtype="int64")
            ours.append(np.array(cells, dtype="float64"))
            variables.append(XportVariable(col, lab))
        elif kind == "date":
            # as the xpt export gives them: no date at all, a numeric column (with the format)
            data[col] = (
                pd.Series(cells, dtype=object)
                if any(d is not None for d in cells)
                else np.full(len(cells), math.nan)
            )
            formats[col] = "DATE9"
            days = [math.nan if d is None else float((d - SAS_EPOCH).days) for d in cells]
            ours.append(np.array(days, dtype="float64"))
            variables.append(XportVariable(col, lab, True, "DATE9"))
        else:
            data[col] = pd.Series(cells, dtype=object)
            ours.append(text_bytes(cells))
            variables.append(XportVariable(col, lab, False))
    theirs = tmp / "theirs.xpt"
    pyreadstat.write_xport(
        pd.DataFrame(data),
        str(theirs),
        file_label=label,
        column_labels=labels,
        table_name=name,
        file_format_version=5,
        variable_format=formats,
    )
    ref = theirs.read_bytes()
    mine = tmp / "mine.xpt"
    write_xport(mine, variables, ours, name=name or "", label=label, created=_created(ref))
    return ref, mine.read_bytes()


def _records(ref: bytes, got: bytes) -> None:
    """The first differing 80-byte record, for a readable failure."""
    for at in range(0, max(len(ref), len(got)), 80):
        assert ref[at : at + 80] == got[at : at + 80], f"record {at // 80}"
    assert ref == got


CHARS = st.characters(exclude_characters="\0", exclude_categories=["Cs"])
NAMES = st.from_regex(r"[A-Z_][A-Z0-9_]{0,7}", fullmatch=True).filter(
    lambda n: n not in ("_N_", "_ALL_")
)
FLOATS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 5e-324, 2.2250738585072014e-308, 1e-80, 1e75, 1e76, -1e300]),
    st.integers(-(10**15), 10**15).map(float),
)
TEXTS = st.one_of(st.none(), st.just(""), st.text(CHARS))
DATES = st.one_of(st.none(), st.dates(date(1582, 10, 15), date(9999, 12, 31)))


@st.composite
def frames(draw: st.DrawFn) -> tuple[dict[str, tuple[str, list[Any]]], list[str | None] | None]:
    rows = draw(st.integers(0, 25))
    names = draw(st.lists(NAMES, min_size=1, max_size=6, unique_by=str.upper))
    columns: dict[str, tuple[str, list[Any]]] = {}
    for col in names:
        kind = draw(st.sampled_from(["num", "int", "date", "text"]))
        cells: st.SearchStrategy[Any] = {
            "num": FLOATS,
            "int": st.integers(-(2**53), 2**53),
            "date": DATES,
            "text": TEXTS,
        }[kind]
        columns[col] = (kind, draw(st.lists(cells, min_size=rows, max_size=rows)))
    labels = draw(
        st.none()
        | st.lists(
            st.none() | st.text(CHARS, max_size=60),
            min_size=len(names),
            max_size=len(names),
        )
    )
    return columns, labels


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    frame=frames(),
    name=st.none() | NAMES,
    label=st.text(CHARS, max_size=50),
)
def test_the_same_file_as_pyreadstat(
    tmp_path_factory: pytest.TempPathFactory,
    frame: tuple[dict[str, tuple[str, list[Any]]], list[str | None] | None],
    name: str | None,
    label: str,
) -> None:
    columns, labels = frame
    ref, got = _both(tmp_path_factory.mktemp("x"), columns, labels, name, label)
    _records(ref, got)


def test_fixed_cases(tmp_path: Path) -> None:
    columns = {
        "SUBJID": ("text", ["P-001", "P-002", None, "héllo wörld", ""]),
        "VISITDT": ("date", [date(2024, 1, 2), None, date(1960, 1, 1), date(1959, 12, 31), None]),
        "SYSBP": ("num", [120.0, math.nan, -0.5, 1e-300, math.inf]),
        "COUNT": ("int", [0, 1, -1, 2**31, 7]),
        "LONG": ("text", ["x" * 250, "y", None, "z", "é" * 120]),
    }
    labels = [
        "Participant",
        None,
        "Systolic blood pressure (mmHg), seated, after rest",
        "n",
        "ü" * 30,
    ]
    ref, got = _both(tmp_path, columns, labels, "VITALS", "Vital signs, a label over forty bytes")
    _records(ref, got)
    frame, meta = pyreadstat.read_xport(str(tmp_path / "mine.xpt"))
    assert list(frame["SUBJID"]) == ["P-001", "P-002", "", "héllo wörld", ""]
    assert frame["SYSBP"][0] == 120.0
    assert math.isnan(frame["SYSBP"][1])
    assert meta.table_name == "VITALS"
    assert len(frame["LONG"][0]) == 250


def test_no_rows_and_one_column(tmp_path: Path) -> None:
    for columns in ({"A": ("num", [])}, {"T": ("text", [])}, {"T": ("text", [None, None])}):
        ref, got = _both(tmp_path, columns, None, None, "")
        _records(ref, got)


def test_datetimes_as_pyreadstat_writes_them(tmp_path: Path) -> None:
    cells = [datetime(2024, 3, 1, 10, 30, 5), None, datetime(1959, 12, 31, 23, 59, 59)]
    pyreadstat.write_xport(
        pd.DataFrame({"DT": pd.Series(cells, dtype=object)}),
        str(tmp_path / "theirs.xpt"),
        file_format_version=5,
    )
    ref = (tmp_path / "theirs.xpt").read_bytes()
    seconds = [math.nan if c is None else (c - datetime(1960, 1, 1)).total_seconds() for c in cells]
    write_xport(
        tmp_path / "mine.xpt",
        [XportVariable("DT", None, True, "DATETIME")],
        [np.array(seconds)],
        created=_created(ref),
    )
    _records(ref, (tmp_path / "mine.xpt").read_bytes())


def test_chunks_make_the_file_of_one_write(tmp_path: Path) -> None:
    variables = [XportVariable("N"), XportVariable("T", "text", False)]
    texts = [f"t{n}" * (n % 4) for n in range(1001)]
    numbers = np.arange(1001, dtype="float64") / 7
    when = datetime(2026, 12, 2, 14, 37, 8)
    write_xport(tmp_path / "one.xpt", variables, [numbers, texts], name="D", created=when)
    with (tmp_path / "chunks.xpt").open("wb") as fh:
        writer = XportWriter(fh, variables, [8, 12], name="D", created=when)
        for at in range(0, 1001, 300):
            writer.rows([numbers[at : at + 300], text_bytes(texts[at : at + 300])])
        writer.close()
    assert (tmp_path / "one.xpt").read_bytes() == (tmp_path / "chunks.xpt").read_bytes()


def test_ibm_doubles_and_times() -> None:
    words = ibm_doubles(np.array([1.0, -1.0, 0.5, 100.0, math.nan, 0.0]))
    assert [f"{w:016X}" for w in words] == [
        "4110000000000000",
        "C110000000000000",
        "4080000000000000",
        "4264000000000000",
        "2E00000000000000",
        "0000000000000000",
    ]
    assert timestamp(datetime(2026, 12, 2, 4, 5, 6)) == b"02DEC26:04:05:06"


def test_bad_names_and_long_texts_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="variable name"):
        write_xport(tmp_path / "x.xpt", [XportVariable("TOOLONGNAME")], [[1.0]])
    with pytest.raises(ValueError, match="dataset name"):
        write_xport(tmp_path / "x.xpt", [XportVariable("A")], [[1.0]], name="9BAD")
    with (tmp_path / "y.xpt").open("wb") as fh:
        writer = XportWriter(fh, [XportVariable("T", None, False)], [2])
        with pytest.raises(ValueError, match="longer"):
            writer.rows([text_bytes(["abc"])])


# The xpt export's own path (trialkit.exports.readstat): its typed chunks written natively give
# the file the data frame of the same rows (readstat._typed and _frame, as the stata export
# still builds it) gave through pyreadstat.

from trialkit.exports import readstat  # noqa: E402
from trialkit.protocol import DataType  # noqa: E402

_ITEMS = [
    ("COUNT", DataType.INTEGER),
    ("DOSE", DataType.DECIMAL),
    ("DONE", DataType.BOOLEAN),
    ("ONSET", DataType.DATE),
    ("TAKEN", DataType.DATETIME),
    ("NOTE", DataType.TEXT),
    ("SEVERITY", DataType.CODE),
]
_DATASET = readstat.Dataset(
    "LABS",
    "LABS",
    "Laboratory results, a form with a long name",
    [
        readstat.Variable(name, label, key, DataType.DATE if key == "visit_date" else DataType.TEXT)
        for key, name, label in readstat._KEYS["xpt"]
    ]
    + [readstat.Variable(n, f"{n.title()} — label", n.lower(), t) for n, t in _ITEMS],
)
_CELLS: dict[DataType, st.SearchStrategy[str | None]] = {
    DataType.INTEGER: st.one_of(st.none(), st.just(""), st.integers(-(10**12), 10**12).map(str)),
    DataType.DECIMAL: st.one_of(
        st.none(),
        st.floats(allow_nan=False, allow_infinity=False).map(repr),
        st.sampled_from(["1.50", "-0", "1e-310", "abc", "nan", "inf"]),
    ),
    DataType.BOOLEAN: st.sampled_from([None, "", "true", "false"]),
    DataType.DATE: st.one_of(
        st.none(), st.just(""), st.dates().map(date.isoformat), st.sampled_from(["2024-13-01"])
    ),
    DataType.DATETIME: st.one_of(
        st.none(),
        st.datetimes(datetime(1900, 1, 1), datetime(2100, 1, 1)).map(datetime.isoformat),
        st.sampled_from(["2024-03-01T10:00:00+01:00", "not a time"]),
    ),
    DataType.TEXT: st.one_of(st.none(), st.text(CHARS, max_size=30)),
    DataType.CODE: st.sampled_from([None, "", "MILD", "SEVERE"]),
}


@st.composite
def spooled(draw: st.DrawFn) -> list[tuple[str | None, ...]]:
    """Spooled rows of the dataset: the key texts, then each item's stored text."""
    count = draw(st.integers(1, 12))
    visit_dates = st.one_of(st.none(), st.dates(date(2020, 1, 1), date(2030, 1, 1)).map(str))
    # a column drawn alike throughout or all of a kind (all datetimes, all empty...)
    alike = draw(st.sets(st.sampled_from([t for _, t in _ITEMS])))
    rows = []
    for n in range(count):
        keys = (f"P-{n:03d}", "S1", draw(st.sampled_from(["A", "B", "BLINDED"])), "V1")
        row = [*keys, draw(visit_dates), f"{n}.1"]
        for _, t in _ITEMS:
            row.append(draw(_CELLS[t]) if t not in alike or n == 0 else rows[0][len(row)])
        rows.append(tuple(row))
    return rows


def _by_pyreadstat(rows: list[tuple[str | None, ...]], chunk: int, path: Path) -> None:
    chunks = [
        readstat._typed(_DATASET, rows[a : a + chunk], "xpt") for a in range(0, len(rows), chunk)
    ]
    frame = readstat._frame(_DATASET, chunks, "xpt")
    pyreadstat.write_xport(
        frame,
        str(path),
        file_label=_DATASET.label,
        column_labels=[v.label for v in _DATASET.variables],
        table_name=_DATASET.name,
        file_format_version=5,
        variable_format={
            v.name: "DATE9" for v in _DATASET.variables if v.data_type is DataType.DATE
        },
    )


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=spooled(), chunk=st.integers(1, 5))
def test_the_export_writes_what_pyreadstat_wrote(
    tmp_path_factory: pytest.TempPathFactory, rows: list[tuple[str | None, ...]], chunk: int
) -> None:
    tmp = tmp_path_factory.mktemp("e")
    _by_pyreadstat(rows, chunk, tmp / "theirs.xpt")
    ref = (tmp / "theirs.xpt").read_bytes()
    chunks = [
        readstat._typed_xpt(_DATASET, rows[a : a + chunk]) for a in range(0, len(rows), chunk)
    ]
    readstat._write_xpt(_DATASET, chunks, tmp / "mine.xpt", created=_created(ref))
    _records(ref, (tmp / "mine.xpt").read_bytes())
