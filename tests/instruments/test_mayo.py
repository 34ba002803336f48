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


def test_worked_example_act_definitions() -> None:
    """A worked example with the definitions of the ACT 1 and ACT 2 trials (Rutgeerts P et al.,
    Infliximab for induction and maintenance therapy for ulcerative colitis, N Engl J Med
    2005;353:2462-2476, Methods, "End points"): clinical response = a fall in the total Mayo
    score of at least 3 points and at least 30 %, with a fall in the rectal bleeding subscore of
    at least 1 or an absolute rectal bleeding subscore of 0 or 1; clinical remission = a total
    Mayo score of 2 or less with no subscore above 1. Subscores as in Schroeder 1987."""
    response = MAYO_RULES["mayo_response"]
    remission = MAYO_RULES["mayo_remission"]
    assert isinstance(response, MayoResponseRule)
    assert isinstance(remission, MayoRemissionRule)
    # baseline: stool 5+ above normal (3), obvious blood (2), severe endoscopy (3), PGA severe
    # (3): 3 + 2 + 3 + 3 = 11
    baseline = MAYO.score(full(3, 2, 3, 3))
    assert baseline.value == 11
    # week 8: stool 1-2 above normal (1), no blood (0), mild (1), mild (1): 3
    week8 = MAYO.score(full(1, 0, 1, 1))
    assert week8.value == 3
    # fall 8 points = 72.7 % of 11, bleeding 2 -> 0: a response; total 3 > 2: no remission
    assert response.evaluate(baseline, week8).met is True
    assert remission.evaluate(week8).met is False
    # week 30: 1, 0, 0, 1 = 2 with no subscore above 1: remission (and still a response)
    week30 = MAYO.score(full(1, 0, 0, 1))
    assert week30.value == 2
    assert remission.evaluate(week30).met is True
    assert response.evaluate(baseline, week30).met is True
    # the same rule on the numbers alone (what the endpoint analysis calls)
    assert response.decide(11, 3, 2, 0).met is True
    assert remission.decide(2, {"stool_frequency": 1, "endoscopy": 0}).met is True
    assert response.decide(0, 0, 0, 0).met is None  # baseline 0: percent fall undefined
