"""Use cases over the database, one transaction each; the web application and CLI call these.

Every call takes a :class:`Context` (who acts, and the time). The pure core reaches the
services through the interfaces in :mod:`trialkit.services.ports`.
"""

from trialkit.services.context import Context
from trialkit.services.doses import DoseResult, record_dose
from trialkit.services.forms import (
    CheckOutcome,
    FormConflict,
    FormRecord,
    SaveResult,
    mark_not_required,
    read_form,
    save_form,
)
from trialkit.services.lifecycle import TRANSITIONS, Status, Step, allowed_steps, next_status
from trialkit.services.participants import (
    Participant,
    apply_amendment,
    complete,
    consent,
    enrol,
    format_participant_id,
    history,
    lose,
    register,
    screen,
    screen_fail,
    start,
    withdraw,
)
from trialkit.services.participants import get as get_participant
from trialkit.services.ports import (
    EligibilityEvaluator,
    EligibilityVerdict,
    RuleEvaluator,
    Scorer,
    ScoreResult,
)
from trialkit.services.records import FieldChange, write
from trialkit.services.schedule import (
    Calendar,
    CalendarVisit,
    OverdueVisit,
    calendar,
    miss_visit,
    overdue,
    record_visit,
    unscheduled_visit,
)
from trialkit.services.studies import LoadedVersion, ProtocolRef, add_site, load_study
from trialkit.services.tidy import TidyExtract, role_items, tidy_extract, tidy_tables

__all__ = [
    "TRANSITIONS",
    "Calendar",
    "CalendarVisit",
    "CheckOutcome",
    "Context",
    "DoseResult",
    "EligibilityEvaluator",
    "EligibilityVerdict",
    "FieldChange",
    "FormConflict",
    "FormRecord",
    "LoadedVersion",
    "OverdueVisit",
    "Participant",
    "ProtocolRef",
    "RuleEvaluator",
    "SaveResult",
    "ScoreResult",
    "Scorer",
    "Status",
    "Step",
    "TidyExtract",
    "add_site",
    "allowed_steps",
    "apply_amendment",
    "calendar",
    "complete",
    "consent",
    "enrol",
    "format_participant_id",
    "get_participant",
    "history",
    "load_study",
    "lose",
    "mark_not_required",
    "miss_visit",
    "next_status",
    "overdue",
    "read_form",
    "record_dose",
    "record_visit",
    "register",
    "role_items",
    "save_form",
    "screen",
    "screen_fail",
    "start",
    "tidy_extract",
    "tidy_tables",
    "unscheduled_visit",
    "withdraw",
    "write",
]
