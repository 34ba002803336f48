"""Calendars from anchors: the study's template and each participant's dated plan.

Pure: dates and times are passed in, never read from a clock.
"""

from trialkit.schedule.calendar import (
    AnchorDates,
    PlannedDose,
    PlannedVisit,
    Template,
    TemplateEntry,
    VisitPlanner,
    VisitState,
    plan_doses,
    plan_visits,
    study_day,
    template,
    visit_state,
)

__all__ = [
    "AnchorDates",
    "PlannedDose",
    "PlannedVisit",
    "Template",
    "TemplateEntry",
    "VisitPlanner",
    "VisitState",
    "plan_doses",
    "plan_visits",
    "study_day",
    "template",
    "visit_state",
]
