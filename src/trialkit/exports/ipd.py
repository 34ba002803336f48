"""``ipd``: a de-identified individual participant data package for sharing.

Files: ``values.csv`` (long, one row per value), ``dictionary.csv`` (the kept items, each with
what was done to it), ``risk.csv`` (the re-identification risk summary) and ``README.md``.

* **Pseudonymous ids**: each participant code becomes ``P-`` and 12 hex digits of an
  HMAC-SHA256 of the code under a secret key. The key is ``$TRIALKIT_IPD_SECRET`` when set (the
  same key gives the same pseudonyms, so a later package links to an earlier one), else a
  random key that is never written: the package alone cannot be linked back.
* **Dates shifted**: every date and date-time (item values and visit dates) of a participant
  moves by that participant's own secret offset, a whole number of days from -365 to +365
  derived from the same key; intervals within a participant are kept exactly, calendar dates
  and weekdays are not.
* **Ages over 89** are top-coded to 90 (read "90 or older"): every item named ``age`` or in
  years whose name ends in ``_age``.
* **Removed**: free text (every ``text`` item; coded items stay), direct identifiers (names,
  initials, contact details, record and national numbers, dates of birth: items whose name
  says so, see :data:`DIRECT_IDENTIFIERS`), who entered or signed anything, and the audit trail.
* **Risk**: the quasi-identifiers are site, sex and age in five-year bands (90+ one band); the
  summary gives the number of participants, the number of distinct combinations, the size of
  the smallest group sharing one combination (k), and how many participants are in groups
  smaller than 5. A k of 1 means someone is unique on these alone: review before sharing.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import os
import re
import secrets
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path

from trialkit.exports.base import ExportResult, Progress
from trialkit.exports.dictionary import DICTIONARY_COLUMNS, entries
from trialkit.protocol import DataType, Item
from trialkit.services.extract import Extract, Value

__all__ = [
    "DIRECT_IDENTIFIERS",
    "IPD_COLUMNS",
    "SECRET_ENV",
    "Deidentifier",
    "risk_summary",
    "write_ipd",
]

SECRET_ENV = "TRIALKIT_IPD_SECRET"
TOP_AGE = 90
MAX_SHIFT_DAYS = 365
SMALL_GROUP = 5

#: Item names that identify a person directly (matched as whole words of the name).
DIRECT_IDENTIFIERS = re.compile(
    r"(^|_)(name|names|initials|surname|phone|mobile|email|address|postcode|zip|mrn|"
    r"national_id|nid|passport|ssn|birth_date|date_of_birth|dob|birthdate|photo)($|_)"
)

IPD_COLUMNS = (
    "participant",
    "site",
    "arm",
    "visit",
    "visit_date",
    "form",
    "instance",
    "item",
    "value",
    "unit",
    "missing_reason",
    "protocol_version",
)


class Deidentifier:
    """Pseudonyms and date offsets under one secret key."""

    def __init__(self, secret: bytes) -> None:
        self._key = secret

    def _digest(self, what: str, code: str) -> bytes:
        return hmac.new(self._key, f"{what}\x00{code}".encode(), hashlib.sha256).digest()

    def pseudonym(self, code: str) -> str:
        return "P-" + self._digest("id", code).hex()[:12]

    def shift(self, code: str) -> timedelta:
        n = int.from_bytes(self._digest("shift", code)[:8], "big")
        return timedelta(days=n % (2 * MAX_SHIFT_DAYS + 1) - MAX_SHIFT_DAYS)


def _treatment(item: Item | None, name: str) -> str:
    """What happens to an item: ``kept``, ``shifted``, ``top-coded`` or ``removed: why``."""
    if DIRECT_IDENTIFIERS.search(name):
        return "removed: direct identifier"
    if item is None:
        return "removed: not in the protocol"
    if item.data_type is DataType.TEXT:
        return "removed: free text"
    if item.data_type in (DataType.DATE, DataType.DATETIME):
        return "shifted"
    if _is_age(item):
        return "top-coded"
    return "kept"


def _is_age(item: Item) -> bool:
    numeric = item.data_type in (DataType.INTEGER, DataType.DECIMAL)
    in_years = item.unit in ("years", "a", "year")
    return numeric and (item.name == "age" or (in_years and item.name.endswith("_age")))


def _shifted(text: str, by: timedelta) -> str:
    if not text:
        return text
    if len(text) == 10:
        return (date.fromisoformat(text) + by).isoformat()
    return (datetime.fromisoformat(text) + by).isoformat()


def _top(text: str) -> str:
    try:
        return str(TOP_AGE) if float(text) > TOP_AGE - 1 else text
    except ValueError:
        return text


def _band(age: str | None) -> str:
    if not age:
        return "unknown"
    years = int(float(age))
    if years >= TOP_AGE:
        return f"{TOP_AGE}+"
    low = years - years % 5
    return f"{low}-{low + 4}"


def risk_summary(people: dict[str, tuple[str, str, str]]) -> dict[str, int]:
    """k-anonymity over (site, sex, age band) of pseudonym -> (site, sex, age band)."""
    groups = Counter(people.values())
    return {
        "participants": len(people),
        "combinations": len(groups),
        "smallest_group": min(groups.values(), default=0),
        "in_groups_smaller_than_5": sum(n for n in groups.values() if n < SMALL_GROUP),
    }


def write_ipd(
    extract: Extract, out: Path, progress: Progress, *, secret: bytes | None = None
) -> ExportResult:
    """Write the de-identified package into ``out`` (see the module docstring)."""
    given = os.environ.get(SECRET_ENV, "")
    key = secret or (given.encode() if given else secrets.token_bytes(32))
    ident = Deidentifier(key)
    result = ExportResult("ipd", participants=len(extract.people))
    dictionary = entries(extract.versions, extract.study.protocol_version)
    specs = {(e.form, e.item.name): e.item for e in dictionary}
    treatment = {key_: _treatment(item, key_[1]) for key_, item in specs.items()}
    quasi: dict[str, dict[str, str]] = {}
    removed: Counter[str] = Counter()
    total = extract.form_count()
    path = out / "values.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(IPD_COLUMNS)
        for done, batch in enumerate(extract.form_batches(), start=1):
            for v in batch:
                row = _row(v, ident, treatment, quasi, removed)
                if row is not None:
                    writer.writerow(row)
                    result.values += 1
            if done % 200 == 0 or done == total:
                progress(done, total)
    dict_path = out / "dictionary.csv"
    with dict_path.open("w", newline="", encoding="utf-8") as fh:
        described = csv.DictWriter(
            fh, [*DICTIONARY_COLUMNS, "deidentification"], lineterminator="\n"
        )
        described.writeheader()
        for e in dictionary:
            done_to = treatment[e.key]
            if not done_to.startswith("removed"):
                entry = e.row(extract.versions[e.versions[0]])
                described.writerow({**entry, "deidentification": done_to})
    people = {
        ident.pseudonym(p.code): (
            p.site,
            quasi.get(p.code, {}).get("sex", "unknown"),
            _band(quasi.get(p.code, {}).get("age")),
        )
        for p in extract.people
    }
    risk = risk_summary(people)
    risk_path = out / "risk.csv"
    with risk_path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["measure", "value"])
        w.writerow(["quasi_identifiers", "site sex age_band"])
        for name, value in risk.items():
            w.writerow([name, value])
    readme = out / "README.md"
    readme.write_text(_readme(extract, risk, removed), encoding="utf-8")
    result.files += [path, dict_path, risk_path, readme]
    result.notes.append(
        f"re-identification risk: smallest group sharing site, sex and age band = "
        f"{risk['smallest_group']} ({risk['in_groups_smaller_than_5']} participant(s) in groups "
        f"smaller than {SMALL_GROUP})"
    )
    return result


def _row(
    v: Value,
    ident: Deidentifier,
    treatment: dict[tuple[str, str], str],
    quasi: dict[str, dict[str, str]],
    removed: Counter[str],
) -> list[str] | None:
    done_to = treatment.get((v.form, v.item)) or _treatment(None, v.item)
    if v.item == "sex" and v.value:
        quasi.setdefault(v.participant, {})["sex"] = v.value
    if done_to.startswith("removed"):
        removed[done_to.removeprefix("removed: ")] += 1
        return None
    by = ident.shift(v.participant)
    value = v.value
    if done_to == "shifted":
        value = _shifted(value, by)
    elif done_to == "top-coded":
        if value:
            quasi.setdefault(v.participant, {})["age"] = value
        value = _top(value)
    return [
        ident.pseudonym(v.participant),
        v.site,
        v.arm,
        v.visit,
        _shifted(v.visit_date, by),
        v.form,
        v.instance,
        v.item,
        value,
        v.unit,
        v.missing_reason,
        v.protocol_version,
    ]


def _readme(extract: Extract, risk: dict[str, int], removed: Counter[str]) -> str:
    study = extract.study
    lines = [
        f"# De-identified participant data: {study.id} (protocol {study.protocol_version})",
        "",
        f"Written by trialkit on {extract.now.date().isoformat()}.",
        "",
        "## Files",
        "",
        "- `values.csv`: one row per value: " + ", ".join(f"`{c}`" for c in IPD_COLUMNS) + ".",
        "- `dictionary.csv`: every item kept, its type, UCUM unit, code list and "
        "`deidentification` (kept, shifted or top-coded).",
        "- `risk.csv`: the re-identification risk summary below.",
        "",
        "## What was done",
        "",
        "- Participants are pseudonyms (`P-` and 12 hex digits, an HMAC-SHA256 of the "
        "participant code under a secret key not in this package).",
        f"- Every date of a participant is shifted by that participant's own secret number of "
        f"days (at most {MAX_SHIFT_DAYS} either way): intervals within a participant are exact; "
        "calendar dates, weekdays and seasons are not.",
        f"- Ages over {TOP_AGE - 1} are given as {TOP_AGE} (read: {TOP_AGE} or older).",
        "- Removed: free text, direct identifiers (names, contact details, record numbers, "
        "dates of birth), who entered or signed the data, and the audit trail.",
    ]
    for why, n in sorted(removed.items()):
        lines.append(f"  - {n} value(s) removed: {why}.")
    lines += [
        "",
        "## Re-identification risk",
        "",
        "Quasi-identifiers: site, sex, age in five-year bands.",
        "",
        f"- participants: {risk['participants']}",
        f"- distinct combinations: {risk['combinations']}",
        f"- smallest group sharing one combination (k): {risk['smallest_group']}",
        f"- participants in groups smaller than {SMALL_GROUP}: {risk['in_groups_smaller_than_5']}",
        "",
        "A small k means participants can be singled out by these characteristics alone; early-"
        "phase studies are small, so share under a data use agreement.",
        "",
    ]
    return "\n".join(lines)
