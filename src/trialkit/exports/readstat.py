"""``stata`` (.dta) and ``xpt`` (SAS transport v5): one dataset per form, through pyreadstat.

Each form becomes one dataset: one row per form instance (and one per row of a repeating item
group; the plain items and derived scores sit on the instance's own row), the key variables
first (participant, site, arm, visit, visit date, instance), then one variable per item in the
form's order, then the derived scores.

* **Names** keep within the formats' limits, and the mapping is written beside the data
  (``names.csv``: dataset, variable, form, item, label). Stata: at most 32 characters of
  ``[A-Za-z0-9_]``, not starting with a digit, Stata's reserved words suffixed ``_``. XPT v5:
  at most 8 upper-case characters, labels cut to 40 characters, dataset names at most 8. A
  name already taken in the dataset gets a number (``PLAQUE_A`` -> ``PLAQUE_1``).
* **Types**: integers and decimals are numeric (binary doubles: 15 significant digits;
  the exact text stays in the CSV export); dates are dates (Stata ``%td``, SAS ``DATE9.``);
  date-times are date-times; booleans are 1/0; code-list items are numbers with value labels
  in Stata (``codes.csv`` maps number -> code -> label) and the code text in XPT, whose value
  labels are a SAS ``PROC FORMAT`` program (``formats.sas``), the transport format having no
  place for them; text is text.

Memory: the values are handed, a chunk of rows of one form at a time, to a typist, which types
each chunk's columns as they come and spools them to one file per form; each dataset is then
built from its typed chunks and written alone, so memory holds the largest single form, not
the study.

Writers: Stata through pyreadstat (``write_dta``); XPT with :mod:`trialkit.exports.xport`,
trialkit's own SAS transport v5 writer (numpy), whose files are byte for byte those pyreadstat's
``write_xport`` wrote from the data frame of the same values (the creation time aside). The
xpt typing makes no data frame: texts become UTF-8 byte arrays, numbers float64 arrays,
dates SAS day numbers (a date column holding a text that is not a date is written as text,
as pyreadstat wrote a mixed column).
"""

from __future__ import annotations

import contextlib
import csv
import math
import pickle
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from operator import itemgetter
from pathlib import Path
from typing import Any, Literal, cast

from trialkit.exports import xport
from trialkit.exports.base import ExportResult, Progress
from trialkit.exports.dictionary import codes
from trialkit.protocol import DataType, Item, Study
from trialkit.services.extract import Extract, Layout

__all__ = [
    "Dataset",
    "Variable",
    "stata_name",
    "write_stata",
    "write_xport",
    "write_xpt",
    "xpt_name",
]

Kind = Literal["stata", "xpt"]

_STATA_RESERVED = frozenset(
    {"_all", "_b", "byte", "_coef", "_cons", "double", "float", "if", "in", "int", "long"}
    | {"_n", "_N", "_pi", "_pred", "_rc", "_skip", "str", "strL", "using", "with"}
)
_KEYS: dict[Kind, tuple[tuple[str, str, str], ...]] = {
    "stata": (
        ("participant", "participant", "Participant"),
        ("site", "site", "Site"),
        ("arm", "arm", "Arm (BLINDED where masked)"),
        ("visit", "visit", "Visit"),
        ("visit_date", "visit_date", "Visit date"),
        ("instance", "instance", "Form instance (instance.row)"),
    ),
    "xpt": (
        ("participant", "SUBJID", "Participant"),
        ("site", "SITEID", "Site"),
        ("arm", "ARM", "Arm (BLINDED where masked)"),
        ("visit", "VISIT", "Visit"),
        ("visit_date", "VISITDT", "Visit date"),
        ("instance", "INSTANCE", "Form instance (instance.row)"),
    ),
}


def stata_name(text: str, taken: set[str]) -> str:
    """A Stata variable name for ``text`` not in ``taken`` (added to it)."""
    base = re.sub(r"[^A-Za-z0-9_]", "_", text) or "v"
    if base[0].isdigit():
        base = "_" + base
    if base in _STATA_RESERVED:
        base += "_"
    return _unique(base[:32], taken, 32)


def xpt_name(text: str, taken: set[str]) -> str:
    """A SAS v5 name (8 upper-case characters) for ``text`` not in ``taken`` (added to it).

    A longer name keeps the initials of its leading words and the start of its last word:
    ``upper_limbs_erythema`` -> ``ULERYTHE``, ``consent_date`` -> ``CDATE``.
    """
    base = re.sub(r"[^A-Z0-9_]", "_", text.upper()) or "V"
    words = [w for w in base.split("_") if w]
    if len(base) > 8 and len(words) > 1:
        base = "".join(w[0] for w in words[:-1])[:4] + words[-1]
    if base[0].isdigit():
        base = "_" + base
    return _unique(base[:8], taken, 8)


def _unique(base: str, taken: set[str], limit: int) -> str:
    name, n = base, 0
    while name.lower() in {t.lower() for t in taken}:
        n += 1
        suffix = str(n)
        name = base[: limit - len(suffix)] + suffix
    taken.add(name)
    return name


@dataclass
class Variable:
    """One variable of a dataset: its name, label, source item and type."""

    name: str
    label: str
    item: str
    data_type: DataType
    codes: dict[str, str] = field(default_factory=dict)


@dataclass
class Dataset:
    """One form's dataset: its name, label and variables (keys first)."""

    name: str
    form: str
    label: str
    variables: list[Variable]


def _items(study: Study, form_id: str) -> list[Item]:
    form = study.form(form_id)
    if form is None:
        return []
    plain = [i for i in form.items() if not i.derived]
    return plain + [i for i in form.items() if i.derived]


def plan(
    versions: dict[str, Study], newest: str, forms: Iterable[str], kind: Kind
) -> list[Dataset]:
    """The datasets of ``forms``, their variables named for ``kind``."""
    order = [newest, *sorted((v for v in versions if v != newest), reverse=True)]
    names: set[str] = set()
    out = []
    for form_id in forms:
        study = next((versions[v] for v in order if versions[v].form(form_id)), versions[newest])
        form = study.form(form_id)
        seen: set[str] = set()
        taken: set[str] = set()
        variables = []
        for key, name, label in _KEYS[kind]:
            taken.add(name)
            dt = DataType.DATE if key == "visit_date" else DataType.TEXT
            variables.append(Variable(name, label, key, dt))
        for version in order:
            for item in _items(versions[version], form_id):
                if item.name in seen:
                    continue
                seen.add(item.name)
                namer = stata_name if kind == "stata" else xpt_name
                label = item.label if kind == "stata" else item.label[:40]
                variables.append(
                    Variable(
                        namer(item.name, taken),
                        label[:80],
                        item.name,
                        item.data_type,
                        codes(versions[version], item),
                    )
                )
        ds_name = (
            stata_name(form_id.lower(), names) if kind == "stata" else xpt_name(form_id, names)
        )
        title = form.name if form is not None else form_id
        out.append(
            Dataset(ds_name, form_id, title[:80] if kind == "stata" else title[:40], variables)
        )
    return out


_KEY_COUNT = 6  # participant, site, arm, visit, visit date, instance: the first variables
_SPOOL_ROWS = 2_000  # rows of one form written to its spool at a time
_PICKS = 10_000  # the most layouts whose picks are held at once


def _pick(
    layout: Layout, position: dict[str, int], width: int
) -> Callable[[list[str | None]], tuple[str | None, ...]] | None:
    """For a shared layout whose cells are all of one dataset row: what takes the item
    variables' values, in the dataset's order, out of the instance's texts followed by None
    (None where no cell has the variable; of two cells of one item, the later, as the general
    spool keeps it). None for a layout of more than one row."""
    if len({c[0] for c in layout.cells}) > 1:
        return None
    none = len(layout.cells)  # the None after the texts
    at = [none] * (width - _KEY_COUNT)
    for i, c in enumerate(layout.cells):
        n = position.get(c[2])
        if n is not None:
            at[n - _KEY_COUNT] = i
    if len(at) > 1:
        return itemgetter(*at)
    return lambda texts: tuple(texts[i] for i in at)


def _spool(
    extract: Extract, sink: _Typist, progress: Progress, kind: Kind
) -> tuple[int, list[str]]:
    """The values handed to ``sink`` a chunk of rows of one form at a time, one row per dataset
    row: the key texts, then each item variable's stored text (None where the row has none),
    in the dataset's variable order (the form's dataset is given to ``sink`` first). Returns
    how many values, and the forms that had any (as first seen)."""
    pending: dict[str, list[Sequence[str | None]]] = {}
    slots: dict[str, tuple[dict[str, int], int]] = {}  # form -> item -> position, width
    picks: dict[int, Callable[[list[str | None]], tuple[str | None, ...]] | None] = {}
    newest = extract.study.protocol_version
    total, count = extract.form_count(), 0

    def flush(form: str) -> None:
        rows = pending[form]
        if rows:
            sink.rows(form, rows)
            pending[form] = []

    # closed on an error too (a server-side cursor is closed in its transaction)
    with contextlib.closing(extract.records()) as records:
        for done, rec in enumerate(records, start=1):
            texts = rec.texts
            if texts:
                form = rec.form
                slot = slots.get(form)
                if slot is None:
                    (ds,) = plan(extract.versions, newest, [form], kind)
                    slot = slots[form] = (
                        {v.item: n for n, v in enumerate(ds.variables) if n >= _KEY_COUNT},
                        len(ds.variables),
                    )
                    sink.dataset(form, ds)
                    pending[form] = []
                position, width = slot
                p = rec.person
                waiting = pending[form]
                layout = rec.layout
                pick = picks.get(layout.id) if layout.shared else None
                if layout.shared and pick is None:
                    if len(picks) >= _PICKS:  # bounded memory
                        picks.clear()
                    pick = picks[layout.id] = _pick(layout, position, width)
                if pick is not None:  # the instance's one row, its variables picked at once
                    keys = (p.code, p.site, p.arm, rec.visit, rec.visit_date or None)
                    waiting.append((*keys, rec.instance, *pick([*texts, None])))
                else:
                    rows: dict[str, list[str | None]] = {}
                    for c in rec.cells + rec.derived:
                        row = rows.get(c[0])
                        if row is None:
                            row = rows[c[0]] = [None] * width
                            row[:_KEY_COUNT] = (
                                p.code, p.site, p.arm, rec.visit, rec.visit_date or None, c[0]
                            )  # fmt: skip
                        n = position.get(c[2])
                        if n is not None:
                            row[n] = c[3]
                    waiting.extend(rows.values())
                count += len(texts)
                if len(waiting) >= _SPOOL_ROWS:
                    flush(form)
            if done % 200 == 0 or done == total:
                progress(done, total)
    for form in pending:
        flush(form)
    return count, list(pending)


def _cell(var: Variable, text: str | None, kind: Kind) -> Any:
    if text is None or text == "":
        return None
    t = var.data_type
    try:
        if t in (DataType.INTEGER, DataType.DECIMAL):
            return float(text)
        if t is DataType.DATE:
            return date.fromisoformat(text[:10])
        if t is DataType.DATETIME:
            return datetime.fromisoformat(text)
        if t is DataType.BOOLEAN:
            return 1.0 if text == "true" else 0.0
    except ValueError:
        return text
    if t is DataType.CODE and kind == "stata" and var.codes and text in var.codes:
        return float(list(var.codes).index(text) + 1)
    return text


def _coerce(text: str) -> float:
    """What ``pd.to_numeric(errors="coerce")`` makes of a text ``float`` refused."""
    import pandas as pd

    return float(pd.to_numeric(pd.Series([text], dtype=object), errors="coerce").iloc[0])


def _floats(texts: Iterable[str | None]) -> list[float]:
    """Numbers: ``float`` of each text, NaN where there is none (as :func:`_cell` and then
    ``pd.to_numeric(errors="coerce")`` make them)."""
    out = []
    for t in texts:
        if t is None or t == "":
            out.append(math.nan)
            continue
        try:
            out.append(float(t))
        except ValueError:
            out.append(_coerce(t))
    return out


def _column(var: Variable, texts: list[str | None], kind: Kind) -> Any:
    """A chunk of one item variable's column, typed as :func:`_frame` leaves it (numbers as a
    float array; anything else as a list of cells). Each cell is typed on its own, so the
    chunks of a column typed apart and joined are the column typed at once."""
    import numpy as np

    t = var.data_type
    if t is DataType.BOOLEAN:
        return np.array(
            [math.nan if x is None or x == "" else 1.0 if x == "true" else 0.0 for x in texts],
            dtype="float64",
        )
    if t in (DataType.INTEGER, DataType.DECIMAL):
        try:  # every text a number: float() of each, at C speed
            if None not in texts and "" not in texts:  # (two scans at C speed)
                every = cast("list[str]", texts)
                return np.fromiter(map(float, every), dtype="float64", count=len(every))
            return np.array(list(map(float, [x or "nan" for x in texts])), dtype="float64")
        except ValueError:
            return np.array(_floats(texts), dtype="float64")
    if _numeric(var, kind):  # a code list item in Stata: the code's number
        number = {code: float(n) for n, code in enumerate(var.codes, start=1)}
        return np.array(
            [
                math.nan if x is None or x == "" else number[x] if x in number else _coerce(x)
                for x in texts
            ],
            dtype="float64",
        )
    if t in (DataType.DATE, DataType.DATETIME):
        return [_cell(var, x, kind) for x in texts]
    return ["" if x is None else x for x in texts]


def _typed(ds: Dataset, rows: Sequence[Sequence[str | None]], kind: Kind) -> list[Any]:
    """A chunk of a form's spooled rows as the dataset's columns, each typed (:func:`_column`;
    the key texts as they are, the visit dates parsed once per distinct date)."""
    columns: list[Any] = []
    date_var = ds.variables[4]
    for n, (v, values) in enumerate(zip(ds.variables, zip(*rows, strict=True), strict=True)):
        if n == 4:  # the visit dates: few distinct ones, each parsed once
            dates = {x: _cell(date_var, x, kind) for x in set(values)}
            columns.append(list(map(dates.__getitem__, values)))
        elif n < _KEY_COUNT:
            columns.append(list(values))
        else:
            columns.append(_column(v, list(values), kind))
    return columns


_SAS_EPOCH = date(1960, 1, 1)
_SAS_SECONDS = 315_619_200.0  # 1960-01-01 to 1970-01-01
_XPT_ROWS = 20_000  # observations made into records at a time


def _dates(var: Variable, values: Sequence[str | None]) -> Any:
    """A chunk of a date column for xpt: SAS day numbers (float64, NaN where empty), each
    distinct text parsed once; or, if a text is not a date, the cells as :func:`_cell` makes
    them (the column is then written as text, as pyreadstat writes a mixed column)."""
    import numpy as np

    cells = {x: _cell(var, x, "xpt") for x in set(values)}
    if any(isinstance(c, str) for c in cells.values()):
        return list(map(cells.__getitem__, values))
    days = {x: math.nan if c is None else float((c - _SAS_EPOCH).days) for x, c in cells.items()}
    return np.fromiter(map(days.__getitem__, values), dtype="float64", count=len(values))


def _typed_xpt(ds: Dataset, rows: Sequence[Sequence[str | None]]) -> list[Any]:
    """A chunk of a form's spooled rows as xpt columns: texts as UTF-8 bytes (numpy ``S``
    arrays), numbers as float64 (:func:`_column`), dates as SAS day numbers (:func:`_dates`),
    date-times as their cells (typed when the dataset is written, as a whole column)."""
    columns: list[Any] = []
    for n, (v, values) in enumerate(zip(ds.variables, zip(*rows, strict=True), strict=True)):
        if v.data_type is DataType.DATE:  # the visit dates (n == 4) and the date items
            columns.append(_dates(v, values))
        elif n < _KEY_COUNT or not (_numeric(v, "xpt") or v.data_type is DataType.DATETIME):
            columns.append(xport.text_bytes(values))
        elif v.data_type is DataType.DATETIME:
            columns.append([_cell(v, x, "xpt") for x in values])
        else:
            columns.append(_column(v, list(values), "xpt"))
    return columns


def _texts(cells: list[Any]) -> Any:
    """Cells written as text, as pyreadstat writes an object column: ``str`` of each, None as
    missing (spaces)."""
    return xport.text_bytes([None if c is None else c if type(c) is str else str(c) for c in cells])


def _datetimes(cells: list[Any]) -> tuple[Any, bool, str]:
    """A date-time column as pyreadstat writes the frame column pandas makes of ``cells``:
    (values, numeric, format)."""
    import numpy as np
    import pandas as pd

    series = pd.DataFrame({"x": cells})["x"]
    if series.isna().all():  # no value: a numeric column (no format: only dates get one)
        return np.full(len(cells), math.nan), True, ""
    if series.dtype.kind == "M":  # datetime64: as pyreadstat converts it
        per = {"ns": 1e9, "us": 1e6, "ms": 1e3}[series.dt.unit]
        ticks = series.astype("int64").to_numpy().astype("float64")
        values = (np.floor_divide(ticks, per) + _SAS_SECONDS) + np.mod(ticks, per) / per
        values[series.isna().to_numpy()] = math.nan
        return values, True, "DATETIME"
    present = [c for c in cells if c is not None]
    if all(type(c) is datetime for c in present):
        seconds = [
            math.nan if c is None else c.replace(tzinfo=UTC).timestamp() + _SAS_SECONDS
            for c in cells
        ]
        return np.array(seconds, dtype="float64"), True, "DATETIME"
    return _texts(cells), False, ""


def _write_xpt(
    ds: Dataset, chunks: Iterable[list[Any]], path: Path, created: datetime | None = None
) -> int:
    """Write one form's dataset from its typed chunks (:func:`_typed_xpt`) with
    :mod:`trialkit.exports.xport`: the file pyreadstat wrote from the data frame of the
    same values. Returns how many texts are longer than 200 bytes."""
    import numpy as np

    parts: list[list[Any]] = [[] for _ in ds.variables]
    for chunk in chunks:
        for column, part in zip(parts, chunk, strict=True):
            column.append(part)
    variables: list[xport.XportVariable] = []
    columns: list[Any] = []
    long_text = 0
    for v, column in zip(ds.variables, parts, strict=True):
        numeric, form = True, "DATE9" if v.data_type is DataType.DATE else ""
        if not column:
            values: Any = np.zeros(0, dtype="float64")
            numeric = v.data_type is DataType.DATE or _numeric(v, "xpt")
            if not numeric:
                values = np.zeros(0, dtype="S1")
        elif v.data_type is DataType.DATETIME:
            values, numeric, form = _datetimes([c for part in column for c in part])
        elif v.data_type is DataType.DATE and any(isinstance(p, list) for p in column):
            cells = [
                c
                for p in column
                for c in (
                    p
                    if isinstance(p, list)
                    else [
                        None if math.isnan(d) else _SAS_EPOCH + timedelta(days=int(d))
                        for d in p.tolist()
                    ]
                )
            ]
            values, numeric = _texts(cells), False
        else:
            values = np.concatenate(column) if len(column) > 1 else column[0]
            numeric = values.dtype.kind == "f"
        if not numeric:
            long_text += int((np.strings.str_len(values) > 200).sum())
        variables.append(xport.XportVariable(v.name, v.label, numeric, form))
        columns.append(values)
    widths = [
        8 if x.numeric else xport.text_width(c) for x, c in zip(variables, columns, strict=True)
    ]
    with path.open("wb") as fh:
        writer = xport.XportWriter(
            fh, variables, widths, name=ds.name, label=ds.label, created=created
        )
        rows = len(columns[0]) if columns else 0
        for at in range(0, rows, _XPT_ROWS):
            writer.rows([c[at : at + _XPT_ROWS] for c in columns])
        writer.close()
    return long_text


def _frame(ds: Dataset, chunks: Iterable[list[Any]], kind: Kind) -> Any:
    """The dataset of one form from its typed chunks (:func:`_typed`), joined column by
    column."""
    import numpy as np
    import pandas as pd

    columns: list[list[Any]] = [[] for _ in ds.variables]
    for chunk in chunks:
        for column, part in zip(columns, chunk, strict=True):
            column.append(part)
    data: dict[str, Any] = {}
    for n, v in enumerate(ds.variables):
        parts = columns[n]
        if (
            n != 4
            and (n < _KEY_COUNT or not _numeric(v, kind))
            and v.data_type
            not in (
                DataType.DATE,
                DataType.DATETIME,
            )
        ):
            # texts as Python objects (pandas would make its own string type of them, which
            # pyreadstat, walking every cell, walks through a Python __getitem__ per cell)
            data[v.name] = pd.Series([x for part in parts for x in part], dtype=object)
        elif n >= _KEY_COUNT and _numeric(v, kind):
            data[v.name] = np.concatenate(parts) if len(parts) > 1 else parts[0]
        else:
            data[v.name] = [x for part in parts for x in part]
        columns[n] = []  # the chunks are no longer needed
    frame = pd.DataFrame(data)
    for v in ds.variables:
        if v.data_type in (DataType.DATE, DataType.DATETIME) and frame[v.name].isna().all():
            # no value at all: a numeric column (with the date format) rather than text
            frame[v.name] = frame[v.name].astype("float64")
    for v in ds.variables[_KEY_COUNT:]:
        if v.data_type not in (DataType.DATE, DataType.DATETIME) and not _numeric(v, kind):
            frame[v.name] = frame[v.name].astype(object)
    return frame


def _numeric(v: Variable, kind: Kind) -> bool:
    if v.data_type in (DataType.INTEGER, DataType.DECIMAL, DataType.BOOLEAN):
        return True
    return v.data_type is DataType.CODE and kind == "stata" and bool(v.codes)


def _value_labels(ds: Dataset) -> dict[str, dict[float, str]]:
    out: dict[str, dict[float, str]] = {}
    for v in ds.variables:
        if v.data_type is DataType.BOOLEAN:
            out[v.name] = {1.0: "true", 0.0: "false"}
        elif v.data_type is DataType.CODE and v.codes:
            out[v.name] = {float(n): label for n, label in enumerate(v.codes.values(), start=1)}
    return out


class _Typist:
    """The rows of each form typed a chunk at a time (:func:`_typed`, :func:`_typed_xpt`) and
    spooled (pickled, length-prefixed) to one file per form; then each form's dataset built
    from its chunks and written, one dataset at a time (memory holds the largest form's
    typed columns, not the study). The written files are first ``.part`` files, renamed when
    whole; on a failure the files this typist wrote are removed (an export that fails leaves
    no file that looks whole)."""

    def __init__(self, folder: Path, kind: Kind) -> None:
        self._folder = folder
        self._kind = kind
        self._datasets: dict[str, Dataset] = {}
        self._files: dict[str, Path] = {}
        self._handles: dict[str, Any] = {}

    def dataset(self, form: str, ds: Dataset) -> None:
        self._datasets[form] = ds
        self._files[form] = self._folder / f"{len(self._files)}.spool"
        self._handles[form] = self._files[form].open("wb")

    def rows(self, form: str, rows: list[Sequence[str | None]]) -> None:
        ds = self._datasets[form]
        typed = _typed_xpt(ds, rows) if self._kind == "xpt" else _typed(ds, rows, self._kind)
        chunk = pickle.dumps(typed, protocol=5)
        self._handles[form].write(len(chunk).to_bytes(8, "little") + chunk)

    def close(self) -> None:
        for h in self._handles.values():
            h.close()

    def _chunks(self, form: str) -> Iterator[list[Any]]:
        # each chunk is its length, then its bytes: loads of the whole chunk is many times
        # faster than load, which reads a file object piece by piece
        with self._files[form].open("rb") as fh:
            while size := int.from_bytes(fh.read(8), "little"):
                yield pickle.loads(fh.read(size))

    def write(self, datasets: list[Dataset], out: Path) -> tuple[list[Path], list[str]]:
        """Write the datasets (in this order) into ``out``: the files and the notes."""
        self.close()
        kind = self._kind
        files: list[Path] = []
        notes: list[str] = []
        try:
            for ds in datasets:
                path = out / (f"{ds.name}.dta" if kind == "stata" else f"{ds.name.lower()}.xpt")
                part = path.with_name(path.name + ".part")
                files.append(path)
                if kind == "xpt":
                    long_text = _write_xpt(ds, self._chunks(ds.form), part)
                    if long_text:
                        notes.append(
                            f"{ds.name}: {long_text} text value(s) longer than 200 bytes (SAS's "
                            "V5 transport engine reads at most 200; pyreadstat and R read them "
                            "whole, and the csv export keeps them)"
                        )
                else:
                    frame = _frame(ds, self._chunks(ds.form), kind)
                    _write_stata(frame, ds, part)
                    del frame
                part.replace(path)
        except BaseException:
            for path in files:
                path.unlink(missing_ok=True)
                path.with_name(path.name + ".part").unlink(missing_ok=True)
            raise
        return files, notes


def _write_stata(frame: Any, ds: Dataset, path: Path) -> None:
    import pyreadstat

    pyreadstat.write_dta(
        frame,
        str(path),
        file_label=ds.label,
        column_labels=[v.label for v in ds.variables],
        variable_value_labels=_value_labels(ds),
        variable_format={v.name: "%td" for v in ds.variables if v.data_type is DataType.DATE},
    )


def _write(extract: Extract, out: Path, progress: Progress, kind: Kind) -> ExportResult:
    result = ExportResult(kind, participants=len(extract.people))
    with tempfile.TemporaryDirectory(prefix="trialkit-export-") as tmp:
        typist = _Typist(Path(tmp), kind)
        try:
            result.values, seen = _spool(extract, typist, progress, kind)
            forms = [f.id for f in extract.study.forms if f.id in seen]
            forms += sorted(f for f in seen if f not in forms)
            datasets = plan(extract.versions, extract.study.protocol_version, forms, kind)
            files, result.notes = typist.write(datasets, out)
        finally:
            typist.close()
    result.files += files
    result.files += _mapping(datasets, out, kind)
    return result


def write_xport(
    frame: Any,
    path: Path,
    name: str,
    label: str,
    labels: list[str | None],
    formats: dict[str, str] | None = None,
) -> None:
    """Write one data frame as a SAS transport v5 file (the ``sdtm`` writer), with
    :mod:`trialkit.exports.xport`: the file pyreadstat's ``write_xport`` writes for the frame.
    Float and integer columns are numbers (NaN missing), any other column text (``str`` of
    each value; a missing value, None or NaN, as spaces)."""
    import pandas as pd

    formats = formats or {}
    variables, columns = [], []
    for column, lab in zip(frame.columns, labels, strict=True):
        series = frame[column]
        numeric = series.dtype.kind in "fiub"
        variables.append(xport.XportVariable(column, lab, numeric, formats.get(column, "")))
        if numeric:
            columns.append(series.to_numpy(dtype="float64"))
        else:
            cells = series.tolist()
            missing = pd.isna(series).tolist()
            columns.append(
                xport.text_bytes(
                    [
                        None if m else x if type(x) is str else str(x)
                        for x, m in zip(cells, missing, strict=True)
                    ]
                )
            )
    xport.write_xport(path, variables, columns, name=name, label=label)


def _mapping(datasets: list[Dataset], out: Path, kind: Kind) -> list[Path]:
    names = out / "names.csv"
    with names.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["dataset", "variable", "form", "item", "type", "label"])
        for ds in datasets:
            for v in ds.variables:
                w.writerow([ds.name, v.name, ds.form, v.item, v.data_type.value, v.label])
    files = [names]
    if kind == "stata":
        coded = out / "codes.csv"
        with coded.open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(["dataset", "variable", "number", "code", "label"])
            for ds in datasets:
                for v in ds.variables:
                    for n, (code, label) in enumerate(v.codes.items(), start=1):
                        w.writerow([ds.name, v.name, n, code, label])
        files.append(coded)
    else:
        sas = out / "formats.sas"
        lines = [
            "/* Value labels of the code-list variables (trialkit export --format xpt): run this,",
            "   then attach each format in a DATA step with the FORMAT statements below. */",
            "proc format;",
        ]
        uses: list[str] = []
        n = 0
        for ds in datasets:
            for v in ds.variables:
                if v.codes:
                    n += 1
                    name = f"CL{n:03d}X"
                    lines.append(f"  value ${name}")
                    for code, label in v.codes.items():
                        lines.append(f"    '{_sas(code)}' = '{_sas(label)}'")
                    lines.append("  ;")
                    uses.append(f"/* {ds.name}: */ format {v.name} ${name}.;")
        lines.append("run;")
        sas.write_text("\n".join([*lines, *uses]) + "\n", encoding="utf-8")
        files.append(sas)
    return files


def _sas(text: str) -> str:
    return text.replace("'", "''")


def write_stata(extract: Extract, out: Path, progress: Progress) -> ExportResult:
    """One Stata .dta file per form (format 118), with names.csv and codes.csv."""
    return _write(extract, out, progress, "stata")


def write_xpt(extract: Extract, out: Path, progress: Progress) -> ExportResult:
    """One SAS transport v5 file per form, with names.csv and formats.sas."""
    return _write(extract, out, progress, "xpt")
