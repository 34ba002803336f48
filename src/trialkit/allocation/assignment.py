"""What allocation reads and returns: past assignments, the candidate, and the decision.

The decision's ``detail`` is JSON (strings, numbers, booleans, lists and objects) so that the
service writes it unchanged to the audit trail. It never holds the seed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypeAlias

__all__ = ["ALL", "JSON", "Assignment", "Candidate", "Decision"]

JSON: TypeAlias = str | int | bool | list["JSON"] | dict[str, "JSON"] | None

#: The stratum key of a method that does not stratify (the whole trial is one stratum).
ALL = "all"


@dataclass(frozen=True)
class Assignment:
    """One participant already allocated: the arm, their factor levels and the allocation number
    (1 for the first participant of the study)."""

    arm: str
    levels: Mapping[str, str] = field(default_factory=dict)
    number: int = 0


@dataclass(frozen=True)
class Candidate:
    """The participant to allocate: their level of each factor (factor name to level)."""

    levels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    """The arm assigned, the allocation number (1-based over the study), the stratum key and
    how it was decided (``detail``, JSON, for the audit trail)."""

    arm: str
    number: int
    stratum: str
    detail: dict[str, JSON]
