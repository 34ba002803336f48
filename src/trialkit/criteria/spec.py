"""The plain inputs of the criteria language: items, criteria and reference ranges.

The study definition (``trialkit.protocol``) is adapted onto these small types, so the
language does not depend on the protocol models. Any object with the same attributes works
where a :class:`Criterion` is expected (see :class:`CriterionLike`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Literal, Protocol

__all__ = [
    "DATA_TYPES",
    "Criterion",
    "CriterionKind",
    "CriterionLike",
    "DataType",
    "ItemSpec",
    "ReferenceRange",
    "ReferenceRanges",
    "exact",
]

DataType = Literal["integer", "decimal", "text", "date", "datetime", "boolean", "code"]
CriterionKind = Literal["inclusion", "exclusion"]
DATA_TYPES: tuple[DataType, ...] = (
    "integer",
    "decimal",
    "text",
    "date",
    "datetime",
    "boolean",
    "code",
)


def exact(value: int | str | Decimal | Fraction) -> Fraction:
    """``value`` as an exact fraction (text is read as a decimal numeral)."""
    if isinstance(value, bool):
        raise TypeError("a boolean is not a number")
    if isinstance(value, str):
        return Fraction(Decimal(value.strip()))
    return Fraction(value)


@dataclass(frozen=True)
class ItemSpec:
    """One data item an expression may name.

    ``unit`` is the unit values are captured in (``"mg/dL"``); ``codes`` lists the allowed
    values of a ``code`` item; ``analyte`` keys analyte-specific unit conversions (creatinine
    mg/dL to µmol/L) and defaults to the item name. ``minimum`` and ``maximum`` are the item's
    allowed range (a value outside it is refused, as the form refuses it); ``label`` is its
    wording on the form, for explanations.
    """

    name: str
    data_type: DataType
    unit: str | None = None
    codes: tuple[str, ...] | None = None
    analyte: str | None = None
    minimum: Decimal | None = None
    maximum: Decimal | None = None
    label: str | None = None

    @property
    def analyte_key(self) -> str:
        return self.analyte or self.name


@dataclass(frozen=True)
class Criterion:
    """An eligibility criterion.

    ``expression`` states the condition; for an exclusion it states what EXCLUDES (met means
    ineligible). A judgement criterion has ``judgement_item`` (a boolean item the investigator
    answers: yes is met, missing is unknown) and may have no expression.
    """

    id: str
    kind: CriterionKind
    text: str = ""
    expression: str | None = None
    judgement_item: str | None = None


class CriterionLike(Protocol):
    """Anything with a criterion's attributes (the protocol models qualify)."""

    @property
    def id(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def expression(self) -> str | None: ...
    @property
    def judgement_item(self) -> str | None: ...


@dataclass(frozen=True)
class ReferenceRange:
    """The study's default limits of normal for one item, in the item's unit."""

    lln: Fraction | None = None
    uln: Fraction | None = None


@dataclass(frozen=True)
class ReferenceRanges:
    """Default reference ranges per item name.

    Lookup rule: a candidate value named ``<item>_uln`` (or ``<item>_lln``) - the site's own
    limit, captured with the result - overrides the study default given here. With neither,
    ``uln(item)`` is missing and the criterion is unknown.
    """

    ranges: Mapping[str, ReferenceRange] = field(default_factory=dict)

    @classmethod
    def of(
        cls, limits: Mapping[str, tuple[int | str | Decimal | None, int | str | Decimal | None]]
    ) -> ReferenceRanges:
        """Build from ``{"alt": (lln, uln)}`` with decimal numerals or ``None``."""
        return cls(
            {
                name: ReferenceRange(
                    None if lln is None else exact(lln), None if uln is None else exact(uln)
                )
                for name, (lln, uln) in limits.items()
            }
        )

    def default(self, item: str, which: Literal["lln", "uln"]) -> Fraction | None:
        rng = self.ranges.get(item)
        if rng is None:
            return None
        return rng.lln if which == "lln" else rng.uln
