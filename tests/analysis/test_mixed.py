"""Mixed model against R 4.2.2 (Debian r-base-core; no nlme/lme4 there).

For balanced data with a random intercept, the REML estimates equal the ANOVA estimators when
these are positive: σ²_e = residual mean square of ``lm(chg ~ subj + vis)``, σ²_u =
(MS_subj − MS_res)/k, visit means = cell means, SE = sqrt((σ²_u + σ²_e)/n). Provenance:
``anova(lm(chg ~ subj + vis))`` in R 4.2.2 Patched (2022-11-10 r83330) for the data below.
"""

from __future__ import annotations

import pytest

from trialkit.analysis.mixed import change_mixed_model

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
