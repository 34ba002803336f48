"""Kaplan–Meier against an independent computation in R 4.2.2 (Debian r-base-core).

Data: the 6-MP arm of Gehan's leukaemia trial (Freireich et al. 1963), times
6,6,6,6+,7,9+,10,10+,11+,13,16,17+,19+,20+,22,23,25+,32+,32+,34+,35+.
Provenance: a base-R loop (written when only r-base-core was known to be installed; the
recommended package survival 3.5.3, Debian r-cran-survival 3.5-3-1, is used further down)
computing
s <- s * (1 - d/n); gw <- gw + d/(n*(n-d)); se = s*sqrt(gw); log-log limits
exp(-exp(log(-log(s)) ± qnorm(0.975)*sqrt(gw)/abs(log(s)))); log limits s*exp(±z*sqrt(gw))
capped at 1; plain s ± z*s*sqrt(gw) clipped; R 4.2.2 Patched (2022-11-10 r83330). The log-log
limits agree with the published ``survfit(conf.type = "log-log")`` output for these data
(0.620, 0.952 at t = 6).
"""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trialkit.analysis.survival import KaplanMeier, kaplan_meier
from trialkit.errors import ValidationFailed

TIMES = [6, 6, 6, 6, 7, 9, 10, 10, 11, 13, 16, 17, 19, 20, 22, 23, 25, 32, 32, 34, 35]
EVENTS = [bool(e) for e in (1, 1, 1, 0, 1, 0, 1, 0, 0, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0)]

# t, n, d, S, se, loglog lower/upper, log lower/upper, plain lower/upper
R_KM = [
    (
        6,
        21,
        3,
        0.857142857142857,
        0.0763603548321213,
        0.619717955265984,
        0.951551747646997,
        0.719817083916271,
        1.0,
        0.707479311825201,
        1.0,
    ),
    (
        7,
        17,
        1,
        0.80672268907563,
        0.0869352851800572,
        0.563146564622233,
        0.92280901920288,
        0.653124218462171,
        0.996443675908659,
        0.636332661136999,
        0.977112717014261,
    ),
    (
        10,
        15,
        1,
        0.752941176470588,
        0.0963496529943205,
        0.503199510799957,
        0.889361835169266,
        0.585918982029694,
        0.967574754552298,
        0.564099326678788,
        0.941783026262388,
    ),
    (
        13,
        12,
        1,
        0.690196078431373,
        0.10681470777501,
        0.431610222486184,
        0.849065963349451,
        0.50961309910178,
        0.93476919553613,
        0.480843098173183,
        0.899549058689562,
    ),
    (
        16,
        11,
        1,
        0.627450980392157,
        0.114053865256753,
        0.367510855987502,
        0.804912189471841,
        0.439393924968767,
        0.895994938535082,
        0.403909512191338,
        0.850992448592976,
    ),
    (
        22,
        7,
        1,
        0.53781512605042,
        0.128233751693034,
        0.267778936767135,
        0.746790717635395,
        0.337036616157685,
        0.858200848044665,
        0.286481591129621,
        0.789148660971219,
    ),
    (
        23,
        6,
        1,
        0.448179271708684,
        0.13459145675576,
        0.188052005959232,
        0.680142628495242,
        0.24878822681766,
        0.807372045529077,
        0.184384863840613,
        0.711973679576754,
    ),
]


def test_gehan_against_r_all_transforms() -> None:
    fits = {tr: kaplan_meier(TIMES, EVENTS, transform=tr) for tr in ("log-log", "log", "plain")}
    for i, ref in enumerate(R_KM):
        t, n, d, s, se, lll, llu, lgl, lgu, pll, plu = ref
        row = fits["log-log"].rows[i]
        assert (row.time, row.n_risk, row.n_event) == (t, n, d)
        assert float(row.survival) == pytest.approx(s, rel=1e-13)
        assert row.se == pytest.approx(se, rel=1e-12)
        assert (row.lower, row.upper) == pytest.approx((lll, llu), rel=1e-11)
        lg = fits["log"].rows[i]
        assert (lg.lower, lg.upper) == pytest.approx((lgl, lgu), rel=1e-11)
        pl = fits["plain"].rows[i]
        assert (pl.lower, pl.upper) == pytest.approx((pll, plu), rel=1e-11)
    km = fits["log-log"]
    assert km.rows[0].survival == Fraction(6, 7)
    assert km.median == 23
    assert km.events == 9
    assert km.survival_at(12) == km.rows[2].survival
    assert km.survival_at(5) == 1


def test_median_at_exactly_one_half_is_midpoint() -> None:
    km = kaplan_meier([1, 2, 3, 4], [True, True, True, True])
    assert km.rows[1].survival == Fraction(1, 2)
    assert km.median == Fraction(5, 2)


def test_median_at_one_half_to_the_end_of_follow_up_is_the_midpoint_with_the_last_time() -> None:
    # R 4.2.2, survival 3.5.3: quantile(survfit(Surv(c(1, 2, 5, 7), c(1, 1, 0, 0)) ~ 1), 0.5)
    # gives 4.5, the midpoint of the last event time (2) and the last time observed (7)
    km = kaplan_meier([1, 2, 5, 7], [True, True, False, False])
    assert km.rows[-1].survival == Fraction(1, 2)
    assert km.median == Fraction(9, 2)


def test_all_events_gives_zero_survival_without_crash() -> None:
    km = kaplan_meier([3, 3], [True, True])
    assert km.rows[-1].survival == 0
    assert km.rows[-1].se is None
    assert km.rows[-1].lower is None


def test_no_events_median_not_reached() -> None:
    km = kaplan_meier([5, 9], [False, False])
    assert km.rows == ()
    assert km.median is None


def test_errors() -> None:
    with pytest.raises(ValidationFailed, match="negative"):
        kaplan_meier([-1], [True])
    with pytest.raises(ValidationFailed, match="one flag per time"):
        kaplan_meier([1, 2], [True])
    with pytest.raises(ValidationFailed, match="transform"):
        kaplan_meier([1], [True], transform="arcsine")  # type: ignore[arg-type]


@given(st.lists(st.tuples(st.integers(0, 30), st.booleans()), min_size=1, max_size=25))
def test_survival_monotone_and_limits_bracket(data: list[tuple[int, bool]]) -> None:
    km = kaplan_meier([t for t, _ in data], [e for _, e in data])
    prev = Fraction(1)
    for row in km.rows:
        assert row.survival <= prev
        prev = row.survival
        if row.lower is not None and row.upper is not None:
            assert row.lower <= float(row.survival) <= row.upper


# Median interval, values at requested times, S = 1. Provenance: R 4.2.2 Patched (2022-11-10
# r83330) with the recommended package survival 3.5.3 (Debian r-cran-survival):
# ``quantile(survfit(Surv(t, e) ~ 1, conf.type = CT), probs = 0.5)`` and
# ``summary(survfit(...), times = c(0, 3, 12, 23), extend = TRUE)`` for the 6-MP arm above and
# the placebo arm of the same trial (1,1,2,2,3,4,4,5,5,8,8,8,8,11,11,12,12,15,17,22,23, all
# events); sprintf("%.15g"). NA is None.
PLACEBO = [1, 1, 2, 2, 3, 4, 4, 5, 5, 8, 8, 8, 8, 11, 11, 12, 12, 15, 17, 22, 23]
R_MEDIAN = [
    # transform, data, median, lower, upper
    ("log-log", "6mp", 23, 13, None),
    ("log-log", "placebo", 8, 4, 11),
    ("log", "6mp", 23, 16, None),
    ("log", "placebo", 8, 4, 12),
    ("plain", "6mp", 23, 13, None),
    ("plain", "placebo", 8, 4, 11),
]
R_AT = {
    # (transform, data): [(t, S, se, lower, upper)] at t = 0, 3, 12
    ("log-log", "6mp"): [
        (0, 1.0, 0.0, 1.0, 1.0),
        (3, 1.0, 0.0, 1.0, 1.0),
        (12, 0.752941176470588, 0.0963496529943205, 0.503199510799957, 0.889361835169265),
    ],
    ("log-log", "placebo"): [
        (3, 0.761904761904762, 0.0929428640903365, 0.519391415328429, 0.893257109782487),
        (12, 0.19047619047619, 0.0856890867468988, 0.0594817013611753, 0.37743489058515),
    ],
    ("log", "6mp"): [
        (0, 1.0, 0.0, 1.0, 1.0),
        (12, 0.752941176470588, 0.0963496529943205, 0.585918982029694, 0.967574754552297),
    ],
    ("log", "placebo"): [
        (12, 0.19047619047619, 0.0856890867468988, 0.0788701399577345, 0.460011598277429),
    ],
    ("plain", "6mp"): [
        (3, 1.0, 0.0, 1.0, 1.0),
        (12, 0.752941176470588, 0.0963496529943205, 0.564099326678788, 0.941783026262388),
    ],
    ("plain", "placebo"): [
        (3, 0.761904761904762, 0.0929428640903365, 0.579740095667701, 0.944069428141822),
    ],
}


def _fit(data: str, transform: str) -> KaplanMeier:
    if data == "6mp":
        return kaplan_meier(TIMES, EVENTS, transform=transform)  # type: ignore[arg-type]
    return kaplan_meier(PLACEBO, [True] * len(PLACEBO), transform=transform)  # type: ignore[arg-type]


@pytest.mark.parametrize(("transform", "data", "median", "lower", "upper"), R_MEDIAN)
def test_median_interval_brookmeyer_crowley_against_r(
    transform: str, data: str, median: int, lower: int | None, upper: int | None
) -> None:
    km = _fit(data, transform)
    assert (km.median, km.median_lower, km.median_upper) == (median, lower, upper)
    assert transform in km.conventions["median interval"]


@pytest.mark.parametrize("key", list(R_AT))
def test_values_at_requested_times_against_r(key: tuple[str, str]) -> None:
    km = _fit(key[1], key[0])
    for t, surv, se, lo, hi in R_AT[key]:
        at = km.at(t)
        assert float(at.survival) == pytest.approx(surv, abs=1e-14)
        assert at.se == pytest.approx(se, abs=1e-14)
        assert at.lower == pytest.approx(lo, abs=1e-12)
        assert at.upper == pytest.approx(hi, abs=1e-12)
        assert not at.beyond_follow_up


def test_at_zero_survival_and_beyond_follow_up() -> None:
    km = _fit("placebo", "log-log")
    at = km.at(23)  # R: S 0, se NaN, limits NA
    assert at.survival == 0
    assert (at.se, at.lower, at.upper) == (None, None, None)
    assert km.at(40).beyond_follow_up
    assert km.at("6.5").survival == Fraction(12, 21)  # between 5 and 8: S(5), 9 events of 21
    with pytest.raises(ValidationFailed) as exc:
        km.at(-1)
    assert exc.value.code == "ANALYSIS.E034"


def test_median_interval_upper_not_reached_when_limit_curve_stays_above_half() -> None:
    # R: quantile(survfit(Surv(1:4, rep(1, 4)) ~ 1, conf.type = "log-log"), 0.5): 2.5, 1, NA
    km = kaplan_meier([1, 2, 3, 4], [True] * 4)
    assert (km.median, km.median_lower, km.median_upper) == (Fraction(5, 2), 1, None)


@pytest.mark.parametrize("transform", ["log-log", "log", "plain"])
def test_no_events_limits_at_one_under_every_transform(transform: str) -> None:
    km = kaplan_meier([3, 5, 8], [False] * 3, transform=transform)  # type: ignore[arg-type]
    at = km.at(4)
    assert (at.survival, at.se, at.lower, at.upper) == (1, 0.0, 1.0, 1.0)
