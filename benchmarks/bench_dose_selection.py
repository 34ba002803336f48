"""Benchmark: operating characteristics of the dose-selection rule (three arms of four).

Times (a) the exact enumeration of all 35³ = 42,875 result tables, (b) 1,000,000 vectorised
simulated trials, and (c) a plain per-trial Python loop (draw four patients per arm, summarise
each arm with ``summarise_dose``, choose), measured in the same run on a sample of trials and
scaled to the same work. Prints times and ratios. Goals: enumeration < 1 s; simulation
≥ 1,000,000 trials per second.

Run: PYTHONPATH=src python benchmarks/bench_dose_selection.py [--small]
(``--small`` or ``TRIALKIT_BENCH_SMALL=1``: 10,000 trials, a sample of 20, one repeat; for the
test suite.)
"""

from __future__ import annotations

import itertools
import os
import random
import sys
import time
from collections.abc import Callable

from trialkit.analysis.dose_selection import DoseSelectionRule, choose, summarise_dose
from trialkit.analysis.operating import (
    arm_tables,
    exact_operating_characteristics,
    simulate_operating_characteristics,
)

DOSES = ("low", "mid", "high")
TRUTH = [(0.3, 0.55, 0.05, 0.1), (0.5, 0.3, 0.1, 0.1), (0.5, 0.1, 0.2, 0.2)]
RULE = DoseSelectionRule()
SMALL = "--small" in sys.argv or os.environ.get("TRIALKIT_BENCH_SMALL") == "1"


def best_of(fn: Callable[[], object], repeat: int = 3) -> float:
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


def main() -> None:
    total = 35**3
    t_exact = best_of(lambda: exact_operating_characteristics(DOSES, TRUTH, rule=RULE))
    trials = 10_000 if SMALL else 1_000_000
    t_sim = best_of(lambda: simulate_operating_characteristics(DOSES, TRUTH, trials, rule=RULE))
    sample = 20 if SMALL else 2_000
    t_loop_sim = best_of(lambda: loop_trials(sample), repeat=1) * trials / sample
    t_loop_enum = best_of(lambda: loop_enumeration(sample), repeat=1) * total / sample
    print(f"exact enumeration, {total} tables (incl. precompute): {t_exact * 1e3:9.1f} ms")
    print(f"  plain loop, same work (scaled from {sample}):      {t_loop_enum * 1e3:9.1f} ms")
    print(f"  speed-up: {t_loop_enum / t_exact:,.0f}x   goal < 1 s: {t_exact < 1}")
    print(f"simulation, {trials:,} trials:                       {t_sim * 1e3:9.1f} ms")
    print(f"  rate: {trials / t_sim:,.0f} trials/s   goal ≥ 1,000,000/s: {trials / t_sim >= 1e6}")
    print(f"  plain loop, same work (scaled from {sample}):      {t_loop_sim * 1e3:9.1f} ms")
    print(f"  speed-up: {t_loop_sim / t_sim:,.0f}x")


if __name__ == "__main__":
    main()
