"""Adverse events as the stopping rules count them: :class:`SafetyEvent` and how one is read.

An adverse-event row of the shipped studies' ``AE`` form holds ``ae_term``, ``ae_onset``,
``ae_end``, ``ae_grade`` (CTCAE 1-5), ``ae_serious`` and ``ae_relation`` (a code of the
``AE_RELATION`` list). :func:`event_from_values` turns one row's typed values into a
:class:`SafetyEvent`:

* **Grade missing**: the event is not countable (``None``); every rule counts by grade.
* **Relation**: ``possible``, ``probable`` and ``definite`` are related; ``not_related`` and
  ``unlikely`` are not; a relation not entered or not one of these codes is *not assessed*
  (``related=None``). Rules that count related events count it (see
  :mod:`trialkit.safety.rules`): a causality assessment still to come never holds a pause back.
* **Seriousness** not entered is ``serious=None``; rules that count serious events count it only
  when its grade is 4 or 5 (life-threatening, death: seriousness criteria of ICH E2A whatever the
  box says).
* **Term**: kept as entered (``""`` when missing); rules compare terms case-insensitively with
  runs of whitespace collapsed (:func:`normalise_term`).

Everything here is pure: no database, no clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from trialkit.errors import ValidationFailed

__all__ = [
    "NOT_RELATED_CODES",
    "RELATED_CODES",
    "SafetyEvent",
    "event_from_values",
    "normalise_term",
]

#: Relation codes that count as related to the study product.
RELATED_CODES = frozenset({"possible", "probable", "definite"})
#: Relation codes that count as not related.
NOT_RELATED_CODES = frozenset({"not_related", "unlikely"})

GRADES = range(1, 6)


def normalise_term(term: str) -> str:
    """A term as rules compare it: case-folded, whitespace runs collapsed, ends stripped."""
    return " ".join(term.split()).casefold()


@dataclass(frozen=True)
class SafetyEvent:
    """One adverse event, as the stopping rules see it.

    ``key`` identifies the event's source record stably (e.g. ``form_instance:12/AE/3``) and is
    unique among the events evaluated together. ``participant`` is the participant's code (it is
    kept out of :meth:`summary`, which is meant for logs). ``arm`` is None before allocation.
    ``related`` is None when the relation is not assessed, ``serious`` None when not entered.
    """

    key: str
    participant: str
    arm: str | None
    term: str
    grade: int
    serious: bool | None
    related: bool | None
    onset: date | None = None

    def __post_init__(self) -> None:
        if isinstance(self.grade, bool) or not isinstance(self.grade, int):
            raise TypeError(f"adverse event {self.key}: grade {self.grade!r} is not an integer")
        if self.grade not in GRADES:
            raise ValueError(
                f"adverse event {self.key}: grade {self.grade} is outside the CTCAE grades 1 to 5"
            )

    def summary(self) -> dict[str, Any]:
        """A JSON-able summary without the participant's code: key, term, grade, serious,
        related, onset (ISO 8601 or None) and arm."""
        return {
            "key": self.key,
            "term": self.term,
            "grade": self.grade,
            "serious": self.serious,
            "related": self.related,
            "onset": None if self.onset is None else self.onset.isoformat(),
            "arm": self.arm,
        }


def _bad(key: str, item: str, value: object, expected: str) -> ValidationFailed:
    return ValidationFailed(
        f"adverse event {key}: {item} is {value!r}, not {expected}",
        code="SAFETY.E001",
        hint=f"pass the typed value of {item} (trialkit.services.values.typed), or None when "
        "it was not entered",
        errors={item: [f"{value!r} is not {expected}"]},
    )


def event_from_values(
    key: str, participant: str, arm: str | None, values: Mapping[str, object]
) -> SafetyEvent | None:
    """The event of one adverse-event row's typed values, or None when its grade is missing.

    ``values`` maps item names to typed values (``ae_grade`` int, ``ae_serious`` bool,
    ``ae_relation`` code, ``ae_onset`` date, ``ae_term`` text); a missing item or ``None`` is
    "not entered". A value of the wrong type (a grade of 7, a seriousness of ``"yes"``) is a
    caller's error: :class:`~trialkit.errors.ValidationFailed` ``SAFETY.E001``.
    """
    grade = values.get("ae_grade")
    if grade is None:
        return None
    if isinstance(grade, bool) or not isinstance(grade, int) or grade not in GRADES:
        raise _bad(key, "ae_grade", grade, "a CTCAE grade 1 to 5")
    serious = values.get("ae_serious")
    if serious is not None and not isinstance(serious, bool):
        raise _bad(key, "ae_serious", serious, "true or false")
    relation = values.get("ae_relation")
    related: bool | None = None
    if relation in RELATED_CODES:
        related = True
    elif relation in NOT_RELATED_CODES:
        related = False
    onset = values.get("ae_onset")
    if isinstance(onset, datetime):
        onset = onset.date()
    if onset is not None and not isinstance(onset, date):
        raise _bad(key, "ae_onset", onset, "a date")
    term = values.get("ae_term")
    return SafetyEvent(
        key=key,
        participant=participant,
        arm=arm,
        term="" if term is None else str(term),
        grade=grade,
        serious=serious,
        related=related,
        onset=onset,
    )
