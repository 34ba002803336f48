"""Deviations of an administration from the protocol: when it was given, and how much.

A time deviation is an administration outside its dosing event's window (hours, inclusive).
A dose deviation is a given dose that differs from the computed one by more than ``tolerance``,
a fraction of the computed dose (both ends of the tolerance included: with 10 %, 1.26e8 and
1.54e8 cells are within a computed 1.4e8). The tolerance is protocol data
(``dose.tolerance_percent`` of the study definition); 0 reports any difference.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from trialkit.dosing.compute import ComputedDose, in_unit

__all__ = ["Deviation", "deviations", "dose_deviation", "time_deviation"]


@dataclass(frozen=True)
class Deviation:
    kind: str  # "time" or "dose"
    message: str


def time_deviation(
    event_id: str, given_at: datetime, earliest: datetime | None, latest: datetime | None
) -> Deviation | None:
    """The time deviation of an administration at ``given_at``, or None inside its window."""
    if earliest is None or latest is None or earliest <= given_at <= latest:
        return None
    return Deviation(
        "time",
        f"dose {event_id} given at {given_at:%Y-%m-%d %H:%M}, outside its window "
        f"{earliest:%Y-%m-%d %H:%M} to {latest:%Y-%m-%d %H:%M}",
    )


def dose_deviation(
    event_id: str,
    computed: ComputedDose,
    given_amount: Decimal,
    given_unit: str,
    tolerance: Decimal = Decimal(0),
) -> Deviation | None:
    """The dose deviation of ``given_amount`` ``given_unit`` against ``computed``, or None."""
    given = in_unit(given_amount, given_unit, computed.unit, f"dose {event_id}")
    allowed = computed.amount * tolerance
    if abs(given - computed.amount) <= allowed:
        return None
    return Deviation(
        "dose",
        f"dose {event_id}: {given_amount.normalize():f} {given_unit} given, "
        f"{computed.amount.normalize():f} {computed.unit} computed"
        + (f" (tolerance {(tolerance * 100).normalize():f}%)" if tolerance else ""),
    )


def deviations(
    *,
    event_id: str,
    given_at: datetime,
    earliest: datetime | None,
    latest: datetime | None,
    computed: ComputedDose,
    given_amount: Decimal,
    given_unit: str,
    tolerance: Decimal = Decimal(0),
) -> list[Deviation]:
    """Every deviation of this administration (empty when it followed the protocol)."""
    found = [
        time_deviation(event_id, given_at, earliest, latest),
        dose_deviation(event_id, computed, given_amount, given_unit, tolerance),
    ]
    return [d for d in found if d is not None]
