"""``allocate``: the arm of the next participant, from the spec, the seed and the history.

Pure: the history of assignments and the candidate are passed in, the decision is returned; no
database, no clock, no global random state. The same spec, arms, seed, history and candidate
give the same decision in any process on any machine (see :mod:`trialkit.allocation.draws`).
The service calls it under a lock on the study's allocation state, so that two simultaneous
allocations see different histories and never take the same slot.

``history`` is every assignment already made under this randomisation, in allocation order; the
new allocation's number is ``len(history) + 1``.
"""

from __future__ import annotations

from collections.abc import Sequence

from trialkit.allocation.assignment import ALL, JSON, Assignment, Candidate, Decision
from trialkit.allocation.blocks import Slot, block_schedule, slot
from trialkit.allocation.minimisation import minimise
from trialkit.allocation.simple import simple_arm
from trialkit.allocation.strata import arm_ratio, checked_levels, stratum_key
from trialkit.errors import DefinitionError
from trialkit.protocol.randomisation import Randomisation

__all__ = ["allocate", "schedule"]


def _seed_given(seed: str) -> None:
    if not seed:
        raise DefinitionError(
            "the allocation seed is empty",
            code="ALLOC.E024",
            hint="make one with trialkit.allocation.new_seed() when the study is set up",
        )


def allocate(
    spec: Randomisation,
    arms: Sequence[str],
    seed: str,
    history: Sequence[Assignment],
    candidate: Candidate,
) -> Decision:
    """The arm of the next participant, ``candidate``, and how it was decided.

    ``arms`` are the study's arm ids in their defined order. Raises ``DefinitionError``
    (``ALLOC.E020``-``E024``) for a spec that cannot allocate, ``TransitionError``
    (``ALLOC.E030``, ``E031``) for a candidate without a valid level of a factor.
    """
    _seed_given(seed)
    ratio = arm_ratio(spec, arms)
    levels = checked_levels(spec, candidate.levels)
    number = len(history) + 1
    stratum = stratum_key(spec, levels)
    detail: dict[str, JSON] = {"method": spec.method, "number": number, "stratum": stratum}
    if spec.method == "simple":
        arm, draw = simple_arm(ratio, seed, number)
        detail.update(draw=draw, draw_below=sum(ratio.values()))
    elif spec.method == "minimisation":
        arm, more = minimise(spec, ratio, seed, history, levels, number)
        detail.update(more)
    else:
        taken = sum(1 for past in history if stratum_key(spec, past.levels) == stratum)
        place = slot(ratio, spec.block_sizes, seed, stratum, taken)
        arm = place.arm
        if spec.factors:
            detail["levels"] = dict(levels)
        detail.update(
            sequence=place.sequence,
            block=place.block,
            block_size=place.block_size,
            position=place.position,
        )
    detail["arm"] = arm
    return Decision(arm=arm, number=number, stratum=stratum, detail=detail)


def schedule(
    spec: Randomisation, arms: Sequence[str], seed: str, stratum: str = ALL, n: int = 0
) -> list[Slot]:
    """The first ``n`` assignments of ``stratum`` as the seed fixes them: the sealed list.

    For blocks, each slot's sequence in the stratum, arm, block and position; ``allocate`` gives
    the stratum's k-th participant slot k. For simple randomisation the list is over the whole
    study (``stratum`` must be ``all``) and each slot is its own block of one. Minimisation has no
    list (each assignment depends on the participants before), so asking for one is an error
    (``ALLOC.E025``), as is a stratum key that does not fit the method (``ALLOC.E026``).
    """
    _seed_given(seed)
    ratio = arm_ratio(spec, arms)
    if spec.method == "minimisation":
        raise DefinitionError(
            "minimisation has no allocation list: each assignment depends on the participants "
            "already allocated and their factors",
            code="ALLOC.E025",
            hint="audit a minimisation by replaying allocate() over the recorded history",
        )
    stratified = spec.method == "stratified_blocks"
    if stratified == (stratum == ALL):
        raise DefinitionError(
            f"stratum {stratum!r} does not fit method {spec.method}",
            code="ALLOC.E026",
            hint="stratified blocks take a key such as "
            + "|".join(f"{f.name}=<level>" for f in spec.factors)
            if stratified
            else f"method {spec.method} has the one stratum {ALL!r}",
        )
    if spec.method == "simple":
        return [Slot(k, simple_arm(ratio, seed, k)[0], k, 1, 1) for k in range(1, n + 1)]
    return block_schedule(ratio, spec.block_sizes, seed, stratum, n)
