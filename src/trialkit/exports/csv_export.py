"""``csv``: the values long (one row per value) and wide (one row per participant and visit),
with the data dictionary beside them.

* ``long.csv``: ``participant, site, arm, visit, visit_date, form, instance, group, item,
  value, unit, missing_reason, protocol_version``, one row per value as the extract streams it
  (a blinded caller's ``arm`` is ``BLINDED``).
* ``wide.csv``: ``participant, site, arm, visit, visit_date`` and one column per
  ``FORM.item`` seen (``FORM.item[2]`` for the second instance of a repeating form,
  ``FORM.item[1.3]`` for row 3 of a repeating group), the columns in the dictionary's order.
  It is built from ``long.csv`` after the read (both are ordered by participant and visit), so
  memory holds one participant-visit row at a time, and the set of column names.
* ``dictionary.csv``: :data:`trialkit.exports.dictionary.DICTIONARY_COLUMNS`.

UTF-8, comma separated, RFC 4180 quoting, ``\\n`` line ends.
"""

from __future__ import annotations

import csv
from pathlib import Path

from trialkit.exports.base import ExportResult, Progress
from trialkit.exports.dictionary import DICTIONARY_COLUMNS, entries
from trialkit.services.extract import Extract, Value

__all__ = ["LONG_COLUMNS", "WIDE_KEYS", "wide_column", "write_csv"]

LONG_COLUMNS = tuple(f for f in Value._fields if f not in ("derived", "record"))
WIDE_KEYS = ("participant", "site", "arm", "visit", "visit_date")
_LONG = len(LONG_COLUMNS)


def wide_column(form: str, item: str, instance: str) -> str:
    """The wide table's column of one value: ``FORM.item``, or ``FORM.item[instance]``."""
    return f"{form}.{item}" if instance == "1" else f"{form}.{item}[{instance}]"


def write_csv(extract: Extract, out: Path, progress: Progress) -> ExportResult:
    """Write long.csv, wide.csv and dictionary.csv into ``out``."""
    result = ExportResult("csv", participants=len(extract.people))
    total = extract.form_count()
    columns: set[tuple[str, str, str]] = set()
    long_path = out / "long.csv"
    with long_path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(LONG_COLUMNS)
        for done, batch in enumerate(extract.form_batches(), start=1):
            writer.writerows(v[:_LONG] for v in batch)  # None is written empty, a date ISO
            columns.update((v.form, v.item, v.instance) for v in batch)
            result.values += len(batch)
            if done % 200 == 0 or done == total:
                progress(done, total)
    dict_entries = entries(extract.versions, extract.study.protocol_version)
    dict_path = out / "dictionary.csv"
    with dict_path.open("w", newline="", encoding="utf-8") as fh:
        described = csv.DictWriter(fh, DICTIONARY_COLUMNS, lineterminator="\n")
        described.writeheader()
        for e in dict_entries:
            described.writerow(e.row(extract.versions[e.versions[0]]))
    rank = {e.key: i for i, e in enumerate(dict_entries)}
    ordered = sorted(
        columns, key=lambda c: (rank.get((c[0], c[1]), len(rank)), c[0], c[1], _inst(c[2]))
    )
    names = [wide_column(*c) for c in ordered]
    wide_path = out / "wide.csv"
    _write_wide(long_path, wide_path, names)
    result.files += [long_path, wide_path, dict_path]
    return result


def _inst(instance: str) -> tuple[int, ...]:
    return tuple(int(p) for p in instance.split(".") if p.isdigit())


def _write_wide(long_path: Path, wide_path: Path, names: list[str]) -> None:
    """One row per participant and visit, from long.csv (ordered by participant and visit)."""
    idx = {c: i for i, c in enumerate(LONG_COLUMNS)}
    who, site_, arm, visit, on = (idx[k] for k in WIDE_KEYS)
    f, it, ins, val = idx["form"], idx["item"], idx["instance"], idx["value"]
    position = {n: i for i, n in enumerate(names, start=len(WIDE_KEYS))}
    column: dict[tuple[str, str, str], int] = {}
    width = len(WIDE_KEYS) + len(names)
    with (
        long_path.open(newline="", encoding="utf-8") as src,
        wide_path.open("w", newline="", encoding="utf-8") as fh,
    ):
        reader = csv.reader(src)
        next(reader)
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow([*WIDE_KEYS, *names])
        current: tuple[str, str] | None = None
        out: list[str] = []
        for row in reader:
            key = (row[who], row[visit])
            if key != current:
                if current is not None:
                    writer.writerow(out)
                current = key
                out = [""] * width
                out[0], out[1], out[2], out[3] = row[who], row[site_], row[arm], row[visit]
            if row[on]:
                out[4] = row[on]
            cell = (row[f], row[it], row[ins])
            at = column.get(cell)
            if at is None:
                at = column[cell] = position[wide_column(*cell)]
            out[at] = row[val]
        if current is not None:
            writer.writerow(out)
