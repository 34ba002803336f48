"""The protocol's stopping rules evaluated over adverse events: :func:`evaluate`.

A rule (:class:`~trialkit.protocol.safety.StoppingRule`) counts the events its filter matches
(:func:`matches`) within a scope and *fires* when that number reaches ``count``:

* ``scope: study``: all events together; the firing's ``target`` is None.
* ``scope: arm``: the events of each arm separately; ``target`` is the arm id. An event without
  an arm (a participant not yet allocated) is counted in the study scope only, never in an arm.
* ``scope: participant``: the events of each participant separately; ``target`` is the
  participant's code.

Counting is conservative where the record is incomplete, so that a missing answer never holds a
pause back silently:

* a ``related_only`` rule counts an event whose relation is not assessed (``related=None``) and
  flags it ``relation not assessed``;
* a ``serious_only`` rule counts an event whose seriousness is not entered (``serious=None``)
  when its grade is 4 (life-threatening) or 5 (death), both seriousness criteria of ICH E2A,
  and flags it; a grade 1-3 event with seriousness not entered is not counted as serious;
* a firing that would not be reached without the flagged events is ``provisional``: the board
  sees that completing the records may lift it.

The caller chooses which events to pass (e.g. treatment-emergent ones only): every event given
is counted. Nothing here reads the clock or the database.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from trialkit.errors import DefinitionError
from trialkit.protocol.safety import EventFilter, StoppingRule
from trialkit.safety.events import SafetyEvent, normalise_term

__all__ = [
    "RELATION_NOT_ASSESSED",
    "SERIOUSNESS_NOT_ENTERED",
    "Action",
    "Firing",
    "Scope",
    "Trigger",
    "assumptions",
    "evaluate",
    "matches",
]

Action = Literal["pause_enrolment", "pause_arm", "pause_dosing", "stop_participant_dosing"]
Scope = Literal["study", "arm", "participant"]

#: Flag of an event counted as related although its relation is not assessed.
RELATION_NOT_ASSESSED = "relation not assessed (counted as related)"
#: Flag of a grade 4-5 event counted as serious although its seriousness is not entered.
SERIOUSNESS_NOT_ENTERED = "seriousness not entered (counted as serious: grade {grade} is {what})"
_SERIOUS_GRADES = {4: "life-threatening", 5: "death"}


def assumptions(rule_filter: EventFilter, event: SafetyEvent) -> tuple[str, ...] | None:
    """How ``rule_filter`` counts ``event``: None when it does not match, else the flags of the
    assumptions made to count it (empty when every fact it needs was entered)."""
    if event.grade < rule_filter.min_grade:
        return None
    if rule_filter.terms:
        wanted = {normalise_term(t) for t in rule_filter.terms}
        if normalise_term(event.term) not in wanted:
            return None
    flags: list[str] = []
    if rule_filter.related_only:
        if event.related is False:
            return None
        if event.related is None:
            flags.append(RELATION_NOT_ASSESSED)
    if rule_filter.serious_only:
        if event.serious is False:
            return None
        if event.serious is None:
            what = _SERIOUS_GRADES.get(event.grade)
            if what is None:
                return None
            flags.append(SERIOUSNESS_NOT_ENTERED.format(grade=event.grade, what=what))
    return tuple(flags)


def matches(rule_filter: EventFilter, event: SafetyEvent) -> bool:
    """Whether ``rule_filter`` counts ``event`` (conservatively: see the module docstring).

    Grade at or above ``min_grade``; for ``related_only`` related or not assessed; for
    ``serious_only`` serious, or not entered at grade 4-5; for ``terms`` one of them,
    compared case-insensitively with whitespace collapsed.
    """
    return assumptions(rule_filter, event) is not None


@dataclass(frozen=True)
class Trigger:
    """One event a firing counted, with the flags of what was assumed to count it."""

    event: SafetyEvent
    flags: tuple[str, ...] = ()

    def summary(self) -> dict[str, Any]:
        """The event's JSON-able summary (no participant code) with its flags."""
        return {**self.event.summary(), "flags": list(self.flags)}


@dataclass(frozen=True)
class Firing:
    """A stopping rule reached in one scope: what to pause, and the events that reached it.

    ``count`` is the number of matching events in the scope (at least ``threshold``, the rule's
    ``count``); ``triggers`` are those events in onset order (undated last, then by key).
    """

    rule_id: str
    text: str
    action: Action
    scope: Scope
    target: str | None
    count: int
    threshold: int
    triggers: tuple[Trigger, ...]
    resumed_by: str = "safety board review"

    @property
    def identity(self) -> tuple[str, str, str | None]:
        """(rule id, scope, target): the same decision across re-evaluations."""
        return (self.rule_id, self.scope, self.target)

    @property
    def event_keys(self) -> tuple[str, ...]:
        return tuple(t.event.key for t in self.triggers)

    @property
    def provisional(self) -> bool:
        """True when the rule is reached only by counting events with missing facts."""
        return sum(1 for t in self.triggers if not t.flags) < self.threshold

    @property
    def arms(self) -> tuple[str, ...]:
        """The arms of the counted events, sorted (the target itself for scope ``arm``)."""
        return tuple(sorted({t.event.arm for t in self.triggers if t.event.arm is not None}))

    @property
    def participants(self) -> tuple[str, ...]:
        """The codes of the participants whose events were counted, sorted."""
        return tuple(sorted({t.event.participant for t in self.triggers}))

    def summary(self) -> dict[str, Any]:
        """A JSON-able account for logs: no participant code anywhere (for scope
        ``participant`` the target is withheld as None)."""
        return {
            "rule": self.rule_id,
            "action": self.action,
            "scope": self.scope,
            "target": None if self.scope == "participant" else self.target,
            "count": self.count,
            "threshold": self.threshold,
            "provisional": self.provisional,
            "events": [t.summary() for t in self.triggers],
        }

    def record(self) -> dict[str, Any]:
        """A JSON-able account for the audited database: :meth:`summary` plus the rule's text,
        who resumes, the target and the participant of each event."""
        out = self.summary()
        out["text"] = self.text
        out["resumed_by"] = self.resumed_by
        out["target"] = self.target
        for entry, trigger in zip(out["events"], self.triggers, strict=True):
            entry["participant"] = trigger.event.participant
        return out


def _order(trigger: Trigger) -> tuple[bool, str, str]:
    onset = trigger.event.onset
    return (onset is None, "" if onset is None else onset.isoformat(), trigger.event.key)


def _target(scope: Scope, event: SafetyEvent) -> tuple[bool, str | None]:
    """(counted in this scope, target) of an event."""
    if scope == "study":
        return True, None
    if scope == "arm":
        return event.arm is not None, event.arm
    return True, event.participant


def evaluate(rules: Sequence[StoppingRule], events: Sequence[SafetyEvent]) -> list[Firing]:
    """Every firing of ``rules`` over ``events``, in rule order then by target (study first).

    Event keys must be unique (an event counted twice would reach a threshold it has not):
    a repeated key is a caller's error (:class:`ValueError`). Rule ids must be unique too (the
    pauses are recorded under them): :class:`~trialkit.errors.DefinitionError` ``SAFE.E001``,
    which ``trialkit study check`` reports before a study is used.
    """
    rule_ids = [r.id for r in rules]
    for rule_id in dict.fromkeys(i for i in rule_ids if rule_ids.count(i) > 1):
        raise DefinitionError(
            f"stopping rule id {rule_id!r} is used twice",
            code="SAFE.E001",
            hint="give each stopping rule its own id: the pauses it causes are recorded under it",
            path=f"safety.stopping_rules.{rule_id}",
        )
    seen: set[str] = set()
    for event in events:
        if event.key in seen:
            raise ValueError(
                f"adverse event {event.key} is passed twice; pass each event once "
                "(keys identify the source record)"
            )
        seen.add(event.key)
    firings: list[Firing] = []
    for rule in rules:
        groups: dict[str | None, list[Trigger]] = defaultdict(list)
        for event in events:
            flags = assumptions(rule.events, event)
            if flags is None:
                continue
            counted, target = _target(rule.scope, event)
            if counted:
                groups[target].append(Trigger(event, flags))
        for target in sorted(groups, key=lambda t: (t is not None, t or "")):
            triggers = groups[target]
            if len(triggers) >= rule.count:
                firings.append(
                    Firing(
                        rule_id=rule.id,
                        text=rule.text,
                        action=rule.action,
                        scope=rule.scope,
                        target=target,
                        count=len(triggers),
                        threshold=rule.count,
                        triggers=tuple(sorted(triggers, key=_order)),
                        resumed_by=rule.resumed_by,
                    )
                )
    return firings
