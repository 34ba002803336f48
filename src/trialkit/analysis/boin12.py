"""BOIN12's table of rank-based desirability scores (Lin, Zhou, Yan, Li & Yuan 2020, Table 3).

For every number of patients n in ``sample_sizes`` and every number of toxicities and of
efficacy responses (0..n each), the table gives admissibility and the rank-based desirability
score (RDS): the rank, among the admissible entries of the whole table, of
Pr(u/100 > u_b/100 | data) (:func:`trialkit.analysis.dose_selection.boin12_desirability`), tied
entries sharing the mean of their ranks (R's ``rank``); inadmissible entries are eliminated
(``None``). Admissibility uses the marginal Beta posteriors of toxicity and efficacy under the
rule's Dirichlet prior and its gate.

The table is indexed by the marginal counts, so the utility must depend on them only:
u(E¬T) + u(¬ET) = u(¬E¬T) + u(ET) (BOIN12's 100 + 0 = 40 + 60). The quasi-binomial count is
then x = (u(ET)·efficacies + u(¬E¬T)·(n − toxicities))/100, as in the R package
``escalation``'s ``boin12_rds``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from trialkit.analysis.dose_selection import (
    DoseSelectionRule,
    beta_sf,
    boin12_benchmark,
)
from trialkit.errors import ValidationFailed

__all__ = ["RDSEntry", "boin12_rds_table"]


@dataclass(frozen=True)
class RDSEntry:
    """One (patients, toxicities, efficacies) entry of the RDS table."""

    patients: int
    toxicities: int
    efficacies: int
    admissible: bool
    probability: Fraction
    rds: Fraction | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "patients": self.patients,
            "toxicities": self.toxicities,
            "efficacies": self.efficacies,
            "admissible": self.admissible,
            "probability": float(self.probability),
            "rds": None if self.rds is None else float(self.rds),
        }


def boin12_rds_table(sample_sizes: Sequence[int], rule: DoseSelectionRule) -> list[RDSEntry]:
    """The RDS table for ``sample_sizes`` under ``rule`` (module docstring)."""
    u = rule.utilities
    if u[0] + u[3] != u[1] + u[2]:
        raise ValidationFailed(
            f"BOIN12 RDS table: utilities {[str(x) for x in u]} do not depend on the marginal "
            "counts only (u(E¬T) + u(¬ET) must equal u(¬E¬T) + u(ET)); score the doses from "
            "their four-category counts instead",
            code="ANALYSIS.E080",
        )
    if any(isinstance(n, bool) or not isinstance(n, int) or n < 0 for n in sample_sizes):
        raise ValidationFailed(
            f"BOIN12 RDS table: sample sizes {list(sample_sizes)} must be whole numbers ≥ 0",
            code="ANALYSIS.E081",
        )
    bench = boin12_benchmark(rule) / 100
    a_u, b_u = rule.utility_prior
    prior_t = rule.prior[2] + rule.prior[3], rule.prior[0] + rule.prior[1]
    prior_e = rule.prior[0] + rule.prior[2], rule.prior[1] + rule.prior[3]
    raw: list[tuple[int, int, int, bool, Fraction]] = []
    for n in sample_sizes:
        for tox in range(n + 1):
            for eff in range(n + 1):
                pr_tox, _ = beta_sf(rule.phi_t, prior_t[0] + tox, prior_t[1] + n - tox)
                pr_eff_under, _ = beta_sf(1 - rule.phi_e, prior_e[1] + n - eff, prior_e[0] + eff)
                admissible = not rule.rejects(pr_tox, rule.c_t) and not rule.rejects(
                    pr_eff_under, rule.c_e
                )
                x = (u[2] * eff + u[1] * (n - tox)) / 100
                prob, _ = beta_sf(bench, a_u + x, b_u + n - x)
                raw.append((n, tox, eff, admissible, prob))
    ranked = sorted({r[4] for r in raw if r[3]})
    counts = {p: sum(1 for r in raw if r[3] and r[4] == p) for p in ranked}
    rank: dict[Fraction, Fraction] = {}
    below = 0
    for p in ranked:
        c = counts[p]
        rank[p] = Fraction(2 * below + c + 1, 2)  # mean of ranks below+1 .. below+c
        below += c
    return [
        RDSEntry(n, tox, eff, adm, prob, rank[prob] if adm else None)
        for n, tox, eff, adm, prob in raw
    ]
