"""SES-CD, the Simple Endoscopic Score for Crohn's Disease (Daperno et al. 2004)."""

from __future__ import annotations

from decimal import Decimal

from trialkit.errors import ValidationFailed
from trialkit.instruments.base import Instrument, Value, flag_options
from trialkit.instruments.change import Number, as_fraction, percent_improvement
from trialkit.instruments.items import ItemDef
from trialkit.instruments.result import ScoreResult

__all__ = [
    "SESCD",
    "SESCD_BANDS",
    "SESCD_SEGMENTS",
    "SesCd",
    "sescd_band",
    "sescd_remission",
    "sescd_response",
    "sescd_threshold_met",
]

#: Severity bands (lowest total of each, inclusive): Moskovitz DN, Daperno M, Van Assche G, et
#: al. Defining and validating cut-offs for the Simple Endoscopic Score for Crohn's Disease.
#: Gastroenterology 2007;132(4 Suppl 2):S1097 (0-2 inactive, 3-6 mild, 7-15 moderate, >= 16
#: severe).
SESCD_BANDS: tuple[tuple[int, str], ...] = (
    (0, "inactive"),
    (3, "mild"),
    (7, "moderate"),
    (16, "severe"),
)

SESCD_SEGMENTS = ("ileum", "right_colon", "transverse_colon", "left_colon", "rectum")
_VARIABLES: dict[str, tuple[str, dict[str, str]]] = {
    "ulcer_size": (
        "size of ulcers",
        {
            "0": "none",
            "1": "aphthous, 0.1-0.5 cm",
            "2": "large, 0.5-2 cm",
            "3": "very large, >2 cm",
        },
    ),
    "ulcerated_surface": (
        "ulcerated surface",
        {"0": "none", "1": "<10 %", "2": "10-30 %", "3": ">30 %"},
    ),
    "affected_surface": (
        "affected surface",
        {"0": "unaffected", "1": "<50 %", "2": "50-75 %", "3": ">75 %"},
    ),
    "narrowing": (
        "narrowing",
        {
            "0": "none",
            "1": "single, passable",
            "2": "multiple, passable",
            "3": "cannot be passed",
        },
    ),
}


def _items() -> tuple[ItemDef, ...]:
    items: list[ItemDef] = []
    for seg in SESCD_SEGMENTS:
        nice = seg.replace("_", " ").capitalize()
        items.append(
            ItemDef(
                name=f"{seg}_reached",
                label=f"{nice}: segment reached and examined",
                data_type="boolean",
            )
        )
        for var, (label, codes) in _VARIABLES.items():
            items.append(
                ItemDef(
                    name=f"{seg}_{var}",
                    label=f"{nice}: {label}",
                    data_type="integer",
                    minimum=Decimal(0),
                    maximum=Decimal(3),
                    codes=codes,
                    required_when="the segment was reached",
                    description="Required when the segment was reached; absent when not.",
                )
            )
    return tuple(items)


class SesCd(Instrument):
    """SES-CD = sum of four 0-3 variables over the segments reached (0-56)."""

    name = "sescd"
    title = "SES-CD"
    version = "SES-CD 2004"
    reference = (
        "Daperno M, D'Haens G, Van Assche G, et al. Development and validation of a new, "
        "simplified endoscopic activity score for Crohn's disease: the SES-CD. "
        "Gastrointest Endosc 2004;60(4):505-512."
    )
    items = _items()
    score_range = (Decimal(0), Decimal(56))

    def _score(self, values: dict[str, Value], options: dict[str, object]) -> ScoreResult:
        missing: list[str] = []
        errors: dict[str, list[str]] = {}
        parts: dict[str, Decimal] = {}
        var_totals = dict.fromkeys(_VARIABLES, Decimal(0))
        reached: list[str] = []
        impassable: list[str] = []
        for seg in SESCD_SEGMENTS:
            flag = values.get(f"{seg}_reached")
            if flag is None:
                missing.append(f"{seg}_reached")
                continue
            if flag is False:
                extra = [f"{seg}_{v}" for v in _VARIABLES if f"{seg}_{v}" in values]
                for name in extra:
                    errors.setdefault(name, []).append(
                        f"SES-CD: segment {seg!r} was not reached but {name} has a value; "
                        "remove the value or mark the segment reached"
                    )
                continue
            reached.append(seg)
            seg_total = Decimal(0)
            for var in _VARIABLES:
                v = values.get(f"{seg}_{var}")
                if v is None:
                    missing.append(f"{seg}_{var}")
                    continue
                assert isinstance(v, Decimal)
                seg_total += v
                var_totals[var] += v
                if var == "narrowing" and v == 3:
                    impassable.append(seg)
            parts[seg] = seg_total
        if len(impassable) > 1:
            errors["narrowing"] = [
                f"SES-CD: narrowing 3 (cannot be passed) in {len(impassable)} segments "
                f"({', '.join(impassable)}); the scope stops at the first impassable stenosis, "
                "so mark the segments beyond it as not reached"
            ]
        if errors:
            raise ValidationFailed(next(iter(errors.values()))[0], code="INSTR.E030", errors=errors)
        if missing:
            return self._missing(missing, options)
        if not reached:
            return ScoreResult(
                instrument=self.name,
                version=self.version,
                value=None,
                reason="SES-CD: no score, no segment was reached",
                options=flag_options(options),
            )
        parts.update({f"total_{k}": v for k, v in var_totals.items()})
        total = sum((parts[s] for s in reached), Decimal(0))
        # Some trials score endoscopic response on the ulcer and surface variables alone.
        parts["total_without_narrowing"] = total - var_totals["narrowing"]
        return ScoreResult(
            instrument=self.name,
            version=self.version,
            value=total,
            parts=parts,
            flags={
                "band": sescd_band(total),
                "remission": sescd_remission(total),
                "segments_reached": len(reached),
                "segments_affected": sum(1 for s in reached if parts[s] > 0),
            },
            options=flag_options(options),
        )


SESCD = SesCd()


def sescd_threshold_met(
    value: Number,
    *,
    isolated_ileal: bool,
    threshold: Number = 8,
    isolated_ileal_threshold: Number = 6,
) -> bool:
    """True when SES-CD is at or above the protocol's threshold (inclusive).

    The defaults are the IBD seed study's: >= 8, or >= 6 for isolated ileal disease. Whether
    the disease is isolated ileal is a clinical classification the caller states.
    """
    limit = isolated_ileal_threshold if isolated_ileal else threshold
    return as_fraction(value) >= as_fraction(limit, "threshold")


def sescd_band(value: Number) -> str:
    """The severity band of an SES-CD total (:data:`SESCD_BANDS`): inactive 0-2, mild 3-6,
    moderate 7-15, severe >= 16."""
    v = as_fraction(value)
    band = SESCD_BANDS[0][1]
    for low, name in SESCD_BANDS:
        if v >= low:
            band = name
    return band


def sescd_remission(value: Number, at_most: Number = 2) -> bool:
    """Endoscopic remission: SES-CD at most ``at_most`` (inclusive; default 2)."""
    return as_fraction(value) <= as_fraction(at_most, "at_most")


def sescd_response(baseline: Number, current: Number, percent: Number = 50) -> bool | None:
    """Endoscopic response: SES-CD fell by at least ``percent`` % from baseline (inclusive;
    default 50); ``None`` when the baseline is 0 (the fall is undefined)."""
    improvement = percent_improvement(baseline, current)
    if improvement is None:
        return None
    return improvement >= as_fraction(percent, "percent")
