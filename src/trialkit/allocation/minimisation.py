"""Minimisation (Pocock and Simon 1975), with its random element.

For the candidate's level of each factor, count the participants already allocated to each arm
with that level (the marginal counts). For each arm ``k`` in turn, suppose the candidate goes to
``k`` (add one to ``k``'s count), divide every arm's count by its ratio share, and measure the
imbalance of these adjusted counts over the arms (``range``: largest minus smallest;
``variance``: sample variance; ``sd``: its square root); the arm's score ``G_k`` is the sum over
the factors of the factor's weight times that imbalance. The arm with the smallest score is
preferred (a tie is broken by an equally likely draw among the tied arms); it is assigned with
``probability`` p, and otherwise one of the other arms, each equally likely (Pocock and Simon's
``p_1 = p``, ``p_k = (1 - p) / (N - 1)``). With p = 1 the method is deterministic minimisation
(Taves 1974) but for ties.

Unequal ratios: counts are divided by the arms' shares before the imbalance is measured, the
weighted ("naive") variant of minimisation for unequal allocation described by Han, Enas and
McEntegart (2009). They and Kuznetsova and Tymofyeyev (2012) show that it can drift from the
target ratio and is more predictable than with equal allocation; for 1:1 it is Pocock and Simon's
rule exactly. Scores are exact fractions (the ``sd`` square root is computed to 50 digits).

References: Pocock SJ, Simon R. Sequential treatment assignment with balancing for prognostic
factors in the controlled clinical trial. Biometrics 1975;31:103-115. Taves DR. Minimization: a
new method of assigning patients to treatment and control groups. Clin Pharmacol Ther
1974;15:443-453. Han B, Enas NH, McEntegart D. Randomization by minimization for unbalanced
treatment allocation. Stat Med 2009;28:3329-3346. Kuznetsova OM, Tymofyeyev Y. Preserving the
allocation ratio at every allocation with biased coin randomization and minimization in studies
with unequal allocation. Stat Med 2012;31:701-723.

Draws: allocation number ``k`` reads the stream ``(seed, "minimisation", k)``: first the tie
draw (only when arms tie), then the coin (only when p < 1): a number ``u`` in [0, 1) on a grid
fine enough that ``u < p`` has probability exactly p; the preferred arm is assigned when
``u < p``, else the draw of one of the other arms.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal, localcontext
from fractions import Fraction

from trialkit.allocation.assignment import JSON, Assignment
from trialkit.allocation.draws import Draws
from trialkit.protocol.randomisation import Randomisation

__all__ = ["imbalance", "marginal_counts", "minimise", "scores"]


def imbalance(values: Sequence[Fraction], measure: str) -> Fraction:
    """The imbalance of adjusted counts: ``range``, ``variance`` (n - 1) or ``sd``."""
    if measure == "range":
        return max(values) - min(values)
    mean = sum(values, Fraction(0)) / len(values)
    variance = sum(((v - mean) ** 2 for v in values), Fraction(0)) / (len(values) - 1)
    if measure == "variance":
        return variance
    with localcontext() as ctx:
        ctx.prec = 50
        root = (Decimal(variance.numerator) / Decimal(variance.denominator)).sqrt()
    return Fraction(root)


def marginal_counts(
    spec: Randomisation,
    arms: Sequence[str],
    history: Sequence[Assignment],
    levels: Mapping[str, str],
) -> dict[str, dict[str, int]]:
    """For each factor, how many earlier participants with the candidate's level each arm has."""
    counts = {f.name: dict.fromkeys(arms, 0) for f in spec.factors}
    for past in history:
        if past.arm not in counts[spec.factors[0].name]:
            continue
        for factor in spec.factors:
            if past.levels.get(factor.name) == levels[factor.name]:
                counts[factor.name][past.arm] += 1
    return counts


def scores(
    spec: Randomisation, ratio: Mapping[str, int], counts: Mapping[str, Mapping[str, int]]
) -> dict[str, Fraction]:
    """Each arm's weighted imbalance ``G_k`` if the candidate were assigned to it."""
    out: dict[str, Fraction] = {}
    for k in ratio:
        total = Fraction(0)
        for factor in spec.factors:
            adjusted = [
                Fraction(counts[factor.name][j] + (1 if j == k else 0), ratio[j]) for j in ratio
            ]
            total += Fraction(factor.weight) * imbalance(adjusted, spec.imbalance)
        out[k] = total
    return out


def _show(value: Fraction) -> str:
    if value.denominator == 1:
        return str(value.numerator)
    if _only_2_and_5(value.denominator):
        return f"{Decimal(value.numerator) / Decimal(value.denominator):f}"
    return str(value)


def _only_2_and_5(n: int) -> bool:
    for p in (2, 5):
        while n % p == 0:
            n //= p
    return n == 1


def minimise(
    spec: Randomisation,
    ratio: Mapping[str, int],
    seed: str,
    history: Sequence[Assignment],
    levels: Mapping[str, str],
    number: int,
) -> tuple[str, dict[str, JSON]]:
    """The arm of allocation ``number`` and the detail of the decision."""
    arms = list(ratio)
    counts = marginal_counts(spec, arms, history, levels)
    score = scores(spec, ratio, counts)
    best = min(score.values())
    tied = [arm for arm in arms if score[arm] == best]
    draws = Draws(seed, "minimisation", number)
    tie_draw = draws.below(len(tied)) if len(tied) > 1 else None
    preferred = tied[tie_draw or 0]
    p = spec.probability
    draw: Decimal | None = None
    arm = preferred
    if p < 1:
        exponent = p.as_tuple().exponent
        places = max(9, -exponent if isinstance(exponent, int) else 0)
        draw = draws.uniform(places)
        if draw >= p:
            others = [a for a in arms if a != preferred]
            arm = others[draws.below(len(others))]
    detail: dict[str, JSON] = {
        "levels": dict(levels),
        "counts": {name: dict(by_arm) for name, by_arm in counts.items()},
        "imbalance": spec.imbalance,
        "scores": {a: _show(s) for a, s in score.items()},
        "tied": list(tied),
        "tie_draw": tie_draw,
        "preferred": preferred,
        "probability": f"{p.normalize():f}",
        "draw": None if draw is None else f"{draw:f}",
        "overridden": arm != preferred,
    }
    return arm, detail
