"""Permuted blocks, fixed or variable in size, in one stratum or in each stratum independently.

Block ``b`` of a stratum (1 for the first) is drawn from the stream ``(seed, "block", stratum,
b)``: first its size, when several are allowed (each equally likely, in the protocol's order),
then the order of its slots, which hold each arm ``size * share / total`` times, shuffled. A
participant takes the next slot of their stratum: the position is the number of participants
already allocated in that stratum, so the list is fixed by the seed before anyone is enrolled
(the statistician's sealed list, :func:`block_schedule`), and the service that applies it under a
lock gives every slot once.
"""

from __future__ import annotations

from dataclasses import dataclass

from trialkit.allocation.draws import Draws

__all__ = ["Block", "Slot", "block", "block_schedule", "slot"]


@dataclass(frozen=True)
class Block:
    """One block of a stratum: its number (1-based), size and arms in order."""

    number: int
    size: int
    arms: tuple[str, ...]


@dataclass(frozen=True)
class Slot:
    """One place of a stratum's list: its sequence number in the stratum (1-based), the arm,
    the block it belongs to and its position there (1-based)."""

    sequence: int
    arm: str
    block: int
    block_size: int
    position: int


def block(ratio: dict[str, int], sizes: list[int], seed: str, stratum: str, number: int) -> Block:
    """Block ``number`` of ``stratum``."""
    draws = Draws(seed, "block", stratum, number)
    size = sizes[draws.below(len(sizes))] if len(sizes) > 1 else sizes[0]
    total = sum(ratio.values())
    arms = [arm for arm, share in ratio.items() for _ in range(size * share // total)]
    draws.shuffle(arms)
    return Block(number, size, tuple(arms))


def slot(ratio: dict[str, int], sizes: list[int], seed: str, stratum: str, taken: int) -> Slot:
    """The slot after the ``taken`` slots already given in ``stratum``."""
    number, start = 1, 0
    while True:
        current = block(ratio, sizes, seed, stratum, number)
        if taken < start + current.size:
            position = taken - start
            return Slot(taken + 1, current.arms[position], number, current.size, position + 1)
        start += current.size
        number += 1


def block_schedule(
    ratio: dict[str, int], sizes: list[int], seed: str, stratum: str, n: int
) -> list[Slot]:
    """The first ``n`` slots of ``stratum``'s list."""
    out: list[Slot] = []
    number = 1
    while len(out) < n:
        current = block(ratio, sizes, seed, stratum, number)
        for i, arm in enumerate(current.arms):
            if len(out) == n:
                break
            out.append(Slot(len(out) + 1, arm, number, current.size, i + 1))
        number += 1
    return out
