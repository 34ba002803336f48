"""The words for the services' codes (roles, statuses, visit and form states, steps), as msgids
of the catalogues: ``_(labels.STATUS[p.status])``."""

from __future__ import annotations

__all__ = [
    "AUDIT_ACTIONS",
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

#: The audit trail's actions in words (the stored code is shown beside them); an action not
#: named here is shown as its code.
AUDIT_ACTIONS = {
    "insert": "Created",
    "update": "Updated",
    **HISTORY,  # a participant's steps, in the words of their history
    "enter": "Form entered",
    "change": "Form changed",
    "void": "Form voided",
    "not_required": "Form marked not required",
    "done": "Visit done",
    "missed": "Visit missed",
    "unscheduled": "Unscheduled visit",
    "allocate": "Allocated",
    "allocate_id": "Participant number assigned",
    "allocation_setup": "Allocation set up",
    "allocation_count": "Allocation count",
    "allocation_seed": "Allocation seed",
    "administer": "Dose given",
    "prepare_dose": "Dose prepared",
    "ae_grade": "Adverse event graded",
    "ae_grade_change": "Adverse event grade changed",
    "serious_event_clock": "Serious-event report clock started",
    "serious_event_clock_change": "Serious-event report clock changed",
    "serious_event_clock_withdrawn": "Serious-event report clock withdrawn",
    "serious_event_reported": "Serious-event report recorded",
    "stopping_rule_fired": "Stopping rule fired",
    "safety_decision": "Safety board decision",
    "lift_pause": "Pause lifted",
    "open": "Query opened",
    "answer": "Query answered",
    "close": "Query closed",
    "reopen": "Query reopened",
    "comment": "Query comment",
    "verify": "Source data verified",
    "sdv_clear": "Source data verification cleared",
    "sign": "Signed",
    "revoke": "Signature revoked",
    "supersede": "Signature superseded",
    "lock": "Locked",
    "unlock": "Unlocked",
    "load": "Protocol version loaded",
    "amend": "Protocol amended",
    "approve": "Protocol version approved",
    "activate": "Protocol version activated",
    "create_user": "User created",
    "set_password": "Password set",
    "grant": "Role granted",
    "issue_token": "API token issued",
    "revoke_token": "API token revoked",
    "login": "Signed in",
    "web_sign_in": "Signed in",
    "web_sign_out": "Signed out",
    "login_failed": "Sign-in failed",
    "password_confirmed": "Password confirmed",
    "password_confirmed_failed": "Password confirmation failed",
}
