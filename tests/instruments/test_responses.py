"""Response and remission rules on a baseline and a follow-up result (issue #18 items 11-13).

Provenance of the reference values: each case is computed by hand from the published
definition named in its rule's description (PASI: Fredriksson & Pettersson 1978 and the
PASI 50/75/90/100 response convention; CDAI: Best et al. 1976, response 70/100 points,
remission < 150; Mayo: Schroeder et al. 1987 and MAYO_RULES; SES-CD: Daperno et al. 2004,
bands of Moskovitz et al. 2007, remission <= 2 and response >= 50 % as the IOIBD review of
endoscopic indices (Vuitton et al., Gut 2016) states them), at the boundaries exactly.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trialkit.instruments import (
    CDAI,
    MAYO,
    PASI,
    RESPONSE_RULES,
    SESCD,
    ScoreResult,
    change_from_baseline,
    pasi_response,
    rules_for,
)


def _total(instrument: str, value: str) -> ScoreResult:
    return ScoreResult(instrument=instrument, version="test", value=Decimal(value))


@pytest.mark.parametrize(
    ("rule", "baseline", "followup", "met"),
    [
        # 11.2 -> 2.8 is exactly a 75 % improvement (inclusive): PASI 75, not PASI 90
        ("pasi75", "11.2", "2.8", True),
        ("pasi90", "11.2", "2.8", False),
        ("pasi50", "10", "5", True),
        ("pasi50", "10", "5.1", False),
        ("pasi100", "10", "0", True),
        ("pasi100", "0", "0", None),  # baseline 0: improvement undefined
        ("cdai70", "250", "180", True),  # exactly 70 points
        ("cdai70", "250", "180.1", False),
        ("cdai100", "250", "150", True),
        ("cdai_remission", None, "149.9", True),
        ("cdai_remission", None, "150", False),  # strict: 150 is not remission
        ("sescd_remission", None, "2", True),
        ("sescd_remission", None, "3", False),
        ("sescd_response", "10", "5", True),  # exactly 50 %
        ("sescd_response", "10", "6", False),
        ("sescd_response", "0", "0", None),
    ],
)
def test_threshold_rules_at_their_boundaries(
    rule: str, baseline: str | None, followup: str, met: bool | None
) -> None:
    r = RESPONSE_RULES[rule]
    base = None if baseline is None else _total(r.instrument, baseline)
    outcome = r.evaluate(base, _total(r.instrument, followup))
    assert outcome.met is met, outcome.reason
    assert (outcome.reason is None) == (met is not None)
    if rule.startswith("pasi") and baseline is not None:
        threshold = int(rule.removeprefix("pasi"))
        assert pasi_response(baseline, followup, threshold) is met  # the same as pasi_response


def test_a_rule_needing_a_baseline_says_so_and_one_of_another_instrument_is_refused() -> None:
    outcome = RESPONSE_RULES["cdai100"].evaluate(None, _total("cdai", "100"))
    assert outcome.met is None
    assert "needs the baseline cdai score" in (outcome.reason or "")
    other = RESPONSE_RULES["cdai100"].evaluate(_total("pasi", "9"), _total("pasi", "1"))
    assert "applies to cdai, not pasi" in (other.reason or "")
    mayo = RESPONSE_RULES["mayo_response"].evaluate(None, MAYO.score(_mayo(1, 0, 1, 1)))
    assert mayo.met is None


def _mayo(stool: int, bleeding: int, endoscopy: int, pga: int) -> dict[str, object]:
    return {
        "stool_frequency": stool,
        "rectal_bleeding": bleeding,
        "endoscopy": endoscopy,
        "physician_global": pga,
    }


def test_mayo_rules_through_the_same_interface() -> None:
    base = MAYO.score(_mayo(3, 2, 3, 2))  # 10
    # 10 -> 6: a fall of 4 points (>= 3) and 40 % (>= 30 %), bleeding 2 -> 1 (fall >= 1)
    now = MAYO.score(_mayo(2, 1, 2, 1))
    assert RESPONSE_RULES["mayo_response"].evaluate(base, now).met is True
    assert RESPONSE_RULES["mayo_remission"].evaluate(base, now).met is False
    # 2 points with no subscore above 1: remission
    assert RESPONSE_RULES["mayo_remission"].evaluate(None, MAYO.score(_mayo(1, 0, 1, 0))).met
    names = [r.name for r in rules_for("mayo")]
    assert names == ["mayo_remission", "mayo_response"]


def test_every_rule_names_an_instrument_and_describes_its_inequality() -> None:
    from trialkit.instruments import INSTRUMENTS

    assert {"pasi50", "pasi75", "pasi90", "pasi100", "cdai70", "cdai100"} <= set(RESPONSE_RULES)
    for rule in RESPONSE_RULES.values():
        assert rule.instrument in INSTRUMENTS
        assert rule.description


def _diary(stools: int, pain: int) -> dict[str, object]:
    out: dict[str, object] = {}
    for day in range(1, 8):
        out[f"liquid_stools_day_{day}"] = stools
        out[f"abdominal_pain_day_{day}"] = pain
        out[f"general_wellbeing_day_{day}"] = 2
    return out


def _cdai(stools: int, pain: int, weight: str = "62") -> dict[str, object]:
    from trialkit.instruments.cdai import CDAI_COMPLICATIONS

    return (
        _diary(stools, pain)
        | dict.fromkeys(CDAI_COMPLICATIONS, False)
        | {
            "arthritis_arthralgia": True,
            "antidiarrheal": False,
            "abdominal_mass": "0",
            "sex": "male",
            "hematocrit": "40",
            "weight": weight,
            "standard_weight": "70",
        }
    )


def test_cdai_is_reported_as_an_integer_beside_the_exact_value() -> None:
    # tests/instruments/test_cdai.py's hand-computed example: 1739/7 = 248.428571...
    result = CDAI.score(_cdai(3, 1))
    assert result.exact == Fraction(1739, 7)
    assert result.flags["reported"] == 248
    assert result.flags["reported_rounding"] == (
        "nearest integer, halves away from zero (ROUND_HALF_UP)"
    )
    # weight 70.35 of a standard 70: weight term 100 x (1 - 70.35/70) = -0.5 exactly, so the
    # total is 236.5: reported 237 (half away from zero; half-even would give 236)
    half = CDAI.score(_cdai(3, 1, weight="70.35"))
    assert half.exact == Fraction(473, 2)
    assert half.flags["reported"] == 237


def test_cdai_change_from_baseline_and_its_rules() -> None:
    base = CDAI.score(_cdai(3, 1))
    # 3 -> 0 liquid stools a day (-42) and pain 1 -> 0 (-35): a fall of exactly 77 points
    now = CDAI.score(_cdai(0, 0))
    change = change_from_baseline(base, now)
    assert change is not None
    assert change.change == -77
    assert change.percent_fall == Fraction(100 * 77 * 7, 1739)
    outcomes = {r.name: r.evaluate(base, now).met for r in rules_for("cdai")}
    assert outcomes == {"cdai70": True, "cdai100": False, "cdai_remission": False}


def _seg(name: str, *scores: int) -> dict[str, object]:
    variables = ("ulcer_size", "ulcerated_surface", "affected_surface", "narrowing")
    return {f"{name}_reached": True} | {
        f"{name}_{v}": s for v, s in zip(variables, scores, strict=True)
    }


def test_sescd_bands_remission_response_and_the_total_without_narrowing() -> None:
    # tests/instruments/test_sescd.py's hand-computed example: 14, narrowing 1 (ileum)
    base = SESCD.score(
        _seg("ileum", 2, 2, 2, 1)
        | _seg("right_colon", 1, 1, 1, 0)
        | _seg("transverse_colon", 0, 0, 0, 0)
        | _seg("left_colon", 1, 1, 2, 0)
        | _seg("rectum", 0, 0, 0, 0)
    )
    assert (base.value, base.flags["band"], base.flags["remission"]) == (14, "moderate", False)
    assert base.parts["total_without_narrowing"] == 13
    now = SESCD.score(
        _seg("ileum", 1, 1, 1, 1)
        | _seg("right_colon", 1, 1, 1, 0)
        | {f"{s}_reached": False for s in ("transverse_colon", "left_colon", "rectum")}
    )
    assert (now.value, now.flags["band"]) == (7, "moderate")
    outcomes = {r.name: r.evaluate(base, now).met for r in rules_for("sescd")}
    assert outcomes == {"sescd_remission": False, "sescd_response": True}  # 14 -> 7: 50 %


@pytest.mark.parametrize(
    ("total", "band"),
    [(0, "inactive"), (2, "inactive"), (3, "mild"), (6, "mild"), (7, "moderate"),
     (15, "moderate"), (16, "severe"), (56, "severe")],
)  # fmt: skip
def test_sescd_band_boundaries(total: int, band: str) -> None:
    from trialkit.instruments import sescd_band

    assert sescd_band(total) == band


def test_pasi_rules_on_scored_results() -> None:
    regions = ("head", "upper_limbs", "trunk", "lower_limbs")
    signs = ("erythema", "induration", "desquamation")

    def pasi(severity: int) -> dict[str, object]:
        values: dict[str, object] = {f"{r}_{s}": severity for r in regions for s in signs}
        return values | {f"{r}_area_percent": "20" for r in regions}

    base, now = PASI.score(pasi(4)), PASI.score(pasi(1))  # 24.0 -> 6.0: exactly 75 %
    assert (base.value, now.value) == (24, 6)
    outcomes = {r.name: r.evaluate(base, now).met for r in rules_for("pasi")}
    assert outcomes == {"pasi50": True, "pasi75": True, "pasi90": False, "pasi100": False}


_scores = st.decimals(min_value=0, max_value=72, places=1, allow_nan=False, allow_infinity=False)


@given(baseline=_scores, followup=_scores)
def test_response_rules_nest_and_agree_with_the_helpers(
    baseline: Decimal, followup: Decimal
) -> None:
    """A PASI 90 responder is a PASI 75 and a PASI 50 responder; each rule decides as the
    published helper (pasi_response, sescd_response, cdai_response) does, exactly."""
    from trialkit.instruments import cdai_response, sescd_response

    met = {
        p: RESPONSE_RULES[f"pasi{p}"]
        .evaluate(_total("pasi", str(baseline)), _total("pasi", str(followup)))
        .met
        for p in (50, 75, 90, 100)
    }
    assert met == {p: pasi_response(baseline, followup, p) for p in met}
    if baseline > 0:
        assert met[100] <= met[90] <= met[75] <= met[50]  # type: ignore[operator]
    sescd = RESPONSE_RULES["sescd_response"].evaluate(
        _total("sescd", str(baseline)), _total("sescd", str(followup))
    )
    assert sescd.met == sescd_response(baseline, followup)
    cdai = RESPONSE_RULES["cdai70"].evaluate(
        _total("cdai", str(baseline)), _total("cdai", str(followup))
    )
    assert cdai.met == cdai_response(baseline, followup, 70)
