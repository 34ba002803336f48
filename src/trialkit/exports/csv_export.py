"""``csv``: the values long (one row per value) and wide (one row per participant and visit),
with the data dictionary beside them.

* ``long.csv``: ``participant, site, arm, visit, visit_date, form, instance, group, item,
  value, unit, missing_reason, protocol_version``, one row per value as the extract streams it
  (a blinded caller's ``arm`` is ``BLINDED``).
* ``wide.csv``: ``participant, site, arm, visit, visit_date`` and one column per
  ``FORM.item`` seen (``FORM.item[2]`` for the second instance of a repeating form,
  ``FORM.item[1.3]`` for row 3 of a repeating group), the columns in the dictionary's order.
  Its rows are spooled (one CSV line per participant and visit, in the dictionary's order of
  the columns seen so far) while the values stream; the spool is copied after the header when
  no column was added after its first row, else rewritten in the final order, so memory holds
  one participant-visit row at a time and the column names.
* ``dictionary.csv``: :data:`trialkit.exports.dictionary.DICTIONARY_COLUMNS`.

UTF-8, comma separated, RFC 4180 quoting, ``\\n`` line ends.
"""

from __future__ import annotations

import bisect
import csv
import itertools
import shutil
from collections.abc import Sequence
from operator import itemgetter
from pathlib import Path
from typing import Any, TextIO

from trialkit.exports.base import ExportResult, Progress
from trialkit.exports.dictionary import DICTIONARY_COLUMNS, entries
from trialkit.services.extract import Extract, Record, Value

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


def write_csv(extract: Extract, out: Path, progress: Progress) -> ExportResult:
    """Write long.csv, wide.csv and dictionary.csv into ``out``."""
    result = ExportResult("csv", participants=len(extract.people))
    total = extract.form_count()
    dict_entries = entries(extract.versions, extract.study.protocol_version)
    rank = {e.key: i for i, e in enumerate(dict_entries)}
    writer = _Writer(out, rank)
    dict_path = out / "dictionary.csv"
    part = dict_path.with_name(dict_path.name + ".part")
    # the read closed on an error too (a server-side cursor is closed in its transaction)
    records = extract.records()
    try:
        batch: list[Record] = []
        add = batch.append
        for done, rec in enumerate(records, start=1):
            if rec.texts:
                add(rec)
            if done % _BATCH == 0 or done == total:
                result.values += writer.records(batch)
                batch.clear()
                progress(done, total)
        if batch:
            result.values += writer.records(batch)
        with part.open("w", newline="", encoding="utf-8") as fh:
            described = csv.DictWriter(fh, DICTIONARY_COLUMNS, lineterminator="\n")
            described.writeheader()
            for e in dict_entries:
                described.writerow(e.row(extract.versions[e.versions[0]]))
        long_path, wide_path = writer.finish()
        part.replace(dict_path)
    finally:
        records.close()
        part.unlink(missing_ok=True)
        writer.close()
    result.files += [long_path, wide_path, dict_path]
    return result


class _Writer:
    """long.csv and wide.csv written from the form instances (each with at least one text).
    Both are ``.part`` files until :meth:`finish` renames them; :meth:`close` removes what was
    not finished. ``rank``: the dictionary's rank of each (form, item), the order of the wide
    columns."""

    def __init__(self, out: Path, rank: dict[tuple[str, str], int]) -> None:
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
        self._rank = rank
        # The wide columns, numbered as first seen: (form, item, instance) -> number; and in
        # the dictionary's order (their sort keys, and their numbers in that order). The rows
        # are spooled in the order of the columns known when each is spooled: a run of rows
        # spooled under one order is a segment (its length and order, once a column is added).
        self._numbers: dict[tuple[str, str, str], int] = {}
        self._keys: list[tuple[Any, ...]] = []
        self._order: list[int] = []
        self._blanks: list[str] = []
        self._segments: list[tuple[int, list[int]]] = []
        self._segment_rows = 0
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

    def _layout(self, rec: Record) -> tuple[Sequence[Sequence[str]], str, int, list[int]]:
        """A shared layout (:class:`trialkit.services.extract.Layout`), prepared once."""
        if len(self._shared) >= _RUNS:  # bounded memory
            self._shared.clear()
        cells = rec.layout.cells
        prepared = self._shared[rec.layout.id] = (
            cells,
            _template(cells, rec.form, rec.protocol_version),
            len(cells),
            self._columns(rec.form, tuple((c[0], c[2]) for c in cells)),
        )
        return prepared

    def _columns(self, form: str, run: tuple[tuple[str, str], ...]) -> list[int]:
        numbers = self._numbers
        found = []
        for instance, item in run:
            n = numbers.get((form, item, instance))
            if n is None:
                n = numbers[(form, item, instance)] = len(numbers)
                self._blanks.append("")
                self._add_column(form, item, instance, n)
            found.append(n)
        return found

    def _add_column(self, form: str, item: str, instance: str, n: int) -> None:
        if self._segment_rows:  # the rows spooled so far keep the order they were spooled in
            self._segments.append((self._segment_rows, list(self._order)))
            self._segment_rows = 0
        key = (self._rank.get((form, item), len(self._rank)), form, item, _inst(instance))
        at = bisect.bisect_right(self._keys, key)  # after equal keys: as sorted() by first seen
        self._keys.insert(at, key)
        self._order.insert(at, n)

    def records(self, batch: Sequence[Record]) -> int:
        """A batch of form instances (each with at least one text); the number of values."""
        shared = self._shared
        runs = self._runs
        parts: list[str] = []
        add = parts.append
        rows = 0
        slow = False
        current = self._current
        cells_now = self._cells
        prefix = ""
        person: Any = None
        visit_date = ""
        for rec in batch:
            texts = rec.texts
            p = rec.person
            visit = rec.visit
            if current is None or visit != current[1] or p.code != current[0]:
                if current is not None:
                    self._flush_wide()
                current = self._current = (p.code, visit)
                self._head = [p.code, p.site, p.arm, visit, rec.visit_date]
                cells_now = self._cells = {}
                person = None
            if p is not person or rec.visit_date != visit_date:
                person, visit_date = p, rec.visit_date
                prefix = ",".join((p.code, p.site, p.arm, visit, visit_date))
            layout = rec.layout
            if layout.shared:
                prepared = shared.get(layout.id)
                if prepared is None:
                    prepared = self._layout(rec)
                _, template, n, found = prepared
                # every row: the five lead fields, the form, six of the cell, the version
                add(template.format(prefix, *texts))
                rows += n
            else:
                values = _cells(layout.cells, texts)
                lead = (p.code, p.site, p.arm, visit, rec.visit_date, rec.form)
                joined = csv_text(values, lead, (rec.protocol_version,), 6)  # six per Cell
                if joined is None:
                    slow = True
                else:
                    add(joined)
                    rows += len(values)
                run = (rec.form, tuple(map(_INSTANCE_ITEM, values)))
                seen = runs.get(run)
                if seen is None:
                    if len(runs) >= _RUNS:  # forms whose runs all differ: bounded memory
                        runs.clear()
                    seen = runs[run] = self._columns(*run)
                found = seen
            cells_now.update(zip(found, texts, strict=True))
        text = "".join(parts)
        # a field to quote (a comma, quote, line break or NUL in a value): csv.writer writes
        # the batch's rows that need it, one instance at a time
        if (
            slow
            or text.count(",") != 12 * rows
            or text.count("\n") != rows
            or '"' in text
            or "\r" in text
            or "\x00" in text
        ):
            return self._slow(batch)
        self._fh.write(text)
        return rows

    def _slow(self, batch: Sequence[Record]) -> int:
        """The long rows of a batch with a field to quote (the wide cells already taken)."""
        pending: list[str] = []
        writer = self._writer
        count = 0
        for rec in batch:
            p = rec.person
            lead = (p.code, p.site, p.arm, rec.visit, rec.visit_date, rec.form)
            tail = (rec.protocol_version,)
            layout = rec.layout
            values = _cells(layout.cells, rec.texts)
            count += len(values)
            text: str | None
            if layout.shared:
                n = len(values)
                template = self._shared[layout.id][1]
                text = template.format(",".join(lead[:5]), *rec.texts)
                if (
                    text.count(",") != 12 * n
                    or text.count("\n") != n
                    or '"' in text
                    or "\r" in text
                    or "\x00" in text
                ):
                    text = None
            else:
                text = csv_text(values, lead, tail, 6)
            if text is not None:
                pending.append(text)
            else:
                self._fh.write("".join(pending))
                pending.clear()
                writer.writerows([lead + c + tail for c in values])
        self._fh.write("".join(pending))
        return count

    def _flush_wide(self) -> None:
        cells = self._cells
        self._wide_rows.append([*self._head, *map(cells.get, self._order, self._blanks)])
        self._segment_rows += 1
        if len(self._wide_rows) >= 500:
            self._spool_wide()

    def _spool_wide(self) -> None:
        text = csv_text(self._wide_rows)
        if text is not None:
            self._sparse.write(text)
        else:
            self._spooled.writerows(self._wide_rows)
        self._wide_rows.clear()

    def finish(self) -> tuple[Path, Path]:
        """Close long.csv and write wide.csv, its columns in the dictionary's order; both
        renamed to their names."""
        if self._current is not None:
            self._flush_wide()
        self._spool_wide()
        self._fh.close()
        self._sparse.close()
        numbers = {n: c for c, n in self._numbers.items()}
        names = [wide_column(*numbers[n]) for n in self._order]
        _write_wide(self._spool, self._wide_part, names, self._order, [
            *self._segments, (self._segment_rows, self._order)
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


def _write_wide(
    spool: Path,
    path: Path,
    names: list[str],
    order: list[int],
    segments: list[tuple[int, list[int]]],
) -> None:
    """The header and the spooled wide rows, each segment's (its row count and the columns it
    was spooled in) rewritten in ``order`` (a column it lacks empty); a spool of one segment in
    that order is copied as it is."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow([*WIDE_KEYS, *names])
        segments = [s for s in segments if s[0]]
        if all(columns == order for _, columns in segments):
            with spool.open(newline="", encoding="utf-8") as src:
                shutil.copyfileobj(src, fh, 1 << 20)
            return
        keys = len(WIDE_KEYS)
        with spool.open(newline="", encoding="utf-8") as src:
            rows = csv.reader(src)
            chunk: list[Sequence[str]] = []
            for count, columns in segments:
                at = {n: keys + i for i, n in enumerate(columns)}
                blank = keys + len(columns)  # the empty field appended to each row
                pick = itemgetter(*range(keys), *(at.get(n, blank) for n in order))
                for row in itertools.islice(rows, count):
                    row.append("")
                    chunk.append(pick(row))
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


def _template(cells: Sequence[Sequence[str]], form: str, version: str) -> str:
    """A shared layout's long rows as a format string: ``{0}`` the joined lead fields
    (participant to visit date), ``{1}``... the values; the form and the fixed fields joined
    in."""

    def fixed(text: str) -> str:
        return text.replace("{", "{{").replace("}", "}}")

    version, form = fixed(version), fixed(form)
    return "".join(
        f"{{0}},{form},{fixed(instance)},{fixed(group)},{fixed(item)},{{{n}}},{fixed(unit)},"
        f"{fixed(missing)},{version}\n"
        for n, (instance, group, item, unit, missing) in enumerate(cells, start=1)
    )


def _inst(instance: str) -> tuple[int, ...]:
    return tuple(int(p) for p in instance.split(".") if p.isdigit())
