"""EffTox trade-off contour (Thall & Cook 2004, Biometrics 60:684–693) as a sensitivity check.

Three elicited, equally desirable (efficacy, toxicity) pairs fix the zero-desirability
contour: (π*_E, 0), the efficacy that would be acceptable with no toxicity; (1, π*_T), the
toxicity that would be acceptable with certain efficacy; and an intermediate (π_E, π_T).
With a = (1 − π_E)/(1 − π*_E) and b = π_T/π*_T, the exponent p > 0 solves a^p + b^p = 1, and

    δ(e, t) = 1 − ( ((1 − e)/(1 − π*_E))^p + (t/π*_T)^p )^(1/p)

is the desirability: 0 on the contour, larger is better (more efficacy, less toxicity).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from scipy import optimize

from trialkit.errors import ValidationFailed

__all__ = ["EffToxContour"]


@dataclass(frozen=True)
class EffToxContour:
    """The contour through (eff_at_no_tox, 0), (1, tox_at_full_eff) and (mid_eff, mid_tox)."""

    eff_at_no_tox: Fraction
    tox_at_full_eff: Fraction
    mid_eff: Fraction
    mid_tox: Fraction

    def __post_init__(self) -> None:
        e0, t1, em, tm = self.eff_at_no_tox, self.tox_at_full_eff, self.mid_eff, self.mid_tox
        if not (0 <= e0 < 1 and 0 < t1 <= 1):
            raise ValidationFailed(
                f"EffTox contour: anchor points (π*_E = {e0}, 0) and (1, π*_T = {t1}) need "
                "0 ≤ π*_E < 1 and 0 < π*_T ≤ 1; elicit them again",
                code="ANALYSIS.E040",
            )
        if not (e0 < em < 1 and 0 < tm < t1):
            raise ValidationFailed(
                f"EffTox contour: intermediate point ({em}, {tm}) must lie strictly between "
                f"the anchors (efficacy between {e0} and 1, toxicity between 0 and {t1}); "
                "choose a point on the trade-off between them",
                code="ANALYSIS.E041",
            )

    @property
    def p(self) -> float:
        """The L^p exponent making the intermediate point lie on the contour."""
        a = float((1 - self.mid_eff) / (1 - self.eff_at_no_tox))
        b = float(self.mid_tox / self.tox_at_full_eff)

        def f(p: float) -> float:
            return float(a**p + b**p - 1.0)

        hi = 1.0
        while f(hi) > 0:
            hi *= 2.0
        return float(optimize.brentq(f, 1e-9, hi, xtol=1e-14, rtol=1e-14))

    def desirability(self, eff: float, tox: float) -> float:
        """δ(eff, tox): positive inside the desirable region, 0 on the contour."""
        p = self.p
        x = (1.0 - eff) / float(1 - self.eff_at_no_tox)
        y = tox / float(self.tox_at_full_eff)
        return 1.0 - math.pow(x**p + y**p, 1.0 / p)

    def to_dict(self) -> dict[str, Any]:
        return {
            "points": [
                [float(self.eff_at_no_tox), 0.0],
                [1.0, float(self.tox_at_full_eff)],
                [float(self.mid_eff), float(self.mid_tox)],
            ],
            "p": self.p,
        }
