"""Instruments whose score is one recorded rating (BSA, PGA, IGA, pain scales, redness)."""

from __future__ import annotations

from decimal import Decimal

from trialkit.instruments.base import Instrument, Value, flag_options, required_missing
from trialkit.instruments.items import ItemDef
from trialkit.instruments.result import ScoreResult

__all__ = ["BSA", "IGA", "PAIN_NRS", "PAIN_VAS", "REDNESS", "SPGA", "SingleRating"]


class SingleRating(Instrument):
    """A score that is one rated item, stored as entered (never converted to another scale)."""

    def __init__(
        self,
        *,
        name: str,
        title: str,
        version: str,
        reference: str,
        item: ItemDef,
        clear_at_most: Decimal | None = None,
    ) -> None:
        if item.minimum is not None and item.maximum is not None:
            self.score_range = (item.minimum, item.maximum)
        self.name = name
        self.title = title
        self.version = version
        self.reference = reference
        self.items = (item,)
        self._clear_at_most = clear_at_most

    def _score(self, values: dict[str, Value], options: dict[str, object]) -> ScoreResult:
        missing = required_missing(self, values)
        if missing:
            return self._missing(missing, options)
        value = values[self.items[0].name]
        assert isinstance(value, Decimal)
        flags: dict[str, bool | str | Decimal | int | None] = {"scale": self.name}
        if self._clear_at_most is not None:
            flags["clear_or_almost_clear"] = value <= self._clear_at_most
        return ScoreResult(
            instrument=self.name,
            version=self.version,
            value=value,
            parts={self.items[0].name: value},
            flags=flags,
            options=flag_options(options),
        )


BSA = SingleRating(
    name="bsa",
    title="BSA",
    version="BSA percent",
    reference="Body surface area involved, estimated in percent of the whole body surface.",
    item=ItemDef(
        name="bsa_percent",
        label="Body surface area involved",
        data_type="decimal",
        minimum=Decimal(0),
        maximum=Decimal(100),
        unit="%",
    ),
)

SPGA = SingleRating(
    name="spga",
    title="Static PGA",
    version="sPGA 0-5",
    reference="Static Physician's Global Assessment of psoriasis, 6-point scale (0 clear to 5).",
    item=ItemDef(
        name="spga",
        label="Static physician global assessment",
        data_type="integer",
        minimum=Decimal(0),
        maximum=Decimal(5),
        codes={
            "0": "clear",
            "1": "almost clear",
            "2": "mild",
            "3": "moderate",
            "4": "marked",
            "5": "severe",
        },
    ),
    clear_at_most=Decimal(1),
)

IGA = SingleRating(
    name="iga",
    title="IGA",
    version="IGA 0-4",
    reference="Investigator's Global Assessment of psoriasis, 5-point scale (0 clear to 4).",
    item=ItemDef(
        name="iga",
        label="Investigator global assessment",
        data_type="integer",
        minimum=Decimal(0),
        maximum=Decimal(4),
        codes={"0": "clear", "1": "almost clear", "2": "mild", "3": "moderate", "4": "severe"},
    ),
    clear_at_most=Decimal(1),
)

PAIN_NRS = SingleRating(
    name="pain_nrs",
    title="Pain NRS",
    version="NRS 0-10",
    reference="Numeric rating scale of pain intensity, whole numbers 0 (none) to 10 (worst).",
    item=ItemDef(
        name="pain_nrs",
        label="Pain intensity, numeric rating",
        data_type="integer",
        minimum=Decimal(0),
        maximum=Decimal(10),
    ),
)

PAIN_VAS = SingleRating(
    name="pain_vas",
    title="Pain VAS",
    version="VAS 100 mm",
    reference="Visual analogue scale of pain: distance in mm from the 'no pain' end of a "
    "100 mm line.",
    item=ItemDef(
        name="pain_vas_mm",
        label="Pain intensity, visual analogue scale",
        data_type="decimal",
        minimum=Decimal(0),
        maximum=Decimal(100),
        unit="mm",
    ),
)

REDNESS = SingleRating(
    name="redness",
    title="Redness severity",
    version="Redness 0-4",
    reference="Redness (erythema) of the treated lesion on physical examination, rated with "
    "the 0-4 anchors of the PASI erythema sign.",
    item=ItemDef(
        name="redness",
        label="Lesion redness severity",
        data_type="integer",
        minimum=Decimal(0),
        maximum=Decimal(4),
        codes={"0": "none", "1": "slight", "2": "moderate", "3": "severe", "4": "very severe"},
    ),
)
