"""Stopping rules over adverse events (pure core): which rules fire and what they pause.

:func:`event_from_values` reads one adverse-event row into a :class:`SafetyEvent`;
:func:`evaluate` counts the events against the protocol's
:class:`~trialkit.protocol.safety.StoppingRule` list and returns the :class:`Firing` of every
rule reached, with the events that reached it; :func:`what_is_paused` turns the firings into
:class:`Pauses`. No database, no clock: the services layer stores the decisions and enforces
the pauses. The counting rules and the conservative choices are in docs/safety.md.
"""

from trialkit.safety.events import (
    NOT_RELATED_CODES,
    RELATED_CODES,
    SafetyEvent,
    event_from_values,
    normalise_term,
)
from trialkit.safety.pauses import Pauses, what_is_paused
from trialkit.safety.rules import (
    RELATION_NOT_ASSESSED,
    SERIOUSNESS_NOT_ENTERED,
    Action,
    Firing,
    Scope,
    Trigger,
    assumptions,
    evaluate,
    matches,
)

__all__ = [
    "NOT_RELATED_CODES",
    "RELATED_CODES",
    "RELATION_NOT_ASSESSED",
    "SERIOUSNESS_NOT_ENTERED",
    "Action",
    "Firing",
    "Pauses",
    "SafetyEvent",
    "Scope",
    "Trigger",
    "assumptions",
    "evaluate",
    "event_from_values",
    "matches",
    "normalise_term",
    "what_is_paused",
]
