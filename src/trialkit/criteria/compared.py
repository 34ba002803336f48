"""What each comparison of a criterion actually compared: the multiple of the normal limit and
the values converted to the unit of the comparison.

A criterion such as ``alt > 3 * uln(alt)`` is decided by comparing 125 with 120; a person
reading the explanation wants "ALT 3.125 × ULN". One written in another unit than the item
(``creatinine > 100 µmol/L`` for an item captured in mg/dL) compares the converted value; the
explanation says "Creatinine 1.7 mg/dL = 150.314 µmol/L". :func:`compared_values` walks the
checked plan of one criterion, evaluates the two sides of every comparison for one candidate
and returns these facts; the verdict is the evaluator's, untouched.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction

from trialkit.criteria import plan as p
from trialkit.criteria.checker import is_terminating
from trialkit.criteria.evaluator import evaluate, lookup_limit
from trialkit.criteria.spec import ItemSpec

__all__ = ["ComparedValue", "compared_values", "shown_number"]

_SHOWN = Decimal("0.000001")


def shown_number(value: Fraction) -> str:
    """An exact number as a person reads it: all its digits when it terminates, else rounded
    half-even to 6 decimals and marked ``≈`` (e.g. 100 µmol/L of creatinine ≈ 1.130966 mg/dL)."""
    if value.denominator == 1:
        return str(value.numerator)
    decimal = Decimal(value.numerator) / Decimal(value.denominator)
    if is_terminating(value):
        return format(decimal, "f").rstrip("0").rstrip(".")
    rounded = decimal.quantize(_SHOWN, rounding=ROUND_HALF_EVEN)
    return "≈" + format(rounded, "f").rstrip("0").rstrip(".")


@dataclass(frozen=True)
class ComparedValue:
    """One fact about one comparison, for the explanation.

    ``kind`` is ``"multiple"`` (an item as a multiple of its normal limit: ``value`` is the
    item, ``multiple`` the exact ratio, ``limit`` "ULN" or "LLN") or ``"converted"`` (an item
    or a literal converted to the comparison's unit: ``value`` in ``from_unit`` is
    ``converted`` in ``unit``).
    """

    kind: str
    item: str
    label: str
    value: Fraction
    from_unit: str | None = None
    unit: str | None = None
    converted: Fraction | None = None
    multiple: Fraction | None = None
    limit: str | None = None

    def render(self) -> str:
        if self.kind == "multiple":
            assert self.multiple is not None
            return f"{self.label} {shown_number(self.multiple)} × {self.limit}"
        assert self.converted is not None
        left = f"{shown_number(self.value)} {self.from_unit}".rstrip()
        return f"{self.label} {left} = {shown_number(self.converted)} {self.unit}".rstrip()


def _comparisons(plan: p.Plan) -> Iterator[p.Cmp]:
    if isinstance(plan, p.Cmp):
        yield plan
    for child in p.children(plan):
        yield from _comparisons(child)


def _first(plan: p.Plan, kind: type[p.Item] | type[p.Limit]) -> p.Item | p.Limit | None:
    for ref in p.references(plan):
        if isinstance(ref, kind):
            return ref
    return None


def compared_values(
    plan: p.Plan,
    record: Mapping[str, p.Value | None],
    items: Mapping[str, ItemSpec],
    as_of: date | None = None,
) -> tuple[ComparedValue, ...]:
    """The multiples of normal limits and the converted values the plan's comparisons used for
    this candidate (a comparison with an unknown side gives nothing)."""

    def label(name: str) -> str:
        spec = items.get(name)
        return spec.label if spec is not None and spec.label else name

    def unit(name: str) -> str | None:
        spec = items.get(name)
        return None if spec is None else spec.unit

    out: list[ComparedValue] = []
    for cmp in _comparisons(plan):
        sides = (cmp.left, cmp.right)
        if any(evaluate(side, record, as_of) is None for side in sides):
            continue
        for side, other in (sides, sides[::-1]):
            limit = _first(other, p.Limit)
            item = _first(side, p.Item)
            if isinstance(limit, p.Limit) and isinstance(item, p.Item) and item.name == limit.item:
                value, normal = record.get(item.name), lookup_limit(limit, record)
                if isinstance(value, Fraction) and normal:
                    out.append(
                        ComparedValue(
                            "multiple",
                            item.name,
                            label(item.name),
                            value,
                            from_unit=unit(item.name),
                            multiple=value / normal,
                            limit=limit.which.upper(),
                        )
                    )
            if isinstance(side, p.Scale) and cmp.unit is not None:
                scaled = _first(side.operand, p.Item)
                raw = evaluate(side.operand, record, as_of)
                if isinstance(scaled, p.Item) and isinstance(raw, Fraction):
                    out.append(
                        ComparedValue(
                            "converted",
                            scaled.name,
                            label(scaled.name),
                            raw,
                            from_unit=unit(scaled.name),
                            unit=cmp.unit,
                            converted=raw * side.factor,
                        )
                    )
            if isinstance(side, p.Const) and side.given is not None:
                assert isinstance(side.value, Fraction)
                given_value, given_unit = side.given
                out.append(
                    ComparedValue(
                        "converted",
                        "",
                        "the limit",
                        given_value,
                        from_unit=given_unit,
                        unit=cmp.unit,
                        converted=side.value,
                    )
                )
    return tuple(dict.fromkeys(out))
