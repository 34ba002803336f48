"""Linear mixed model for change from baseline over repeated visits.

Model (statsmodels ``MixedLM``, REML): change_ij = μ_visit(j) + u_i + ε_ij with a random
intercept u_i ~ N(0, σ²_u) per participant and ε_ij ~ N(0, σ²_e). Visits enter as a cell-means
factor (no overall intercept), so each coefficient is the model-based mean change at that
visit. Wald intervals and p-values use the normal distribution, as statsmodels reports them.

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
from typing import Any

import numpy as np

from trialkit.analysis._numbers import Number, to_fraction

__all__ = ["MixedModelResult", "VisitEffect", "change_mixed_model"]


@dataclass(frozen=True)
class VisitEffect:
    visit: str
    estimate: float
    se: float
    lower: float
    upper: float
    p_value: float

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

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {k: getattr(self, k) for k in self.__dataclass_fields__}
        out["visits"] = [v.to_dict() for v in self.visits]
        out["warnings"] = list(self.warnings)
        return out


_CONVENTIONS = {
    "fixed effects": "one mean change per visit (cell means, no intercept)",
    "random effects": "intercept per participant",
    "estimation": "REML (statsmodels MixedLM, lbfgs)",
    "intervals": "Wald, normal quantile",
}


def change_mixed_model(
    participants: Sequence[str],
    visits: Sequence[str],
    changes: Sequence[Number | str],
    *,
    visit_order: Sequence[str] | None = None,
    level: float = 0.95,
) -> MixedModelResult:
    """Fit the random-intercept model to (participant, visit, change) rows."""
    import statsmodels.api as sm
    from scipy import stats

    y = np.array([float(to_fraction(c, what="change")) for c in changes], dtype=float)
    order = list(visit_order) if visit_order else sorted(set(visits))
    present = [v for v in order if v in set(visits)]
    subjects = sorted(set(participants))
    per_subject = {p: sum(1 for q in participants if q == p) for p in subjects}
    n_obs = len(y)
    reason = None
    if len(subjects) < 2:
        reason = f"{len(subjects)} participant(s): a random intercept needs at least two"
    elif max(per_subject.values(), default=0) < 2:
        reason = "no participant has two or more visits: the random intercept is not identified"
    elif n_obs <= len(present) + 2:
        reason = (
            f"{n_obs} observations for {len(present)} visit means and 2 variance parameters: "
            "too few to fit"
        )
    if reason is not None:
        return MixedModelResult(
            False, len(subjects), n_obs, reason=reason, conventions=dict(_CONVENTIONS)
        )
    exog = np.array([[1.0 if v == col else 0.0 for col in present] for v in visits])
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
                conventions=dict(_CONVENTIONS),
            )
        caught = [str(w.message) for w in record]
    z = float(stats.norm.ppf(1 - (1 - level) / 2))
    params = np.asarray(fit.fe_params, dtype=float)
    cov = np.asarray(fit.cov_params(), dtype=float)[: len(present), : len(present)]
    effects = []
    for i, v in enumerate(present):
        se = math.sqrt(cov[i, i]) if cov[i, i] >= 0 else float("nan")
        est = float(params[i])
        p = float(2 * stats.norm.sf(abs(est / se))) if se > 0 else float("nan")
        effects.append(VisitEffect(v, est, se, est - z * se, est + z * se, p))
    return MixedModelResult(
        True,
        len(subjects),
        n_obs,
        visits=tuple(effects),
        var_participant=float(np.asarray(fit.cov_re)[0, 0]),
        var_residual=float(fit.scale),
        converged=bool(fit.converged),
        warnings=tuple(caught),
        conventions=dict(_CONVENTIONS),
    )
