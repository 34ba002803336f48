from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trialkit.errors import ValidationFailed
from trialkit.instruments import (
    MAYO,
    MAYO_RULES,
    MODIFIED_MAYO,
    PARTIAL_MAYO,
    MayoRemissionRule,
    MayoResponseRule,
)


def full(s: int, b: int, e: int, p: int) -> dict[str, object]:
    return {"stool_frequency": s, "rectal_bleeding": b, "endoscopy": e, "physician_global": p}


def test_variants_sum_their_subscores() -> None:
    assert MAYO.score(full(3, 2, 3, 2)).value == 10
    assert (
        PARTIAL_MAYO.score(
            {"stool_frequency": 3, "rectal_bleeding": 2, "physician_global": 2}
        ).value
        == 7
    )
    assert (
        MODIFIED_MAYO.score({"stool_frequency": 3, "rectal_bleeding": 2, "endoscopy": 3}).value == 8
    )
    assert MAYO.score(full(3, 3, 3, 3)).value == 12
    assert MAYO.score(full(0, 0, 0, 0)).value == 0


def test_missing_endoscopy_gives_no_full_score() -> None:
    result = MAYO.score({"stool_frequency": 1, "rectal_bleeding": 0, "physician_global": 1})
    assert result.value is None
    assert result.missing == ["endoscopy"]


def test_modified_friability_check() -> None:
    with pytest.raises(ValidationFailed, match="friability"):
        MODIFIED_MAYO.score(
            {"stool_frequency": 0, "rectal_bleeding": 0, "endoscopy": 1, "friability": True}
        )
    ok = MODIFIED_MAYO.score(
        {"stool_frequency": 0, "rectal_bleeding": 0, "endoscopy": 2, "friability": True}
    )
    assert ok.value == 2
    assert "friability" not in ok.parts


@pytest.mark.parametrize(
    ("sub", "met"),
    [
        ((1, 0, 1, 0), True),  # total 2, no subscore > 1
        ((1, 1, 0, 0), True),
        ((1, 1, 1, 0), False),  # total 3
        ((2, 0, 0, 0), False),  # subscore 2
    ],
)
def test_classic_remission(sub: tuple[int, int, int, int], met: bool) -> None:
    assert MAYO_RULES["mayo_remission"].evaluate(MAYO.score(full(*sub))).met is met  # type: ignore[call-arg,arg-type]


@pytest.mark.parametrize(
    ("sub", "met"),
    [
        ((1, 0, 1), True),
        ((0, 0, 0), True),
        ((2, 0, 1), False),
        ((1, 1, 1), False),
        ((1, 0, 2), False),
    ],
)
def test_fda_modified_remission(sub: tuple[int, int, int], met: bool) -> None:
    rule = MAYO_RULES["fda_2016_modified_remission"]
    assert isinstance(rule, MayoRemissionRule)
    s, b, e = sub
    result = MODIFIED_MAYO.score({"stool_frequency": s, "rectal_bleeding": b, "endoscopy": e})
    assert rule.evaluate(result).met is met


def test_response_boundaries() -> None:
    rule = MAYO_RULES["mayo_response"]
    assert isinstance(rule, MayoResponseRule)
    base = MAYO.score(full(3, 3, 2, 2))  # 10
    # fall 3 points = 30 %, bleeding 3 -> 2 (fall 1): response exactly on both boundaries
    assert rule.evaluate(base, MAYO.score(full(2, 2, 2, 1))).met is True
    # fall 2 points: not a response
    assert rule.evaluate(base, MAYO.score(full(3, 2, 2, 1))).met is False
    # fall 3 but bleeding unchanged at 3 (> 1): not a response
    assert rule.evaluate(base, MAYO.score(full(2, 3, 1, 1))).met is False
    # small baseline: 3 -> 0 fall 3 = 100 %
    small = MAYO.score(full(1, 1, 1, 0))
    assert rule.evaluate(small, MAYO.score(full(0, 0, 0, 0))).met is True
    # fall 3 of 11 is 27 %: fails the percent rule
    eleven = MAYO.score(full(3, 3, 3, 2))
    assert rule.evaluate(eleven, MAYO.score(full(2, 2, 2, 2))).met is False


def test_rules_refuse_wrong_instrument_or_missing_score() -> None:
    rule = MAYO_RULES["fda_2016_modified_remission"]
    assert isinstance(rule, MayoRemissionRule)
    outcome = rule.evaluate(MAYO.score(full(0, 0, 0, 0)))
    assert outcome.met is None
    assert "modified_mayo" in (outcome.reason or "")
    response = MAYO_RULES["mayo_response"]
    assert isinstance(response, MayoResponseRule)
    zero = MAYO.score(full(0, 0, 0, 0))
    assert response.evaluate(zero, zero).met is None
    assert response.evaluate(MAYO.score({}), zero).met is None


def test_custom_rule() -> None:
    rule = MayoRemissionRule(
        name="partial_le_1", instrument="partial_mayo", description="partial <= 1", max_total=1
    )
    result = PARTIAL_MAYO.score({"stool_frequency": 1, "rectal_bleeding": 0, "physician_global": 0})
    assert rule.evaluate(result).met is True


sub = st.integers(0, 3)


@given(sub, sub, sub, sub)
def test_scores_stay_in_range(s: int, b: int, e: int, p: int) -> None:
    value = MAYO.score(full(s, b, e, p)).value
    assert value is not None
    assert 0 <= value <= 12
