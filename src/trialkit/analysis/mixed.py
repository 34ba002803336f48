"""Linear mixed model for change from baseline over repeated visits.

Model (statsmodels ``MixedLM``): change_ij = μ_visit(j) [+ β·(baseline_i − mean baseline)] +
u_i + ε_ij with a random intercept u_i ~ N(0, σ²_u) per participant and ε_ij ~ N(0, σ²_e).
Visits enter as a cell-means factor (no overall intercept), so each coefficient is the
model-based mean change at that visit; with baseline adjustment the covariate is centred at
the mean baseline of the participants in the model (each participant once), so the visit
coefficients are the adjusted mean changes at the mean baseline.

Estimates are REML; the model is also fitted by ML, and both log-likelihoods are reported
(they equal R ``nlme::lme``'s ``logLik`` for the REML and the ML fit, constants included), with
AIC = −2·logLik + 2k, k = fixed effects + 2 variance parameters (as R's ``AIC`` counts them for
either fit). AICs of REML fits compare only models with the same fixed effects.

Intervals and p-values (``df_method``):

* ``"normal"`` (default): Wald with the normal quantile, as statsmodels reports them (df ∞);
* ``"nlme"``: t with the denominator degrees of freedom of R's ``nlme::lme`` (Pinheiro & Bates
  2000, §2.4.2): a visit mean, which varies within participants, has N − G − (V − 1) (N
  observations, G participants, V visits; the visit factor spans the intercept); the baseline
  coefficient, constant within participant, has G − 1.

Too small to fit: the model needs at least two participants, at least one participant with two
or more visits, and more observations than fixed effects + 2 variance parameters. Below that,
:func:`change_mixed_model` returns a result with ``fitted`` False and the reason, never a
number. Fitting warnings (for example a boundary σ²_u = 0 or non-convergence) are recorded in
``warnings`` and ``converged``, not hidden.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from trialkit.analysis._numbers import Number, to_fraction
from trialkit.errors import ValidationFailed

__all__ = ["DfMethod", "MixedModelResult", "VisitEffect", "change_mixed_model"]

DfMethod = Literal["normal", "nlme"]


@dataclass(frozen=True)
class VisitEffect:
    """A fixed effect: a visit's mean change, or the baseline coefficient (``visit`` names it)."""

    visit: str
    estimate: float
    se: float
    lower: float
    upper: float
    p_value: float
    df: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass(frozen=True)
class MixedModelResult:
    fitted: bool
    n_participants: int
    n_observations: int
    visits: tuple[VisitEffect, ...] = ()
    var_participant: float | None = None
    var_residual: float | None = None
    converged: bool | None = None
    reason: str | None = None
    warnings: tuple[str, ...] = ()
    method: str = "linear mixed model (REML), random intercept per participant"
    conventions: dict[str, str] = field(default_factory=dict)
    covariates: tuple[VisitEffect, ...] = ()
    loglik_reml: float | None = None
    loglik_ml: float | None = None
    aic_reml: float | None = None
    aic_ml: float | None = None
    n_parameters: int | None = None
    df_method: str = "normal"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {k: getattr(self, k) for k in self.__dataclass_fields__}
        out["visits"] = [v.to_dict() for v in self.visits]
        out["covariates"] = [v.to_dict() for v in self.covariates]
        out["warnings"] = list(self.warnings)
        return out


def _conventions(adjusted: bool, df_method: str) -> dict[str, str]:
    return {
        "fixed effects": "one mean change per visit (cell means, no intercept)"
        + ("; baseline, centred at the participants' mean baseline" if adjusted else ""),
        "random effects": "intercept per participant",
        "estimation": "REML (statsmodels MixedLM, lbfgs); ML fit for its log-likelihood",
        "information criteria": "AIC = −2 logLik + 2k, k = fixed effects + 2 variances",
        "intervals": "Wald, normal quantile (df ∞)"
        if df_method == "normal"
        else "t, nlme denominator df: visits N − G − (V − 1), baseline G − 1",
    }


def change_mixed_model(
    participants: Sequence[str],
    visits: Sequence[str],
    changes: Sequence[Number | str],
    *,
    visit_order: Sequence[str] | None = None,
    level: float = 0.95,
    baseline: Sequence[Number | str] | None = None,
    df_method: DfMethod = "normal",
) -> MixedModelResult:
    """Fit the random-intercept model to (participant, visit, change) rows.

    ``baseline`` (one value per row, the participant's baseline) adds the baseline
    adjustment; ``df_method`` chooses the intervals' degrees of freedom (module docstring).
    """
    import statsmodels.api as sm
    from scipy import stats

    if df_method not in ("normal", "nlme"):
        raise ValidationFailed(
            f"mixed model: df method {df_method!r} is unknown; use 'normal' or 'nlme'",
            code="ANALYSIS.E070",
        )
    if baseline is not None and len(baseline) != len(changes):
        raise ValidationFailed(
            f"mixed model: {len(baseline)} baseline values for {len(changes)} changes; give "
            "the participant's baseline on every row",
            code="ANALYSIS.E071",
        )
    adjusted = baseline is not None
    conventions = _conventions(adjusted, df_method)
    y = np.array([float(to_fraction(c, what="change")) for c in changes], dtype=float)
    order = list(visit_order) if visit_order else sorted(set(visits))
    present = [v for v in order if v in set(visits)]
    subjects = sorted(set(participants))
    per_subject = {p: sum(1 for q in participants if q == p) for p in subjects}
    n_obs = len(y)
    n_fixed = len(present) + (1 if adjusted else 0)
    reason = None
    if len(subjects) < 2:
        reason = f"{len(subjects)} participant(s): a random intercept needs at least two"
    elif max(per_subject.values(), default=0) < 2:
        reason = "no participant has two or more visits: the random intercept is not identified"
    elif n_obs <= n_fixed + 2:
        reason = (
            f"{n_obs} observations for {len(present)} visit means"
            + (" and a baseline coefficient" if adjusted else "")
            + " and 2 variance parameters: too few to fit"
        )
    if reason is None and baseline is not None:
        first: dict[str, float] = {}
        for p, b in zip(participants, baseline, strict=True):
            first.setdefault(p, float(to_fraction(b, what="baseline")))
        if len(set(first.values())) < 2:
            reason = "every participant has the same baseline: its coefficient is not identified"
    if reason is not None:
        return MixedModelResult(
            False,
            len(subjects),
            n_obs,
            reason=reason,
            conventions=conventions,
            df_method=df_method,
        )
    columns = [[1.0 if v == col else 0.0 for col in present] for v in visits]
    if baseline is not None:
        centre = sum(first.values()) / len(first)
        for row, b in zip(columns, baseline, strict=True):
            row.append(float(to_fraction(b, what="baseline")) - centre)
    exog = np.array(columns)
    groups = np.array([subjects.index(p) for p in participants])
    caught: list[str] = []
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        try:
            model = sm.MixedLM(y, exog, groups=groups)
            fit = model.fit(reml=True, method="lbfgs")
        except (np.linalg.LinAlgError, ValueError) as exc:
            return MixedModelResult(
                False,
                len(subjects),
                n_obs,
                reason=f"the model could not be fitted: {exc}",
                conventions=conventions,
                df_method=df_method,
            )
        ml: Any = None
        ml_failure: str | None = None
        try:
            ml = sm.MixedLM(y, exog, groups=groups).fit(reml=False, method="lbfgs")
        except (np.linalg.LinAlgError, ValueError) as exc:
            ml_failure = f"the ML fit (for its log-likelihood) failed: {exc}"
        caught = [str(w.message) for w in record]
        if ml_failure is not None:
            caught.append(ml_failure)
    params = np.asarray(fit.fe_params, dtype=float)
    cov = np.asarray(fit.cov_params(), dtype=float)[:n_fixed, :n_fixed]
    g = len(subjects)
    df_visit = float(n_obs - g - (len(present) - 1))
    df_base = float(g - 1)

    def effect(i: int, name: str, df: float | None) -> VisitEffect:
        se = math.sqrt(cov[i, i]) if cov[i, i] >= 0 else float("nan")
        est = float(params[i])
        if df is None:
            q = float(stats.norm.ppf(1 - (1 - level) / 2))
            p = float(2 * stats.norm.sf(abs(est / se))) if se > 0 else float("nan")
        else:
            q = float(stats.t.ppf(1 - (1 - level) / 2, df))
            p = float(2 * stats.t.sf(abs(est / se), df)) if se > 0 else float("nan")
        return VisitEffect(name, est, se, est - q * se, est + q * se, p, df)

    nlme = df_method == "nlme"
    effects = [effect(i, v, df_visit if nlme else None) for i, v in enumerate(present)]
    covariates = (effect(len(present), "baseline", df_base if nlme else None),) if adjusted else ()
    k = n_fixed + 2
    return MixedModelResult(
        True,
        len(subjects),
        n_obs,
        visits=tuple(effects),
        var_participant=float(np.asarray(fit.cov_re)[0, 0]),
        var_residual=float(fit.scale),
        converged=bool(fit.converged) and (ml is None or bool(ml.converged)),
        warnings=tuple(caught),
        conventions=conventions,
        covariates=covariates,
        loglik_reml=float(fit.llf),
        loglik_ml=None if ml is None else float(ml.llf),
        aic_reml=-2 * float(fit.llf) + 2 * k,
        aic_ml=None if ml is None else -2 * float(ml.llf) + 2 * k,
        n_parameters=k,
        df_method=df_method,
    )
