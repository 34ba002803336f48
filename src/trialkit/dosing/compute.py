"""Dose arithmetic: the protocol's dose rule applied to a participant's basis value, exactly.

``50 ug per cm2`` of a 3.2 cm² plaque is 160 ug (in the rule's 0.5 mL); ``2e6 cells per kg`` of
70 kg is 1.4e8 cells. A basis entered in another unit of the same dimension is converted first
(a plaque of 320 mm² is 3.2 cm²). Everything is Decimal; nothing passes through a float.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from trialkit.errors import DoseError
from trialkit.protocol import DoseRule, Quantity
from trialkit.protocol.units import convert, resolve

__all__ = ["ComputedDose", "compute_dose", "in_unit"]


@dataclass(frozen=True)
class ComputedDose:
    amount: Decimal
    unit: str
    volume: Quantity | None
    basis: Decimal | None  # in the rule's ``per`` unit
    basis_unit: str | None
    factor: int

    def __str__(self) -> str:
        out = f"{self.amount.normalize():f} {self.unit}"
        if self.volume is not None:
            out += f" in {self.volume}"
        return out


def in_unit(value: Decimal, from_unit: str, to_unit: str, what: str) -> Decimal:
    """``value`` converted, or a :class:`DoseError` that names ``what`` and the units."""
    if resolve(from_unit) is None or resolve(to_unit) is None:
        unknown = from_unit if resolve(from_unit) is None else to_unit
        raise DoseError(
            f"{what}: unit {unknown!r} is not known",
            code="DOSE.E001",
            hint="use a unit symbol such as ug, mg, cm2, mm2, kg, cells, vial",
        )
    try:
        return convert(value, from_unit, to_unit)
    except ValueError as exc:
        raise DoseError(
            f"{what}: {value} {from_unit} cannot be expressed in {to_unit}",
            code="DOSE.E002",
            hint=f"enter it in {to_unit} or another unit of the same kind",
        ) from exc


def compute_dose(
    rule: DoseRule,
    *,
    basis_value: Decimal | None = None,
    basis_unit: str | None = None,
    factor: int = 1,
) -> ComputedDose:
    """The dose one administration gives (``factor`` doses of the rule, e.g. three vials)."""
    if factor < 1:
        raise DoseError(f"dose factor {factor} must be at least 1", code="DOSE.E003")
    if rule.per is None:
        return ComputedDose(rule.amount * factor, rule.unit, rule.volume, None, None, factor)
    if basis_value is None:
        raise DoseError(
            f"the dose is {rule} and needs {rule.basis_item}, which is not entered",
            code="DOSE.E004",
            hint=f"enter {rule.basis_item} (in {rule.per}) before computing the dose",
        )
    if basis_value <= 0:
        raise DoseError(f"{rule.basis_item} {basis_value} must be greater than 0", code="DOSE.E005")
    basis = in_unit(basis_value, basis_unit or rule.per, rule.per, str(rule.basis_item))
    return ComputedDose(
        rule.amount * basis * factor, rule.unit, rule.volume, basis, rule.per, factor
    )
