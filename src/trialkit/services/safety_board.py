"""The safety board's view of one study, assembled from the services that own each part.

:func:`safety_board` reads, with the caller's context:

* the **stopping rules** of the newest protocol version, each with its state (``active``: a
  pause of it is in force; ``lifted``: it fired and every pause was lifted; ``not fired``) and
  its firings (:func:`trialkit.services.safety.safety_status`: what fired, on which events);
* the **decisions** the board took (lifting a pause with its reason and the data it saw,
  opening a cohort with the cohorts' state it decided on);
* the **sequential cohorts** (:func:`trialkit.services.allocation.cohorts`), for a study that
  has them: who is due for review, from when, which cohort the board opened;
* the **serious-event clock** (:func:`trialkit.services.safety.serious_reports`): reports due,
  overdue, made;
* the **adverse-event tables** by arm and worst grade, seriousness and relatedness, computed by
  :func:`trialkit.analysis.analyse` (``adverse_event_incidence``) on
  :func:`trialkit.services.tidy.tidy_extract`: only for a caller who may analyse the study
  (``None`` otherwise).

Needs READ at every site. A blinded reader of a masked study (docs/access.md) sees what each
service shows them: no arm in the pauses or decisions, and every participant in arm
``BLINDED`` in the tables. Nothing here writes or logs.
"""

from __future__ import annotations

from dataclasses import dataclass

from trialkit.allocation import CohortStatus
from trialkit.analysis import EndpointResult, analyse
from trialkit.protocol.endpoints import AdverseEventIncidence
from trialkit.protocol.safety import StoppingRule
from trialkit.services import studies
from trialkit.services.access import Permission, require, sees_allocation
from trialkit.services.allocation import cohorts
from trialkit.services.context import Context
from trialkit.services.safety import (
    PauseRecord,
    SafetyStatus,
    SeriousReport,
    safety_status,
    serious_reports,
)
from trialkit.services.tidy import tidy_extract
from trialkit.store import Database

__all__ = ["AE_TABLES", "RuleState", "SafetyBoard", "safety_board"]

#: The adverse-event tables of the board's page: (name, dimensions besides the arm).
AE_TABLES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("by worst grade", ("grade",)),
    ("by seriousness", ("serious",)),
    ("by relatedness", ("related",)),
)


@dataclass(frozen=True)
class RuleState:
    """A stopping rule of the protocol, its state and its firings (oldest first)."""

    rule: StoppingRule
    state: str
    firings: tuple[PauseRecord, ...]


@dataclass(frozen=True)
class SafetyBoard:
    """Everything the safety board's page shows (see the module doc)."""

    study: str
    masked: bool
    blind: bool
    status: SafetyStatus
    rules: tuple[RuleState, ...]
    cohorts: tuple[CohortStatus, ...] | None
    reports: tuple[SeriousReport, ...]
    ae_tables: tuple[EndpointResult, ...] | None
    ae_notes: tuple[str, ...]
    may_decide: bool


def _rule_states(rules: list[StoppingRule], status: SafetyStatus) -> tuple[RuleState, ...]:
    out = []
    for rule in rules:
        firings = tuple(p for p in status.pauses if p.rule_id == rule.id)
        if any(p.status == "active" for p in firings):
            state = "active"
        elif firings:
            state = "lifted"
        else:
            state = "not fired"
        out.append(RuleState(rule, state, firings))
    return tuple(out)


def safety_board(db: Database, ctx: Context, study_code: str) -> SafetyBoard:
    """The safety board's view of ``study_code`` for the caller (see the module doc)."""
    require(ctx.principal, Permission.READ, study_code, None)
    with db.read() as conn:
        ref = studies.protocol(conn, study_code)
    study_def = ref.study
    masked = study_def.design.masking.level != "none"
    status = safety_status(db, ctx, study_code)
    steps = tuple(cohorts(db, ctx, study_code)) if study_def.design.cohorts else None
    reports = tuple(serious_reports(db, ctx, study_code))
    tables: tuple[EndpointResult, ...] | None = None
    notes: tuple[str, ...] = ()
    if ctx.principal.can(Permission.ANALYSE, study_code, None):
        extract = tidy_extract(db, ctx, study_code)
        specs = [
            AdverseEventIncidence(
                name=name,
                type="adverse_event_incidence",
                by=["arm", *by],
            )
            for name, by in AE_TABLES
        ]
        tables = tuple(analyse(specs, extract.data, arm_order=[a.id for a in extract.study.arms]))
        notes = tuple(extract.notes)
    return SafetyBoard(
        study_code,
        masked,
        not sees_allocation(ctx.principal, study_code, masked, None),
        status,
        _rule_states(list(study_def.safety.stopping_rules), status),
        steps,
        reports,
        tables,
        notes,
        ctx.principal.can(Permission.SAFETY_DECISION, study_code, None),
    )
