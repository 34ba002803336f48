"""SF-36: RAND-36 scale scores, and the SF-36 v1 physical and mental component summaries.

The summaries are computed from the 36 items (``sf36_pcs``, ``sf36_mcs``), or from the eight
scale scores when only those were recorded (``sf36_pcs_scales``, ``sf36_mcs_scales``): one
formula, :func:`sf36_summary`. When a summary cannot be computed from the items, the scale
scores that can are still returned in ``parts``.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from fractions import Fraction

from trialkit.instruments._numbers import fraction_to_decimal
from trialkit.instruments.base import Instrument, Value, flag_options
from trialkit.instruments.items import ItemDef, OptionDef
from trialkit.instruments.result import ScoreResult
from trialkit.instruments.sf36_constants import (
    ITEM_CODE_MAX,
    RAND_RECODE,
    RAND_SCALES,
    SCALES,
    SF36_ITEM1,
    SF36_ITEM21,
    SF36_ITEM22_ALONE,
    US1990_COEFFICIENTS,
    US1990_NORMS,
)

__all__ = [
    "RAND36",
    "SF36_MCS",
    "SF36_MCS_SCALES",
    "SF36_PCS",
    "SF36_PCS_SCALES",
    "Rand36",
    "Sf36Summary",
    "Sf36SummaryFromScales",
    "rand36_scales",
    "sf36_summary",
    "sf36v1_scales",
]

_ITEMS = tuple(
    ItemDef(
        name=f"item_{n:02d}",
        label=f"SF-36 item {n} (precoded response)",
        data_type="integer",
        minimum=Decimal(1),
        maximum=Decimal(ITEM_CODE_MAX[n]),
        required=n != 2,
        required_when=(
            None if n == 2 else "its scale's missing-item rule needs it (see the instrument's page)"
        ),
        description=("Item 2 (health change) belongs to no scale." if n == 2 else None),
    )
    for n in range(1, 37)
)


def _codes(values: dict[str, Value]) -> dict[int, int]:
    out: dict[int, int] = {}
    for n in range(1, 37):
        v = values.get(f"item_{n:02d}")
        if isinstance(v, Decimal):
            out[n] = int(v)
    return out


def _enough(answered: int, total: int, rule: str) -> bool:
    if rule == "half":
        return 2 * answered >= total
    return answered >= 1


def rand36_scales(codes: dict[int, int], rule: str = "rand") -> dict[str, Fraction | None]:
    """RAND-36 scale scores 0-100: the mean of the answered items' recoded values.

    ``rule`` "rand" scores a scale from any answered item (RAND's published rule);
    "half" needs at least half its items answered. ``None`` for an unscorable scale.
    """
    out: dict[str, Fraction | None] = {}
    for scale, items in RAND_SCALES.items():
        answered = [Fraction(RAND_RECODE[i][codes[i]]) for i in items if i in codes]
        if not _enough(len(answered), len(items), rule):
            out[scale] = None
        else:
            out[scale] = sum(answered, Fraction(0)) / len(answered)
    return out


def _bodily_pain_v1(codes: dict[int, int]) -> Fraction | None:
    c21, c22 = codes.get(21), codes.get(22)
    if c21 is None and c22 is None:
        return None
    if c21 is not None:
        v21 = SF36_ITEM21[c21]
        if c22 is None:
            v22 = v21
        elif c22 == 1:
            v22 = Fraction(6) if c21 == 1 else Fraction(5)
        else:
            v22 = Fraction(6 - c22)
    else:
        assert c22 is not None
        v22 = SF36_ITEM22_ALONE[c22]
        v21 = v22
    return (v21 + v22 - 2) / 10 * 100


def _general_health_v1(codes: dict[int, int]) -> Fraction | None:
    recoded: list[Fraction] = []
    if 1 in codes:
        recoded.append(SF36_ITEM1[codes[1]])
    for item, reverse in ((33, False), (34, True), (35, False), (36, True)):
        if item in codes:
            recoded.append(Fraction(6 - codes[item] if reverse else codes[item]))
    if not _enough(len(recoded), 5, "half"):
        return None
    mean = sum(recoded, Fraction(0)) / len(recoded)
    return (mean - 1) / 4 * 100


def sf36v1_scales(codes: dict[int, int]) -> dict[str, Fraction | None]:
    """SF-36 v1 (standard) scale scores 0-100, with its half-of-items rule for missing items.

    Six scales equal the RAND-36 ones; bodily pain and general health use the SF-36
    recalibrated item values.
    """
    out = rand36_scales(codes, rule="half")
    out["bodily_pain"] = _bodily_pain_v1(codes)
    out["general_health"] = _general_health_v1(codes)
    return out


class Rand36(Instrument):
    """RAND 36-Item Health Survey 1.0: eight 0-100 scale scores (a profile, no total)."""

    name = "rand36"
    title = "RAND-36"
    version = "RAND-36 1.0"
    reference = (
        "Hays RD, Sherbourne CD, Mazel RM. The RAND 36-Item Health Survey 1.0. "
        "Health Econ 1993;2:217-227. Scoring: RAND Health Care scoring instructions."
    )
    items = _ITEMS
    has_total = False
    options = (
        OptionDef(
            name="missing_rule",
            data_type="text",
            default="rand",
            choices=("rand", "half"),
            description=(
                "rand (default): a scale is the mean of its answered items, as RAND publishes; "
                "half: a scale needs at least half its items answered."
            ),
        ),
    )

    def _score(self, values: dict[str, Value], options: dict[str, object]) -> ScoreResult:
        rule = str(options["missing_rule"])
        codes = _codes(values)
        scales = rand36_scales(codes, rule)
        parts = {k: fraction_to_decimal(v) for k, v in scales.items() if v is not None}
        if 2 in codes:
            parts["health_change"] = Decimal(RAND_RECODE[2][codes[2]])
        unscored = [k for k, v in scales.items() if v is None]
        missing = [f"item_{i:02d}" for s in unscored for i in RAND_SCALES[s] if i not in codes]
        reason = None
        if unscored:
            reason = f"RAND-36: scale(s) not scored, too few items answered: {', '.join(unscored)}"
        return ScoreResult(
            instrument=self.name,
            version=self.version,
            value=None,
            parts=parts,
            missing=missing,
            reason=reason,
            flags={"unscored_scales": ",".join(unscored) or None},
            options=flag_options(options),
        )


def sf36_summary(
    scales: Mapping[str, Fraction], which: str
) -> tuple[Fraction, dict[str, Fraction]]:
    """The SF-36 v1 summary ``which`` ("pcs" or "mcs"), a T-score, from the eight scale scores
    (0-100), with each scale's z-score: 50 + 10 x sum(z x coefficient), 1990 US norms."""
    coefficients = US1990_COEFFICIENTS[which]
    aggregate = Fraction(0)
    z_scores: dict[str, Fraction] = {}
    for scale in SCALES:
        mean, sd = US1990_NORMS[scale]
        z = (scales[scale] - mean) / sd
        aggregate += z * coefficients[scale]
        z_scores[scale] = z
    return 50 + 10 * aggregate, z_scores


_SUMMARY_REFERENCE = (
    "Ware JE, Kosinski M, Keller SD. SF-36 Physical and Mental Health Summary Scales: "
    "A User's Manual. Boston: The Health Institute, 1994 (1990 US general population norms)."
)


def _summary_result(
    inst: Instrument, scales: Mapping[str, Fraction], options: dict[str, object]
) -> ScoreResult:
    t_score, z_scores = sf36_summary(scales, inst.name.split("_")[1])
    parts: dict[str, Decimal] = {}
    for scale in SCALES:
        parts[scale] = fraction_to_decimal(scales[scale])
        parts[f"{scale}_z"] = fraction_to_decimal(z_scores[scale])
    return ScoreResult(
        instrument=inst.name,
        version=inst.version,
        value=fraction_to_decimal(t_score),
        exact=t_score,
        parts=parts,
        options=flag_options(options),
    )


class Sf36Summary(Instrument):
    """SF-36 v1 component summary (PCS or MCS), norm-based on the 1990 US population."""

    title: str
    items = _ITEMS
    reference = _SUMMARY_REFERENCE

    def __init__(self, which: str) -> None:
        self.which = which
        self.name = f"sf36_{which}"
        self.title = f"SF-36 {which.upper()}"
        self.version = f"SF-36 v1 {which.upper()}, 1990 US norms"

    def _score(self, values: dict[str, Value], options: dict[str, object]) -> ScoreResult:
        codes = _codes(values)
        scales = sf36v1_scales(codes)
        unscored = [k for k, v in scales.items() if v is None]
        if unscored:
            # No summary, but the scales that could be scored are returned.
            missing = [f"item_{i:02d}" for s in unscored for i in RAND_SCALES[s] if i not in codes]
            return ScoreResult(
                instrument=self.name,
                version=self.version,
                value=None,
                parts={k: fraction_to_decimal(v) for k, v in scales.items() if v is not None},
                missing=missing,
                reason=(
                    f"{self.title}: no score, these scales have fewer than half their items "
                    f"answered: {', '.join(unscored)}"
                ),
                flags={"unscored_scales": ",".join(unscored)},
                options=flag_options(options),
            )
        scored = {k: v for k, v in scales.items() if v is not None}
        return _summary_result(self, scored, options)


def _scale_items() -> tuple[ItemDef, ...]:
    return tuple(
        ItemDef(
            name=scale,
            label=f"SF-36 v1 {scale.replace('_', ' ')} scale score",
            data_type="decimal",
            minimum=Decimal(0),
            maximum=Decimal(100),
            description="The 0-100 scale score, scored by the SF-36 v1 (standard) rules.",
        )
        for scale in SCALES
    )


class Sf36SummaryFromScales(Instrument):
    """SF-36 v1 component summary (PCS or MCS) from the eight 0-100 scale scores, when only the
    scale scores were recorded (a paper form scored elsewhere, a registry extract)."""

    items = _scale_items()
    reference = _SUMMARY_REFERENCE

    def __init__(self, which: str) -> None:
        self.which = which
        self.name = f"sf36_{which}_scales"
        self.title = f"SF-36 {which.upper()} from scale scores"
        self.version = f"SF-36 v1 {which.upper()}, 1990 US norms"

    def _score(self, values: dict[str, Value], options: dict[str, object]) -> ScoreResult:
        missing = [scale for scale in SCALES if values.get(scale) is None]
        if missing:
            return self._missing(
                missing,
                options,
                why=f"{self.title}: no score, the summary needs all eight scale scores",
            )
        scales = {scale: Fraction(str(values[scale])) for scale in SCALES}
        return _summary_result(self, scales, options)


RAND36 = Rand36()
SF36_PCS = Sf36Summary("pcs")
SF36_MCS = Sf36Summary("mcs")
SF36_PCS_SCALES = Sf36SummaryFromScales("pcs")
SF36_MCS_SCALES = Sf36SummaryFromScales("mcs")
