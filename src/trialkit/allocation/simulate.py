"""Balance and predictability of a randomisation, measured by simulation.

:func:`simulate` enrols ``n`` participants ``runs`` times, each run with its own seed derived
from ``seed``, drawing each participant's factor levels independently from
``factor_distribution`` (factor name to level to whole-number weight; factors that the spec does
not use are drawn too, to measure the balance a method achieves without using them). Every
participant is allocated by :func:`trialkit.allocation.allocate`, exactly as in the trial.

Balance is the imbalance of arm counts, each divided by its ratio share, largest minus smallest:
over the whole trial, within each stratum (a combination of the levels of every factor of the
distribution) and within each factor level (the marginals). Each is reported at the end of the
trial (``final``) and as the largest value reached after any allocation (``running``), as the
mean over the runs of the worst stratum or level.

Predictability (Blackwell and Hodges 1957) is the proportion of allocations that a guesser who
knows the method, the ratio and every earlier assignment but not the seed guesses right. The
guesser follows the convergence strategy: the arm with the fewest participants (by ratio share)
in the candidate's stratum (the whole trial for unstratified methods); for minimisation, the arm
that minimises the imbalance score. A tie is credited as a guess among the tied arms (1/k each),
so the figure is the guesser's expected rate. For block methods ``deterministic`` is the
proportion of allocations whose arm was certain given the earlier assignments of the stratum and
the block sizes the protocol allows (the remaining places of every block that could be the
current one hold one arm only).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

from trialkit.allocation.allocate import allocate
from trialkit.allocation.assignment import Assignment, Candidate
from trialkit.allocation.draws import Draws
from trialkit.allocation.minimisation import marginal_counts, scores
from trialkit.allocation.strata import arm_ratio, checked_levels, stratum_key
from trialkit.errors import DefinitionError
from trialkit.protocol.randomisation import BLOCK_METHODS, Randomisation

__all__ = ["Simulation", "forced_arm", "guess_credit", "simulate"]


@dataclass(frozen=True)
class Simulation:
    """Measured balance (mean over runs) and predictability (proportion of allocations)."""

    method: str
    n: int
    runs: int
    final_imbalance: Fraction
    running_imbalance: Fraction
    stratum_final: Fraction
    stratum_running: Fraction
    marginal_final: Fraction
    marginal_running: Fraction
    guess_rate: Fraction
    deterministic: Fraction | None

    def row(self) -> dict[str, str]:
        """The figures as text with three decimals, for a table."""

        def f(x: Fraction | None) -> str:
            return "–" if x is None else f"{float(x):.3f}"

        return {
            "method": self.method,
            "final": f(self.final_imbalance),
            "running": f(self.running_imbalance),
            "stratum final": f(self.stratum_final),
            "stratum running": f(self.stratum_running),
            "marginal final": f(self.marginal_final),
            "marginal running": f(self.marginal_running),
            "guess rate": f(self.guess_rate),
            "deterministic": f(self.deterministic),
        }


def _spread(counts: Mapping[str, int], ratio: Mapping[str, int]) -> Fraction:
    adjusted = [Fraction(counts.get(arm, 0), share) for arm, share in ratio.items()]
    return max(adjusted) - min(adjusted)


def guess_credit(
    spec: Randomisation,
    ratio: Mapping[str, int],
    history: Sequence[Assignment],
    candidate: Candidate,
    arm: str,
) -> Fraction:
    """The convergence guesser's chance of guessing ``arm`` for ``candidate`` (see above)."""
    levels = checked_levels(spec, candidate.levels)
    if spec.method == "minimisation":
        counts = marginal_counts(spec, list(ratio), history, levels)
        score = scores(spec, ratio, counts)
        best = min(score.values())
        guessed = [a for a in ratio if score[a] == best]
    else:
        stratum = stratum_key(spec, levels)
        counts_in = dict.fromkeys(ratio, 0)
        for past in history:
            if past.arm in counts_in and stratum_key(spec, past.levels) == stratum:
                counts_in[past.arm] += 1
        adjusted = {a: Fraction(counts_in[a], ratio[a]) for a in ratio}
        low = min(adjusted.values())
        guessed = [a for a in ratio if adjusted[a] == low]
    return Fraction(1, len(guessed)) if arm in guessed else Fraction(0)


def forced_arm(
    sequence: Sequence[str], ratio: Mapping[str, int], sizes: Sequence[int]
) -> str | None:
    """The arm the next place of a stratum must hold, given its ``sequence`` so far and the block
    sizes allowed; None when more than one arm is possible."""
    total = sum(ratio.values())
    prefix = [dict.fromkeys(ratio, 0)]
    for arm in sequence:
        counts = dict(prefix[-1])
        counts[arm] += 1
        prefix.append(counts)
    t = len(sequence)
    boundaries = [0]
    for end in range(1, t + 1):
        balanced = all(prefix[end][a] * total == end * ratio[a] for a in ratio)
        if balanced and any(end - s in boundaries for s in sizes):
            boundaries.append(end)
    possible: set[str] = set()
    for start in boundaries:
        for size in sizes:
            if start + size <= t:
                continue
            quota = {a: size * ratio[a] // total for a in ratio}
            used = {a: prefix[t][a] - prefix[start][a] for a in ratio}
            if all(used[a] <= quota[a] for a in ratio):
                possible |= {a for a in ratio if used[a] < quota[a]}
    return next(iter(possible)) if len(possible) == 1 else None


def _draw_levels(
    distribution: Mapping[str, Mapping[str, int]], seed: str, run: int, number: int
) -> dict[str, str]:
    draws = Draws(seed, "simulate", run, number)
    out: dict[str, str] = {}
    for name, weights in distribution.items():
        r = draws.below(sum(weights.values()))
        for level, weight in weights.items():
            if r < weight:
                out[name] = level
                break
            r -= weight
    return out


def simulate(
    spec: Randomisation,
    arms: Sequence[str],
    n: int,
    runs: int,
    seed: str,
    factor_distribution: Mapping[str, Mapping[str, int]] | None = None,
) -> Simulation:
    """Allocate ``n`` participants ``runs`` times and measure balance and predictability."""
    ratio = arm_ratio(spec, arms)
    distribution = dict(factor_distribution or {})
    missing = [f.name for f in spec.factors if f.name not in distribution]
    if missing:
        raise DefinitionError(
            f"the factor distribution gives no levels for {', '.join(missing)}",
            code="ALLOC.E027",
            hint="give each factor of the spec its levels and their weights",
        )
    blocks = spec.method in BLOCK_METHODS
    sums = dict.fromkeys(
        ("final", "running", "s_final", "s_running", "m_final", "m_running"), Fraction(0)
    )
    guessed = Fraction(0)
    forced = 0
    for run in range(runs):
        run_seed = f"{seed}/run{run}"
        history: list[Assignment] = []
        overall: dict[str, int] = {}
        strata: dict[tuple[str, ...], dict[str, int]] = {}
        marginals: dict[tuple[str, str], dict[str, int]] = {}
        sequences: dict[str, list[str]] = {}
        running = s_running = m_running = Fraction(0)
        for number in range(1, n + 1):
            levels = _draw_levels(distribution, seed, run, number)
            candidate = Candidate(levels)
            decision = allocate(spec, arms, run_seed, history, candidate)
            arm = decision.arm
            guessed += guess_credit(spec, ratio, history, candidate, arm)
            if blocks:
                seq = sequences.setdefault(decision.stratum, [])
                if forced_arm(seq, ratio, spec.block_sizes) is not None:
                    forced += 1
                seq.append(arm)
            history.append(Assignment(arm, levels, number))
            overall[arm] = overall.get(arm, 0) + 1
            running = max(running, _spread(overall, ratio))
            key = tuple(levels[name] for name in distribution)
            cell = strata.setdefault(key, {})
            cell[arm] = cell.get(arm, 0) + 1
            s_running = max(s_running, _spread(cell, ratio))
            for name in distribution:
                margin = marginals.setdefault((name, levels[name]), {})
                margin[arm] = margin.get(arm, 0) + 1
                m_running = max(m_running, _spread(margin, ratio))
        sums["final"] += _spread(overall, ratio)
        sums["running"] += running
        sums["s_final"] += max(_spread(c, ratio) for c in strata.values())
        sums["s_running"] += s_running
        sums["m_final"] += max((_spread(c, ratio) for c in marginals.values()), default=Fraction(0))
        sums["m_running"] += m_running
    total = n * runs
    mean = {k: v / runs for k, v in sums.items()}
    return Simulation(
        method=spec.method,
        n=n,
        runs=runs,
        final_imbalance=mean["final"],
        running_imbalance=mean["running"],
        stratum_final=mean["s_final"],
        stratum_running=mean["s_running"],
        marginal_final=mean["m_final"],
        marginal_running=mean["m_running"],
        guess_rate=guessed / total,
        deterministic=Fraction(forced, total) if blocks else None,
    )
