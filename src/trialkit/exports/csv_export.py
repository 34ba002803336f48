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
from trialkit.services.extract import Extract, Layout, Value

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


def write_csv(extract: Extract, out: Path, progress: Progress) -> ExportResult:
    """Write long.csv, wide.csv and dictionary.csv into ``out``."""
    result = ExportResult("csv", participants=len(extract.people))
    total = extract.form_count()
    # The wide columns, numbered as first seen: (form, item, instance) -> number.
    numbers: dict[tuple[str, str, str], int] = {}
    long_path = out / "long.csv"
    spool = out / ".wide.part"
    try:
        with (
            long_path.open("w", newline="", encoding="utf-8") as fh,
            spool.open("w", newline="", encoding="utf-8") as sparse,
        ):
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(LONG_COLUMNS)
            # the long text, written a few hundred instances at a time (csv.writer's rows
            # go straight to the file, so the pending text is written before them)
            pending: list[str] = []
            write = pending.append

            def flush_long() -> None:
                fh.write("".join(pending))
                pending.clear()

            spool_write = sparse.write
            current: tuple[str, str] | None = None
            head: list[str] = []
            cells: dict[int, str] = {}
            blanks: list[str] = []

            wide_rows: list[list[str]] = []  # spooled 500 at a time

            def flush_wide() -> None:
                wide_rows.append([*head, *map(cells.get, range(len(numbers)), blanks)])
                if len(wide_rows) >= 500:
                    spool_wide()

            def spool_wide() -> None:
                text = csv_text(wide_rows)
                if text is not None:
                    spool_write(text)
                else:
                    spooled.writerows(wide_rows)
                wide_rows.clear()

            # The wide columns of a run of values (instances and items, in order) of a form:
            # the same run recurs in every instance of the form, so it is looked up once.
            runs: dict[tuple[str, tuple[tuple[str, str], ...]], list[int]] = {}
            # A shared layout's long rows as one format string, and its wide columns.
            shared: dict[int, tuple[str, int, list[int]]] = {}
            spooled = csv.writer(sparse, lineterminator="\n")

            def columns(form: str, run: tuple[tuple[str, str], ...]) -> list[int]:
                found = []
                for instance, item in run:
                    n = numbers.get((form, item, instance))
                    if n is None:
                        n = numbers[(form, item, instance)] = len(numbers)
                        blanks.append("")
                    found.append(n)
                return found

            for done, rec in enumerate(extract.records(), start=1):
                texts = rec.texts
                if texts:
                    p = rec.person
                    layout = rec.layout
                    lead = (p.code, p.site, p.arm, rec.visit, rec.visit_date, rec.form)
                    known = shared.get(layout.id) if layout.shared else None
                    if layout.shared and known is None:
                        if len(shared) >= _RUNS:  # bounded memory
                            shared.clear()
                        known = shared[layout.id] = (
                            _template(layout, rec.protocol_version),
                            len(texts),
                            columns(rec.form, tuple((c[0], c[2]) for c in layout.cells)),
                        )
                    tail = (rec.protocol_version,)
                    if known is not None:
                        template, n, found = known
                        # every row: the six lead fields, six of the cell, the version
                        text = template.format(",".join(lead), *texts)
                        if (
                            text.count(",") != 12 * n
                            or text.count("\n") != n
                            or '"' in text
                            or "\r" in text
                            or "\x00" in text
                        ):  # a field to quote: csv.writer writes them
                            flush_long()
                            writer.writerows([lead + c + tail for c in rec.cells + rec.derived])
                        else:
                            write(text)
                    else:
                        values = rec.cells + rec.derived
                        joined = csv_text(values, lead, tail, 6)  # a Cell has six fields
                        if joined is not None:
                            write(joined)
                        else:
                            flush_long()
                            writer.writerows([lead + c + tail for c in values])
                        run = (rec.form, tuple(map(_INSTANCE_ITEM, values)))
                        seen = runs.get(run)
                        if seen is None:
                            if len(runs) >= _RUNS:  # forms whose runs all differ: bounded memory
                                runs.clear()
                            seen = runs[run] = columns(*run)
                        found = seen
                    result.values += len(texts)
                    if (p.code, rec.visit) != current:
                        if current is not None:
                            flush_wide()
                        current = (p.code, rec.visit)
                        head, cells = [p.code, p.site, p.arm, rec.visit, rec.visit_date], {}
                    cells.update(zip(found, texts, strict=True))
                if done % 200 == 0 or done == total:
                    flush_long()
                    progress(done, total)
            flush_long()
            if current is not None:
                flush_wide()
            spool_wide()
        dict_entries = entries(extract.versions, extract.study.protocol_version)
        dict_path = out / "dictionary.csv"
        with dict_path.open("w", newline="", encoding="utf-8") as fh:
            described = csv.DictWriter(fh, DICTIONARY_COLUMNS, lineterminator="\n")
            described.writeheader()
            for e in dict_entries:
                described.writerow(e.row(extract.versions[e.versions[0]]))
        rank = {e.key: i for i, e in enumerate(dict_entries)}
        ordered = sorted(
            numbers, key=lambda c: (rank.get((c[0], c[1]), len(rank)), c[0], c[1], _inst(c[2]))
        )
        _write_wide(spool, out / "wide.csv", [wide_column(*c) for c in ordered], [
            len(WIDE_KEYS) + numbers[c] for c in ordered
        ])  # fmt: skip
    finally:
        spool.unlink(missing_ok=True)
    result.files += [long_path, out / "wide.csv", dict_path]
    return result


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


def _template(layout: Layout, version: str) -> str:
    """A shared layout's long rows as a format string: ``{0}`` the joined lead fields
    (participant to form), ``{1}``... the values; the fixed fields joined in."""

    def fixed(text: str) -> str:
        return text.replace("{", "{{").replace("}", "}}")

    version = fixed(version)
    return "".join(
        f"{{0}},{fixed(instance)},{fixed(group)},{fixed(item)},{{{n}}},{fixed(unit)},"
        f"{fixed(missing)},{version}\n"
        for n, (instance, group, item, unit, missing) in enumerate(layout.cells, start=1)
    )


def _inst(instance: str) -> tuple[int, ...]:
    return tuple(int(p) for p in instance.split(".") if p.isdigit())
