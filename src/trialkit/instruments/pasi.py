"""PASI, the Psoriasis Area and Severity Index (Fredriksson & Pettersson 1978)."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from trialkit.errors import ValidationFailed
from trialkit.instruments.base import Instrument, Value, flag_options
from trialkit.instruments.change import Number, as_fraction, percent_improvement
from trialkit.instruments.items import ItemDef
from trialkit.instruments.result import ScoreResult

__all__ = [
    "PASI",
    "PASI_REGIONS",
    "Pasi",
    "pasi_absolute_target",
    "pasi_area_score",
    "pasi_improvement",
    "pasi_response",
]

#: Body regions and their weights (share of body surface), in CRF order.
PASI_REGIONS: dict[str, Decimal] = {
    "head": Decimal("0.1"),
    "upper_limbs": Decimal("0.2"),
    "trunk": Decimal("0.3"),
    "lower_limbs": Decimal("0.4"),
}
_SIGNS = ("erythema", "induration", "desquamation")
_SEVERITY = {"0": "none", "1": "slight", "2": "moderate", "3": "severe", "4": "very severe"}
_AREA_SCORES = {
    "0": "0 %",
    "1": "more than 0 to under 10 %",
    "2": "10 to under 30 %",
    "3": "30 to under 50 %",
    "4": "50 to under 70 %",
    "5": "70 to under 90 %",
    "6": "90 to 100 %",
}
#: Lower edges of the area bands 2..6 (each band is half-open: lower edge included).
_AREA_EDGES = (Decimal(10), Decimal(30), Decimal(50), Decimal(70), Decimal(90))


def pasi_area_score(percent: Decimal) -> int:
    """The 0-6 area score of a region from the percent involved (half-open bands).

    0 -> 0; >0 to <10 -> 1; 10 to <30 -> 2; 30 to <50 -> 3; 50 to <70 -> 4; 70 to <90 -> 5;
    90 to 100 -> 6.
    """
    if percent < 0 or percent > 100:
        raise ValueError(f"PASI: area {percent} % is out of range 0..100")
    if percent == 0:
        return 0
    return 1 + sum(1 for edge in _AREA_EDGES if percent >= edge)


def _items() -> tuple[ItemDef, ...]:
    items: list[ItemDef] = []
    for region in PASI_REGIONS:
        nice = region.replace("_", " ")
        for sign in _SIGNS:
            items.append(
                ItemDef(
                    name=f"{region}_{sign}",
                    label=f"{nice.capitalize()}: {sign}",
                    data_type="integer",
                    minimum=Decimal(0),
                    maximum=Decimal(4),
                    codes=dict(_SEVERITY),
                    description="Not needed when the region's area is 0.",
                )
            )
        items.append(
            ItemDef(
                name=f"{region}_area_percent",
                label=f"{nice.capitalize()}: percent of region involved",
                data_type="decimal",
                minimum=Decimal(0),
                maximum=Decimal(100),
                unit="%",
                description="The instrument derives the 0-6 area score from it.",
            )
        )
        items.append(
            ItemDef(
                name=f"{region}_area_score",
                label=f"{nice.capitalize()}: area score",
                data_type="integer",
                minimum=Decimal(0),
                maximum=Decimal(6),
                codes=dict(_AREA_SCORES),
                required=False,
                description=(
                    f"Alternative to {region}_area_percent when only the 0-6 score was "
                    "recorded; if both are given they must agree."
                ),
            )
        )
    return tuple(items)


class Pasi(Instrument):
    """PASI = sum over regions of weight x (erythema + induration + desquamation) x area."""

    name = "pasi"
    title = "PASI"
    version = "PASI 1978"
    reference = (
        "Fredriksson T, Pettersson U. Severe psoriasis: oral therapy with a new retinoid. "
        "Dermatologica 1978;157:238-244."
    )
    items = _items()
    score_range = (Decimal(0), Decimal(72))

    def _score(self, values: dict[str, Value], options: dict[str, object]) -> ScoreResult:
        parts: dict[str, Decimal] = {}
        missing: list[str] = []
        errors: dict[str, list[str]] = {}
        total = Decimal(0)
        for region, weight in PASI_REGIONS.items():
            area = self._area(region, values, errors)
            if area is None:
                missing.append(f"{region}_area_percent")
                continue
            parts[f"{region}_area_score"] = Decimal(area)
            if area == 0:
                # nothing involved: the region contributes 0 whatever its signs would be
                parts[region] = Decimal("0.0")
                continue
            signs: list[Decimal] = []
            for sign in _SIGNS:
                v = values.get(f"{region}_{sign}")
                if v is None:
                    missing.append(f"{region}_{sign}")
                else:
                    assert isinstance(v, Decimal)
                    signs.append(v)
            if len(signs) == len(_SIGNS):
                parts[region] = weight * sum(signs, Decimal(0)) * area
                total += parts[region]
        if errors:
            raise ValidationFailed(next(iter(errors.values()))[0], code="INSTR.E010", errors=errors)
        if missing:
            return self._missing(missing)
        return ScoreResult(
            instrument=self.name,
            version=self.version,
            value=total,
            parts=parts,
            options=flag_options(options),
        )

    @staticmethod
    def _area(region: str, values: dict[str, Value], errors: dict[str, list[str]]) -> int | None:
        pct = values.get(f"{region}_area_percent")
        score = values.get(f"{region}_area_score")
        derived = None
        if pct is not None:
            assert isinstance(pct, Decimal)
            derived = pasi_area_score(pct)
        if score is not None:
            assert isinstance(score, Decimal)
            if derived is not None and derived != int(score):
                errors.setdefault(f"{region}_area_score", []).append(
                    f"PASI: region {region!r} area score {score} disagrees with "
                    f"{pct} % involved (area score {derived}); correct one of the two"
                )
            return int(score)
        return derived


PASI = Pasi()


def pasi_improvement(baseline: Number, current: Number) -> Fraction | None:
    """Percent improvement of PASI from baseline, exact; ``None`` (undefined) if baseline is 0."""
    return percent_improvement(baseline, current)


def pasi_response(baseline: Number, current: Number, threshold: Number = 75) -> bool | None:
    """True when PASI improved by at least ``threshold`` percent (PASI 50/75/90/100).

    Inclusive (>=) and exact: 11.2 -> 2.8 is exactly 75 % and is a PASI 75 response.
    ``None`` when the baseline PASI is 0 (improvement undefined).
    """
    improvement = pasi_improvement(baseline, current)
    if improvement is None:
        return None
    return improvement >= as_fraction(threshold, "threshold")


def pasi_absolute_target(current: Number, target: Number) -> bool:
    """True when the PASI is at or below an absolute target (e.g. PASI <= 2), inclusive."""
    return as_fraction(current, "current") <= as_fraction(target, "target")
