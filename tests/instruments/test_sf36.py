from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trialkit.instruments import (
    RAND36,
    SF36_MCS,
    SF36_MCS_SCALES,
    SF36_PCS,
    SF36_PCS_SCALES,
    rand36_scales,
    sf36_summary,
    sf36v1_scales,
)
from trialkit.instruments.sf36_constants import ITEM_CODE_MAX, RAND_RECODE, US1990_NORMS

# best and worst precoded answer per item (from the RAND recode table: best -> 100)
BEST = {n: next(c for c, v in RAND_RECODE[n].items() if v == 100) for n in range(1, 37)}
WORST = {n: next(c for c, v in RAND_RECODE[n].items() if v == 0) for n in range(1, 37)}


def as_values(codes: dict[int, int]) -> dict[str, object]:
    return {f"item_{n:02d}": c for n, c in codes.items()}


def test_rand_published_vitality_example() -> None:
    # RAND's instructions: items 23=4, 27=3, 29=3, 31 blank -> (40 + 60 + 40) / 3 = 46.7
    scales = rand36_scales({23: 4, 27: 3, 29: 3})
    assert scales["vitality"] == Fraction(140, 3)
    result = RAND36.score(as_values({23: 4, 27: 3, 29: 3}))
    assert result.parts["vitality"] == Decimal("46.666667")
    assert result.value is None
    assert "physical_functioning" in (result.reason or "")


def test_half_rule_option() -> None:
    codes = {23: 4}  # 1 of 4 vitality items
    assert RAND36.score(as_values(codes)).parts["vitality"] == 40
    assert "vitality" not in RAND36.score(as_values(codes), {"missing_rule": "half"}).parts


def test_best_and_worst_scales() -> None:
    best = RAND36.score(as_values(BEST))
    worst = RAND36.score(as_values(WORST))
    for scale in ("physical_functioning", "bodily_pain", "general_health", "mental_health"):
        assert best.parts[scale] == 100
        assert worst.parts[scale] == 0
    assert best.reason is None


def _float_summary(scales: dict[str, float], which: str) -> float:
    # Independent transcription (floats, tolerance) of Ware, Kosinski & Keller 1994.
    norms = {
        "physical_functioning": (84.52404, 22.89490, 0.42402, -0.22999),
        "role_physical": (81.19907, 33.79729, 0.35119, -0.12329),
        "bodily_pain": (75.49196, 23.55879, 0.31754, -0.09731),
        "general_health": (72.21316, 20.16964, 0.24954, -0.01571),
        "vitality": (61.05453, 20.86942, 0.02877, 0.23534),
        "social_functioning": (83.59753, 22.37642, -0.00753, 0.26876),
        "role_emotional": (81.29467, 33.02717, -0.19206, 0.43407),
        "mental_health": (74.84212, 18.01189, -0.22069, 0.48581),
    }
    total = 0.0
    for scale, (mean, sd, pcs, mcs) in norms.items():
        total += (scales[scale] - mean) / sd * (pcs if which == "pcs" else mcs)
    return 50 + 10 * total


def test_summaries_at_best_and_worst() -> None:
    for codes in (BEST, WORST):
        scales = dict.fromkeys(RAND36_SCALES, 100.0 if codes is BEST else 0.0)
        pcs = SF36_PCS.score(as_values(codes))
        mcs = SF36_MCS.score(as_values(codes))
        assert pcs.value is not None
        assert mcs.value is not None
        assert float(pcs.value) == pytest.approx(_float_summary(scales, "pcs"), abs=1e-6)
        assert float(mcs.value) == pytest.approx(_float_summary(scales, "mcs"), abs=1e-6)
        assert pcs.version == "SF-36 v1 PCS, 1990 US norms"


RAND36_SCALES = (
    "physical_functioning",
    "role_physical",
    "bodily_pain",
    "general_health",
    "vitality",
    "social_functioning",
    "role_emotional",
    "mental_health",
)


def test_v1_bodily_pain_and_general_health_recalibration() -> None:
    # item 21 = 3 -> 4.2; item 22 = 2 -> 4; raw 8.2 -> (8.2 - 2) / 10 x 100 = 62
    assert sf36v1_scales({21: 3, 22: 2})["bodily_pain"] == 62
    # item 21 = 1 and item 22 = 1 -> 6 + 6 = 12 -> 100; item 21 = 2, item 22 = 1 -> 5.4 + 5
    assert sf36v1_scales({21: 1, 22: 1})["bodily_pain"] == 100
    assert sf36v1_scales({21: 2, 22: 1})["bodily_pain"] == 84
    # item 22 alone = 2 -> 4.75 twice -> (9.5 - 2) x 10 = 75
    assert sf36v1_scales({22: 2})["bodily_pain"] == 75
    # item 21 alone = 4 -> 3.1 twice -> (6.2 - 2) x 10 = 42
    assert sf36v1_scales({21: 4})["bodily_pain"] == 42
    # GH: item 1 = 2 -> 4.4; 33 = 4; 34 = 2 -> 4; 35 = 4; 36 = 2 -> 4: raw 20.4 -> 77
    assert sf36v1_scales({1: 2, 33: 4, 34: 2, 35: 4, 36: 2})["general_health"] == 77
    # RAND scores the same answers 75 (all items at 75)
    assert rand36_scales({1: 2, 33: 4, 34: 2, 35: 4, 36: 2})["general_health"] == 75


def test_summary_needs_half_of_every_scale() -> None:
    codes = dict(BEST)
    for n in (21, 22):
        del codes[n]
    result = SF36_PCS.score(as_values(codes))
    assert result.value is None
    assert result.missing == ["item_21", "item_22"]
    assert "bodily_pain" in (result.reason or "")
    codes = dict(BEST)
    for n in range(3, 8):  # 5 of 10 physical functioning items missing: still scored
        del codes[n]
    # the scale is the mean of the items answered (all best: 100), so the summary is the
    # all-best summary, exactly
    half = SF36_PCS.score(as_values(codes))
    assert half.value == SF36_PCS.score(as_values(BEST)).value
    assert half.exact == SF36_PCS.score(as_values(BEST)).exact


def test_item_range_validation() -> None:
    from trialkit.errors import ValidationFailed

    with pytest.raises(ValidationFailed, match="item_03"):
        RAND36.score({"item_03": 4})


answers = st.fixed_dictionaries({n: st.integers(1, ITEM_CODE_MAX[n]) for n in range(1, 37)})


@given(answers)
def test_scales_in_range_and_summaries_finite(codes: dict[int, int]) -> None:
    for scale, value in {**rand36_scales(codes), **sf36v1_scales(codes)}.items():
        assert value is not None, scale
        assert 0 <= value <= 100
    pcs = SF36_PCS.score(as_values(codes)).exact
    assert pcs is not None
    assert 0 < pcs < 100


#: A mid-range respondent (not all-best, not all-worst). Provenance of each step: item recodes
#: from RAND's "36-Item Short Form Survey Scoring Instructions" (step 1 table); bodily pain and
#: general health recalibrated as in Ware, Snow, Kosinski & Gandek, SF-36 Health Survey Manual
#: and Interpretation Guide (1993); summaries by the norm-based algorithm of Ware, Kosinski &
#: Keller, SF-36 Physical and Mental Health Summary Scales: A User's Manual (1994): z-scores
#: against the 1990 US means and SDs, weighted by the factor score coefficients, 50 + 10 x sum.
#: (No item-level mid-range example with its PCS and MCS is printed in a source available to
#: us; the scales are worked out by hand here and the summary by the independent transcription
#: ``_float_summary``.)
MID = {
    **dict.fromkeys(range(3, 13), 2),  # physical functioning: every item "limited a little" = 50
    13: 1,
    14: 1,
    15: 2,
    16: 2,  # role physical: 0, 0, 100, 100 -> 50
    17: 1,
    18: 2,
    19: 2,  # role emotional: 0, 100, 100 -> 66.67
    21: 3,
    22: 2,  # bodily pain v1: 4.2 + 4 = 8.2 -> (8.2 - 2) / 10 x 100 = 62
    1: 2,
    33: 4,
    34: 2,
    35: 4,
    36: 2,  # general health v1: 4.4 + 4 + 4 + 4 + 4 = 20.4 -> (20.4 - 5) / 20 x 100 = 77
    23: 3,
    27: 3,
    29: 4,
    31: 4,  # vitality: 60, 60, 60, 60 -> 60
    20: 2,
    32: 4,  # social functioning: 75, 75 -> 75
    24: 5,
    25: 5,
    26: 2,
    28: 5,
    30: 2,  # mental health: 80 x 5 -> 80
    2: 3,  # health change: in no scale
}
MID_SCALES = {
    "physical_functioning": Fraction(50),
    "role_physical": Fraction(50),
    "bodily_pain": Fraction(62),
    "general_health": Fraction(77),
    "vitality": Fraction(60),
    "social_functioning": Fraction(75),
    "role_emotional": Fraction(200, 3),
    "mental_health": Fraction(80),
}


def test_mid_range_summaries() -> None:
    assert sf36v1_scales(MID) == MID_SCALES
    pcs = SF36_PCS.score(as_values(MID))
    mcs = SF36_MCS.score(as_values(MID))
    floats = {k: float(v) for k, v in MID_SCALES.items()}
    assert pcs.exact is not None
    assert mcs.exact is not None
    assert float(pcs.exact) == pytest.approx(_float_summary(floats, "pcs"), abs=1e-9)
    assert float(mcs.exact) == pytest.approx(_float_summary(floats, "mcs"), abs=1e-9)
    # to two decimals, as reports print them: PCS 39.37 (below the US mean of 50), MCS 53.44
    assert (round(float(pcs.exact), 2), round(float(mcs.exact), 2)) == (39.37, 53.44)
    assert (round(_float_summary(floats, "pcs"), 2), round(_float_summary(floats, "mcs"), 2)) == (
        39.37,
        53.44,
    )


def test_summaries_from_the_eight_scale_scores_equal_those_from_the_items() -> None:
    """Issue #18 item 10. The scale-score instruments apply the same formula to recorded
    scale scores; MID's scales (above) give the same exact PCS and MCS as its items, and the
    independent float transcription of Ware, Kosinski & Keller 1994 (``_float_summary``)
    agrees."""
    recorded = {
        k: str(Decimal(v.numerator) / Decimal(v.denominator)) for k, v in MID_SCALES.items()
    }
    for by_items, by_scales, which in (
        (SF36_PCS, SF36_PCS_SCALES, "pcs"),
        (SF36_MCS, SF36_MCS_SCALES, "mcs"),
    ):
        exact = by_scales.score({k: str(v) for k, v in MID_SCALES.items() if v.denominator == 1})
        assert exact.value is None  # role_emotional (200/3) left out: all eight are needed
        assert exact.missing == ["role_emotional"]
        from_items = by_items.score(as_values(MID))
        assert from_items.exact is not None
        result = by_scales.score(recorded)
        assert result.exact is not None
        # recorded to 28 significant digits (200/3 is not a terminating decimal): equal to 1e-20
        assert abs(result.exact - from_items.exact) < Fraction(1, 10**20)
        floats = {k: float(v) for k, v in MID_SCALES.items()}
        assert float(result.exact) == pytest.approx(_float_summary(floats, which), abs=1e-9)
        assert result.version == by_items.version
        assert result.parts["role_emotional_z"] == from_items.parts["role_emotional_z"]


def test_the_population_means_give_exactly_50() -> None:
    # By construction of the norm-based scoring: every z is 0 at the 1990 US means.
    means = {k: Decimal(m.numerator) / Decimal(m.denominator) for k, (m, _) in US1990_NORMS.items()}
    assert SF36_PCS_SCALES.score(means).exact == 50
    assert SF36_MCS_SCALES.score(means).exact == 50
    assert sf36_summary({k: m for k, (m, _) in US1990_NORMS.items()}, "pcs")[0] == 50


def test_a_summary_that_cannot_be_scored_still_returns_the_scales_it_can() -> None:
    codes = dict(MID)
    for n in (21, 22):
        del codes[n]  # bodily pain cannot be scored
    result = SF36_MCS.score(as_values(codes))
    assert result.value is None
    assert result.flags["unscored_scales"] == "bodily_pain"
    assert "bodily_pain" not in result.parts
    assert {k: Fraction(v) for k, v in result.parts.items() if k != "role_emotional"} == {
        k: v for k, v in MID_SCALES.items() if k not in ("bodily_pain", "role_emotional")
    }
    assert result.missing == ["item_21", "item_22"]
