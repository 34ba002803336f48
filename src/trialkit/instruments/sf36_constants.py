"""SF-36 / RAND-36 constants, each with its provenance. Item numbers and codes only.

No questionnaire wording is held here: items are known by their number (1-36) in the
standard SF-36 / RAND-36 order, responses by their precoded number.
"""

from __future__ import annotations

from fractions import Fraction

__all__ = [
    "ITEM_CODE_MAX",
    "RAND_RECODE",
    "RAND_SCALES",
    "SCALES",
    "US1990_COEFFICIENTS",
    "US1990_NORMS",
]

#: The eight scales, in the usual order (RAND names in brackets in the docs).
SCALES = (
    "physical_functioning",
    "role_physical",
    "bodily_pain",
    "general_health",
    "vitality",
    "social_functioning",
    "role_emotional",
    "mental_health",
)

#: Highest precoded response of each item (every item starts at 1).
ITEM_CODE_MAX: dict[int, int] = {
    1: 5,
    2: 5,
    **dict.fromkeys(range(3, 13), 3),
    **dict.fromkeys(range(13, 20), 2),
    20: 5,
    21: 6,
    22: 5,
    **dict.fromkeys(range(23, 32), 6),
    **dict.fromkeys(range(32, 37), 5),
}


def _table(items: tuple[int, ...], values: tuple[int, ...]) -> dict[int, dict[int, int]]:
    return {item: dict(enumerate(values, start=1)) for item in items}


#: RAND 36-Item Health Survey 1.0 scoring key, step 1 (every item to 0-100, high = better).
#: Source: RAND Health Care, "36-Item Short Form Survey (SF-36) Scoring Instructions",
#: https://www.rand.org/health-care/surveys_tools/mos/36-item-short-form/scoring.html
RAND_RECODE: dict[int, dict[int, int]] = {
    **_table((1, 2, 20, 22, 34, 36), (100, 75, 50, 25, 0)),
    **_table(tuple(range(3, 13)), (0, 50, 100)),
    **_table(tuple(range(13, 20)), (0, 100)),
    **_table((21, 23, 26, 27, 30), (100, 80, 60, 40, 20, 0)),
    **_table((24, 25, 28, 29, 31), (0, 20, 40, 60, 80, 100)),
    **_table((32, 33, 35), (0, 25, 50, 75, 100)),
}

#: RAND step 2: the items averaged into each scale (item 2, health change, is in none).
RAND_SCALES: dict[str, tuple[int, ...]] = {
    "physical_functioning": tuple(range(3, 13)),
    "role_physical": (13, 14, 15, 16),
    "bodily_pain": (21, 22),
    "general_health": (1, 33, 34, 35, 36),
    "vitality": (23, 27, 29, 31),
    "social_functioning": (20, 32),
    "role_emotional": (17, 18, 19),
    "mental_health": (24, 25, 26, 28, 30),
}

#: SF-36 v1 (standard scoring) recalibrations that differ from RAND: general health item 1
#: and the bodily pain items. Source: Ware JE, Snow KK, Kosinski M, Gandek B. SF-36 Health
#: Survey: Manual and Interpretation Guide. Boston: The Health Institute, 1993.
SF36_ITEM1 = {
    1: Fraction("5.0"),
    2: Fraction("4.4"),
    3: Fraction("3.4"),
    4: Fraction("2.0"),
    5: Fraction("1.0"),
}
SF36_ITEM21 = {
    1: Fraction("6.0"),
    2: Fraction("5.4"),
    3: Fraction("4.2"),
    4: Fraction("3.1"),
    5: Fraction("2.2"),
    6: Fraction("1.0"),
}
#: Item 22 when item 21 is missing.
SF36_ITEM22_ALONE = {
    1: Fraction(6),
    2: Fraction("4.75"),
    3: Fraction("3.5"),
    4: Fraction("2.25"),
    5: Fraction(1),
}

#: 1990 US general population norms for the SF-36 v1 scales (mean, standard deviation), from
#: the factor-analytic sample (n = 2,393 with all eight scales). Source: Ware JE, Kosinski M,
#: Keller SD. SF-36 Physical and Mental Health Summary Scales: A User's Manual. Boston: The
#: Health Institute, New England Medical Center, 1994.
US1990_NORMS: dict[str, tuple[Fraction, Fraction]] = {
    "physical_functioning": (Fraction("84.52404"), Fraction("22.89490")),
    "role_physical": (Fraction("81.19907"), Fraction("33.79729")),
    "bodily_pain": (Fraction("75.49196"), Fraction("23.55879")),
    "general_health": (Fraction("72.21316"), Fraction("20.16964")),
    "vitality": (Fraction("61.05453"), Fraction("20.86942")),
    "social_functioning": (Fraction("83.59753"), Fraction("22.37642")),
    "role_emotional": (Fraction("81.29467"), Fraction("33.02717")),
    "mental_health": (Fraction("74.84212"), Fraction("18.01189")),
}

#: Factor score coefficients (orthogonal solution) for the physical (PCS) and mental (MCS)
#: component summaries; same source as US1990_NORMS.
US1990_COEFFICIENTS: dict[str, dict[str, Fraction]] = {
    "pcs": {
        "physical_functioning": Fraction("0.42402"),
        "role_physical": Fraction("0.35119"),
        "bodily_pain": Fraction("0.31754"),
        "general_health": Fraction("0.24954"),
        "vitality": Fraction("0.02877"),
        "social_functioning": Fraction("-0.00753"),
        "role_emotional": Fraction("-0.19206"),
        "mental_health": Fraction("-0.22069"),
    },
    "mcs": {
        "physical_functioning": Fraction("-0.22999"),
        "role_physical": Fraction("-0.12329"),
        "bodily_pain": Fraction("-0.09731"),
        "general_health": Fraction("-0.01571"),
        "vitality": Fraction("0.23534"),
        "social_functioning": Fraction("0.26876"),
        "role_emotional": Fraction("0.43407"),
        "mental_health": Fraction("0.48581"),
    },
}
