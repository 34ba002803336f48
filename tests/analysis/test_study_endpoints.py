"""Every endpoint of the three shipped studies, on small data with hand-checked values.

The expected numbers are worked out by hand in the comments, from the definitions in
docs/analysis.md, with arithmetic written out here independently of the library:

* Clopper–Pearson limits from their definition (binomial tail = α/2), solved by bisection on
  exact binomial sums;
* one-sample t on three values (two degrees of freedom), whose t distribution has the closed
  form F(t) = ½ + t / (2 √(2 + t²)): p = 1 − |t| / √(2 + t²), and the 0.975 quantile is
  √(2 · 0.95² / (1 − 0.95²)) = 4.302653 (the printed t table: 4.303);
* Kaplan–Meier with Greenwood's variance and the log-log interval.

``test_every_shipped_endpoint_is_checked`` fails when a study gains an endpoint that no test
here checks.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from trialkit.analysis import analyse
from trialkit.analysis.data import read_tidy
from trialkit.protocol import resolve_study

IBD = "ibd-placental-exosomes"
PAE = "psoriasis-adipose-exosomes"
UCMSC = "psoriasis-ucmsc"

#: The endpoints the tests below check, by study; ``checked`` refuses any other name and
#: ``test_every_shipped_endpoint_is_checked`` compares this with the shipped studies.
COVERED: dict[str, frozenset[str]] = {
    IBD: frozenset(
        {
            "Participants with adverse events",
            "Time to the first adverse event",
            "CDAI response (fall of 100 or more)",
            "Mayo response",
            "CDAI remission (below 150)",
            "Mayo remission",
            "CDAI change from baseline",
            "Mayo score change from baseline",
            "SF-36 physical component summary change from baseline",
            "SF-36 mental component summary change from baseline",
            "Fecal calprotectin change from baseline",
            "CRP change from baseline",
            "Fecal butyrate change from baseline",
            "SES-CD change from baseline",
        }
    ),
    PAE: frozenset(
        {
            "Pain NRS treated minus control",
            "Redness treated minus control",
            "Lesion grade treated minus control",
            "Participants with adverse events",
            "Time to the first adverse event",
            "PASI change from baseline",
            "PASI improvement at month 3",
            "Dose selection at month 3",
        }
    ),
    UCMSC: frozenset(
        {
            "PASI improvement rate at 12 weeks after treatment",
            "Participants with adverse events",
            "Time to the first adverse event",
        }
    ),
}

Z = 1.959963984540054  # standard normal 0.975 quantile
T2 = math.sqrt(2 * 0.95**2 / (1 - 0.95**2))  # t quantile, 2 degrees of freedom, 0.975


# -- hand arithmetic -------------------------------------------------------------------------


def _tail_ge(x: int, n: int, p: float) -> float:
    return sum(math.comb(n, j) * p**j * (1 - p) ** (n - j) for j in range(x, n + 1))


def _bisect(f: Any, lo: float = 0.0, hi: float = 1.0) -> float:
    """Root of an increasing ``f`` on [lo, hi]."""
    for _ in range(200):
        mid = (lo + hi) / 2
        if f(mid) < 0:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def cp(x: int, n: int) -> tuple[float, float, float]:
    """Percent, lower % and upper % of the 95 % Clopper–Pearson interval, to 2 places."""
    lower = 0.0 if x == 0 else _bisect(lambda p: _tail_ge(x, n, p) - 0.025)
    upper = 1.0 if x == n else _bisect(lambda p: _tail_ge(x + 1, n, p) - 0.975)
    return round(100 * x / n, 2), round(100 * lower, 2), round(100 * upper, 2)


def t3(values: Sequence[Fraction | int]) -> tuple[float, float, float, float | None]:
    """Mean, lower, upper, p of the one-sample t on three values (df 2), to 4 places."""
    assert len(values) == 3
    xs = [Fraction(v) for v in values]
    mean = sum(xs, Fraction(0)) / 3
    var = sum(((x - mean) ** 2 for x in xs), Fraction(0)) / 2
    se = math.sqrt(var / 3)
    t = float(mean) / se
    p = 1 - abs(t) / math.sqrt(2 + t * t)
    return (
        round(float(mean), 4),
        round(float(mean) - T2 * se, 4),
        round(float(mean) + T2 * se, 4),
        round(p, 4),
    )


# -- running the study's own endpoints --------------------------------------------------------


def results(
    study: str, values: str, aes: str | None = None, only: Sequence[str] = ()
) -> dict[str, dict[str, Any]]:
    return _results(study, values, aes, tuple(only))


@functools.cache
def _results(
    study: str, values: str, aes: str | None, only: tuple[str, ...]
) -> dict[str, dict[str, Any]]:
    specs = [ep for o in resolve_study(study).outcomes for ep in o.endpoints]
    specs = [s for s in specs if not only or s.name in only]
    out = analyse(
        specs, read_tidy(values, aes), arm_order=[a.id for a in resolve_study(study).arms]
    )
    assert [r.name for r in out] == [s.name for s in specs]
    return {r.name: r.to_dict(display=True) for r in out}


def checked(study: str, name: str, res: dict[str, dict[str, Any]]) -> dict[str, Any]:
    assert name in COVERED[study], f"add {name!r} to COVERED[{study!r}]"
    return res[name]


def rows_by(result: dict[str, Any], *keys: str) -> dict[tuple[Any, ...], dict[str, Any]]:
    return {tuple(r[k] for k in keys): r for r in result["rows"]}


def proportion(row: dict[str, Any]) -> tuple[int, int, float | None, float | None, float | None]:
    return row["n"], row["responders"], row["percent"], row["lower %"], row["upper %"]


def csv(rows: list[tuple[object, ...]], header: str) -> str:
    return header + "\n" + "\n".join(",".join(str(c) for c in r) for r in rows) + "\n"


# -- IBD: placental exosomes (one arm, EXO) ---------------------------------------------------

VISITS = ("SCR", "FU7", "FU30", "FU60", "FU90")
DAYS = {"SCR": -7, "FU7": 8, "FU30": 31, "FU60": 61, "FU90": 91}
MAYO_ITEMS = ("stool_frequency", "rectal_bleeding", "endoscopy", "physician_global")

#: Mayo subscores (stool, bleeding, endoscopy, physician) per participant and visit.
IBD_MAYO: dict[str, dict[str, tuple[int, int, int, int]]] = {
    # total 10 → 7 (fall 3 = 30 %, bleeding 3 → 2): a response exactly on both boundaries
    "I1": {
        "SCR": (3, 3, 2, 2),
        "FU7": (2, 2, 2, 1),
        "FU30": (1, 1, 1, 0),
        "FU60": (1, 0, 1, 0),
        "FU90": (2, 0, 0, 0),
    },
    # 11 → 8: fall 3 is 27 %; → 7 with bleeding 3 unchanged: no response
    "I2": {
        "SCR": (3, 3, 3, 2),
        "FU7": (2, 2, 2, 2),
        "FU30": (2, 3, 1, 1),
        "FU60": (1, 1, 0, 0),
        "FU90": (0, 0, 0, 0),
    },
    # baseline Mayo 0: the response is undefined at every visit (never a non-responder)
    "I3": dict.fromkeys(VISITS, (0, 0, 0, 0)),
    # 8 → (FU7 missing) → 4 (fall 4 = 50 %, bleeding 2 → 1)
    "I4": {"SCR": (2, 2, 2, 2), "FU30": (1, 1, 1, 1)},
}
IBD_CDAI = {
    "I1": {"SCR": 300, "FU7": 200, "FU30": 149, "FU60": 150, "FU90": 100},
    "I2": {"SCR": 250, "FU7": 151, "FU30": 150, "FU60": 120},
    "I3": {"SCR": 180, "FU7": 170, "FU30": 140, "FU60": 100, "FU90": 80},
}


def ibd_values() -> str:
    rows: list[tuple[object, ...]] = []
    for p, visits in IBD_MAYO.items():
        for v, subs in visits.items():
            for item, x in zip(MAYO_ITEMS, subs, strict=True):
                rows.append((p, "EXO", v, DAYS[v], item, x))
            rows.append((p, "EXO", v, DAYS[v], "mayo_score", sum(subs)))
    for p, cdai in IBD_CDAI.items():
        for v, x in cdai.items():
            rows.append((p, "EXO", v, DAYS[v], "cdai", x))
    return csv(rows, "participant,arm,visit,day,item,value")


def test_ibd_mayo_response_follows_the_instrument_rule() -> None:
    res = results(IBD, ibd_values(), only=["Mayo response"])
    out = checked(IBD, "Mayo response", res)
    rows = rows_by(out, "visit")
    # FU7: I1 yes (10 → 7), I2 no (11 → 8, 27 %), I3 undefined, I4 missing → 1 of 2
    assert proportion(rows[("FU7",)]) == (2, 1, *cp(1, 2))
    # FU30: I1 yes, I2 no (bleeding 3 → 3), I4 yes (8 → 4, bleeding 2 → 1) → 2 of 3
    assert proportion(rows[("FU30",)]) == (3, 2, *cp(2, 3))
    # FU60: I1 yes (10 → 2), I2 yes (11 → 2) → 2 of 2; FU90 likewise
    assert proportion(rows[("FU60",)]) == (2, 2, *cp(2, 2))
    assert proportion(rows[("FU90",)]) == (2, 2, *cp(2, 2))
    notes = out["notes"]
    for v in ("FU7", "FU30", "FU60", "FU90"):
        assert (
            f"EXO {v}: I3 undecided (rule 'mayo_response': baseline score 0, percent fall "
            "undefined); excluded" in notes
        )
    assert "EXO FU7: no value for I4; excluded" in notes
    assert "MAYO_RULES['mayo_response']" in out["methods"]["rule"]["definition"]


def test_ibd_mayo_remission_follows_the_instrument_rule() -> None:
    out = checked(IBD, "Mayo remission", results(IBD, ibd_values(), only=["Mayo remission"]))
    rows = rows_by(out, "visit")
    # FU7: I1 7, I2 8 no; I3 0 yes; I4 missing → 1 of 3
    assert proportion(rows[("FU7",)]) == (3, 1, *cp(1, 3))
    # FU30: I1 3, I2 7, I4 4 no; I3 yes → 1 of 4
    assert proportion(rows[("FU30",)]) == (4, 1, *cp(1, 4))
    # FU60: I1 2 (1,0,1,0) yes, I2 2 (1,1,0,0) yes, I3 yes → 3 of 3
    assert proportion(rows[("FU60",)]) == (3, 3, *cp(3, 3))
    # FU90: I1 total 2 but stool frequency 2 (> 1): no; I2, I3 yes → 2 of 3
    assert proportion(rows[("FU90",)]) == (3, 2, *cp(2, 3))


CDAI_RESPONSE = "CDAI response (fall of 100 or more)"
CDAI_REMISSION = "CDAI remission (below 150)"


def test_ibd_cdai_response_and_remission() -> None:
    res = results(IBD, ibd_values(), only=[CDAI_RESPONSE, CDAI_REMISSION])
    response = rows_by(checked(IBD, CDAI_RESPONSE, res), "visit")
    # FU7: falls 100 (yes, inclusive), 99, 10 → 1 of 3; I4 has no CDAI
    assert proportion(response[("FU7",)]) == (3, 1, *cp(1, 3))
    assert proportion(response[("FU30",)]) == (3, 2, *cp(2, 3))  # 151, 100, 40
    assert proportion(response[("FU60",)]) == (3, 2, *cp(2, 3))  # 150, 130, 80
    assert proportion(response[("FU90",)]) == (2, 2, *cp(2, 2))  # 200, (I2 missing), 100
    remission = rows_by(checked(IBD, CDAI_REMISSION, res), "visit")
    assert proportion(remission[("FU7",)]) == (3, 0, *cp(0, 3))  # 200, 151, 170
    assert proportion(remission[("FU30",)]) == (3, 2, *cp(2, 3))  # 149 yes, 150 no, 140 yes
    assert proportion(remission[("FU60",)]) == (3, 2, *cp(2, 3))  # 150 no, 120, 100
    assert proportion(remission[("FU90",)]) == (2, 2, *cp(2, 2))


def test_hand_arithmetic_matches_printed_tables() -> None:
    # t table (two-sided 95 %, df 2): 4.303; Clopper–Pearson 1 of 2: 1.26 % to 98.74 %
    assert round(T2, 3) == 4.303
    assert cp(1, 2) == (50.0, 1.26, 98.74)
    assert cp(0, 3)[2] == round(100 * (1 - 0.025 ** (1 / 3)), 2)
    assert cp(3, 3)[1] == round(100 * 0.025 ** (1 / 3), 2)


#: Continuous items: baseline and the four follow-ups for I1, I2, I3 (I4 has only Mayo).
IBD_CONTINUOUS: dict[str, dict[str, tuple[str, ...]]] = {
    "sf36_pcs": {"I1": ("40.5", "45.5"), "I2": ("35.0", "38.0"), "I3": ("50.25", "50.25")},
    "sf36_mcs": {"I1": ("42", "44"), "I2": ("38", "44"), "I3": ("55", "55")},
    "fecal_calprotectin": {
        "I1": ("800", "400", "300", "200", "100"),
        "I2": ("600", "500", "400", "300", "200"),
        "I3": ("250", "250", "200", "150", "150"),
    },
    "crp": {
        "I1": ("12.0", "9.0", "6.0", "3.0", "2.0"),
        "I2": ("8.0", "7.0", "6.0", "5.0", "4.0"),
        "I3": ("5.0", "5.0", "4.0", "3.0", "1.0"),
    },
    "ses_cd": {"I1": ("12", "6"), "I2": ("8", "8"), "I3": ("20", "10")},
}
#: the visits of each item's values (the SF-36 at screening and day 90, SES-CD likewise)
ITEM_VISITS = {
    "sf36_pcs": ("SCR", "FU90"),
    "sf36_mcs": ("SCR", "FU90"),
    "ses_cd": ("SCR", "FU90"),
}


def ibd_full_values() -> str:
    rows: list[tuple[object, ...]] = []
    for item, people in IBD_CONTINUOUS.items():
        visits = ITEM_VISITS.get(item, VISITS)
        for p, xs in people.items():
            for v, x in zip(visits, xs, strict=True):
                rows.append((p, "EXO", v, DAYS[v], item, x))
    return ibd_values() + csv(rows, "").lstrip("\n")


def change_rows(result: dict[str, Any], method: str) -> dict[str, tuple[Any, ...]]:
    return {
        r["visit"]: (r["n"], r["mean change"], r["lower"], r["upper"], r["p"])
        for r in result["rows"]
        if r["method"] == method
    }


def test_ibd_change_from_baseline_endpoints() -> None:
    res = results(IBD, ibd_full_values())
    t = "mean change, t interval"

    cdai = change_rows(checked(IBD, "CDAI change from baseline", res), t)
    assert cdai["FU7"] == (3, *t3([-100, -99, -10]))
    assert cdai["FU30"] == (3, *t3([-151, -100, -40]))
    assert cdai["FU60"] == (3, *t3([-150, -130, -80]))
    # FU90: I2 has no CDAI, two changes (−200, −100): mean −150, n 2
    assert cdai["FU90"][:2] == (2, -150.0)
    assert (
        "EXO FU90: no cdai at SCR or FU90 for I2, I4; excluded"
        in res["CDAI change from baseline"]["notes"]
    )

    mayo = change_rows(checked(IBD, "Mayo score change from baseline", res), t)
    # totals I1 10 7 3 2 2; I2 11 8 7 2 0; I3 0 …; I4 8 – 4 – –
    assert mayo["FU7"] == (3, *t3([-3, -3, 0]))
    assert mayo["FU30"][:2] == (4, -3.75)  # −7, −4, 0, −4
    assert mayo["FU60"] == (3, *t3([-8, -9, 0]))
    assert mayo["FU90"] == (3, *t3([-8, -11, 0]))

    pcs = change_rows(checked(IBD, "SF-36 physical component summary change from baseline", res), t)
    assert pcs["FU90"] == (3, *t3([Fraction(5), Fraction(3), Fraction(0)]))
    # nothing at FU7, FU30, FU60: the row says n 0, no number is invented
    assert pcs["FU7"] == (0, None, None, None, None)
    mcs = change_rows(checked(IBD, "SF-36 mental component summary change from baseline", res), t)
    assert mcs["FU90"] == (3, *t3([2, 6, 0]))

    fcp = change_rows(checked(IBD, "Fecal calprotectin change from baseline", res), t)
    assert fcp["FU7"] == (3, *t3([-400, -100, 0]))
    assert fcp["FU90"] == (3, *t3([-700, -400, -100]))

    crp_result = checked(IBD, "CRP change from baseline", res)
    crp = change_rows(crp_result, t)
    assert crp["FU7"] == (3, *t3([-3, -1, 0]))
    assert crp["FU30"] == (3, *t3([-6, -2, -1]))
    assert crp["FU60"] == (3, *t3([-9, -3, -2]))
    assert crp["FU90"] == (3, *t3([-10, -4, -4]))
    # Balanced, complete data: the mixed model's cell means are the visit means.
    mixed = change_rows(crp_result, "mixed model")
    assert [mixed[v][1] for v in ("FU7", "FU30", "FU60", "FU90")] == pytest.approx(
        [-4 / 3, -3, -14 / 3, -6], abs=1e-3
    )

    ses = change_rows(checked(IBD, "SES-CD change from baseline", res), t)
    assert ses == {"FU90": (3, *t3([-6, 0, -10]))}


def test_ibd_butyrate_has_no_data_and_every_other_endpoint_is_computed() -> None:
    res = results(IBD, ibd_full_values())
    butyrate = checked(IBD, "Fecal butyrate change from baseline", res)
    assert butyrate["status"] == "no data"
    assert "'butyrate'" in butyrate["reason"]
    assert butyrate["rows"] == []
    others = [r for name, r in res.items() if name != "Fecal butyrate change from baseline"]
    assert {r["status"] for r in others} == {"computed"}
    assert all(r["reason"] is None for r in others)


def test_ibd_adverse_event_tables_state_zero_events() -> None:
    """No adverse event at all: "0 of 4" is the phase-1 statement, never an empty table."""
    res = results(IBD, ibd_full_values(), "participant,arm,term,grade,serious,related,onset_day\n")
    aes = checked(IBD, "Participants with adverse events", res)
    assert [tuple(r.values()) for r in aes["rows"]] == [
        ("EXO", None, None, None, 0, 4, *cp(0, 4), 0)
    ]
    assert aes["notes"] == ["EXO: 0 of 4 participants with an adverse event"]
    km = checked(IBD, "Time to the first adverse event", res)
    assert [tuple(r.values()) for r in km["rows"]] == [
        ("EXO", 0.0, 4, 0, 1.0, 0.0, 1.0, 1.0, "event time")
    ]
    assert "EXO: 0 of 4 with an event; median not reached" in km["notes"]


# -- psoriasis, umbilical-cord MSC (one arm, UCMSC) -------------------------------------------

UCMSC_VALUES = csv(
    [
        ("U1", "UCMSC", "V_W0", 1, "pasi", "11.2"),
        ("U1", "UCMSC", "FU12", 85, "pasi", "2.8"),  # exactly 75 %
        ("U2", "UCMSC", "V_W0", 1, "pasi", "20"),
        ("U2", "UCMSC", "FU12", 85, "pasi", "2"),  # exactly 90 %
        ("U3", "UCMSC", "V_W0", 1, "pasi", "10"),
        ("U3", "UCMSC", "FU12", 85, "pasi", "5"),  # exactly 50 %
        ("U4", "UCMSC", "V_W0", 1, "pasi", "0"),  # baseline 0: undefined
        ("U4", "UCMSC", "FU12", 85, "pasi", "1"),
        ("U5", "UCMSC", "V_W0", 1, "pasi", "12"),  # no week-12 value
    ],
    "participant,arm,visit,day,item,value",
)
UCMSC_AES = """participant,arm,term,grade,serious,related,onset_day
U1,UCMSC,rash,1,no,yes,10
U1,UCMSC,pruritus,2,no,yes,20
U2,UCMSC,headache,3,yes,no,5
"""


def km_log_log(s: Fraction, greenwood: Fraction) -> tuple[float, float, float, str]:
    """SE (Greenwood: S·√Var(log S)) and the log-log 95 % limits of S, as displayed."""
    theta = math.sqrt(greenwood) / abs(math.log(s))
    return (
        round(float(s) * math.sqrt(greenwood), 4),
        round(float(s) ** math.exp(Z * theta), 4),
        round(float(s) ** math.exp(-Z * theta), 4),
        "event time",
    )


def test_ucmsc_endpoints() -> None:
    res = results(UCMSC, UCMSC_VALUES, UCMSC_AES)
    pasi = checked(UCMSC, "PASI improvement rate at 12 weeks after treatment", res)
    rows = rows_by(pasi, "measure")
    # improvements 75, 90, 50 (U4 undefined, U5 missing): mean 71.67
    assert rows[("mean % improvement",)]["n"] == 3
    assert rows[("mean % improvement",)]["percent"] == round(215 / 3, 2)
    assert proportion(rows[("pasi 50 (≥ 50%)",)]) == (3, 3, *cp(3, 3))
    assert proportion(rows[("pasi 75 (≥ 75%)",)]) == (3, 2, *cp(2, 3))
    assert proportion(rows[("pasi 90 (≥ 90%)",)]) == (3, 1, *cp(1, 3))
    assert "UCMSC: U4 has baseline pasi 0; improvement undefined" in pasi["notes"]
    assert "UCMSC: U5 has no pasi at FU12; excluded" in pasi["notes"]

    aes = checked(UCMSC, "Participants with adverse events", res)
    # U1 at its worst grade 2 (related, not serious), U2 grade 3 (serious, unrelated); N = 5;
    # events at their own grade: U1's grade-1 rash is an event of a row with 0 participants;
    # every (serious, related) cell × every grade with an event is shown, empty ones as 0
    assert [tuple(r.values()) for r in aes["rows"]] == [
        ("UCMSC", "no", "yes", 1, 0, 5, *cp(0, 5), 1),
        ("UCMSC", "no", "yes", 2, 1, 5, *cp(1, 5), 1),
        ("UCMSC", "no", "yes", 3, 0, 5, *cp(0, 5), 0),
        ("UCMSC", "yes", "no", 1, 0, 5, *cp(0, 5), 0),
        ("UCMSC", "yes", "no", 2, 0, 5, *cp(0, 5), 0),
        ("UCMSC", "yes", "no", 3, 1, 5, *cp(1, 5), 1),
    ]

    km = checked(UCMSC, "Time to the first adverse event", res)
    # times: U2 event day 5 → 4, U1 event day 10 → 9; U3, U4 censored at 85 − 1; U5 at 0
    # t = 4: 4 at risk (U5 censored at 0), S = 3/4, Var(log S) = 1/(4·3)
    # t = 9: 3 at risk, S = 1/2, Var(log S) = 1/12 + 1/(3·2) = 1/4
    assert [tuple(r.values()) for r in km["rows"]] == [
        ("UCMSC", 4.0, 4, 1, 0.75, *km_log_log(Fraction(3, 4), Fraction(1, 12))),
        ("UCMSC", 9.0, 3, 1, 0.5, *km_log_log(Fraction(1, 2), Fraction(1, 4))),
    ]
    # S = ½ from day 9 with no later event: the median is the midpoint of day 9 and the last
    # time observed, day 84: 46.5 (R 4.2.2, survival 3.5.3: quantile(survfit(Surv(c(4, 9, 84,
    # 84, 0), c(1, 1, 0, 0, 0)) ~ 1, conf.type = "log-log"), 0.5) gives 46.5, lower 4, upper NA)
    # the lower log-log limit is below ½ from day 4, the upper never: CI 4 to not reached
    assert (
        "UCMSC: 2 of 5 with an event; median 46.5 days; 95% CI 4 to not reached "
        "(Brookmeyer–Crowley, log-log)"
    ) in km["notes"]


# -- psoriasis, adipose exosomes (G50, G100, G200; treated and control lesions) ---------------

PAE_DAYS = {"D1": 1, "W1": 8, "W2": 15, "W3": 22, "M1": 31, "M2": 61, "M3": 91}
#: (treated, control) at M3 per participant; lesion grades also at D1
PAE_LESIONS: dict[str, dict[str, dict[str, tuple[int, int]]]] = {
    "pain_nrs": {
        "A1": {"M3": (2, 5)},
        "A2": {"M3": (3, 4)},
        "A3": {"M3": (1, 3)},
        "B1": {"M3": (4, 4)},
        "B2": {"M3": (2, 4)},
        "B3": {"M3": (5, 3)},
    },
    "redness": {
        "A1": {"M3": (1, 3)},
        "A2": {"M3": (1, 2)},
        "A3": {"M3": (0, 2)},
        "B1": {"M3": (2, 2)},
        "B2": {"M3": (1, 2)},
        "B3": {"M3": (3, 2)},
    },
    "lesion_grade_v": {
        "A1": {"D1": (3, 3), "M3": (1, 3)},  # better by 2: efficacy
        "A2": {"D1": (2, 2), "M3": (2, 2)},  # no efficacy
        "A3": {"D1": (3, 3), "M3": (2, 3)},  # better by 1 (the margin): efficacy
        "B1": {"D1": (3, 3), "M3": (1, 2)},
        "B2": {"D1": (2, 2), "M3": (1, 2)},
        "B3": {"D1": (3, 3), "M3": (2, 2)},
    },
}
PAE_PASI = {
    "A1": {"D1": "10", "M1": "8", "M2": "6", "M3": "2.5"},  # 75 % at M3
    "A2": {"D1": "12", "M1": "10", "M2": "9", "M3": "6"},  # 50 %
    "A3": {"D1": "0", "M1": "1", "M2": "1", "M3": "1"},  # baseline 0
    "B1": {"D1": "20", "M1": "18", "M2": "10", "M3": "2"},  # 90 %
    "B2": {"D1": "8", "M1": "8", "M2": "8", "M3": "8"},  # 0 %
    "B3": {"D1": "15", "M1": "12", "M2": "10"},  # no M3
}
#: G50 has three events; G100 none; nobody received G200
PAE_AES = """participant,arm,term,grade,serious,related,onset_day
A1,G50,injection site pain,2,no,yes,10
A2,G50,headache,3,yes,no,5
A3,G50,erythema,1,no,yes,20
"""


def pae_values() -> str:
    rows: list[tuple[object, ...]] = []
    for item, people in PAE_LESIONS.items():
        for p, visits in people.items():
            arm = "G50" if p.startswith("A") else "G100"
            for v, (treated, control) in visits.items():
                rows.append((p, arm, v, PAE_DAYS[v], item, treated, "treated"))
                rows.append((p, arm, v, PAE_DAYS[v], item, control, "control"))
    for p, visits in PAE_PASI.items():
        arm = "G50" if p.startswith("A") else "G100"
        for v, x in visits.items():
            rows.append((p, arm, v, PAE_DAYS[v], "pasi", x, ""))
    return csv(rows, "participant,arm,visit,day,item,value,role")


def within_rows(result: dict[str, Any]) -> dict[tuple[str, str], tuple[Any, ...]]:
    return {
        (r["arm"], r["visit"]): (
            r["n"],
            r["mean difference"],
            r["lower"],
            r["upper"],
            r["t p"],
            r["Wilcoxon V"],
            r["Wilcoxon p"],
        )
        for r in result["rows"]
    }


def test_pae_within_patient_endpoints() -> None:
    res = results(PAE, pae_values(), PAE_AES)
    pain = within_rows(checked(PAE, "Pain NRS treated minus control", res))
    # G50 differences −3, −1, −2: all negative, so V = 0 and p = 2 · (1/2³) = 0.25
    assert pain[("G50", "M3")] == (3, *t3([-3, -1, -2]), 0.0, 0.25)
    # G100 differences 0, −2, +2: mean 0, t p 1; Wilcoxon drops the 0, ranks 1.5 and 1.5:
    # V = 1.5 is the centre of {0, 1.5, 1.5, 3}, so p = 1
    assert pain[("G100", "M3")] == (3, *t3([0, -2, 2]), 1.5, 1.0)
    # no values at W1: a row with n 0 and nothing invented
    assert pain[("G50", "W1")] == (0, None, None, None, None, None, None)

    redness = within_rows(checked(PAE, "Redness treated minus control", res))
    # G50 differences −2, −1, −2 (ranks 2.5, 1, 2.5), all negative: V = 0, p = 0.25
    assert redness[("G50", "M3")] == (3, *t3([-2, -1, -2]), 0.0, 0.25)
    # G100 differences 0, −1, +1: as for pain, V = 1.5 at the centre, p = 1
    assert redness[("G100", "M3")] == (3, *t3([0, -1, 1]), 1.5, 1.0)

    lesion_result = checked(PAE, "Lesion grade treated minus control", res)
    lesion = within_rows(lesion_result)
    assert lesion[("G50", "M3")] == (3, *t3([-2, 0, -1]), 0.0, 0.5)  # zero dropped: 2 ranks
    assert lesion[("G100", "M3")] == (3, *t3([-1, -1, 0]), 0.0, 0.5)
    # D1: every difference 0, no spread: mean 0, the interval collapses to it, t undefined,
    # Wilcoxon not estimable
    assert lesion[("G50", "D1")][:2] == (3, 0.0)
    assert lesion[("G50", "D1")][2:] == (0.0, 0.0, None, None, None)
    assert any(n.startswith("G50 D1: Wilcoxon not estimable") for n in lesion_result["notes"])


def test_pae_pasi_endpoints() -> None:
    res = results(PAE, pae_values(), PAE_AES)
    t = "mean change, t interval"
    change = {
        (r["arm"], r["visit"]): (r["n"], r["mean change"], r["lower"], r["upper"], r["p"])
        for r in checked(PAE, "PASI change from baseline", res)["rows"]
        if r["method"] == t
    }
    assert change[("G50", "M1")] == (3, *t3([-2, -2, 1]))
    assert change[("G50", "M2")] == (3, *t3([-4, -3, 1]))
    assert change[("G50", "M3")] == (3, *t3([Fraction("-7.5"), -6, 1]))
    assert change[("G100", "M1")] == (3, *t3([-2, 0, -3]))
    assert change[("G100", "M2")] == (3, *t3([-10, 0, -5]))
    assert change[("G100", "M3")][:2] == (2, -9.0)  # −18 and 0; B3 has no M3

    imp = rows_by(checked(PAE, "PASI improvement at month 3", res), "arm", "measure")
    # G50: 75 and 50 (A3's baseline is 0): mean 62.5; G100: 90 and 0: mean 45
    assert imp[("G50", "mean % improvement")]["percent"] == 62.5
    assert imp[("G100", "mean % improvement")]["percent"] == 45.0
    assert proportion(imp[("G50", "pasi 50 (≥ 50%)")]) == (2, 2, *cp(2, 2))
    assert proportion(imp[("G50", "pasi 75 (≥ 75%)")]) == (2, 1, *cp(1, 2))
    assert proportion(imp[("G50", "pasi 90 (≥ 90%)")]) == (2, 0, *cp(0, 2))
    assert proportion(imp[("G100", "pasi 90 (≥ 90%)")]) == (2, 1, *cp(1, 2))


def test_pae_adverse_event_tables_list_every_arm() -> None:
    res = results(PAE, pae_values(), PAE_AES)
    aes = checked(PAE, "Participants with adverse events", res)
    # arms in the protocol's (dose) order; G100 has no event: its cells are "0 of 3", never
    # missing rows
    g50 = {(1, "no", "yes"), (2, "no", "yes"), (3, "yes", "no")}
    expected = [
        (arm, s_, r_, g, n, 3, *cp(n, 3), n)
        for arm in ("G50", "G100")
        for s_, r_ in (("no", "yes"), ("yes", "no"))
        for g in (1, 2, 3)
        for n in [1 if arm == "G50" and (g, s_, r_) in g50 else 0]
    ]
    assert [tuple(r.values()) for r in aes["rows"]] == expected
    assert "G100: 0 of 3 participants with an adverse event" in aes["notes"]

    km = checked(PAE, "Time to the first adverse event", res)
    # G50: events at 4 (A2), 9 (A1), 19 (A3): S = 2/3, 1/3, 0; G100: no event, one row
    g50 = [tuple(r.values()) for r in km["rows"] if r["arm"] == "G50"]
    assert g50[0] == (
        "G50",
        4.0,
        3,
        1,
        round(2 / 3, 4),
        *km_log_log(Fraction(2, 3), Fraction(1, 6)),
    )
    assert [r[1:5] for r in g50[1:]] == [(9.0, 2, 1, round(1 / 3, 4)), (19.0, 1, 1, 0.0)]
    assert g50[2][5:] == (None, None, None, "event time")  # S = 0: no SE, no limits
    assert [tuple(r.values()) for r in km["rows"] if r["arm"] == "G100"] == [
        ("G100", 0.0, 3, 0, 1.0, 0.0, 1.0, 1.0, "event time")
    ]
    assert "G100: 0 of 3 with an event; median not reached" in km["notes"]
    # R survival 3.5.3: quantile(survfit(Surv(c(4, 9, 19), c(1, 1, 1)) ~ 1,
    # conf.type = "log-log"), 0.5) gives 9, 4, NA
    assert (
        "G50: 3 of 3 with an event; median 9 days; 95% CI 4 to not reached "
        "(Brookmeyer–Crowley, log-log)"
    ) in km["notes"]


def test_pae_dose_selection_never_admits_an_unexplored_dose() -> None:
    res = results(PAE, pae_values(), PAE_AES)
    out = checked(PAE, "Dose selection at month 3", res)
    rows = {r["dose"]: r for r in out["rows"]}
    # G50: A1 efficacy + related grade 2 (ET), A2 neither (¬E¬T), A3 efficacy (E¬T)
    # G100: B1, B2 efficacy (E¬T), B3 neither; no events
    assert [rows["G50"][k] for k in ("n", "E¬T", "¬E¬T", "ET", "¬ET")] == [3, 1, 1, 1, 0]
    assert [rows["G100"][k] for k in ("n", "E¬T", "¬E¬T", "ET", "¬ET")] == [3, 2, 1, 0, 0]
    # posterior Dirichlet(½ + n); mean utility Σ u(α + n)/(2 + N):
    # G50 (100·1.5 + 40·1.5 + 60·1.5 + 0)/5 = 60; G100 (100·2.5 + 40·1.5 + 60·0.5)/5 = 68
    assert (rows["G50"]["mean utility"], rows["G100"]["mean utility"]) == (60.0, 68.0)
    # Pr(p_T > 0.35): G50 Beta(2, 3) = Pr(Bin(4, 0.35) ≤ 1) = 0.65⁴ + 4·0.35·0.65³;
    # G100 Beta(1, 4) = 0.65⁴. Pr(p_E < 0.25), both Beta(3, 2): Pr(Bin(4, ¼) ≥ 3) = 13/256
    assert rows["G50"]["Pr(tox>φT)"] == round(0.65**4 + 4 * 0.35 * 0.65**3, 4)
    assert rows["G100"]["Pr(tox>φT)"] == round(0.65**4, 4)
    assert rows["G50"]["Pr(eff<φE)"] == rows["G100"]["Pr(eff<φE)"] == round(13 / 256, 4)
    assert (rows["G50"]["admissible"], rows["G100"]["admissible"]) == ("yes", "yes")
    # G200: nobody received it. The prior alone would make it admissible; it is not explored.
    assert rows["G200"]["admissible"] == "not explored"
    assert rows["G200"]["Pr(best)"] is None
    assert rows["G200"]["n"] == 0
    assert (
        "G200: not explored (nobody received it); never admissible, no probability of "
        "being best" in out["notes"]
    )
    assert rows["G50"]["Pr(best)"] + rows["G100"]["Pr(best)"] == pytest.approx(1, abs=2e-3)
    assert rows["no dose"]["Pr(best)"] == 0
    assert "selected: G100" in out["notes"]
    assert any(n.startswith("EffTox contour sensitivity selects") for n in out["notes"])


def test_every_shipped_endpoint_is_checked() -> None:
    """Every endpoint of every shipped study has a hand-checked test in this module."""
    from trialkit.studies import __file__ as studies

    shipped = {p.stem for p in Path(studies).parent.glob("*.yaml")}
    assert shipped == set(COVERED)
    for study, names in COVERED.items():
        defined = {ep.name for o in resolve_study(study).outcomes for ep in o.endpoints}
        assert defined == names, f"{study}: endpoints without a hand-checked test"
