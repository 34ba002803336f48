"""Deviations of an administration from the protocol: when it was given, and how much.

A time deviation is an administration outside its dosing event's window (hours, inclusive).
A dose deviation is a given dose that differs from the computed one by more than ``tolerance``,
a fraction of the computed dose; the default tolerance is 0: any difference is reported (the
team decides what is acceptable and says so by passing a tolerance such as ``Decimal("0.05")``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from trialkit.dosing.compute import ComputedDose, in_unit

__all__ = ["Deviation", "deviations"]


@dataclass(frozen=True)
class Deviation:
    kind: str  # "time" or "dose"
    message: str


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
    out: list[Deviation] = []
    if earliest is not None and latest is not None and not earliest <= given_at <= latest:
        out.append(
            Deviation(
                "time",
                f"dose {event_id} given at {given_at:%Y-%m-%d %H:%M}, outside its window "
                f"{earliest:%Y-%m-%d %H:%M} to {latest:%Y-%m-%d %H:%M}",
            )
        )
    given = in_unit(given_amount, given_unit, computed.unit, f"dose {event_id}")
    allowed = computed.amount * tolerance
    if abs(given - computed.amount) > allowed:
        out.append(
            Deviation(
                "dose",
                f"dose {event_id}: {given_amount.normalize():f} {given_unit} given, "
                f"{computed.amount.normalize():f} {computed.unit} computed"
                + (f" (tolerance {tolerance * 100:f}%)" if tolerance else ""),
            )
        )
    return out
