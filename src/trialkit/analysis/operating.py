"""Operating characteristics of the dose-selection rule: exact computation and simulation.

With n patients per arm and four outcome categories, an arm's result is one of
C(n + 3, 3) count tables (35 for n = 4). Under true category probabilities the table has a
multinomial probability. The decision depends only on the arms' tables, and only through each
table's *score* (−1 for an inadmissible table, else the exact rank of the rule's score among
all tables: :class:`ArmTables`), which does not depend on the scenario. Per-table statistics
are computed once with :func:`summarise_dose` and shared by every scenario.

Exact computation (:func:`exact_operating_grid`, and :func:`exact_operating_characteristics`
for one scenario). The arms are independent and the rule selects the admissible arm of the
highest score, ties to the lower dose, so with P_d(s) the probability that arm d's table has
score s and F_d(s) = Pr(score of arm d ≤ s) (F_d(−1) the probability that it is inadmissible):

    Pr(select d) = Σ_{s ≥ 0} P_d(s) · Π_{j < d} F_j(s − 1) · Π_{j > d} F_j(s)
    Pr(no dose)  = Π_j F_j(−1)

the same finite sum as over all combinations of tables (35³ = 42,875 for three arms of four),
grouped by the selected arm's score. It costs O(arms² × scores) per scenario instead of
O(tables^arms), and every step is an element-wise operation over the scenarios (powers by
repeated multiplication, sums in a fixed order, no reduction whose order depends on how many
scenarios there are), so a grid of scenarios gives, bit for bit, what each scenario gives
alone. ``method="enumeration"`` keeps the direct sum over every combination of tables (the
cross-check; its floating-point sums are in another order, so it agrees to about 1e-16).

Simulation (:func:`simulate_operating_characteristics`). ``draw="tables"`` (default) draws each
arm's result table from its multinomial distribution (Walker's alias method over the tables:
one uniform per arm and trial) and looks the decision up from the arms' tables;
``draw="patients"`` draws every patient's category from the true probabilities (one uniform per
patient: the earlier implementation, kept for cross-checks). Both are the same distribution of
results, decided by the same per-table scores.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from trialkit.analysis.dose_selection import DoseSelectionRule, summarise_dose
from trialkit.errors import ValidationFailed

__all__ = [
    "ArmTables",
    "OperatingCharacteristics",
    "OperatingGrid",
    "arm_tables",
    "exact_operating_characteristics",
    "exact_operating_grid",
    "simulate_operating_characteristics",
]


@dataclass(frozen=True)
class ArmTables:
    """All count tables for n patients, with each table's decision score.

    ``score`` is −1 for an inadmissible table, else the exact rank (0 = lowest) of its score
    (the rule's: posterior mean utility or BOIN12 desirability) among all tables' scores, so
    integer comparison is exact.
    """

    n: int
    tables: npt.NDArray[np.int64]
    score: npt.NDArray[np.int64]
    index_of_code: npt.NDArray[np.int64]

    def probabilities(self, p: Sequence[float]) -> npt.NDArray[np.float64]:
        """Multinomial probability of each table under category probabilities ``p``."""
        pv = np.asarray(p, dtype=float)
        coef = np.array(
            [
                math.factorial(self.n) / math.prod(math.factorial(int(k)) for k in t)
                for t in self.tables
            ]
        )
        out: npt.NDArray[np.float64] = coef * np.prod(pv[None, :] ** self.tables, axis=1)
        return out


def _compositions(n: int) -> list[tuple[int, int, int, int]]:
    out = []
    for a, b, c in itertools.product(range(n + 1), repeat=3):
        if a + b + c <= n:
            out.append((a, b, c, n - a - b - c))
    return out


def arm_tables(n: int, rule: DoseSelectionRule) -> ArmTables:
    """Precompute the tables for ``n`` patients per arm and their scores under ``rule``."""
    if n < 1:
        raise ValidationFailed(
            f"operating characteristics: {n} patients per arm; use at least 1",
            code="ANALYSIS.E060",
        )
    tables = _compositions(n)
    summaries = [summarise_dose("arm", t, rule) for t in tables]
    levels: list[Fraction] = sorted({s.score(rule) for s in summaries})
    rank = {u: i for i, u in enumerate(levels)}
    score = np.array([rank[s.score(rule)] if s.admissible else -1 for s in summaries])
    base = n + 1
    index = np.full(base**4, -1, dtype=np.int64)
    for i, t in enumerate(tables):
        index[((t[0] * base + t[1]) * base + t[2]) * base + t[3]] = i
    return ArmTables(n, np.array(tables, dtype=np.int64), score.astype(np.int64), index)


@dataclass(frozen=True)
class OperatingCharacteristics:
    doses: tuple[str, ...]
    pr_select: dict[str, float]
    method: str
    trials: int | None = None
    seed: int | None = None
    conventions: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass(frozen=True)
class OperatingGrid:
    """Exact operating characteristics of one rule under many scenarios.

    ``pr_select[i, d]`` is Pr(select dose d) under scenario i, for the doses in order, and
    ``pr_select[i, -1]`` Pr(no dose). ``characteristics(i)`` is scenario i's result as
    :func:`exact_operating_characteristics` gives it (the same numbers, bit for bit).
    """

    doses: tuple[str, ...]
    pr_select: npt.NDArray[np.float64]
    method: str
    conventions: dict[str, str] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.pr_select.shape[0])

    def characteristics(self, i: int) -> OperatingCharacteristics:
        row = self.pr_select[i]
        out = {label: float(row[d]) for d, label in enumerate(self.doses)}
        out[NO_DOSE] = float(row[-1])
        return OperatingCharacteristics(
            self.doses, out, method=self.method, conventions=dict(self.conventions)
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "doses": list(self.doses),
            "columns": [*self.doses, NO_DOSE],
            "pr_select": self.pr_select.tolist(),
            "method": self.method,
            "conventions": dict(self.conventions),
        }


NO_DOSE = "no dose"
Method = Literal["order_statistics", "enumeration"]
Draw = Literal["tables", "patients"]


def _check_scenario(doses: Sequence[str], truth: Sequence[Sequence[float]]) -> None:
    if len(doses) != len(truth) or not doses:
        raise ValidationFailed(
            f"operating characteristics: {len(doses)} doses but {len(truth)} scenarios; give "
            "one row of four true category probabilities per dose",
            code="ANALYSIS.E061",
        )
    for d, p in zip(doses, truth, strict=True):
        if len(p) != 4 or any(x < 0 for x in p) or abs(sum(p) - 1) > 1e-9:
            raise ValidationFailed(
                f"dose {d}: true probabilities {list(p)} must be four non-negative numbers "
                "summing to 1 (E¬T, ¬E¬T, ET, ¬ET)",
                code="ANALYSIS.E062",
            )


def _check_grid(doses: Sequence[str], truths: object) -> npt.NDArray[np.float64]:
    """The scenarios as an array (scenario, dose, category), each row checked."""
    try:
        grid = np.asarray(truths, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValidationFailed(
            "operating characteristics: the scenarios are not a rectangular array of numbers; "
            f"give, per scenario, one row of four true category probabilities per dose ({exc})",
            code="ANALYSIS.E066",
        ) from exc
    if grid.ndim != 3 or grid.shape[0] < 1 or grid.shape[1:] != (len(doses), 4) or not doses:
        raise ValidationFailed(
            f"operating characteristics: the scenarios have shape {grid.shape}; give "
            f"(scenarios, {len(doses)} doses, 4 categories), at least one scenario",
            code="ANALYSIS.E066",
        )
    bad = ~np.isfinite(grid).all(axis=2) | (grid < 0).any(axis=2)
    bad |= np.abs(grid.sum(axis=2) - 1) > 1e-9
    if bad.any():
        i, d = (int(x) for x in np.argwhere(bad)[0])
        raise ValidationFailed(
            f"scenario {i + 1}, dose {doses[d]}: true probabilities {grid[i, d].tolist()} must be "
            "four non-negative numbers summing to 1 (E¬T, ¬E¬T, ET, ¬ET)",
            code="ANALYSIS.E062",
        )
    return grid


def _decide(scores: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Selected arm index per row of ``scores`` (arms on the last axis), or −1 for none."""
    best = np.argmax(scores, axis=-1)  # first maximum: ties go to the lower dose
    top = np.take_along_axis(scores, best[..., None], axis=-1)[..., 0]
    return np.where(top < 0, -1, best)


def _table_probabilities(at: ArmTables, grid: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Multinomial probability of every table, shape (scenario, dose, table).

    Element-wise only: p^k by repeated multiplication, then coefficient × p₀^k₀ × p₁^k₁ ×
    p₂^k₂ × p₃^k₃ in that order, so a scenario's numbers do not depend on its neighbours.
    """
    n = at.n
    powers = np.empty((*grid.shape, n + 1))  # (scenario, dose, category, exponent)
    powers[..., 0] = 1.0
    for e in range(1, n + 1):
        powers[..., e] = powers[..., e - 1] * grid
    coef = np.array(
        [math.factorial(n) // math.prod(math.factorial(int(k)) for k in t) for t in at.tables],
        dtype=np.float64,
    )
    prob = np.broadcast_to(coef, (*grid.shape[:2], len(coef))).copy()
    for c in range(4):
        prob *= powers[:, :, c, :][..., at.tables[:, c]]
    return prob


def exact_operating_grid(
    doses: Sequence[str],
    truths: Sequence[Sequence[Sequence[float]]] | npt.NDArray[np.float64],
    n_per_arm: int = 4,
    rule: DoseSelectionRule | None = None,
    tables: ArmTables | None = None,
) -> OperatingGrid:
    """Pr(select each dose) and Pr(no dose) under every scenario of ``truths`` (scenario, dose,
    four category probabilities), exactly (module docstring: the order-statistics sum).

    The tables' scores are computed once for all scenarios, and each scenario costs
    O(doses² × scores); scenario i's row equals ``exact_operating_characteristics(doses,
    truths[i], ...)`` bit for bit.
    """
    rule = rule or DoseSelectionRule()
    grid = _check_grid(doses, truths)
    at = tables if tables is not None else arm_tables(n_per_arm, rule)
    s_count, k = grid.shape[:2]
    prob = _table_probabilities(at, grid)
    levels = int(at.score.max()) + 1
    # F[..., s + 1] = Pr(score ≤ s), s = −1 .. levels − 1, summed table by table in index order
    mass = np.zeros((s_count, k, levels + 1))
    for t, s in enumerate(at.score.tolist()):
        mass[:, :, s + 1] += prob[:, :, t]
    cdf = np.empty_like(mass)
    cdf[:, :, 0] = mass[:, :, 0]
    for s in range(1, levels + 1):
        cdf[:, :, s] = cdf[:, :, s - 1] + mass[:, :, s]
    out = np.zeros((s_count, k + 1))
    for d in range(k):
        # term[:, s] = P_d(s) Π_{j<d} F_j(s − 1) Π_{j>d} F_j(s), for s = 0 .. levels − 1
        term = mass[:, d, 1:].copy()
        for j in range(k):
            if j < d:
                term *= cdf[:, j, :-1]
            elif j > d:
                term *= cdf[:, j, 1:]
        acc = out[:, d]
        for s in range(levels):
            acc += term[:, s]
    none = cdf[:, 0, 0].copy()
    for j in range(1, k):
        none *= cdf[:, j, 0]
    out[:, k] = none
    return OperatingGrid(
        tuple(doses),
        out,
        method=f"exact: every result table ({len(at.tables)} per arm, {len(at.tables)}^{k} = "
        f"{len(at.tables) ** k} combinations) summed by the selected arm's score",
        conventions={"patients per arm": str(at.n)},
    )


def _enumerate(
    doses: Sequence[str], truth: Sequence[Sequence[float]], at: ArmTables
) -> OperatingCharacteristics:
    k = len(doses)
    m = len(at.tables)
    shape = (m,) * k
    scores = np.empty((*shape, k), dtype=np.int64)
    prob = np.ones(shape)
    for d in range(k):
        view = [1] * k
        view[d] = m
        scores[..., d] = at.score.reshape(view)
        prob = prob * at.probabilities(truth[d]).reshape(view)
    decision = _decide(scores)
    totals = np.bincount((decision + 1).ravel(), weights=prob.ravel(), minlength=k + 1)
    out = {label: float(totals[i + 1]) for i, label in enumerate(doses)}
    out[NO_DOSE] = float(totals[0])
    return OperatingCharacteristics(
        tuple(doses),
        out,
        method=f"exact enumeration of {m}^{k} = {m**k} result tables",
        conventions={"patients per arm": str(at.n)},
    )


def exact_operating_characteristics(
    doses: Sequence[str],
    truth: Sequence[Sequence[float]],
    n_per_arm: int = 4,
    rule: DoseSelectionRule | None = None,
    tables: ArmTables | None = None,
    *,
    method: Method = "order_statistics",
) -> OperatingCharacteristics:
    """Pr(select each dose) and Pr(no dose), exactly, over every result table.

    ``method="order_statistics"`` (default) is :func:`exact_operating_grid` for one scenario;
    ``"enumeration"`` sums over every combination of the arms' tables directly.
    """
    rule = rule or DoseSelectionRule()
    _check_scenario(doses, truth)
    at = tables if tables is not None else arm_tables(n_per_arm, rule)
    if method == "enumeration":
        return _enumerate(doses, truth, at)
    if method != "order_statistics":
        raise ValidationFailed(
            f"operating characteristics: method {method!r} is unknown; use 'order_statistics' "
            "or 'enumeration'",
            code="ANALYSIS.E067",
        )
    return exact_operating_grid(doses, [truth], rule=rule, tables=at).characteristics(0)


def _alias(p: npt.NDArray[np.float64]) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.intp]]:
    """Walker's alias table (Vose's construction): draw j uniformly, keep it with probability
    ``keep[j]``, else take ``alias[j]``."""
    m = len(p)
    scaled = [float(x) * m for x in p / p.sum()]
    keep = np.ones(m)
    alias = np.arange(m, dtype=np.intp)
    small = [i for i in range(m) if scaled[i] < 1]
    large = [i for i in range(m) if scaled[i] >= 1]
    while small and large:
        s, g = small.pop(), large.pop()
        keep[s], alias[s] = scaled[s], g
        scaled[g] -= 1 - scaled[s]
        (small if scaled[g] < 1 else large).append(g)
    return keep, alias  # what is left in either list keeps itself (rounding leaves it ≈ 1)


LOOKUP_LIMIT = 1 << 20  # decide from one look-up table while tables^arms is at most this


def _simulate_tables(
    at: ArmTables, truth: Sequence[Sequence[float]], trials: int, seed: int, chunk: int
) -> npt.NDArray[np.int64]:
    rng = np.random.default_rng(seed)
    k, m = len(truth), len(at.tables)
    aliases = [_alias(at.probabilities(p)) for p in truth]
    # per arm, table j's two outcomes side by side: 2j keeps j, 2j + 1 takes its alias
    pairs = [np.stack([np.arange(m), a], axis=1).ravel() for _, a in aliases]
    lookup = m**k <= LOOKUP_LIMIT
    if lookup:
        combos = np.stack(np.meshgrid(*([at.score] * k), indexing="ij"), axis=-1).reshape(-1, k)
        decision = (_decide(combos) + 1).astype(np.int8)
        for d in range(k):
            pairs[d] = pairs[d] * m ** (k - 1 - d)
    counts = np.zeros(k + 1, dtype=np.int64)
    done = 0
    while done < trials:
        size = min(chunk, trials - done)
        u = rng.random((k, size))
        u *= m
        j = u.astype(np.intp)
        np.minimum(j, m - 1, out=j)  # u·m rounds up to m for u within 2⁻⁵³·m of 1
        u -= j
        if lookup:
            code = np.zeros(size, dtype=np.intp)
            for d in range(k):
                jd = j[d]
                code += pairs[d][2 * jd + (u[d] >= aliases[d][0][jd])]
            counts += np.bincount(decision[code], minlength=k + 1)
        else:
            scores = np.empty((size, k), dtype=np.int64)
            for d in range(k):
                jd = j[d]
                scores[:, d] = at.score[pairs[d][2 * jd + (u[d] >= aliases[d][0][jd])]]
            counts += np.bincount(_decide(scores) + 1, minlength=k + 1)
        done += size
    return counts


def _simulate_patients(
    at: ArmTables, truth: Sequence[Sequence[float]], trials: int, seed: int, chunk: int
) -> npt.NDArray[np.int64]:
    rng = np.random.default_rng(seed)
    k = len(truth)
    n = at.n
    base = n + 1
    weights = base ** np.arange(3, -1, -1)
    counts = np.zeros(k + 1, dtype=np.int64)
    cum = [np.cumsum(np.asarray(p, dtype=float))[:-1] for p in truth]
    done = 0
    while done < trials:
        size = min(chunk, trials - done)
        scores = np.empty((size, k), dtype=np.int64)
        for d in range(k):
            # patient j falls in category c when cum[c - 1] ≤ u_j < cum[c]; the number of
            # patients at or beyond each cut gives the table's code without a per-patient loop
            u = rng.random((n, size))
            code = np.full(size, n * weights[0], dtype=np.int64)
            for c in range(3):
                beyond = np.count_nonzero(u >= cum[d][c], axis=0)
                code -= (weights[c] - weights[c + 1]) * beyond
            scores[:, d] = at.score[at.index_of_code[code]]
        counts += np.bincount(_decide(scores) + 1, minlength=k + 1)
        done += size
    return counts


def simulate_operating_characteristics(
    doses: Sequence[str],
    truth: Sequence[Sequence[float]],
    trials: int,
    *,
    n_per_arm: int = 4,
    rule: DoseSelectionRule | None = None,
    seed: int = 1,
    tables: ArmTables | None = None,
    chunk: int | None = None,
    draw: Draw = "tables",
) -> OperatingCharacteristics:
    """The same probabilities estimated from ``trials`` simulated trials (vectorised).

    ``draw="tables"`` draws each arm's result table (module docstring), ``"patients"`` each
    patient; ``chunk`` trials are drawn at a time (default 16,384 and 1,000,000).
    """
    rule = rule or DoseSelectionRule()
    _check_scenario(doses, truth)
    at = tables if tables is not None else arm_tables(n_per_arm, rule)
    if draw == "tables":
        counts = _simulate_tables(at, truth, trials, seed, chunk or 16_384)
        how = "each arm's result table drawn from its multinomial distribution"
    elif draw == "patients":
        counts = _simulate_patients(at, truth, trials, seed, chunk or 1_000_000)
        how = "each patient's outcome drawn"
    else:
        raise ValidationFailed(
            f"operating characteristics: draw {draw!r} is unknown; use 'tables' or 'patients'",
            code="ANALYSIS.E067",
        )
    out = {label: float(counts[i + 1]) / trials for i, label in enumerate(doses)}
    out[NO_DOSE] = float(counts[0]) / trials
    return OperatingCharacteristics(
        tuple(doses),
        out,
        method=f"vectorised simulation of {trials} trials ({how})",
        trials=trials,
        seed=seed,
        conventions={"patients per arm": str(at.n)},
    )
