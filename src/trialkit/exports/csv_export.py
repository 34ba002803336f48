"""``csv``: the values long (one row per value) and wide (one row per participant and visit),
with the data dictionary beside them.

* ``long.csv``: ``participant, site, arm, visit, visit_date, form, instance, group, item,
  value, unit, missing_reason, protocol_version``, one row per value as the extract streams it
  (a blinded caller's ``arm`` is ``BLINDED``).
* ``wide.csv``: ``participant, site, arm, visit, visit_date`` and one column per
  ``FORM.item`` seen (``FORM.item[2]`` for the second instance of a repeating form,
  ``FORM.item[1.3]`` for row 3 of a repeating group), the columns in the dictionary's order.
  Its rows are spooled (one CSV line per participant and visit, the columns numbered as first
  seen) while the values stream, and rewritten in the dictionary's column order once the set
  of columns is known, so memory holds one participant-visit row at a time and the column
  names.
* ``dictionary.csv``: :data:`trialkit.exports.dictionary.DICTIONARY_COLUMNS`.

UTF-8, comma separated, RFC 4180 quoting, ``\\n`` line ends.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from operator import itemgetter
from pathlib import Path
from typing import Any, TextIO

from trialkit.exports.base import ExportResult, Progress
from trialkit.exports.dictionary import DICTIONARY_COLUMNS, entries
from trialkit.services.extract import Extract, Value

__all__ = ["LONG_COLUMNS", "WIDE_KEYS", "csv_text", "wide_column", "write_csv"]

LONG_COLUMNS = tuple(f for f in Value._fields if f not in ("derived", "record"))
WIDE_KEYS = ("participant", "site", "arm", "visit", "visit_date")
_INSTANCE_ITEM = itemgetter(0, 2)  # of a Cell
_RUNS = 10_000


def csv_text(
    rows: Sequence[Sequence[str]],
    lead: Sequence[str] = (),
    tail: Sequence[str] = (),
    width: int | None = None,
) -> str | None:
    """``rows`` (each between ``lead`` and ``tail``) as the exact text ``csv.writer`` writes
    (``QUOTE_MINIMAL``, ``\\n`` line ends), joined in one go; None when any field may need
    quoting (a comma, quote, line break or NUL in it, or a one-field row), for the caller to
    write those rows with ``csv.writer``. The fields must be text.

    The joining is done by ``str.join`` alone, so a value costs no Python step; the check is
    four counts over the joined text, so it can only send rows back, never change them.
    ``width`` is the length of every row, when the caller knows it (the rows are not measured).
    """
    n = len(rows)
    if not n:
        return ""
    extra = len(lead) + len(tail)
    if width is None:
        widths = list(map(len, rows))
        fields, least = sum(widths), min(widths)
    else:
        fields, least = width * n, width
    if least == 0 or least + extra < 2:
        return None
    pre = ",".join(lead) + "," if lead else ""
    post = ("," + ",".join(tail) if tail else "") + "\n"
    text = pre + (post + pre).join(map(",".join, rows)) + post
    if (
        text.count(",") != fields + n * (extra - 1)
        or text.count("\n") != n
        or '"' in text
        or "\r" in text
        or "\x00" in text
    ):
        return None
    return text


def wide_column(form: str, item: str, instance: str) -> str:
    """The wide table's column of one value: ``FORM.item``, or ``FORM.item[instance]``."""
    return f"{form}.{item}" if instance == "1" else f"{form}.{item}[{instance}]"


_BATCH = 200  # form instances handed to the writer at a time (and the progress bar's step)

#: One form instance for :class:`_Writer`: its layout's id (-1: its own, given in the last
#: field), the six lead fields (participant to form), the protocol version and the texts.
_Entry = tuple[int, tuple[str, ...], str, list[str], tuple[tuple[str, ...], ...] | None]


def write_csv(extract: Extract, out: Path, progress: Progress) -> ExportResult:
    """Write long.csv, wide.csv and dictionary.csv into ``out``."""
    result = ExportResult("csv", participants=len(extract.people))
    total = extract.form_count()
    writer = _Writer(out)
    dict_path = out / "dictionary.csv"
    part = dict_path.with_name(dict_path.name + ".part")
    # the read closed on an error too (a server-side cursor is closed in its transaction)
    records = extract.records()
    try:
        sent: set[int] = set()  # the shared layouts the writer has (as it bounds them)
        batch: list[_Entry] = []
        for done, rec in enumerate(records, start=1):
            texts = rec.texts
            if texts:
                p = rec.person
                layout = rec.layout
                lead = (p.code, p.site, p.arm, rec.visit, rec.visit_date, rec.form)
                if not layout.shared:
                    batch.append((-1, lead, rec.protocol_version, texts, layout.cells))
                else:
                    if layout.id not in sent:
                        if len(sent) >= _RUNS:  # bounded memory (the writer clears its own)
                            sent.clear()
                        sent.add(layout.id)
                        writer.layout(layout.id, layout.cells, rec.form, rec.protocol_version)
                    batch.append((layout.id, lead, rec.protocol_version, texts, None))
                result.values += len(texts)
            if done % _BATCH == 0 or done == total:
                writer.records(batch)
                batch = []
                progress(done, total)
        if batch:
            writer.records(batch)
        dict_entries = entries(extract.versions, extract.study.protocol_version)
        with part.open("w", newline="", encoding="utf-8") as fh:
            described = csv.DictWriter(fh, DICTIONARY_COLUMNS, lineterminator="\n")
            described.writeheader()
            for e in dict_entries:
                described.writerow(e.row(extract.versions[e.versions[0]]))
        rank = {e.key: i for i, e in enumerate(dict_entries)}
        long_path, wide_path = writer.finish(rank)
        part.replace(dict_path)
    finally:
        records.close()
        part.unlink(missing_ok=True)
        writer.close()
    result.files += [long_path, wide_path, dict_path]
    return result


class _Writer:
    """long.csv and wide.csv written from the form instances (:data:`_Entry`). Both are
    ``.part`` files until :meth:`finish` renames them; :meth:`close` removes what was not
    finished."""

    def __init__(self, out: Path) -> None:
        self._long = out / "long.csv"
        self._wide = out / "wide.csv"
        self._long_part = self._long.with_name("long.csv.part")
        self._wide_part = self._wide.with_name("wide.csv.part")
        self._spool = out / ".wide.part"
        self._fh = self._long_part.open("w", newline="", encoding="utf-8")
        self._sparse = self._spool.open("w", newline="", encoding="utf-8")
        self._writer = csv.writer(self._fh, lineterminator="\n")
        self._writer.writerow(LONG_COLUMNS)
        self._spooled = csv.writer(self._sparse, lineterminator="\n")
        # the long text, written a batch of instances at a time (csv.writer's rows go straight
        # to the file, so the pending text is written before them)
        self._pending: list[str] = []
        # The wide columns, numbered as first seen: (form, item, instance) -> number.
        self._numbers: dict[tuple[str, str, str], int] = {}
        self._blanks: list[str] = []
        self._current: tuple[str, str] | None = None
        self._head: list[str] = []
        self._cells: dict[int, str] = {}
        self._wide_rows: list[list[str]] = []  # spooled 500 at a time
        # The wide columns of a run of values (instances and items, in order) of a form:
        # the same run recurs in every instance of the form, so it is looked up once.
        self._runs: dict[tuple[str, tuple[tuple[str, str], ...]], list[int]] = {}
        # A shared layout's cells, its long rows as one format string, and its wide columns.
        self._shared: dict[int, tuple[Sequence[Sequence[str]], str, int, list[int]]] = {}
        self._finished = False

    def layout(self, id: int, cells: Sequence[Sequence[str]], form: str, version: str) -> None:
        """A shared layout (:class:`trialkit.services.extract.Layout`) of ``form``."""
        if len(self._shared) >= _RUNS:  # bounded memory
            self._shared.clear()
        self._shared[id] = (
            cells,
            _template(cells, version),
            len(cells),
            self._columns(form, tuple((c[0], c[2]) for c in cells)),
        )

    def _columns(self, form: str, run: tuple[tuple[str, str], ...]) -> list[int]:
        numbers = self._numbers
        found = []
        for instance, item in run:
            n = numbers.get((form, item, instance))
            if n is None:
                n = numbers[(form, item, instance)] = len(numbers)
                self._blanks.append("")
            found.append(n)
        return found

    def records(self, batch: Sequence[_Entry]) -> None:
        """A batch of form instances (each with at least one text)."""
        write = self._pending.append
        writer = self._writer
        shared = self._shared
        runs = self._runs
        for lid, lead, version, texts, own in batch:
            lead = tuple(lead)
            tail = (version,)
            if own is None:
                cells, template, n, found = shared[lid]
                # every row: the six lead fields, six of the cell, the version
                text = template.format(",".join(lead), *texts)
                if (
                    text.count(",") != 12 * n
                    or text.count("\n") != n
                    or '"' in text
                    or "\r" in text
                    or "\x00" in text
                ):  # a field to quote: csv.writer writes them
                    self._flush_long()
                    writer.writerows([lead + c + tail for c in _cells(cells, texts)])
                else:
                    write(text)
            else:
                values = _cells(own, texts)
                joined = csv_text(values, lead, tail, 6)  # a Cell has six fields
                if joined is not None:
                    write(joined)
                else:
                    self._flush_long()
                    writer.writerows([lead + c + tail for c in values])
                run = (lead[5], tuple(map(_INSTANCE_ITEM, values)))
                seen = runs.get(run)
                if seen is None:
                    if len(runs) >= _RUNS:  # forms whose runs all differ: bounded memory
                        runs.clear()
                    seen = runs[run] = self._columns(*run)
                found = seen
            if (lead[0], lead[3]) != self._current:
                if self._current is not None:
                    self._flush_wide()
                self._current = (lead[0], lead[3])
                self._head, self._cells = list(lead[:5]), {}
            self._cells.update(zip(found, texts, strict=True))
        self._flush_long()

    def _flush_long(self) -> None:
        self._fh.write("".join(self._pending))
        self._pending.clear()

    def _flush_wide(self) -> None:
        cells = self._cells
        self._wide_rows.append(
            [*self._head, *map(cells.get, range(len(self._numbers)), self._blanks)]
        )
        if len(self._wide_rows) >= 500:
            self._spool_wide()

    def _spool_wide(self) -> None:
        text = csv_text(self._wide_rows)
        if text is not None:
            self._sparse.write(text)
        else:
            self._spooled.writerows(self._wide_rows)
        self._wide_rows.clear()

    def finish(self, rank: dict[tuple[str, str], int]) -> tuple[Path, Path]:
        """Close long.csv and write wide.csv, its columns in the dictionary's order (``rank``:
        the dictionary's rank of each (form, item)); both renamed to their names."""
        self._flush_long()
        if self._current is not None:
            self._flush_wide()
        self._spool_wide()
        self._fh.close()
        self._sparse.close()
        numbers = self._numbers
        ordered = sorted(
            numbers, key=lambda c: (rank.get((c[0], c[1]), len(rank)), c[0], c[1], _inst(c[2]))
        )
        _write_wide(self._spool, self._wide_part, [wide_column(*c) for c in ordered], [
            len(WIDE_KEYS) + numbers[c] for c in ordered
        ])  # fmt: skip
        self._long_part.replace(self._long)
        self._wide_part.replace(self._wide)
        self._finished = True
        return self._long, self._wide

    def close(self) -> None:
        """Close the files; remove the spool, and the unfinished files of a failed export."""
        self._fh.close()
        self._sparse.close()
        self._spool.unlink(missing_ok=True)
        if not self._finished:
            self._long_part.unlink(missing_ok=True)
            self._wide_part.unlink(missing_ok=True)


def _cells(layout: Sequence[Sequence[str]], texts: Sequence[str]) -> list[tuple[str, ...]]:
    """A layout's cells (``instance, group, item, unit, missing_reason``) with their texts as
    :data:`trialkit.services.extract.Cell` tuples."""
    return [(s[0], s[1], s[2], t, s[3], s[4]) for s, t in zip(layout, texts, strict=True)]


def _write_wide(spool: Path, path: Path, names: list[str], positions: list[int]) -> None:
    """The spooled wide rows (keys, then the cells numbered as first seen; a row spooled
    before a column was seen is shorter) with their columns in the dictionary's order."""
    width = len(WIDE_KEYS) + len(names)
    pick = itemgetter(*range(len(WIDE_KEYS)), *positions)
    with (
        spool.open(newline="", encoding="utf-8") as src,
        path.open("w", newline="", encoding="utf-8") as fh,
    ):
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow([*WIDE_KEYS, *names])
        pad = [""] * width
        chunk: list[Sequence[str]] = []
        for row in csv.reader(src):
            chunk.append(pick(row if len(row) == width else row + pad[len(row) :]))
            if len(chunk) == 500:
                _flush(fh, writer, chunk)
        _flush(fh, writer, chunk)


def _flush(fh: TextIO, writer: Any, rows: list[Sequence[str]]) -> None:
    text = csv_text(rows)
    if text is not None:
        fh.write(text)
    else:
        writer.writerows(rows)
    rows.clear()


def _template(cells: Sequence[Sequence[str]], version: str) -> str:
    """A shared layout's long rows as a format string: ``{0}`` the joined lead fields
    (participant to form), ``{1}``... the values; the fixed fields joined in."""

    def fixed(text: str) -> str:
        return text.replace("{", "{{").replace("}", "}}")

    version = fixed(version)
    return "".join(
        f"{{0}},{fixed(instance)},{fixed(group)},{fixed(item)},{{{n}}},{fixed(unit)},"
        f"{fixed(missing)},{version}\n"
        for n, (instance, group, item, unit, missing) in enumerate(cells, start=1)
    )


def _inst(instance: str) -> tuple[int, ...]:
    return tuple(int(p) for p in instance.split(".") if p.isdigit())
