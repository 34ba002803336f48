"""Simple randomisation: each participant's arm drawn independently, in the ratio.

Allocation number ``k`` draws from the stream ``(seed, "simple", k)`` a whole number ``r`` below
the ratio total; the arms own consecutive runs of numbers in the protocol's order (1:2 over A, B:
0 is A, 1 and 2 are B).
"""

from __future__ import annotations

from trialkit.allocation.draws import Draws

__all__ = ["simple_arm"]


def simple_arm(ratio: dict[str, int], seed: str, number: int) -> tuple[str, int]:
    """The arm of allocation ``number`` and the draw that chose it."""
    draw = Draws(seed, "simple", number).below(sum(ratio.values()))
    upto = 0
    for arm, share in ratio.items():
        upto += share
        if draw < upto:
            return arm, draw
    raise AssertionError("unreachable: the draw is below the ratio total")  # pragma: no cover
