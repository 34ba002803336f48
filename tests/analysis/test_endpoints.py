from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from trialkit.analysis.data import read_tidy
from trialkit.analysis.endpoints import analyse, order_arms, percent_improvement
from trialkit.errors import DefinitionError, ValidationFailed
from trialkit.protocol.endpoints import EndpointSpec, EndpointSpecs

VALUES = """participant,arm,visit,day,item,value,role
P1,low,W00,1,pasi,11.2,
P1,low,W12,85,pasi,2.8,
P2,low,W00,1,pasi,11.2,
P2,low,W12,85,pasi,2.81,
P3,low,W00,1,pasi,0,
P3,low,W12,85,pasi,1,
P4,high,W00,1,pasi,20,
P4,high,W12,85,pasi,2,
P5,high,W00,1,pasi,10,
P5,high,W12,85,pasi,5,
P1,low,W12,85,grade,1,treated
P1,low,W12,85,grade,3,control
P2,low,W12,85,grade,2,treated
P2,low,W12,85,grade,2,control
P3,low,W12,85,grade,0,treated
P3,low,W12,85,grade,2,control
P1,low,W00,1,cdai,300,
P1,low,D30,30,cdai,149,
P1,low,D60,60,cdai,150,
P2,low,W00,1,cdai,250,
P2,low,D30,30,cdai,150,
P2,low,D60,60,cdai,120,
P3,low,W00,1,cdai,260,
P3,low,D30,30,cdai,200,
P3,low,D60,60,cdai,170,
"""

AES = """participant,arm,term,grade,serious,related,onset_day,last_day
P1,low,rash,1,no,yes,10,90
P1,low,pruritus,2,no,yes,20,90
P2,low,headache,3,yes,no,5,
P4,high,rash,2,no,yes,3,90
"""

SPEC = TypeAdapter(EndpointSpec)


def run(spec: dict[str, object]) -> dict[str, object]:
    data = read_tidy(VALUES, AES)
    return analyse([SPEC.validate_python(spec)], data)[0].to_dict()


def test_percent_improvement_exact_boundary() -> None:
    assert percent_improvement(Fraction("11.2"), Fraction("2.8")) == 75
    assert percent_improvement(Fraction(0), Fraction(1)) is None
    out = run(
        {
            "type": "percent_improvement",
            "name": "PASI",
            "item": "pasi",
            "baseline_visit": "W00",
            "visit": "W12",
        }
    )
    rows = {(r["arm"], r["measure"]): r for r in out["rows"]}  # type: ignore[union-attr]
    low75 = rows[("low", "pasi 75 (≥ 75%)")]
    assert (low75["n"], low75["responders"]) == (2, 1)  # 2.8 is exactly 75: responder
    high90 = rows[("high", "pasi 90 (≥ 90%)")]
    assert high90["responders"] == 1  # 20 → 2 is exactly 90
    assert any("baseline pasi 0" in n for n in out["notes"])  # type: ignore[union-attr]
    # mean and median: high 90 and 50; low 75 and (11.2 − 2.81)/11.2 × 100 = 74.9107142857…
    assert rows[("high", "median % improvement")]["percent"] == 70
    assert rows[("high", "mean % improvement")]["percent"] == 70
    p2 = float((Fraction("11.2") - Fraction("2.81")) / Fraction("11.2") * 100)
    assert rows[("low", "median % improvement")]["percent"] == (75 + p2) / 2  # full precision
    listing = out["listing"]
    assert listing["columns"] == [  # type: ignore[index]
        "arm",
        "participant",
        "baseline",
        "value",
        "% improvement",
        "≥ 50%",
        "≥ 75%",
        "≥ 90%",
        "excluded",
    ]
    by_p = {r["participant"]: r for r in listing["rows"]}  # type: ignore[index]
    assert (by_p["P1"]["% improvement"], by_p["P1"]["≥ 75%"], by_p["P1"]["≥ 90%"]) == (
        75,
        "yes",
        "no",
    )
    assert by_p["P2"]["% improvement"] == p2
    assert (by_p["P3"]["% improvement"], by_p["P3"]["excluded"]) == (None, "baseline 0")
    assert len(by_p) == 5


def test_within_patient_difference() -> None:
    out = run(
        {
            "type": "within_patient_difference",
            "name": "lesion grade",
            "item": "grade",
            "visits": ["W12"],
        }
    )
    (row,) = [r for r in out["rows"] if r["arm"] == "low"]  # type: ignore[union-attr]
    assert row["n"] == 3
    assert row["mean difference"] == pytest.approx(-4 / 3, abs=1e-4)
    # differences −2, 0, −2; zero discarded; V = 0 of 2 ties: p = 2·(1/4) = 0.5
    assert row["Wilcoxon V"] == 0
    assert row["Wilcoxon p"] == 0.5
    assert "Wilcoxon" in out["methods"]  # type: ignore[operator]
    # sign test: 0 positives of 2 non-zero, two-sided p = 2·1/4; Walsh averages of −2, 0, −2:
    # −2, −2, −2, −1, −1, 0 → Hodges–Lehmann −1.5; n = 3 reaches only 75 %: [min, max]
    assert row["sign p"] == 0.5
    assert (row["HL estimate"], row["HL lower"], row["HL upper"]) == (-1.5, -2, 0)
    assert row["HL level"] == 0.75
    assert (row["t"], row["df"]) == (pytest.approx(-2.0), 2)


def test_within_patient_difference_direction_and_alternative() -> None:
    out = run(
        {
            "type": "within_patient_difference",
            "name": "lesion grade, benefit positive",
            "item": "grade",
            "visits": ["W12"],
            "direction": "control_minus_treated",
            "alternative": "greater",
        }
    )
    (row,) = [r for r in out["rows"] if r["arm"] == "low"]  # type: ignore[union-attr]
    assert row["mean difference"] == pytest.approx(4 / 3, abs=1e-4)
    assert row["HL estimate"] == 1.5
    assert row["upper"] is None  # one-sided bound
    # one-sided t: P(T₂ ≥ 2) = (1 − 1/√(1 + 2/4))/2 for the t distribution on 2 df
    assert row["t p"] == pytest.approx((1 - 2 / 6**0.5) / 2, abs=1e-4)
    assert row["Wilcoxon p"] == 0.25  # V = 3 of ranks 1.5 + 1.5: P(V ≥ 3) = 1/4
    assert out["methods"]["difference"]["definition"] == "control − treated within participant"  # type: ignore[index]


def test_responder_rules_exact_cutoffs() -> None:
    rem = run(
        {
            "type": "responder_rule",
            "name": "remission",
            "item": "cdai",
            "rule": "cdai_remission",
            "visits": ["D30", "D60"],
        }
    )
    by_visit = {r["visit"]: r for r in rem["rows"]}  # type: ignore[union-attr]
    assert by_visit["D30"]["responders"] == 1  # 149 < 150, 150 is not
    assert by_visit["D60"]["responders"] == 1  # 120
    resp = run(
        {
            "type": "responder_rule",
            "name": "response",
            "item": "cdai",
            "rule": "cdai_response",
            "baseline_visit": "W00",
            "visits": ["D30"],
            "parameters": {"fall": 100},
        }
    )
    assert resp["rows"][1]["responders"] == 2  # type: ignore[index]  # 151 and exactly 100


def test_responder_rule_binomial_test_against_null() -> None:
    spec = {
        "type": "responder_rule",
        "name": "remission",
        "item": "cdai",
        "rule": "cdai_remission",
        "visits": ["D30"],
        "null_proportion": "0.1",
    }
    two = run(spec)
    greater = run({**spec, "test_alternative": "greater"})
    # low D30: 1 of 3 in remission; R 4.2.2: binom.test(1, 3, 0.1)$p.value = 0.271 and
    # binom.test(1, 3, 0.1, alternative = "greater")$p.value = 0.271 (= 1 − 0.9³)
    low = next(r for r in two["rows"] if r["arm"] == "low")  # type: ignore[union-attr]
    assert low["binomial p"] == pytest.approx(0.271, rel=1e-12)
    low_g = next(r for r in greater["rows"] if r["arm"] == "low")  # type: ignore[union-attr]
    assert low_g["binomial p"] == pytest.approx(0.271, rel=1e-12)
    assert "one-sided (greater)" in greater["methods"]["binomial test"]["p-value"]  # type: ignore[index]
    assert run({**spec, "null_proportion": None})["rows"][0]["binomial p"] is None  # type: ignore[index]


def test_change_from_baseline_small_sample_reports_why() -> None:
    out = run(
        {
            "type": "change_from_baseline",
            "name": "CDAI change",
            "item": "cdai",
            "baseline_visit": "W00",
            "visits": ["D30", "D60"],
        }
    )
    rows = [r for r in out["rows"] if r["arm"] == "low"]  # type: ignore[union-attr]
    assert rows[0]["mean change"] == pytest.approx((-151 - 100 - 60) / 3, abs=1e-4)  # type: ignore[index]
    methods = {r["method"] for r in rows}  # type: ignore[union-attr]
    assert "mixed model" in methods
    fall = run(
        {
            "type": "change_from_baseline",
            "name": "CDAI fall",
            "item": "cdai",
            "baseline_visit": "W00",
            "visits": ["D30", "D60"],
            "direction": "baseline_minus_value",
        }
    )
    rows = [r for r in fall["rows"] if r["arm"] == "low"]  # type: ignore[union-attr]
    assert rows[0]["mean change"] == pytest.approx((151 + 100 + 60) / 3, abs=1e-4)  # type: ignore[index]
    assert fall["methods"]["change"]["definition"] == "baseline − value"  # type: ignore[index]


def test_change_from_baseline_adjusted_mixed_model_states_df_and_fit() -> None:
    out = run(
        {
            "type": "change_from_baseline",
            "name": "CDAI change, baseline-adjusted",
            "item": "cdai",
            "baseline_visit": "W00",
            "visits": ["D30", "D60"],
            "adjust_for_baseline": True,
            "df_method": "nlme",
        }
    )
    mm = [r for r in out["rows"] if str(r["method"]).startswith("mixed model")]  # type: ignore[union-attr]
    assert [r["visit"] for r in mm] == ["D30", "D60", "baseline (W00)"]
    # nlme df: N − G − (V − 1) = 6 − 3 − 1 for the visits, G − 1 = 2 for the baseline
    assert [r["df"] for r in mm] == [2, 2, 2]
    t_rows = [
        r for r in out["rows"] if r["method"] == "mean change, t interval" and r["arm"] == "low"
    ]  # type: ignore[union-attr]
    assert [r["df"] for r in t_rows] == [2, 2]
    note = next(n for n in out["notes"] if "variance components" in n)  # type: ignore[union-attr]
    assert "log-likelihood REML" in note
    assert "AIC REML" in note
    assert "(5 parameters)" in note  # 2 visit means, baseline, 2 variances
    fit = out["details"]["mixed model"]["low"]  # type: ignore[index]
    assert fit["n_parameters"] == 5
    assert fit["aic_reml"] == pytest.approx(-2 * fit["loglik_reml"] + 10)  # full precision
    assert fit["df_method"] == "nlme"


def test_adverse_event_incidence_worst_grade() -> None:
    out = run({"type": "adverse_event_incidence", "name": "AE", "by": ["arm", "grade"]})
    rows = [(r["arm"], r["worst grade"], r["participants"], r["N"]) for r in out["rows"]]  # type: ignore[union-attr]
    assert ("low", 2, 1, 3) in rows  # P1 counted once, at worst grade 2
    assert ("low", 3, 1, 3) in rows
    assert ("high", 2, 1, 2) in rows
    # nobody's worst grade is 1, but P1's grade-1 rash is an event: the row shows 0 and 1
    grade1 = {
        r["arm"]: (r["participants"], r["events"]) for r in out["rows"] if r["worst grade"] == 1
    }  # type: ignore[union-attr]
    assert grade1 == {"low": (0, 1), "high": (0, 0)}


AE_SOC = """participant,arm,term,grade,serious,related,onset_day,organ_system
D1,G50,rash,1,no,yes,3,Skin and subcutaneous tissue disorders
D1,G50,rash,2,no,yes,9,Skin and subcutaneous tissue disorders
D2,G50,headache,1,no,no,4,Nervous system disorders
D3,G200,rash,1,no,yes,2,Skin and subcutaneous tissue disorders
D3,G200,pruritus,1,no,yes,2,Skin and subcutaneous tissue disorders
D4,G100,nausea,1,no,no,6,
"""
AE_VALUES = """participant,arm,visit,day,item,value
D1,G50,W00,1,pasi,10
D2,G50,W00,1,pasi,10
D3,G200,W00,1,pasi,10
D4,G100,W00,1,pasi,10
D5,G200,W00,1,pasi,10
"""


def _ae_table(by: list[str], order: list[str] | None = None) -> dict[str, object]:
    spec = SPEC.validate_python({"type": "adverse_event_incidence", "name": "AE", "by": by})
    return analyse([spec], read_tidy(AE_VALUES, AE_SOC), arm_order=order)[0].to_dict()


def test_adverse_events_by_term_with_event_counts_and_empty_cells() -> None:
    out = _ae_table(["arm", "term"])
    rows = [(r["arm"], r["term"], r["participants"], r["N"], r["events"]) for r in out["rows"]]  # type: ignore[union-attr]
    # natural order G50 < G100 < G200; every term for every arm
    assert rows == [
        ("G50", "headache", 1, 2, 1),
        ("G50", "nausea", 0, 2, 0),
        ("G50", "pruritus", 0, 2, 0),
        ("G50", "rash", 1, 2, 2),  # D1 once, two events
        ("G100", "headache", 0, 1, 0),
        ("G100", "nausea", 1, 1, 1),
        ("G100", "pruritus", 0, 1, 0),
        ("G100", "rash", 0, 1, 0),
        ("G200", "headache", 0, 2, 0),
        ("G200", "nausea", 0, 2, 0),
        ("G200", "pruritus", 1, 2, 1),
        ("G200", "rash", 1, 2, 1),
    ]
    assert out["columns"][-1] == "events"  # type: ignore[index]


def test_adverse_events_by_organ_system_and_protocol_arm_order() -> None:
    out = _ae_table(["arm", "organ_system"], order=["G200", "G100", "G50"])
    rows = [(r["arm"], r["organ system"], r["participants"], r["events"]) for r in out["rows"]]  # type: ignore[union-attr]
    assert rows == [
        ("G200", "(not coded)", 0, 0),
        ("G200", "Nervous system disorders", 0, 0),
        ("G200", "Skin and subcutaneous tissue disorders", 1, 2),
        ("G100", "(not coded)", 1, 1),
        ("G100", "Nervous system disorders", 0, 0),
        ("G100", "Skin and subcutaneous tissue disorders", 0, 0),
        ("G50", "(not coded)", 0, 0),
        ("G50", "Nervous system disorders", 1, 1),
        ("G50", "Skin and subcutaneous tissue disorders", 1, 2),
    ]
    assert any("without an organ system" in n for n in out["notes"])  # type: ignore[union-attr]
    both = _ae_table(["arm", "organ_system", "term"])
    assert both["columns"][:3] == ["arm", "organ system", "term"]  # type: ignore[index]


def test_order_arms() -> None:
    assert order_arms(["G200", "G50", "G100", "X"]) == ["G50", "G100", "G200", "X"]
    assert order_arms(["G200", "G50", "G100"], ["G100", "G9"]) == ["G100", "G50", "G200"]


def test_time_to_first_related_grade2() -> None:
    out = run({"type": "time_to_first_event", "name": "TTE", "min_grade": 2, "related": True})
    rows = out["rows"]
    low = [r for r in rows if r["arm"] == "low"]  # type: ignore[union-attr]
    assert low[0]["days"] == 19  # P1 grade 2 related at Day 20
    assert low[0]["at risk"] == 3


def test_time_to_first_at_requested_days() -> None:
    out = run(
        {
            "type": "time_to_first_event",
            "name": "TTE",
            "min_grade": 2,
            "related": True,
            "at_days": [0, 30, 200],
        }
    )
    low = [r for r in out["rows"] if r["arm"] == "low"]  # type: ignore[union-attr]
    # low: P1 event at day 19 (onset 20 − 1), P2 censored at 89, P3 at 84: S(19) = 2/3
    asked = [r for r in low if r["row"] == "requested day"]
    assert [(r["days"], r["survival"]) for r in asked] == [(0.0, 1.0), (30.0, 2 / 3), (200, 2 / 3)]
    assert (asked[0]["se"], asked[0]["lower"], asked[0]["upper"]) == (0.0, 1.0, 1.0)
    assert asked[1]["se"] == pytest.approx((2 / 3) * (1 / 6) ** 0.5)  # Greenwood 1/(3·2)
    assert any("day 200 is after the last follow-up" in n for n in out["notes"])  # type: ignore[union-attr]
    median = out["details"]["median"]["low"]  # type: ignore[index]
    assert (median["median"], median["events"], median["transform"]) == (None, 1, "log-log")
    with pytest.raises(ValidationError, match="negative"):
        SPEC.validate_python({"type": "time_to_first_event", "name": "x", "at_days": [-1]})


def test_time_to_first_leaves_out_who_has_no_follow_up_after_day_1() -> None:
    # P6 enrolled in the low arm with only a screening visit (day -9): no follow-up time;
    # Kaplan–Meier would refuse the negative time, so the participant is left out with a note
    # and the rest of the arm is computed as before.
    values = VALUES + "P6,low,SCR,-9,pasi,12,\n"
    spec = {"type": "time_to_first_event", "name": "TTE", "min_grade": 2, "related": True}
    out = analyse([SPEC.validate_python(spec)], read_tidy(values, AES))[0].to_dict()
    before = run(spec)
    left_out = "low: P6: the last contact is on day -9, before day 1; left out (no follow-up time)"
    assert {k: v for k, v in out.items() if k != "notes"} == {
        k: v for k, v in before.items() if k != "notes"
    }
    assert sorted(out["notes"]) == sorted([*before["notes"], left_out])  # type: ignore[misc]


def test_bad_number_names_row_and_column() -> None:
    bad = "participant,arm,visit,day,item,value\nP1,low,W00,1,pasi,abc\n"
    data = read_tidy(bad)
    spec = SPEC.validate_python(
        {
            "type": "percent_improvement",
            "name": "PASI",
            "item": "pasi",
            "baseline_visit": "W00",
            "visit": "W12",
        }
    )
    with pytest.raises(ValidationFailed, match="row 2, column value"):
        analyse([spec], data)


def test_input_errors() -> None:
    with pytest.raises(ValidationFailed, match="missing column"):
        read_tidy("participant,arm\nP1,a\n")
    with pytest.raises(ValidationFailed, match="row 2, column day"):
        read_tidy("participant,arm,visit,day,item,value\nP1,a,W0,x,pasi,1\n")
    with pytest.raises(ValidationFailed, match=r"out of range 1\.\.5"):
        read_tidy(VALUES, AES.replace("rash,1,", "rash,7,"))
    with pytest.raises(ValidationFailed, match="not yes/no"):
        read_tidy(VALUES, AES.replace("no,yes,10", "maybe,yes,10"))
    with pytest.raises(ValidationFailed, match="one arm"):
        read_tidy(VALUES, AES.replace("P4,high", "P4,low"))


def test_spec_validation() -> None:
    with pytest.raises(ValidationError):
        EndpointSpecs.model_validate(
            [
                {
                    "type": "responder_rule",
                    "name": "x",
                    "item": "cdai",
                    "rule": "cdai_response",
                    "visits": ["D30"],
                }
            ]
        )
    with pytest.raises(ValidationError):
        EndpointSpecs.model_validate([{"type": "nonsense", "name": "x"}])


DOSE_VALUES = """participant,arm,visit,day,item,value,role
A1,d1,W12,85,grade,2,treated
A1,d1,W12,85,grade,2,control
A2,d1,W12,85,grade,1,treated
A2,d1,W12,85,grade,2,control
B1,d2,W12,85,grade,0,treated
B1,d2,W12,85,grade,2,control
B2,d2,W12,85,grade,1,treated
B2,d2,W12,85,grade,3,control
C1,d3,W12,85,grade,0,treated
C1,d3,W12,85,grade,3,control
C2,d3,W12,85,grade,0,treated
C2,d3,W12,85,grade,2,control
C3,d3,W12,85,grade,,treated
"""
DOSE_AES = """participant,arm,term,grade,serious,related,onset_day
C1,d3,rash,2,no,yes,10
C2,d3,rash,3,no,yes,12
B1,d2,headache,2,no,no,4
"""


def test_dose_selection_endpoint() -> None:
    data = read_tidy(DOSE_VALUES, DOSE_AES)
    spec = SPEC.validate_python(
        {
            "type": "dose_selection",
            "name": "Dose",
            "doses": ["d1", "d2", "d3"],
            "efficacy": {"kind": "lesion_better", "item": "grade", "visit": "W12"},
            "efftox": {
                "eff_at_no_tox": "0.5",
                "tox_at_full_eff": "0.65",
                "mid_eff": "0.7",
                "mid_tox": "0.25",
            },
            "draws": 2000,
        }
    )
    out = analyse([spec], data)[0].to_dict()
    rows = {r["dose"]: r for r in out["rows"]}  # type: ignore[union-attr]
    # d1: A2 better by 1 (efficacy), A1 not; d2: both effective, B1's AE unrelated;
    # d3: both effective but both related grade ≥ 2 toxicities
    assert (rows["d1"]["E¬T"], rows["d1"]["¬E¬T"]) == (1, 1)
    assert rows["d2"]["E¬T"] == 2
    assert rows["d3"]["ET"] == 2
    assert any(n == "selected: d2" for n in out["notes"])  # type: ignore[union-attr]
    assert any("C3 efficacy unknown" in n for n in out["notes"])  # type: ignore[union-attr]
    total = sum(r["Pr(best)"] for r in out["rows"])  # type: ignore[union-attr]
    assert total == pytest.approx(1.0, abs=2e-3)
    assert rows["d2"]["BOIN12 desirability"] is None  # not the protocol's score


def test_dose_selection_boin12_score_chosen_in_the_protocol() -> None:
    data = read_tidy(DOSE_VALUES, DOSE_AES)
    spec = SPEC.validate_python(
        {
            "type": "dose_selection",
            "name": "Dose",
            "doses": ["d1", "d2", "d3"],
            "efficacy": {"kind": "lesion_better", "item": "grade", "visit": "W12"},
            "score": "boin12_desirability",
            "gate": "reaches",
            "draws": 500,
        }
    )
    out = analyse([spec], data)[0].to_dict()
    rows = {r["dose"]: r for r in out["rows"]}  # type: ignore[union-attr]
    # d2: two patients efficacy without toxicity: x = 2, Beta(3, 1): Pr(u > 0.705) =
    # 1 − 0.705³ (exact), R: pbeta(0.705, 3, 1, lower.tail = FALSE) = 0.649597375
    assert rows["d2"]["BOIN12 desirability"] == pytest.approx(0.649597375, rel=1e-12)
    assert any(n == "selected: d2" for n in out["notes"])  # type: ignore[union-attr]
    rule = out["methods"]["dose selection"]["rule"]  # type: ignore[index]
    assert "boin12_desirability" in rule
    assert "'gate': 'reaches'" in rule
    with pytest.raises(ValidationError):
        SPEC.validate_python({**spec.model_dump(mode="json"), "score": "utility"})


@given(
    st.decimals(min_value="0.1", max_value="72", places=1),
    st.decimals(min_value="0", max_value="72", places=1),
    st.sampled_from([50, 75, 90]),
)
def test_responder_iff_value_at_most_threshold_fraction(
    baseline: Decimal, value: Decimal, threshold: int
) -> None:
    imp = percent_improvement(Fraction(baseline), Fraction(value))
    assert imp is not None
    assert (imp >= threshold) == (Fraction(value) <= Fraction(baseline) * (100 - threshold) / 100)


MAYO_SUBS = ("stool_frequency", "rectal_bleeding", "endoscopy", "physician_global")
subscores = st.tuples(*(st.integers(0, 3) for _ in MAYO_SUBS))


@settings(max_examples=40)
@given(subscores, subscores)
def test_mayo_endpoints_agree_with_the_instrument_rules(
    before: tuple[int, ...], after: tuple[int, ...]
) -> None:
    """The endpoint and the instrument apply one rule: same decision, same undefined cases."""
    from trialkit.instruments import MAYO, MAYO_RULES

    lines = ["participant,arm,visit,day,item,value"]
    for visit, subs in (("B", before), ("V", after)):
        lines += [f"P1,A,{visit},1,{i},{x}" for i, x in zip(MAYO_SUBS, subs, strict=True)]
        lines.append(f"P1,A,{visit},1,mayo,{sum(subs)}")
    data = read_tidy("\n".join(lines) + "\n")
    common = {"type": "responder_rule", "item": "mayo", "visits": ["V"]}
    response, remission = analyse(
        [
            SPEC.validate_python(
                {
                    **common,
                    "name": "r",
                    "rule": "mayo_response",
                    "baseline_visit": "B",
                    "bleeding_item": "rectal_bleeding",
                }
            ),
            SPEC.validate_python(
                {**common, "name": "m", "rule": "mayo_remission", "subscore_items": MAYO_SUBS}
            ),
        ],
        data,
    )
    scores = [MAYO.score(dict(zip(MAYO_SUBS, s, strict=True))) for s in (before, after)]
    want_response = MAYO_RULES["mayo_response"].evaluate(*scores)  # type: ignore[call-arg]
    want_remission = MAYO_RULES["mayo_remission"].evaluate(scores[1])  # type: ignore[call-arg]
    ((_, _, n, x, *_),) = response.rows
    if want_response.met is None:
        assert (n, x) == (0, 0)
        assert any("undecided" in note for note in response.notes)
    else:
        assert (n, x) == (1, int(want_response.met))
    ((_, _, n, x, *_),) = remission.rows
    assert (n, x) == (1, int(bool(want_remission.met)))


def test_mayo_rules_need_their_subscore_items() -> None:
    data = read_tidy("participant,arm,visit,day,item,value\nP1,A,B,1,mayo,4\nP1,A,V,9,mayo,1\n")
    response = SPEC.validate_python(
        {
            "type": "responder_rule",
            "name": "r",
            "item": "mayo",
            "rule": "mayo_response",
            "baseline_visit": "B",
            "visits": ["V"],
        }
    )
    with pytest.raises(DefinitionError, match="bleeding_item") as info:
        analyse([response], data)
    assert info.value.code == "ANALYSIS.E112"
    remission = SPEC.validate_python(
        {
            "type": "responder_rule",
            "name": "m",
            "item": "mayo",
            "rule": "mayo_remission",
            "visits": ["V"],
        }
    )
    with pytest.raises(DefinitionError, match="subscore_items") as info:
        analyse([remission], data)
    assert info.value.code == "ANALYSIS.E113"
