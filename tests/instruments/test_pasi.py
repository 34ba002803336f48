from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trialkit.errors import ValidationFailed
from trialkit.instruments import (
    PASI,
    pasi_absolute_target,
    pasi_area_score,
    pasi_improvement,
    pasi_response,
)
from trialkit.instruments.pasi import PASI_REGIONS

SIGNS = ("erythema", "induration", "desquamation")


def entry(**regions: tuple[int, int, int, str]) -> dict[str, object]:
    out: dict[str, object] = {}
    for region, (e, i, d, pct) in regions.items():
        out |= {
            f"{region}_erythema": e,
            f"{region}_induration": i,
            f"{region}_desquamation": d,
            f"{region}_area_percent": pct,
        }
    return out


def test_worked_example() -> None:
    # head: 0.1 x (2+2+1) x 2 (15 %) = 1.0;  upper limbs: 0.2 x (3+2+2) x 2 (25 %) = 2.8
    # trunk: 0.3 x (2+2+2) x 3 (35 %) = 5.4;  lower limbs: 0.4 x (3+3+3) x 4 (55 %) = 14.4
    # PASI = 1.0 + 2.8 + 5.4 + 14.4 = 23.6
    result = PASI.score(
        entry(
            head=(2, 2, 1, "15"),
            upper_limbs=(3, 2, 2, "25"),
            trunk=(2, 2, 2, "35"),
            lower_limbs=(3, 3, 3, "55"),
        )
    )
    assert result.value == Decimal("23.6")
    assert result.parts["head"] == Decimal("1.0")
    assert result.parts["upper_limbs"] == Decimal("2.8")
    assert result.parts["trunk"] == Decimal("5.4")
    assert result.parts["lower_limbs"] == Decimal("14.4")
    assert result.parts["lower_limbs_area_score"] == 4
    assert result.version == "PASI 1978"


def test_maximum_is_72_and_zero_is_0() -> None:
    full = entry(**dict.fromkeys(PASI_REGIONS, (4, 4, 4, "100")))
    assert PASI.score(full).value == 72
    zero = entry(**dict.fromkeys(PASI_REGIONS, (0, 0, 0, "0")))
    assert PASI.score(zero).value == 0


@pytest.mark.parametrize(
    ("percent", "score"),
    [
        ("0", 0),
        ("0.01", 1),
        ("9.99", 1),
        ("10", 2),
        ("29.999", 2),
        ("30", 3),
        ("49.9", 3),
        ("50", 4),
        ("69.99", 4),
        ("70", 5),
        ("89.99", 5),
        ("90", 6),
        ("100", 6),
    ],
)
def test_area_bands_are_half_open(percent: str, score: int) -> None:
    assert pasi_area_score(Decimal(percent)) == score


def test_area_out_of_range() -> None:
    with pytest.raises(ValueError, match="out of range"):
        pasi_area_score(Decimal("100.1"))
    with pytest.raises(ValidationFailed, match="head_area_percent"):
        PASI.score(entry(head=(1, 1, 1, "101")))


def test_sign_out_of_range_message() -> None:
    with pytest.raises(ValidationFailed) as info:
        PASI.score({"head_erythema": 5})
    assert "head_erythema" in str(info.value)
    assert "0..4" in str(info.value)


def test_missing_item_gives_no_score_never_zero() -> None:
    values = entry(**dict.fromkeys(PASI_REGIONS, (1, 1, 1, "20")))
    del values["trunk_induration"]
    result = PASI.score(values)
    assert result.value is None
    assert result.missing == ["trunk_induration"]
    assert "trunk_induration" in (result.reason or "")


def test_region_with_no_area_needs_no_signs() -> None:
    values = entry(**dict.fromkeys(("head", "upper_limbs", "trunk"), (1, 1, 1, "20")))
    values["lower_limbs_area_percent"] = "0"
    # 0.1x3x2 + 0.2x3x2 + 0.3x3x2 = 0.6 + 1.2 + 1.8 = 3.6
    assert PASI.score(values).value == Decimal("3.6")


def test_area_score_alternative_and_disagreement() -> None:
    values = entry(**dict.fromkeys(PASI_REGIONS, (1, 1, 1, "20")))
    by_score = dict(values)
    for r in PASI_REGIONS:
        del by_score[f"{r}_area_percent"]
        by_score[f"{r}_area_score"] = 2
    assert PASI.score(by_score).value == PASI.score(values).value
    values["head_area_score"] = 2  # 20 % is band 10-29 %: score 2, agrees
    # every region (1 + 1 + 1) x area 2, weights 0.1 + 0.2 + 0.3 + 0.4 = 1: 3 x 2 x 1 = 6.0
    assert PASI.score(values).value == Decimal("6.0")
    values["head_area_score"] = 3
    with pytest.raises(ValidationFailed, match="disagrees"):
        PASI.score(values)


def test_pasi_75_exact_boundary() -> None:
    # (11.2 - 2.8) / 11.2 = 8.4 / 11.2 = 0.75 exactly; in binary floats it is not
    assert pasi_improvement("11.2", "2.8") == 75
    assert pasi_response("11.2", "2.8", 75) is True
    assert pasi_response("11.2", "2.81", 75) is False
    assert pasi_response(Decimal("11.2"), Decimal("2.8"), 90) is False


@pytest.mark.parametrize(
    ("current", "threshold", "expected"),
    [
        ("10", 50, True),
        ("10.1", 50, False),
        ("5", 75, True),
        ("2", 90, True),
        ("2.01", 90, False),
        ("0", 100, True),
        ("0.1", 100, False),
    ],
)
def test_responder_thresholds_inclusive(current: str, threshold: int, expected: bool) -> None:
    assert pasi_response("20", current, threshold) is expected


def test_zero_baseline_is_undefined_not_an_error() -> None:
    assert pasi_improvement(0, 0) is None
    assert pasi_response("0", "1.5") is None


def test_worsening_is_negative_improvement() -> None:
    assert pasi_improvement("10", "15") == Fraction(-50)


def test_absolute_target_inclusive() -> None:
    assert pasi_absolute_target("2", 2)
    assert not pasi_absolute_target("2.1", 2)
    assert pasi_absolute_target("2.9", 3)


def test_float_refused_in_helpers() -> None:
    with pytest.raises(ValueError, match="binary float"):
        pasi_response(11.2, 2.8)  # type: ignore[arg-type]


sign = st.integers(0, 4)
percent = st.decimals(min_value=0, max_value=100, places=2)
region_values = st.tuples(sign, sign, sign, percent)


@given(
    st.fixed_dictionaries(dict.fromkeys(PASI_REGIONS, region_values)),
    st.sampled_from(list(PASI_REGIONS)),
    st.sampled_from([*SIGNS, "area_percent"]),
)
def test_worsening_any_sign_never_lowers_pasi(
    regions: dict[str, tuple[int, int, int, Decimal]], region: str, what: str
) -> None:
    values = entry(**{r: (e, i, d, str(p)) for r, (e, i, d, p) in regions.items()})
    before = PASI.score(values).value
    key = f"{region}_{what}"
    current = Decimal(str(values[key]))
    worse = min(current + (1 if what in SIGNS else 7), 4 if what in SIGNS else 100)
    values[key] = str(worse)
    after = PASI.score(values).value
    assert before is not None
    assert after is not None
    assert after >= before
    assert 0 <= after <= 72
