"""Benchmark: operating characteristics of the dose-selection rule (three arms of four).

Times, in the same run:

(a) the exact result of one scenario (all 35³ = 42,875 combinations of result tables), today's
    way (``method="enumeration"``) and the default (the order-statistics sum), against a plain
    per-trial Python loop (``summarise_dose`` per arm, ``choose``) on a sample, scaled;
(b) a grid of 1,000 true scenarios: ``exact_operating_grid`` once, against 1,000 separate calls
    of ``exact_operating_characteristics`` with today's enumeration, and 1,000 separate calls of
    the default; checks that the grid equals the separate default calls bit for bit and the
    enumeration to within 1e-13. Goal: the grid under 1 s;
(c) 1,000,000 vectorised simulated trials: the default (each arm's table drawn) against today's
    (``draw="patients"``, each patient drawn), alternating, best of three; and the plain loop.
    Goal: ≥ 10,000,000 trials per second.

Run: PYTHONPATH=src python benchmarks/bench_dose_selection.py [--small]
(``--small`` or ``TRIALKIT_BENCH_SMALL=1``: 50 scenarios, 10,000 trials, a sample of 20, one
repeat; for the test suite.)
"""

from __future__ import annotations

import itertools
import os
import random
import sys
import time
from collections.abc import Callable

import numpy as np

from trialkit.analysis.dose_selection import DoseSelectionRule, choose, summarise_dose
from trialkit.analysis.operating import (
    arm_tables,
    exact_operating_characteristics,
    exact_operating_grid,
    simulate_operating_characteristics,
)

DOSES = ("low", "mid", "high")
TRUTH = [(0.3, 0.55, 0.05, 0.1), (0.5, 0.3, 0.1, 0.1), (0.5, 0.1, 0.2, 0.2)]
RULE = DoseSelectionRule()
SMALL = "--small" in sys.argv or os.environ.get("TRIALKIT_BENCH_SMALL") == "1"
REPEAT = 1 if SMALL else 3


def best_of(fn: Callable[[], object], repeat: int = REPEAT) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def loop_trials(trials: int, seed: int = 1) -> int:
    """The plain baseline: one trial at a time in Python."""
    rng = random.Random(seed)
    selected = 0
    for _ in range(trials):
        arms = []
        for d, p in zip(DOSES, TRUTH, strict=True):
            counts = [0, 0, 0, 0]
            for _ in range(4):
                u, c = rng.random(), 0
                while c < 3 and u >= sum(p[: c + 1]):
                    c += 1
                counts[c] += 1
            arms.append(summarise_dose(d, counts, RULE))
        selected += choose(arms) is not None
    return selected


def loop_enumeration(limit: int) -> None:
    """The plain baseline for enumeration: decide each table triple one at a time."""
    tables = arm_tables(4, RULE)
    rows = [tuple(int(x) for x in t) for t in tables.tables]
    for combo in itertools.islice(itertools.product(rows, repeat=3), limit):
        choose([summarise_dose(d, t, RULE) for d, t in zip(DOSES, combo, strict=True)])


def one_scenario() -> None:
    total = 35**3
    t_enum = best_of(
        lambda: exact_operating_characteristics(DOSES, TRUTH, rule=RULE, method="enumeration")
    )
    t_exact = best_of(lambda: exact_operating_characteristics(DOSES, TRUTH, rule=RULE))
    sample = 20 if SMALL else 2_000
    t_loop = best_of(lambda: loop_enumeration(sample), repeat=1) * total / sample
    print(f"one scenario, {total} table combinations (incl. the tables' precompute):")
    print(f"  enumeration (today's):          {t_enum * 1e3:9.1f} ms")
    print(f"  order-statistics sum (default): {t_exact * 1e3:9.1f} ms")
    print(f"  plain loop (scaled from {sample}):  {t_loop * 1e3:9.1f} ms")


def grid() -> None:
    count = 50 if SMALL else 1_000
    truths = np.random.default_rng(2026).dirichlet([1, 1, 1, 1], size=(count, 3)).tolist()
    tables = arm_tables(4, RULE)
    t_build = best_of(lambda: arm_tables(4, RULE))
    t_grid = best_of(lambda: exact_operating_grid(DOSES, truths, rule=RULE, tables=tables))
    t_sep = best_of(
        lambda: [
            exact_operating_characteristics(DOSES, t, rule=RULE, tables=tables) for t in truths
        ],
        repeat=1,
    )
    t_enum = best_of(
        lambda: [
            exact_operating_characteristics(
                DOSES, t, rule=RULE, tables=tables, method="enumeration"
            )
            for t in truths
        ],
        repeat=1,
    )
    result = exact_operating_grid(DOSES, truths, rule=RULE, tables=tables)
    separate = [exact_operating_characteristics(DOSES, t, rule=RULE, tables=tables) for t in truths]
    enumerated = [
        exact_operating_characteristics(DOSES, t, rule=RULE, tables=tables, method="enumeration")
        for t in truths
    ]
    identical = all(result.characteristics(i) == s for i, s in enumerate(separate))
    worst = max(
        abs(result.characteristics(i).pr_select[k] - e.pr_select[k])
        for i, e in enumerate(enumerated)
        for k in e.pr_select
    )
    print(f"grid of {count} scenarios (random Dirichlet(1,1,1,1) truths, seed 2026):")
    print(f"  the tables' scores, once:    {t_build * 1e3:9.1f} ms")
    print(
        f"  exact_operating_grid, once:  {t_grid * 1e3:9.1f} ms"
        f"   goal < 1 s: {t_grid + t_build < 1}"
    )
    print(
        f"  {count} separate calls, enumeration: {t_enum * 1e3:9.1f} ms"
        f"   ({t_enum / t_grid:,.0f}x the grid)"
    )
    print(
        f"  {count} separate calls, default:     {t_sep * 1e3:9.1f} ms"
        f"   ({t_sep / t_grid:,.0f}x the grid)"
    )
    print(
        f"  grid == separate calls, bit for bit: {identical}; largest difference from the "
        f"enumeration: {worst:.2g}"
    )
    if not identical or worst > 1e-13:
        raise SystemExit("the grid differs from the separate calls")


def simulation() -> None:
    trials = 10_000 if SMALL else 1_000_000
    tables = arm_tables(4, RULE)
    new: list[float] = []
    old: list[float] = []
    for _ in range(REPEAT):  # alternate, so that both meet the same load
        new.append(
            best_of(
                lambda: simulate_operating_characteristics(DOSES, TRUTH, trials, tables=tables),
                repeat=1,
            )
        )
        old.append(
            best_of(
                lambda: simulate_operating_characteristics(
                    DOSES, TRUTH, trials, tables=tables, draw="patients"
                ),
                repeat=1,
            )
        )
    sample = 20 if SMALL else 2_000
    t_loop = best_of(lambda: loop_trials(sample), repeat=1) * trials / sample
    t_new, t_old = min(new), min(old)
    print(f"simulation, {trials:,} trials (best of {REPEAT}, alternating):")
    print(
        f"  arms' tables drawn (default):  {t_new * 1e3:9.1f} ms  {trials / t_new:13,.0f} trials/s"
        f"   goal ≥ 10,000,000/s: {trials / t_new >= 1e7}"
    )
    print(
        f"  patients drawn (today's):      {t_old * 1e3:9.1f} ms  {trials / t_old:13,.0f} trials/s"
        f"   new/today: {t_old / t_new:.2f}x"
    )
    print(
        f"  plain loop (scaled from {sample}): {t_loop * 1e3:9.1f} ms"
        f"   ({t_loop / t_new:,.0f}x the default)"
    )


def main() -> None:
    print(f"load average: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    one_scenario()
    grid()
    simulation()


if __name__ == "__main__":
    main()
