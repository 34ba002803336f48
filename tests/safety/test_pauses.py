"""What the firings pause, and which rules are responsible."""

from __future__ import annotations

from typing import Any

from trialkit.protocol.safety import StoppingRule
from trialkit.safety import Pauses, SafetyEvent, evaluate, what_is_paused


def ev(key: str, participant: str, arm: str | None, grade: int = 3) -> SafetyEvent:
    return SafetyEvent(key, participant, arm, "Headache", grade, True, True)


def rule(id: str, scope: str, action: str, **events: Any) -> StoppingRule:
    return StoppingRule.model_validate(
        {"id": id, "text": id, "events": events, "scope": scope, "action": action}
    )


def test_nothing_fired_nothing_paused() -> None:
    pauses = what_is_paused([])
    assert pauses == Pauses()
    assert not pauses.anything
    assert not pauses.enrolment_paused
    assert not pauses.dosing_paused
    assert pauses.enrolment_blocked_by("A") == ()
    assert pauses.dosing_blocked_by("P1", "A") == ()


def test_each_action_pauses_its_thing() -> None:
    rules = [
        rule("S1", "study", "pause_enrolment"),
        rule("S2", "study", "pause_dosing", min_grade=4),
        rule("S3", "arm", "pause_arm"),
        rule("S4", "participant", "stop_participant_dosing", min_grade=4),
    ]
    events = [ev("e1", "P1", "A"), ev("e2", "P2", "B", grade=4)]
    pauses = what_is_paused(evaluate(rules, events))
    assert pauses.enrolment == ("S1",)
    assert pauses.dosing == ("S2",)
    assert pauses.arms == {"A": ("S3",), "B": ("S3",)}
    assert pauses.participants == {"P2": ("S4",)}
    assert pauses.unplaced == ()
    assert pauses.enrolment_paused
    assert pauses.dosing_paused
    assert pauses.anything
    assert pauses.enrolment_blocked_by("A") == ("S1", "S3")
    assert pauses.enrolment_blocked_by() == ("S1",)
    assert pauses.dosing_blocked_by("P2", "B") == ("S2", "S3", "S4")
    assert pauses.dosing_blocked_by("P9", None) == ("S2",)


def test_pause_arm_from_a_wider_scope_pauses_the_arms_of_the_events() -> None:
    rules = [rule("S1", "study", "pause_arm"), rule("S2", "participant", "pause_arm")]
    pauses = what_is_paused(evaluate(rules, [ev("e1", "P1", "A"), ev("e2", "P2", None)]))
    assert pauses.arms == {"A": ("S1", "S2")}
    assert pauses.unplaced == ("S2",)  # P2 has no arm yet: nothing of theirs to pause


def test_stop_participant_dosing_from_a_wider_scope_stops_the_participants_of_the_events() -> None:
    rules = [rule("S1", "arm", "stop_participant_dosing")]
    pauses = what_is_paused(
        evaluate(rules, [ev("e1", "P1", "A"), ev("e2", "P2", "A"), ev("e3", "P3", None)])
    )
    assert pauses.participants == {"P1": ("S1",), "P2": ("S1",)}


def test_rule_ids_are_not_repeated() -> None:
    rules = [rule("S1", "participant", "pause_enrolment")]
    pauses = what_is_paused(evaluate(rules, [ev("e1", "P1", "A"), ev("e2", "P2", "A")]))
    assert pauses.enrolment == ("S1",)
