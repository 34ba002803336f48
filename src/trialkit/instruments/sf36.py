"""SF-36: RAND-36 scale scores, and the SF-36 v1 physical and mental component summaries."""

from __future__ import annotations

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
    "SF36_PCS",
    "Rand36",
    "Sf36Summary",
    "rand36_scales",
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


class Sf36Summary(Instrument):
    """SF-36 v1 component summary (PCS or MCS), norm-based on the 1990 US population."""

    title: str
    items = _ITEMS
    reference = (
        "Ware JE, Kosinski M, Keller SD. SF-36 Physical and Mental Health Summary Scales: "
        "A User's Manual. Boston: The Health Institute, 1994 (1990 US general population norms)."
    )

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
            missing = [f"item_{i:02d}" for s in unscored for i in RAND_SCALES[s] if i not in codes]
            return self._missing(
                missing,
                options,
                why=(
                    f"{self.title}: no score, these scales have fewer than half their items "
                    f"answered: {', '.join(unscored)}"
                ),
            )
        coefficients = US1990_COEFFICIENTS[self.which]
        aggregate = Fraction(0)
        parts: dict[str, Decimal] = {}
        for scale in SCALES:
            value = scales[scale]
            assert value is not None
            mean, sd = US1990_NORMS[scale]
            z = (value - mean) / sd
            aggregate += z * coefficients[scale]
            parts[scale] = fraction_to_decimal(value)
            parts[f"{scale}_z"] = fraction_to_decimal(z)
        t_score = 50 + 10 * aggregate
        return ScoreResult(
            instrument=self.name,
            version=self.version,
            value=fraction_to_decimal(t_score),
            exact=t_score,
            parts=parts,
            options=flag_options(options),
        )


RAND36 = Rand36()
SF36_PCS = Sf36Summary("pcs")
SF36_MCS = Sf36Summary("mcs")
