"""Operating characteristics of the dose-selection rule: exact enumeration and simulation.

With n patients per arm and four outcome categories, an arm's result is one of
C(n + 3, 3) count tables (35 for n = 4). Under true category probabilities the table has a
multinomial probability. The decision depends only on the arms' tables, so the probability of
selecting each dose (and "no dose") is an exact finite sum over all combinations of tables
(35³ = 42,875 for three arms of four). Per-table statistics (admissibility and the exact rank
of the posterior mean utility) are computed once with :func:`summarise_dose`, then combined by
numpy broadcasting; the decision is the same function of the tables as :func:`select_dose`.

The simulation cross-check draws each patient's category from the true probabilities, maps
each arm's counts to its table index, and applies the same per-table scores, vectorised.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np
import numpy.typing as npt

from trialkit.analysis.dose_selection import DoseSelectionRule, summarise_dose
from trialkit.errors import ValidationFailed

__all__ = [
    "ArmTables",
    "OperatingCharacteristics",
    "arm_tables",
    "exact_operating_characteristics",
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


def _decide(scores: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Selected arm index per row of ``scores`` (arms on the last axis), or −1 for none."""
    best = np.argmax(scores, axis=-1)  # first maximum: ties go to the lower dose
    top = np.take_along_axis(scores, best[..., None], axis=-1)[..., 0]
    return np.where(top < 0, -1, best)


def exact_operating_characteristics(
    doses: Sequence[str],
    truth: Sequence[Sequence[float]],
    n_per_arm: int = 4,
    rule: DoseSelectionRule | None = None,
    tables: ArmTables | None = None,
) -> OperatingCharacteristics:
    """Pr(select each dose) and Pr(no dose), exactly, by enumerating every result table."""
    rule = rule or DoseSelectionRule()
    _check_scenario(doses, truth)
    at = tables if tables is not None else arm_tables(n_per_arm, rule)
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
    out["no dose"] = float(totals[0])
    return OperatingCharacteristics(
        tuple(doses),
        out,
        method=f"exact enumeration of {m}^{k} = {m**k} result tables",
        conventions={"patients per arm": str(at.n)},
    )


def simulate_operating_characteristics(
    doses: Sequence[str],
    truth: Sequence[Sequence[float]],
    trials: int,
    *,
    n_per_arm: int = 4,
    rule: DoseSelectionRule | None = None,
    seed: int = 1,
    tables: ArmTables | None = None,
    chunk: int = 1_000_000,
) -> OperatingCharacteristics:
    """The same probabilities estimated from ``trials`` simulated trials (vectorised)."""
    rule = rule or DoseSelectionRule()
    _check_scenario(doses, truth)
    at = tables if tables is not None else arm_tables(n_per_arm, rule)
    rng = np.random.default_rng(seed)
    k = len(doses)
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
    out = {label: float(counts[i + 1]) / trials for i, label in enumerate(doses)}
    out["no dose"] = float(counts[0]) / trials
    return OperatingCharacteristics(
        tuple(doses),
        out,
        method=f"vectorised simulation of {trials} trials",
        trials=trials,
        seed=seed,
        conventions={"patients per arm": str(n)},
    )
