"""The tidy table of captured values, and adverse events, read and validated from CSV.

Captured values (one row per value): ``participant, arm, visit, day, item, value`` and
optionally ``role`` (e.g. treated/control for a lesion) and ``instance``. ``day`` is the study
day (Day 1 = first dose day, no Day 0), blank when unknown. ``value`` keeps the text as
entered; endpoints read it exactly as a decimal.

Adverse events (one row per event): ``participant, arm, term, grade, serious, related,
onset_day`` and optionally ``last_day`` (the participant's last contact day) and
``organ_system`` (the MedDRA system organ class of the term, for tables by organ system). A
participant's last contact is the largest of ``last_day``, the days of their captured values
and their event onsets. Yes/no columns accept yes/no, y/n, true/false, 1/0 (any case).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from trialkit.errors import ValidationFailed

__all__ = [
    "AE_COLUMNS",
    "VALUE_COLUMNS",
    "AdverseEvent",
    "Observation",
    "TidyData",
    "read_adverse_events",
    "read_observations",
    "read_tidy",
]

VALUE_COLUMNS = ("participant", "arm", "visit", "day", "item", "value")
AE_COLUMNS = ("participant", "arm", "term", "grade", "serious", "related", "onset_day")
_YES = {"yes", "y", "true", "1"}
_NO = {"no", "n", "false", "0"}


@dataclass(frozen=True)
class Observation:
    row: int
    participant: str
    arm: str
    visit: str
    day: int | None
    item: str
    value: str
    role: str | None = None
    instance: str | None = None


@dataclass(frozen=True)
class AdverseEvent:
    row: int
    participant: str
    arm: str
    term: str
    grade: int
    serious: bool
    related: bool
    onset_day: int
    last_day: int | None = None
    organ_system: str | None = None


@dataclass(frozen=True)
class TidyData:
    observations: tuple[Observation, ...]
    adverse_events: tuple[AdverseEvent, ...] = ()

    def participants(self) -> dict[str, str]:
        """Every participant (from values and events) and their arm."""
        out: dict[str, str] = {}
        records: list[Observation | AdverseEvent] = [*self.observations, *self.adverse_events]
        for rec in records:
            known = out.setdefault(rec.participant, rec.arm)
            if known != rec.arm:
                raise ValidationFailed(
                    f"participant {rec.participant}: arm {rec.arm!r} on row {rec.row} but "
                    f"{known!r} elsewhere; a participant belongs to one arm",
                    code="ANALYSIS.E104",
                )
        return out

    def last_contact(self) -> dict[str, int]:
        """Each participant's last contact day (see the module docstring)."""
        out: dict[str, int] = {}
        for o in self.observations:
            if o.day is not None:
                out[o.participant] = max(out.get(o.participant, o.day), o.day)
        for e in self.adverse_events:
            days = [e.onset_day] + ([e.last_day] if e.last_day is not None else [])
            out[e.participant] = max(out.get(e.participant, days[0]), *days)
        return out


def _rows(source: str | Path, required: Iterable[str], what: str) -> list[dict[str, str]]:
    text = source.read_text(encoding="utf-8-sig") if isinstance(source, Path) else source
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in required if c not in header]
    if missing:
        raise ValidationFailed(
            f"{what}: missing column(s) {', '.join(missing)}; the header must name "
            f"{', '.join(required)}",
            code="ANALYSIS.E100",
        )
    reader.fieldnames = header
    return [{k: (v or "").strip() for k, v in r.items() if k is not None} for r in reader]


def _int(value: str, *, row: int, column: str, what: str, blank_ok: bool = False) -> int | None:
    if value == "" and blank_ok:
        return None
    try:
        return int(value)
    except ValueError:
        raise ValidationFailed(
            f"{what} row {row}, column {column}: {value!r} is not a whole number; enter a "
            "whole number such as 30",
            code="ANALYSIS.E101",
            errors={f"row {row}.{column}": [f"{value!r} is not a whole number"]},
        ) from None


def _bool(value: str, *, row: int, column: str, what: str) -> bool:
    v = value.lower()
    if v in _YES:
        return True
    if v in _NO:
        return False
    raise ValidationFailed(
        f"{what} row {row}, column {column}: {value!r} is not yes/no; enter yes or no",
        code="ANALYSIS.E102",
        errors={f"row {row}.{column}": [f"{value!r} is not yes/no"]},
    )


def _need(r: Mapping[str, str], cols: Iterable[str], row: int, what: str) -> None:
    for c in cols:
        if not r.get(c):
            raise ValidationFailed(
                f"{what} row {row}, column {c}: empty; every row needs a {c}",
                code="ANALYSIS.E103",
            )


def read_observations(source: str | Path) -> tuple[Observation, ...]:
    """Captured values from CSV text or a file; row numbers count the header as row 1."""
    what = "captured values"
    out = []
    for i, r in enumerate(_rows(source, VALUE_COLUMNS, what), start=2):
        _need(r, ("participant", "arm", "visit", "item"), i, what)
        day = _int(r["day"], row=i, column="day", what=what, blank_ok=True)
        out.append(
            Observation(
                i,
                r["participant"],
                r["arm"],
                r["visit"],
                day,
                r["item"],
                r["value"],
                r.get("role") or None,
                r.get("instance") or None,
            )
        )
    return tuple(out)


def read_adverse_events(source: str | Path) -> tuple[AdverseEvent, ...]:
    """Adverse events from CSV text or a file."""
    what = "adverse events"
    out = []
    for i, r in enumerate(_rows(source, AE_COLUMNS, what), start=2):
        _need(r, ("participant", "arm", "grade", "onset_day"), i, what)
        grade = _int(r["grade"], row=i, column="grade", what=what)
        assert grade is not None
        if not 1 <= grade <= 5:
            raise ValidationFailed(
                f"{what} row {i}, column grade: {grade} is out of range 1..5; enter the CTCAE "
                "grade from 1 to 5",
                code="ANALYSIS.E105",
            )
        onset = _int(r["onset_day"], row=i, column="onset_day", what=what)
        assert onset is not None
        if onset < 1:
            raise ValidationFailed(
                f"{what} row {i}, column onset_day: {onset} is before Day 1; study days "
                "start at Day 1 (the first dose day)",
                code="ANALYSIS.E106",
            )
        last = _int(r.get("last_day", ""), row=i, column="last_day", what=what, blank_ok=True)
        out.append(
            AdverseEvent(
                i,
                r["participant"],
                r["arm"],
                r["term"],
                grade,
                _bool(r["serious"], row=i, column="serious", what=what),
                _bool(r["related"], row=i, column="related", what=what),
                onset,
                last,
                r.get("organ_system") or None,
            )
        )
    return tuple(out)


def read_tidy(values: str | Path, adverse_events: str | Path | None = None) -> TidyData:
    """Both tables; checks that each participant has one arm."""
    data = TidyData(
        read_observations(values),
        read_adverse_events(adverse_events) if adverse_events is not None else (),
    )
    data.participants()
    return data
