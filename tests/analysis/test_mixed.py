"""Mixed model against R 4.2.2 (Debian r-base-core): ANOVA estimators, and nlme below.

For balanced data with a random intercept, the REML estimates equal the ANOVA estimators when
these are positive: σ²_e = residual mean square of ``lm(chg ~ subj + vis)``, σ²_u =
(MS_subj − MS_res)/k, visit means = cell means, SE = sqrt((σ²_u + σ²_e)/n). Provenance:
``anova(lm(chg ~ subj + vis))`` in R 4.2.2 Patched (2022-11-10 r83330) for the data below.
"""

from __future__ import annotations

import random

import pytest

from trialkit.analysis.mixed import change_mixed_model
from trialkit.errors import ValidationFailed

CHG = [-2.0, -3.5, -4.0, -1.0, -1.5, -3.0, -3.0, -4.5, -6.5, 0.5, -1.0, -2.5, -1.5, -3.0, -3.5]
SUBJ = [f"P{i}" for i in range(1, 6) for _ in range(3)]
VIS = ["D030", "D060", "D090"] * 5


def test_balanced_reml_matches_anova_estimators() -> None:
    r = change_mixed_model(SUBJ, VIS, CHG)
    assert r.fitted
    assert r.var_residual == pytest.approx(0.191666666666667, rel=1e-4)
    assert r.var_participant == pytest.approx(1.86666666666667, rel=1e-4)
    means = {v.visit: v for v in r.visits}
    assert means["D030"].estimate == pytest.approx(-1.4, abs=1e-6)
    assert means["D060"].estimate == pytest.approx(-2.7, abs=1e-6)
    assert means["D090"].estimate == pytest.approx(-3.9, abs=1e-6)
    for v in r.visits:
        assert v.se == pytest.approx(0.641612551830672, rel=1e-4)
        assert v.lower < v.estimate < v.upper


def test_visit_order_respected() -> None:
    r = change_mixed_model(SUBJ, VIS, CHG, visit_order=["D090", "D060", "D030", "D007"])
    assert [v.visit for v in r.visits] == ["D090", "D060", "D030"]


@pytest.mark.parametrize(
    ("subj", "vis", "chg", "reason"),
    [
        (["P1", "P1"], ["D030", "D060"], [1, 2], "at least two"),
        (["P1", "P2"], ["D030", "D030"], [1, 2], "two or more visits"),
        (["P1", "P1", "P2"], ["D030", "D060", "D030"], [1, 2, 3], "too few"),
    ],
)
def test_too_small_is_reported_not_fitted(
    subj: list[str], vis: list[str], chg: list[int], reason: str
) -> None:
    r = change_mixed_model(subj, vis, chg)
    assert not r.fitted
    assert r.reason is not None
    assert reason in r.reason
    assert r.visits == ()


# Against R's nlme (R 4.2.2 Patched, 2022-11-10 r83330; recommended package nlme 3.1.162,
# Debian r-cran-nlme 3.1.162-1):
# ``lme(chg ~ 0 + vis [+ I(base - 11.2)], random = ~ 1 | subj, method = "REML")`` and
# ``method = "ML"``: ``logLik``, ``AIC``, ``VarCorr``, ``summary(fit)$tTable`` (estimate,
# SE, df, p) and ``intervals(fit, which = "fixed")``; sprintf("%.15g"). Baselines
# 10, 12, 15, 8, 11 for P1..P5 (mean 11.2); "unbalanced" drops P5's D090 row.
BASE = [b for b in (10, 12, 15, 8, 11) for _ in range(3)]
NLME = {
    # (unbalanced, adjusted): REML logLik, ML logLik, AIC REML, AIC ML, σ²_u, σ²_e,
    #   estimates, SEs, df, p, lower, upper (visits, then the baseline coefficient)
    (False, False): (
        -16.3462693652611,
        -15.7415639859059,
        42.6925387305223,
        41.4831279718118,
        1.8666666,
        0.191666671534613,
        [-1.4, -2.7, -3.9],
        [0.64161253705242] * 3,
        [8, 8, 8],
        [0.060672789362493, 0.00296335631721631, 0.000296440582502991],
        [-2.87956116364172, -4.17956116364172, -5.37956116364172],
        [0.0795611636417171, -1.22043883635828, -2.42043883635828],
    ),
    (False, True): (
        -15.0661247085301,
        -13.061520204377,
        42.1322494170603,
        38.1230404087541,
        0.8172578,
        0.191666914328001,
        [-1.4, -2.7, -3.9, -0.435323383084577],
        [0.449204789205231, 0.449204789205231, 0.449204789205231, 0.181324600740093],
        [8, 8, 8, 4],
        [0.0143016137091552, 0.000319590158186683, 2.4122147418977e-05, 0.0742921605800309],
        [-2.43586810146078, -3.73586810146078, -4.93586810146078, -0.938761183261351],
        [-0.364131898539222, -1.66413189853922, -2.86413189853922, 0.068114417092197],
    ),
    (True, False): (
        -15.1645492825951,
        -14.5750105413343,
        40.3290985651902,
        39.1500210826685,
        1.891296,
        0.175827976538733,
        [-1.4, -2.7, -4.04777906394737],
        [0.642981219688025, 0.642981219688026, 0.653005892596559],
        [7, 7, 7],
        [0.0658972960438114, 0.00403962709349763, 0.000445823534033094],
        [-2.92040898539301, -4.22040898539301, -5.59189263401419],
        [0.120408985393013, -1.17959101460699, -2.50366549388056],
    ),
    (True, True): (
        -13.9302934829723,
        -11.9752471174844,
        39.8605869659446,
        35.9504942349688,
        0.8611443,
        0.175503058437286,
        [-1.4, -2.7, -4.04337148842212, -0.433540155616641],
        [0.455334463080331, 0.455334463080331, 0.469134505435118, 0.185248745645096],
        [7, 7, 7, 4],
        [0.0179494734925201, 0.000581804739506362, 5.64760144037197e-05, 0.0793511328108491],
        [-2.47669491398573, -3.77669491398573, -5.15269831723299, -0.947873128707],
        [-0.323305086014271, -1.62330508601427, -2.93404465961125, 0.0807928174737181],
    ),
}


@pytest.mark.parametrize(("unbalanced", "adjusted"), list(NLME))
def test_against_nlme(unbalanced: bool, adjusted: bool) -> None:
    ref = NLME[(unbalanced, adjusted)]
    keep = slice(0, 14 if unbalanced else 15)
    r = change_mixed_model(
        SUBJ[keep],
        VIS[keep],
        CHG[keep],
        baseline=BASE[keep] if adjusted else None,
        df_method="nlme",
    )
    assert r.fitted
    # the log-likelihoods are flat at the optimum: tight; the optimiser's parameters ≈ 1e-5
    assert r.loglik_reml == pytest.approx(ref[0], abs=1e-7)
    assert r.loglik_ml == pytest.approx(ref[1], abs=1e-7)
    assert r.aic_reml == pytest.approx(ref[2], abs=1e-6)
    assert r.aic_ml == pytest.approx(ref[3], abs=1e-6)
    assert r.var_participant == pytest.approx(ref[4], rel=1e-4)
    assert r.var_residual == pytest.approx(ref[5], rel=1e-4)
    effects = [*r.visits, *r.covariates]
    assert [e.visit for e in effects][-1] == ("baseline" if adjusted else "D090")
    for e, est, se, df, p, lo, hi in zip(effects, *ref[6:], strict=True):
        assert e.estimate == pytest.approx(est, abs=1e-5)
        assert e.se == pytest.approx(se, rel=1e-4)
        assert e.df == df
        assert e.p_value == pytest.approx(p, rel=1e-3)
        assert e.lower == pytest.approx(lo, abs=1e-4)
        assert e.upper == pytest.approx(hi, abs=1e-4)
    assert "nlme" in r.conventions["intervals"]


def test_normal_intervals_state_infinite_df_and_bad_options() -> None:
    r = change_mixed_model(SUBJ, VIS, CHG)
    assert all(v.df is None for v in r.visits)
    assert "normal" in r.conventions["intervals"]
    assert r.n_parameters == 5
    with pytest.raises(ValidationFailed) as exc:
        change_mixed_model(SUBJ, VIS, CHG, df_method="kenward-roger")  # type: ignore[arg-type]
    assert exc.value.code == "ANALYSIS.E070"
    with pytest.raises(ValidationFailed) as exc:
        change_mixed_model(SUBJ, VIS, CHG, baseline=[1, 2])
    assert exc.value.code == "ANALYSIS.E071"
    same = change_mixed_model(SUBJ, VIS, CHG, baseline=[5] * 15)
    assert not same.fitted
    assert same.reason is not None
    assert "same baseline" in same.reason


@pytest.mark.parametrize(("n_visits", "df_visit"), [(2, 3), (4, 13)])
def test_nlme_df_other_designs(n_visits: int, df_visit: int) -> None:
    # R nlme: lme(y ~ 0 + v + b, random = ~ 1 | s) on 6 participants × V visits less the first
    # and the last row: tTable df 3, 3, 5 (V = 2) and 13 × 4, 5 (V = 4); df do not depend on y
    rows = [(f"P{p}", f"V{v}") for p in range(1, 7) for v in range(1, n_visits + 1)][1:-1]
    base = {f"P{p}": b for p, b in zip(range(1, 7), (3, 5, 2, 8, 6, 4), strict=True)}
    subj = [p for p, _ in rows]
    vis = [v for _, v in rows]
    noise = random.Random(2)
    y = [noise.gauss(0, 1) + int(p[1:]) / 3 for p in subj]
    r = change_mixed_model(subj, vis, y, baseline=[base[p] for p in subj], df_method="nlme")
    assert r.fitted
    assert [v.df for v in r.visits] == [df_visit] * n_visits
    assert [c.df for c in r.covariates] == [5]


def test_ml_refit_failure_keeps_the_reml_fit() -> None:
    # the ML fit of this small unbalanced design reaches σ²_u = 0 and statsmodels raises a
    # singular-matrix error there: the REML fit and its log-likelihood are still reported
    rows = [(f"P{p}", f"V{v}") for p in range(1, 7) for v in (1, 2)][1:-1]
    subj = [p for p, _ in rows]
    noise = random.Random(2)
    y = [noise.gauss(0, 1) + int(p[1:]) / 3 for p in subj]
    base = [(3, 5, 2, 8, 6, 4)[int(p[1:]) - 1] for p in subj]
    r = change_mixed_model(subj, [v for _, v in rows], y, baseline=base)
    assert r.fitted
    assert r.loglik_reml is not None
    assert r.loglik_ml is None
    assert r.aic_ml is None
    assert any("the ML fit (for its log-likelihood) failed" in w for w in r.warnings)
