"""Scenarios for operating characteristics: joint outcome probabilities, correct and
unacceptable doses, and the summary a protocol committee reads.

Joint probabilities from marginal efficacy p_E and toxicity p_T rates and an association
parameter (:func:`joint_probabilities`), in the category order of
:data:`trialkit.analysis.dose_selection.CATEGORIES` (E¬T, ¬E¬T, ET, ¬ET):

* ``"gumbel"`` (Thall & Cook 2004, Biometrics 60:684, the EffTox model): with
  c = (e^ψ − 1)/(e^ψ + 1),
  π(a, b) = p_E^a (1 − p_E)^(1−a) p_T^b (1 − p_T)^(1−b) + (−1)^(a+b) p_E(1 − p_E)p_T(1 − p_T)·c,
  a = efficacy, b = toxicity; ψ = 0 is independence, every ψ gives a valid table;
* ``"odds_ratio"`` (Plackett 1965; Dale 1986): the 2 × 2 table with the given margins and
  odds ratio ψ > 0, p(E, T) = (1 + (p_E + p_T)(ψ − 1) − √((1 + (p_E + p_T)(ψ − 1))² −
  4ψ(ψ − 1)p_E p_T))/(2(ψ − 1)), and p_E p_T at ψ = 1.

The correct dose (unless the scenario names it): among the acceptable doses, true p_T ≤ φ_T
and p_E ≥ φ_E, the one(s) with the highest true mean utility Σ u_k π_k; with none acceptable,
"no dose" is correct. Unacceptable doses are the others. PCS = Pr(select a correct dose);
Pr(select an unacceptable dose) = Σ over unacceptable doses. Every arm enrols its n patients
whatever happens (parallel arms, no adaptation), so the expected numbers of toxicities and
responses are n·p_T and n·p_E per dose, exactly.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from trialkit.analysis.dose_selection import DoseSelectionRule
from trialkit.analysis.operating import (
    ArmTables,
    OperatingCharacteristics,
    arm_tables,
    exact_operating_characteristics,
    exact_operating_grid,
    simulate_operating_characteristics,
)
from trialkit.errors import ValidationFailed

__all__ = [
    "Association",
    "OperatingSummary",
    "Scenario",
    "joint_probabilities",
    "operating_summary",
    "run_scenario",
    "run_scenarios",
    "scenario_from_marginals",
]

Association = Literal["gumbel", "odds_ratio"]
NO_DOSE = "no dose"


def _rate(value: float, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ValidationFailed(
            f"scenario: {what} = {value!r} is not a probability; give a number in 0..1",
            code="ANALYSIS.E063",
        )
    return float(value)


def joint_probabilities(
    efficacy: float,
    toxicity: float,
    association: float = 0.0,
    model: Association = "gumbel",
) -> tuple[float, float, float, float]:
    """(E¬T, ¬E¬T, ET, ¬ET) from the marginal rates and the association (module docstring)."""
    pe, pt = _rate(efficacy, "efficacy"), _rate(toxicity, "toxicity")
    if model == "gumbel":
        if not math.isfinite(association):
            raise ValidationFailed(
                f"scenario: Gumbel association ψ = {association} must be a finite number",
                code="ANALYSIS.E064",
            )
        c = math.tanh(association / 2)  # (e^ψ − 1)/(e^ψ + 1), stable for large |ψ|
        k = pe * (1 - pe) * pt * (1 - pt) * c
        both = pe * pt + k
    elif model == "odds_ratio":
        if not association > 0 or not math.isfinite(association):
            raise ValidationFailed(
                f"scenario: odds ratio ψ = {association} must be a positive number (1 is "
                "independence)",
                code="ANALYSIS.E064",
            )
        if association == 1:
            both = pe * pt
        else:
            a = 1 + (pe + pt) * (association - 1)
            root = math.sqrt(a * a - 4 * association * (association - 1) * pe * pt)
            # the smaller root of the Plackett quadratic. (a − root) / 2(ψ − 1) cancels badly
            # as ψ nears 1 (ψ = 1 − 1e-16 gave a table summing to 1.25); multiplied through by
            # (a + root) it is 2ψ·pe·pt / (a + root), stable whenever a ≥ 0. For a < 0 (only
            # when ψ < 1/2) the first form is a sum of like signs over a ψ − 1 far from 0.
            if a >= 0:
                both = 2 * association * pe * pt / (a + root) if a + root > 0 else 0.0
            else:
                both = (a - root) / (2 * (association - 1))
    else:
        raise ValidationFailed(
            f"scenario: association model {model!r} is unknown; use 'gumbel' or 'odds_ratio'",
            code="ANALYSIS.E064",
        )
    e_only, t_only = pe - both, pt - both
    neither = 1 - pe - pt + both
    out = tuple(max(0.0, x) for x in (e_only, neither, both, t_only))
    return out[0], out[1], out[2], out[3]


@dataclass(frozen=True)
class Scenario:
    """True outcome probabilities per dose (lowest first), and optionally the correct dose(s)."""

    name: str
    doses: tuple[str, ...]
    probabilities: tuple[tuple[float, float, float, float], ...]
    correct: tuple[str, ...] | None = None


@dataclass(frozen=True)
class OperatingSummary:
    scenario: str
    characteristics: OperatingCharacteristics
    correct: tuple[str, ...]
    unacceptable: tuple[str, ...]
    pcs: float
    pr_unacceptable: float
    expected_toxicities: dict[str, float]
    expected_responses: dict[str, float]
    true_utility: dict[str, float]
    conventions: dict[str, str] = field(default_factory=dict)
    true_efficacy: dict[str, float] = field(default_factory=dict)
    true_toxicity: dict[str, float] = field(default_factory=dict)

    @property
    def expected_toxicities_total(self) -> float:
        return math.fsum(self.expected_toxicities.values())

    @property
    def expected_responses_total(self) -> float:
        return math.fsum(self.expected_responses.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "pr_select": dict(self.characteristics.pr_select),
            "method": self.characteristics.method,
            "trials": self.characteristics.trials,
            "seed": self.characteristics.seed,
            "correct": list(self.correct),
            "unacceptable": list(self.unacceptable),
            "pcs": self.pcs,
            "pr_unacceptable": self.pr_unacceptable,
            "expected_toxicities": dict(self.expected_toxicities),
            "expected_toxicities_total": self.expected_toxicities_total,
            "expected_responses": dict(self.expected_responses),
            "expected_responses_total": self.expected_responses_total,
            "true_utility": dict(self.true_utility),
            "true_efficacy": dict(self.true_efficacy),
            "true_toxicity": dict(self.true_toxicity),
            "conventions": dict(self.conventions),
        }


def operating_summary(
    scenario: Scenario,
    oc: OperatingCharacteristics,
    rule: DoseSelectionRule,
    n_per_arm: int,
) -> OperatingSummary:
    """PCS, Pr(unacceptable) and expected numbers for ``oc`` computed under ``scenario``."""
    phi_t, phi_e = float(rule.phi_t), float(rule.phi_e)
    u = [float(x) for x in rule.utilities]
    utility: dict[str, float] = {}
    acceptable: list[str] = []
    tox: dict[str, float] = {}
    resp: dict[str, float] = {}
    eff_rate: dict[str, float] = {}
    tox_rate: dict[str, float] = {}
    for dose, p in zip(scenario.doses, scenario.probabilities, strict=True):
        pe, pt = p[0] + p[2], p[2] + p[3]
        eff_rate[dose], tox_rate[dose] = pe, pt
        utility[dose] = math.fsum(a * b for a, b in zip(u, p, strict=True))
        tox[dose] = n_per_arm * pt
        resp[dose] = n_per_arm * pe
        if pt <= phi_t + 1e-12 and pe >= phi_e - 1e-12:
            acceptable.append(dose)
    if scenario.correct is not None:
        unknown = [d for d in scenario.correct if d not in (*scenario.doses, NO_DOSE)]
        if unknown:
            raise ValidationFailed(
                f"scenario {scenario.name}: correct dose {unknown[0]!r} is not one of the doses "
                f"({', '.join(scenario.doses)}) or 'no dose'",
                code="ANALYSIS.E065",
            )
        correct = tuple(scenario.correct)
        how = "named by the scenario"
    elif acceptable:
        best = max(utility[d] for d in acceptable)
        correct = tuple(d for d in acceptable if utility[d] >= best - 1e-12)
        how = "the acceptable dose(s) with the highest true mean utility"
    else:
        correct = (NO_DOSE,)
        how = "no dose is acceptable, so selecting none is correct"
    unacceptable = tuple(d for d in scenario.doses if d not in acceptable)
    pr = oc.pr_select
    return OperatingSummary(
        scenario.name,
        oc,
        correct,
        unacceptable,
        math.fsum(pr[d] for d in correct),
        math.fsum(pr[d] for d in unacceptable),
        tox,
        resp,
        utility,
        {
            "acceptable": f"true p_T ≤ φ_T = {float(rule.phi_t):g} and p_E ≥ φ_E = "
            f"{float(rule.phi_e):g}",
            "correct": how,
            "PCS": "Pr(the selected dose is correct)",
            "unacceptable": "Pr(an unacceptable dose is selected)",
            "expected numbers": f"{n_per_arm} patients per arm, every arm fully enrolled: "
            "n·p_T toxicities and n·p_E responses per dose",
        },
        eff_rate,
        tox_rate,
    )


def run_scenario(
    scenario: Scenario,
    rule: DoseSelectionRule,
    n_per_arm: int,
    *,
    trials: int | None = None,
    seed: int = 1,
    tables: ArmTables | None = None,
) -> OperatingSummary:
    """Exact enumeration (``trials`` None) or simulation of ``trials`` trials, summarised."""
    if trials is None:
        oc = exact_operating_characteristics(
            scenario.doses, scenario.probabilities, n_per_arm, rule, tables
        )
    else:
        oc = simulate_operating_characteristics(
            scenario.doses,
            scenario.probabilities,
            trials,
            n_per_arm=n_per_arm,
            rule=rule,
            seed=seed,
            tables=tables,
        )
    return operating_summary(scenario, oc, rule, n_per_arm)


def run_scenarios(
    scenarios: Sequence[Scenario],
    rule: DoseSelectionRule,
    n_per_arm: int,
    *,
    trials: int | None = None,
    seed: int = 1,
    tables: ArmTables | None = None,
) -> list[OperatingSummary]:
    """:func:`run_scenario` for every scenario, in order, with the tables' scores computed once.

    Exact results (``trials`` None) of the scenarios that share their doses are one
    :func:`~trialkit.analysis.operating.exact_operating_grid` call, so a grid of a thousand
    scenarios costs about what one does; each equals :func:`run_scenario`'s bit for bit.
    """
    at = tables if tables is not None else arm_tables(n_per_arm, rule)
    if trials is not None:
        return [
            run_scenario(s, rule, n_per_arm, trials=trials, seed=seed, tables=at) for s in scenarios
        ]
    groups: dict[tuple[str, ...], list[int]] = {}
    for i, s in enumerate(scenarios):
        groups.setdefault(s.doses, []).append(i)
    out: list[OperatingSummary | None] = [None] * len(scenarios)
    for doses, members in groups.items():
        grid = exact_operating_grid(
            doses, [scenarios[i].probabilities for i in members], n_per_arm, rule, at
        )
        for row, i in enumerate(members):
            out[i] = operating_summary(scenarios[i], grid.characteristics(row), rule, n_per_arm)
    return [s for s in out if s is not None]


def scenario_from_marginals(
    name: str,
    rates: Mapping[str, tuple[float, float]],
    *,
    association: float = 0.0,
    model: Association = "gumbel",
    correct: Sequence[str] | None = None,
) -> Scenario:
    """A scenario from {dose: (efficacy, toxicity)} (insertion order = dose order)."""
    doses = tuple(rates)
    probs = tuple(joint_probabilities(e, t, association, model) for e, t in rates.values())
    return Scenario(name, doses, probs, None if correct is None else tuple(correct))
