"""Bayesian utility dose selection for parallel dose arms (BOIN12 / U-BOIN style).

Each patient has efficacy yes/no and toxicity yes/no, four categories in this fixed order:

    0 = (E, not T)   1 = (not E, not T)   2 = (E, T)   3 = (not E, T)

Per dose, the category probabilities have a Dirichlet(α) prior; with counts n the posterior is
Dirichlet(α + n) (U-BOIN: Zhou, Lee & Yuan 2019, the Dirichlet–multinomial utility model).
All inputs are exact: thresholds, cut-offs, utilities and priors are Fractions (or whole
numbers, Decimals or decimal text, converted exactly); a float is refused (ANALYSIS.E056),
never silently computed in floating point and reported as exact.

The default α = (½, ½, ½, ½) has uniform Beta(1, 1) marginals for toxicity and for efficacy,
the priors BOIN12 (Lin, Zhou, Yuan 2020, JCO Precis Oncol) uses for its admissibility rules;
its total weight is two patients.

Utilities (default 100, 40, 60, 0 in the order above, BOIN12's suggested values) give the
posterior mean utility Σ u_k (α_k + n_k)/(Σα + N), an exact Fraction.

Admissibility (marginal posteriors are Beta):

* safety: inadmissible if Pr(p_T > φ_T | data) > c_T;
* futility: inadmissible if Pr(p_E < φ_E | data) > c_E.

When both Beta parameters are whole numbers (as with the default prior) these probabilities
are exact rationals via the binomial identity I_x(a, b) = Pr(Bin(a + b − 1, x) ≥ a), and the
comparison with c is exact. Otherwise scipy's regularised incomplete beta is used (about 15
significant digits); the comparison is then of that float, exactly, and the dose is flagged
``near_cutoff`` when within 1e-9 of the cut-off.

A dose without any patient (all four counts 0) is **not explored**: the prior alone would make it
look admissible, so it is never admissible, never selected and has no probability of being best.

Gate inequality (``gate``): ``"exceeds"`` (default; the BOIN12 paper's rule) makes a dose
inadmissible when the probability is strictly greater than its cut-off (Pr > c); ``"reaches"``
when it is greater than or equal (Pr ≥ c; the R package ``escalation``'s ``boin12_rds``, which
keeps a dose only when Pr < c). The two differ only when a probability equals its cut-off
exactly, which exact rationals make possible.

Score (``score``), what "best" means among admissible doses:

* ``"posterior_mean_utility"`` (default): the posterior mean utility above;
* ``"boin12_desirability"``: BOIN12's rank-based desirability score (Lin, Zhou, Yan, Li & Yuan
  2020, JCO Precis Oncol 4:1393–1402). Utilities must be standardised, u(E¬T) = 100 and
  u(¬ET) = 0, every utility within 0..100. The standardised utility u/100 of a dose is given a
  Beta(a, b) prior (``utility_prior``, default Beta(1, 1)); its n patients give the
  quasi-binomial count x = Σ_k u_k·n_k/100, so the posterior is Beta(a + x, b + n − x). The
  score is Pr(u/100 > u_b/100 | data), with the benchmark u_b = ū + (100 − ū)/2, ū the utility
  of the highest unacceptable rates, ū = u(E¬T)(1 − φ_T)φ_E + u(¬E¬T)(1 − φ_T)(1 − φ_E) +
  u(ET)φ_Tφ_E + u(¬ET)φ_T(1 − φ_E). BOIN12 ranks these probabilities over its table of
  outcomes (the "RDS"); a rank is a monotone function of the probability, so the dose with
  the highest probability has the highest rank, and ties stay ties. The probability is exact
  when a + x and b + n − x are whole numbers, else scipy (≈ 15 digits).

The selected dose is the admissible dose with the highest score; exact ties go
to the lower dose; with no admissible dose, "no dose" (None). Pr(dose is best) is estimated by
Monte Carlo from the Dirichlet posteriors (seeded numpy Generator): in each draw, the admissible
dose with the highest utility is best; with no admissible dose, "no dose" has probability 1.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any, Literal

import numpy as np
from scipy import stats

from trialkit.analysis.efftox import EffToxContour
from trialkit.errors import ValidationFailed

__all__ = [
    "CATEGORIES",
    "DoseDecision",
    "DoseSelectionRule",
    "DoseSummary",
    "EffToxCheck",
    "Gate",
    "beta_sf",
    "boin12_benchmark",
    "boin12_desirability",
    "choose",
    "exact_number",
    "select_dose",
    "summarise_dose",
    "tabulate_outcomes",
]

CATEGORIES = (
    "efficacy, no toxicity",
    "no efficacy, no toxicity",
    "efficacy and toxicity",
    "no efficacy, toxicity",
)
NEAR = Fraction(1, 10**9)


Score = Literal["posterior_mean_utility", "boin12_desirability"]
Gate = Literal["exceeds", "reaches"]
SCORES: tuple[str, ...] = ("posterior_mean_utility", "boin12_desirability")


def exact_number(value: object, what: str) -> Fraction:
    """``value`` as an exact Fraction: a Fraction, int, Decimal or decimal text; never a float."""
    if isinstance(value, float):
        raise ValidationFailed(
            f"dose selection: {what} = {value!r} is a float; give it exactly, as a Fraction "
            f"or decimal text (e.g. Fraction('{value}') or '{value}'), so that cut-offs are "
            "compared exactly",
            code="ANALYSIS.E056",
        )
    if isinstance(value, Fraction):
        return value
    if isinstance(value, int | Decimal | str) and not isinstance(value, bool):
        try:
            return Fraction(value)
        except (ValueError, ArithmeticError):
            pass
    raise ValidationFailed(
        f"dose selection: {what} = {value!r} is not an exact number; give a Fraction, a "
        "whole number or decimal text such as '0.35'",
        code="ANALYSIS.E056",
    )


@dataclass(frozen=True)
class DoseSelectionRule:
    """The pre-specified rule: utilities, prior, thresholds and cut-offs (all exact)."""

    phi_t: Fraction = Fraction(35, 100)
    c_t: Fraction = Fraction(95, 100)
    phi_e: Fraction = Fraction(25, 100)
    c_e: Fraction = Fraction(90, 100)
    utilities: tuple[Fraction, Fraction, Fraction, Fraction] = (
        Fraction(100),
        Fraction(40),
        Fraction(60),
        Fraction(0),
    )
    prior: tuple[Fraction, Fraction, Fraction, Fraction] = (
        Fraction(1, 2),
        Fraction(1, 2),
        Fraction(1, 2),
        Fraction(1, 2),
    )
    score: Score = "posterior_mean_utility"
    gate: Gate = "exceeds"
    utility_prior: tuple[Fraction, Fraction] = (Fraction(1), Fraction(1))

    def __post_init__(self) -> None:
        for name in ("phi_t", "c_t", "phi_e", "c_e"):
            object.__setattr__(self, name, exact_number(getattr(self, name), name))
        for name in ("utilities", "prior", "utility_prior"):
            values = getattr(self, name)
            object.__setattr__(
                self, name, tuple(exact_number(v, f"{name}[{i}]") for i, v in enumerate(values))
            )
        if self.score not in SCORES:
            raise ValidationFailed(
                f"dose selection: score {self.score!r} is unknown; use "
                "'posterior_mean_utility' or 'boin12_desirability'",
                code="ANALYSIS.E057",
            )
        if self.gate not in ("exceeds", "reaches"):
            raise ValidationFailed(
                f"dose selection: gate {self.gate!r} is unknown; use 'exceeds' (inadmissible "
                "when Pr > c) or 'reaches' (when Pr ≥ c)",
                code="ANALYSIS.E058",
            )
        for name in ("phi_t", "c_t", "phi_e", "c_e"):
            v = getattr(self, name)
            if not 0 < v < 1:
                raise ValidationFailed(
                    f"dose selection: {name} = {v} must be strictly between 0 and 1",
                    code="ANALYSIS.E050",
                )
        if len(self.prior) != 4 or any(a <= 0 for a in self.prior):
            raise ValidationFailed(
                f"dose selection: Dirichlet prior {[str(a) for a in self.prior]} needs four "
                "positive values; use e.g. 1/2 each",
                code="ANALYSIS.E051",
            )
        if len(self.utilities) != 4:
            raise ValidationFailed(
                "dose selection: give four utilities (E¬T, ¬E¬T, ET, ¬ET)", code="ANALYSIS.E052"
            )
        if len(self.utility_prior) != 2 or any(a <= 0 for a in self.utility_prior):
            raise ValidationFailed(
                f"dose selection: utility prior {[str(a) for a in self.utility_prior]} needs "
                "two positive Beta parameters; use e.g. 1 and 1",
                code="ANALYSIS.E059",
            )
        u = self.utilities
        if self.score == "boin12_desirability" and (
            u[0] != 100 or u[3] != 0 or any(not 0 <= x <= 100 for x in u)
        ):
            raise ValidationFailed(
                f"dose selection: BOIN12's desirability needs standardised utilities, "
                f"u(E¬T) = 100, u(¬ET) = 0 and all within 0..100; got "
                f"{[str(x) for x in u]}",
                code="ANALYSIS.E055",
            )

    def to_dict(self) -> dict[str, Any]:
        return {
            "phi_t": str(self.phi_t),
            "c_t": str(self.c_t),
            "phi_e": str(self.phi_e),
            "c_e": str(self.c_e),
            "utilities": [str(u) for u in self.utilities],
            "prior": [str(a) for a in self.prior],
            "score": self.score,
            "gate": self.gate,
            "utility_prior": [str(a) for a in self.utility_prior],
        }

    def rejects(self, probability: Fraction, cutoff: Fraction) -> bool:
        """Whether a gate probability makes the dose inadmissible (``gate``)."""
        return probability >= cutoff if self.gate == "reaches" else probability > cutoff


def beta_sf(x: Fraction, a: Fraction, b: Fraction) -> tuple[Fraction, bool]:
    """Pr(Beta(a, b) > x) and whether it is exact (whole-number a and b).

    All three are exact Fractions (a float is refused: ANALYSIS.E056).
    """
    x, a, b = exact_number(x, "x"), exact_number(a, "a"), exact_number(b, "b")
    if a.denominator == 1 and b.denominator == 1:
        n = int(a + b) - 1
        ai = int(a)
        # Pr(Beta(a, b) > x) = Pr(Bin(a + b − 1, x) ≤ a − 1)
        total = sum((math.comb(n, j) * x**j * (1 - x) ** (n - j) for j in range(ai)), Fraction(0))
        return total, True
    return Fraction(float(stats.beta.sf(float(x), float(a), float(b)))), False


@dataclass(frozen=True)
class DoseSummary:
    dose: str
    counts: tuple[int, int, int, int]
    mean_utility: Fraction
    mean_eff: Fraction
    mean_tox: Fraction
    pr_tox_over: Fraction
    pr_eff_under: Fraction
    safe: bool
    promising: bool
    exact: bool
    near_cutoff: bool
    desirability: Fraction | None = None
    desirability_exact: bool = True

    @property
    def explored(self) -> bool:
        """Whether any patient's outcome is known at this dose (else the prior alone speaks)."""
        return sum(self.counts) > 0

    @property
    def admissible(self) -> bool:
        return self.explored and self.safe and self.promising

    def to_dict(self) -> dict[str, Any]:
        return {
            "dose": self.dose,
            "counts": dict(zip(CATEGORIES, self.counts, strict=True)),
            "n": sum(self.counts),
            "posterior_mean_utility": float(self.mean_utility),
            "posterior_mean_utility_exact": str(self.mean_utility),
            "posterior_mean_efficacy": float(self.mean_eff),
            "posterior_mean_toxicity": float(self.mean_tox),
            "pr_toxicity_above_phi_t": float(self.pr_tox_over),
            "pr_efficacy_below_phi_e": float(self.pr_eff_under),
            "safe": self.safe,
            "promising": self.promising,
            "explored": self.explored,
            "admissible": self.admissible,
            "gate_probabilities_exact": self.exact,
            "near_cutoff": self.near_cutoff,
            "boin12_desirability": None if self.desirability is None else float(self.desirability),
            "boin12_desirability_exact": self.desirability_exact,
        }

    def score(self, rule: DoseSelectionRule) -> Fraction:
        """The value the rule ranks admissible doses by (``rule.score``)."""
        if rule.score == "boin12_desirability":
            assert self.desirability is not None
            return self.desirability
        return self.mean_utility


def boin12_benchmark(rule: DoseSelectionRule) -> Fraction:
    """BOIN12's benchmark utility u_b = ū + (100 − ū)/2 (module docstring), exact."""
    u = rule.utilities
    pt, pe = rule.phi_t, rule.phi_e
    bar = u[0] * (1 - pt) * pe + u[1] * (1 - pt) * (1 - pe) + u[2] * pt * pe + u[3] * pt * (1 - pe)
    return bar + (100 - bar) / 2


def boin12_desirability(counts: Sequence[int], rule: DoseSelectionRule) -> tuple[Fraction, bool]:
    """Pr(standardised utility > u_b/100 | counts) under the Beta utility prior, and whether
    it is exact (module docstring)."""
    n = sum(counts)
    x = sum((u * c for u, c in zip(rule.utilities, counts, strict=True)), Fraction(0)) / 100
    a, b = rule.utility_prior
    return beta_sf(boin12_benchmark(rule) / 100, a + x, b + n - x)


def summarise_dose(dose: str, counts: Sequence[int], rule: DoseSelectionRule) -> DoseSummary:
    """Posterior summaries and admissibility of one dose's 4-category counts."""
    if (
        len(counts) != 4
        or any(isinstance(c, bool) or not isinstance(c, int | np.integer) for c in counts)
        or any(c < 0 for c in counts)
    ):
        raise ValidationFailed(
            f"dose {dose}: counts {list(counts)} must be four non-negative whole numbers "
            "(E¬T, ¬E¬T, ET, ¬ET)",
            code="ANALYSIS.E053",
        )
    post = [a + c for a, c in zip(rule.prior, counts, strict=True)]
    total = sum(post, Fraction(0))
    utility = sum((u * a for u, a in zip(rule.utilities, post, strict=True)), Fraction(0)) / total
    a_tox, b_tox = post[2] + post[3], post[0] + post[1]
    a_eff, b_eff = post[0] + post[2], post[1] + post[3]
    pr_tox, exact_t = beta_sf(rule.phi_t, a_tox, b_tox)
    # Pr(p_E < φ_E) = Pr(1 − p_E > 1 − φ_E) with 1 − p_E ~ Beta(b_eff, a_eff)
    pr_eff_under, exact_e = beta_sf(1 - rule.phi_e, b_eff, a_eff)
    all_exact = exact_t and exact_e
    near = not all_exact and (abs(pr_tox - rule.c_t) < NEAR or abs(pr_eff_under - rule.c_e) < NEAR)
    desirability: Fraction | None = None
    des_exact = True
    if rule.score == "boin12_desirability":
        desirability, des_exact = boin12_desirability(counts, rule)
    return DoseSummary(
        dose=dose,
        counts=(int(counts[0]), int(counts[1]), int(counts[2]), int(counts[3])),
        mean_utility=utility,
        mean_eff=a_eff / total,
        mean_tox=a_tox / total,
        pr_tox_over=pr_tox,
        pr_eff_under=pr_eff_under,
        safe=not rule.rejects(pr_tox, rule.c_t),
        promising=not rule.rejects(pr_eff_under, rule.c_e),
        exact=all_exact,
        near_cutoff=near,
        desirability=desirability,
        desirability_exact=des_exact,
    )


def tabulate_outcomes(outcomes: Sequence[tuple[bool, bool]]) -> tuple[int, int, int, int]:
    """Counts per category from (efficacy, toxicity) pairs, one pair per patient."""
    counts = [0, 0, 0, 0]
    for eff, tox in outcomes:
        counts[(0 if eff else 1) + (2 if tox else 0)] += 1
    return counts[0], counts[1], counts[2], counts[3]


@dataclass(frozen=True)
class EffToxCheck:
    contour: EffToxContour
    desirability: dict[str, float]
    selected: str | None
    agrees: bool
    ranking_agrees: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "contour": self.contour.to_dict(),
            "desirability": dict(self.desirability),
            "selected": self.selected,
            "agrees": self.agrees,
            "ranking_agrees": self.ranking_agrees,
        }


@dataclass(frozen=True)
class DoseDecision:
    selected: str | None
    doses: tuple[DoseSummary, ...]
    pr_best: dict[str, float]
    draws: int
    seed: int
    rule: DoseSelectionRule
    efftox: EffToxCheck | None = None
    method: str = "Bayesian utility dose selection (Dirichlet–multinomial, BOIN12/U-BOIN style)"
    conventions: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "selected": self.selected,
            "doses": [d.to_dict() for d in self.doses],
            "pr_best": dict(self.pr_best),
            "draws": self.draws,
            "seed": self.seed,
            "rule": self.rule.to_dict(),
            "efftox": None if self.efftox is None else self.efftox.to_dict(),
            "method": self.method,
            "conventions": dict(self.conventions),
        }


def choose(summaries: Sequence[DoseSummary], rule: DoseSelectionRule | None = None) -> int | None:
    """Index of the admissible dose with the highest score (posterior mean utility unless
    ``rule`` says otherwise); exact ties to the lower dose."""
    rule = rule or DoseSelectionRule()
    best: int | None = None
    for i, s in enumerate(summaries):
        if s.admissible and (best is None or s.score(rule) > summaries[best].score(rule)):
            best = i
    return best


def _rank(values: Sequence[tuple[int, float]]) -> list[int]:
    return [i for i, _ in sorted(values, key=lambda iv: (-iv[1], iv[0]))]


def select_dose(
    counts: Sequence[tuple[str, Sequence[int]]],
    rule: DoseSelectionRule | None = None,
    *,
    draws: int = 20_000,
    seed: int = 20240601,
    efftox: EffToxContour | None = None,
) -> DoseDecision:
    """Apply the rule to ``counts`` = [(dose label, 4 counts), ...], lowest dose first."""
    rule = rule or DoseSelectionRule()
    if not counts:
        raise ValidationFailed("dose selection: no doses given", code="ANALYSIS.E054")
    summaries = tuple(summarise_dose(d, c, rule) for d, c in counts)
    chosen = choose(summaries, rule)
    labels = [s.dose for s in summaries]
    admissible = [i for i, s in enumerate(summaries) if s.admissible]
    pr_best = dict.fromkeys(labels, 0.0)
    pr_best["no dose"] = 0.0
    if not admissible:
        pr_best["no dose"] = 1.0
    else:
        rng = np.random.default_rng(seed)
        u = np.array([float(x) for x in rule.utilities])
        util = np.empty((draws, len(admissible)))
        for j, i in enumerate(admissible):
            if rule.score == "boin12_desirability":
                n = sum(counts[i][1])
                x = sum(ux * c for ux, c in zip(rule.utilities, counts[i][1], strict=True)) / 100
                a, b = rule.utility_prior
                util[:, j] = rng.beta(float(a + x), float(b + n - x), size=draws)
                continue
            alpha = np.array([float(a + c) for a, c in zip(rule.prior, counts[i][1], strict=True)])
            util[:, j] = rng.dirichlet(alpha, size=draws) @ u
        winners = np.bincount(np.argmax(util, axis=1), minlength=len(admissible))
        for j, i in enumerate(admissible):
            pr_best[labels[i]] = float(winners[j]) / draws
    check = None
    if efftox is not None:
        des = {s.dose: efftox.desirability(float(s.mean_eff), float(s.mean_tox)) for s in summaries}
        adm_des = [(i, des[labels[i]]) for i in admissible]
        adm_util = [(i, float(summaries[i].score(rule))) for i in admissible]
        e_rank = _rank(adm_des)
        u_rank = _rank(adm_util)
        e_sel = labels[e_rank[0]] if e_rank else None
        check = EffToxCheck(
            efftox,
            des,
            e_sel,
            e_sel == (None if chosen is None else labels[chosen]),
            e_rank == u_rank,
        )
    return DoseDecision(
        selected=None if chosen is None else labels[chosen],
        doses=summaries,
        pr_best=pr_best,
        draws=draws,
        seed=seed,
        rule=rule,
        efftox=check,
        conventions={
            "categories": "; ".join(f"{i} = {c}" for i, c in enumerate(CATEGORIES)),
            "prior": "Dirichlet(" + ", ".join(str(a) for a in rule.prior) + ") per dose",
            "admissibility": (
                "safe: Pr(p_T > φ_T) ≤ c_T; promising: Pr(p_E < φ_E) ≤ c_E"
                if rule.gate == "exceeds"
                else "safe: Pr(p_T > φ_T) < c_T; promising: Pr(p_E < φ_E) < c_E"
            )
            + f" (gate '{rule.gate}'); a dose without patients is not explored, never "
            "admissible",
            "selection": (
                "highest posterior mean utility"
                if rule.score == "posterior_mean_utility"
                else "highest BOIN12 desirability Pr(u/100 > u_b/100), u_b = "
                f"{boin12_benchmark(rule)}, utility prior Beta("
                + ", ".join(str(a) for a in rule.utility_prior)
                + ") on the standardised utility, quasi-binomial x = Σ u_k n_k/100"
            )
            + " among admissible doses; exact ties to the lower dose; none admissible → "
            "no dose",
            "pr_best": f"Monte Carlo, {draws} "
            + (
                "Dirichlet posterior draws"
                if rule.score == "posterior_mean_utility"
                else "Beta posterior draws of the standardised utility"
            )
            + f", seed {seed}, among admissible doses",
        },
    )
