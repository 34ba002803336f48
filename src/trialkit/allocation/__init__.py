"""Allocation algorithms (pure core): state passed in, decisions returned.

Methods (``design.randomisation.method``): simple randomisation, permuted blocks of fixed or
variable size, stratified permuted blocks and Pocock-Simon minimisation with its random
element (:func:`allocate`); the sealed list of a block method (:func:`schedule`); sequential
dose cohorts opened by the safety board (:func:`next_cohort`, :func:`cohort_status`); and
the measurement of balance and predictability by simulation (:func:`simulate`). Every draw is
reproduced from the study's secret seed (:func:`new_seed`); see docs/allocation.md.

Errors (``trialkit.errors``)::

    DefinitionError  ALLOC.E020  the ratio names an arm the study does not define
                     ALLOC.E021  fewer than two arms to randomise between
                     ALLOC.E022  a block size is not a multiple of the ratio total
                     ALLOC.E023  stratified blocks or minimisation without factors
                     ALLOC.E024  the seed is empty
                     ALLOC.E025  a list (schedule) asked of minimisation
                     ALLOC.E026  a stratum key that does not fit the method
                     ALLOC.E027  a simulation without the distribution of a factor
    TransitionError  ALLOC.E030  the candidate has no value (level) for a factor
                     ALLOC.E031  the value is not one of the factor's levels / not a number
                     ALLOC.E040  sequential cohorts: every cohort is full
                     ALLOC.E041  the open cohort is full and not all its participants are dosed
                     ALLOC.E042  the full cohort's review is not due yet
                     ALLOC.E043  the review is due, but the safety board has not opened the next
                     ALLOC.E044  the cohort (or a lower-dose cohort) is paused
                     ALLOC.E045  the counts or dose dates passed in are inconsistent
                     ALLOC.E046  the next cohort is recorded as opened before its review was due
"""

from trialkit.allocation.allocate import allocate, schedule
from trialkit.allocation.assignment import ALL, JSON, Assignment, Candidate, Decision
from trialkit.allocation.blocks import Block, Slot, block, block_schedule, slot
from trialkit.allocation.cohorts import (
    CohortArm,
    CohortRefusal,
    CohortState,
    CohortStatus,
    cohort_status,
    next_cohort,
    require_cohort,
)
from trialkit.allocation.draws import Draws, new_seed
from trialkit.allocation.minimisation import imbalance, marginal_counts, minimise, scores
from trialkit.allocation.simple import simple_arm
from trialkit.allocation.simulate import Simulation, forced_arm, guess_credit, simulate
from trialkit.allocation.strata import (
    arm_ratio,
    candidate_from_values,
    checked_levels,
    factor_level,
    stratum_key,
)

__all__ = [
    "ALL",
    "JSON",
    "Assignment",
    "Block",
    "Candidate",
    "CohortArm",
    "CohortRefusal",
    "CohortState",
    "CohortStatus",
    "Decision",
    "Draws",
    "Simulation",
    "Slot",
    "allocate",
    "arm_ratio",
    "block",
    "block_schedule",
    "candidate_from_values",
    "checked_levels",
    "cohort_status",
    "factor_level",
    "forced_arm",
    "guess_credit",
    "imbalance",
    "marginal_counts",
    "minimise",
    "new_seed",
    "next_cohort",
    "require_cohort",
    "schedule",
    "scores",
    "simple_arm",
    "simulate",
    "slot",
    "stratum_key",
]
