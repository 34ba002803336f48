"""``csv``: the values long (one row per value) and wide (one row per participant and visit),
with the data dictionary beside them.

* ``long.csv``: ``participant, site, arm, visit, visit_date, form, instance, group, item,
  value, unit, missing_reason, protocol_version``, one row per value as the extract streams it
  (a blinded caller's ``arm`` is ``BLINDED``).
* ``wide.csv``: ``participant, site, arm, visit, visit_date`` and one column per
  ``FORM.item`` seen (``FORM.item[2]`` for the second instance of a repeating form,
  ``FORM.item[1.3]`` for row 3 of a repeating group), the columns in the dictionary's order.
  Its rows are spooled (one sparse line per participant and visit) while the values stream
  and written once the set of columns is known, so memory holds one participant-visit row at
  a time and the column names.
* ``dictionary.csv``: :data:`trialkit.exports.dictionary.DICTIONARY_COLUMNS`.

UTF-8, comma separated, RFC 4180 quoting, ``\\n`` line ends.
"""

from __future__ import annotations

import csv
import json
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
    columns: dict[tuple[str, str, str], str] = {}
    long_path = out / "long.csv"
    spool = out / ".wide.part"
    try:
        with (
            long_path.open("w", newline="", encoding="utf-8") as fh,
            spool.open("w", encoding="utf-8") as sparse,
        ):
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(LONG_COLUMNS)
            current: tuple[str, str] | None = None
            head: list[str] = []
            cells: dict[str, str] = {}
            for done, batch in enumerate(extract.form_batches(), start=1):
                writer.writerows(v[:_LONG] for v in batch)  # None is written empty
                result.values += len(batch)
                for v in batch:
                    if (v.participant, v.visit) != current:
                        if current is not None:
                            sparse.write(json.dumps([head, cells]) + "\n")
                        current = (v.participant, v.visit)
                        head, cells = [v.participant, v.site, v.arm, v.visit, v.visit_date], {}
                    key = (v.form, v.item, v.instance)
                    name = columns.get(key)
                    if name is None:
                        name = columns[key] = wide_column(*key)
                    cells[name] = v.value
                if done % 200 == 0 or done == total:
                    progress(done, total)
            if current is not None:
                sparse.write(json.dumps([head, cells]) + "\n")
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
        names = [columns[c] for c in ordered]
        wide_path = out / "wide.csv"
        with (
            spool.open(encoding="utf-8") as src,
            wide_path.open("w", newline="", encoding="utf-8") as fh,
        ):
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow([*WIDE_KEYS, *names])
            for line in src:
                keys, row = json.loads(line)
                writer.writerow([*keys, *(row.get(n, "") for n in names)])
    finally:
        spool.unlink(missing_ok=True)
    result.files += [long_path, wide_path, dict_path]
    return result


def _inst(instance: str) -> tuple[int, ...]:
    return tuple(int(p) for p in instance.split(".") if p.isdigit())
