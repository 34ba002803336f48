"""The words for the services' codes (roles, statuses, visit and form states, steps), as msgids
of the catalogues: ``_(labels.STATUS[p.status])``."""

from __future__ import annotations

__all__ = [
    "FORM_STATES",
    "HISTORY",
    "ROLES",
    "SORTS",
    "STATES",
    "STATUS",
    "STEPS",
    "VISIT_STATES",
]

ROLES = {
    "administrator": "Administrator",
    "principal_investigator": "Principal investigator",
    "investigator": "Investigator",
    "coordinator": "Coordinator",
    "data_manager": "Data manager",
    "monitor": "Monitor",
    "safety_board": "Safety board",
    "statistician": "Statistician",
    "read_only": "Read only",
}

STATUS = {
    "screening": "Screening",
    "consented": "Consented",
    "enrolled": "Enrolled",
    "on_study": "On study",
    "completed": "Completed",
    "withdrawn": "Withdrawn",
    "lost_to_follow_up": "Lost to follow-up",
    "screen_failed": "Screen failed",
}

VISIT_STATES = {
    "not_planned": "Not planned yet",
    "upcoming": "Upcoming",
    "open": "Due now",
    "overdue": "Overdue",
    "done": "Done",
    "done_out_of_window": "Done out of window",
    "missed": "Missed",
}

FORM_STATES = {
    "expected": "Expected",
    "entered": "Entered",
    "not_required": "Not required",
    "missed": "Missed",
}

#: The matrix's cell filters.
STATES = {
    "attention": "Needs attention",
    "overdue": "Overdue",
    "open": "Due now",
    "missed": "Missed",
    "out_of_window": "Done out of window",
    "queries": "Open queries",
    "upcoming": "Upcoming",
}

SORTS = {
    "participant": "Participant",
    "site": "Site",
    "status": "Status",
    "overdue": "Most overdue first",
}

STEPS = {
    "consent": "Record consent",
    "enrol": "Enrol",
    "screen_fail": "Screen failure",
    "withdraw": "Withdraw",
    "lose": "Lost to follow-up",
    "complete": "Complete the study",
}

#: The steps of a participant's history.
HISTORY = {
    "register": "Registered",
    "consent": "Consent recorded",
    "eligibility": "Eligibility evaluated",
    "enrol": "Enrolled",
    "start": "First dose given",
    "complete": "Completed the study",
    "withdraw": "Withdrawn",
    "lose": "Lost to follow-up",
    "screen_fail": "Screen failure",
    "amendment": "Moved to another protocol version",
}
