"""Stopping rules counted over events: matching, scopes, thresholds, and their invariants."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trialkit.errors import DefinitionError
from trialkit.protocol.safety import EventFilter, StoppingRule
from trialkit.safety import (
    RELATION_NOT_ASSESSED,
    SafetyEvent,
    assumptions,
    evaluate,
    matches,
)


def ev(
    key: str,
    *,
    participant: str = "P-001",
    arm: str | None = "A",
    term: str = "Headache",
    grade: int = 3,
    serious: bool | None = False,
    related: bool | None = True,
    onset: date | None = None,
) -> SafetyEvent:
    return SafetyEvent(key, participant, arm, term, grade, serious, related, onset)


def rule(
    *,
    id: str = "S1",
    count: int = 1,
    scope: str = "arm",
    action: str = "pause_arm",
    **events: Any,
) -> StoppingRule:
    return StoppingRule.model_validate(
        {
            "id": id,
            "text": f"rule {id}",
            "events": events,
            "count": count,
            "scope": scope,
            "action": action,
        }
    )


# --- matching ---------------------------------------------------------------------------


@pytest.mark.parametrize(("grade", "expected"), [(1, False), (2, False), (3, True), (4, True)])
def test_min_grade_boundary(grade: int, expected: bool) -> None:
    assert matches(EventFilter(min_grade=3), ev("e", grade=grade)) is expected


def test_min_grade_boundary_through_evaluate() -> None:
    s1 = rule(min_grade=3, related_only=True)
    assert evaluate([s1], [ev("e1", grade=2)]) == []
    (firing,) = evaluate([s1], [ev("e1", grade=2), ev("e2", grade=3)])
    assert firing.event_keys == ("e2",)


def test_default_filter_matches_every_graded_event() -> None:
    f = EventFilter()
    for grade in range(1, 6):
        assert matches(f, ev("e", grade=grade, related=False, serious=False))


@pytest.mark.parametrize(
    ("related", "flags"),
    [(True, ()), (None, (RELATION_NOT_ASSESSED,)), (False, None)],
)
def test_related_only_counts_an_unassessed_relation_and_flags_it(
    related: bool | None, flags: tuple[str, ...] | None
) -> None:
    assert assumptions(EventFilter(related_only=True), ev("e", related=related)) == flags


def test_relation_is_ignored_when_not_asked_for() -> None:
    assert assumptions(EventFilter(), ev("e", related=None)) == ()
    assert assumptions(EventFilter(), ev("e", related=False)) == ()


@pytest.mark.parametrize(
    ("serious", "grade", "counted", "flagged"),
    [
        (True, 1, True, False),
        (False, 5, False, False),
        (None, 1, False, False),
        (None, 3, False, False),
        (None, 4, True, True),
        (None, 5, True, True),
    ],
)
def test_serious_only_counts_missing_seriousness_at_grade_4_and_5(
    serious: bool | None, grade: int, counted: bool, flagged: bool
) -> None:
    flags = assumptions(EventFilter(serious_only=True), ev("e", serious=serious, grade=grade))
    assert (flags is not None) is counted
    if flags is not None:
        assert bool(flags) is flagged
        if flagged:
            assert f"grade {grade}" in flags[0]
            assert "seriousness not entered" in flags[0]


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("Infusion reaction", True),
        ("infusion  REACTION ", True),
        ("\tInfusion\nreaction", True),
        ("Infusion reactions", False),
        ("Reaction", False),
        ("", False),
    ],
)
def test_terms_match_case_and_whitespace_insensitively(term: str, expected: bool) -> None:
    f = EventFilter(terms=["  Infusion   Reaction", "Anaphylaxis"])
    assert matches(f, ev("e", term=term)) is expected


# --- scopes and thresholds ---------------------------------------------------------------


def test_arm_scope_counts_per_arm_and_leaves_armless_events_to_the_study() -> None:
    events = [
        ev("a1", arm="A", participant="P1"),
        ev("a2", arm="A", participant="P2"),
        ev("b1", arm="B", participant="P3"),
        ev("x1", arm=None, participant="P4"),
        ev("x2", arm=None, participant="P5"),
    ]
    per_arm = evaluate([rule(count=2, scope="arm")], events)
    assert [(f.target, f.count, f.event_keys) for f in per_arm] == [("A", 2, ("a1", "a2"))]
    study = evaluate([rule(count=5, scope="study", action="pause_enrolment")], events)
    assert [(f.target, f.count) for f in study] == [(None, 5)]


def test_participant_scope_counts_per_participant() -> None:
    events = [
        ev("p1a", participant="P1"),
        ev("p1b", participant="P1"),
        ev("p2a", participant="P2"),
    ]
    firings = evaluate(
        [rule(count=2, scope="participant", action="stop_participant_dosing")], events
    )
    assert [(f.target, f.event_keys) for f in firings] == [("P1", ("p1a", "p1b"))]


@pytest.mark.parametrize("count", [1, 2, 3, 7])
def test_threshold_is_exact(count: int) -> None:
    r = rule(count=count, scope="study", action="pause_enrolment")
    below = [ev(f"e{i}") for i in range(count - 1)]
    assert evaluate([r], below) == []
    (firing,) = evaluate([r], [*below, ev("last")])
    assert firing.count == firing.threshold == count


def test_firings_come_in_rule_order_then_target_order() -> None:
    rules = [
        rule(id="S2", scope="participant", action="stop_participant_dosing"),
        rule(id="S1", scope="study", action="pause_enrolment"),
        rule(id="S3", scope="arm"),
    ]
    events = [ev("e1", participant="P2", arm="B"), ev("e2", participant="P1", arm="A")]
    got = [(f.rule_id, f.target) for f in evaluate(rules, events)]
    assert got == [("S2", "P1"), ("S2", "P2"), ("S1", None), ("S3", "A"), ("S3", "B")]


def test_triggers_are_in_onset_order_undated_last() -> None:
    events = [
        ev("late", onset=date(2025, 5, 2)),
        ev("undated"),
        ev("early", onset=date(2025, 1, 9)),
    ]
    (firing,) = evaluate([rule(count=3, scope="study", action="pause_enrolment")], events)
    assert firing.event_keys == ("early", "late", "undated")


def test_a_repeated_key_is_refused() -> None:
    with pytest.raises(ValueError, match="e1 is passed twice"):
        evaluate([rule()], [ev("e1"), ev("e1", grade=4)])


def test_a_repeated_rule_id_is_refused() -> None:
    with pytest.raises(DefinitionError, match="'S1' is used twice") as caught:
        evaluate([rule(), rule(scope="study")], [])
    assert caught.value.code == "SAFE.E001"


def test_no_rules_or_no_events_fire_nothing() -> None:
    assert evaluate([], [ev("e1")]) == []
    assert evaluate([rule()], []) == []


# --- the firing's account ------------------------------------------------------------------


def test_provisional_when_reached_only_by_unassessed_events() -> None:
    r = rule(count=2, scope="study", action="pause_enrolment", related_only=True)
    (firing,) = evaluate([r], [ev("e1", related=True), ev("e2", related=None)])
    assert firing.provisional
    assert firing.triggers[1].flags == (RELATION_NOT_ASSESSED,)
    (firing,) = evaluate(
        [r], [ev("e1", related=True), ev("e2", related=None), ev("e3", related=True)]
    )
    assert not firing.provisional


def test_summary_names_no_participant_and_record_does() -> None:
    r = rule(scope="participant", action="stop_participant_dosing", related_only=True)
    (firing,) = evaluate(
        [r],
        [ev("form_instance:12/AE/1", participant="PSO-007", related=None, onset=date(2025, 2, 1))],
    )
    summary = firing.summary()
    assert "PSO-007" not in json.dumps(summary)
    assert summary == {
        "rule": "S1",
        "action": "stop_participant_dosing",
        "scope": "participant",
        "target": None,
        "count": 1,
        "threshold": 1,
        "provisional": True,
        "events": [
            {
                "key": "form_instance:12/AE/1",
                "term": "Headache",
                "grade": 3,
                "serious": False,
                "related": None,
                "onset": "2025-02-01",
                "arm": "A",
                "flags": [RELATION_NOT_ASSESSED],
            }
        ],
    }
    record = firing.record()
    json.dumps(record)
    assert record["target"] == "PSO-007"
    assert record["events"][0]["participant"] == "PSO-007"
    assert record["text"] == "rule S1"
    assert record["resumed_by"] == "safety board review"
    assert firing.identity == ("S1", "participant", "PSO-007")


# --- invariants ----------------------------------------------------------------------------

ARMS = st.sampled_from(["A", "B", None])
PEOPLE = st.sampled_from(["P1", "P2", "P3", "P4"])
TERMS = st.sampled_from(["Headache", "headache ", "Fever", "Anaphylaxis"])


@st.composite
def event_lists(draw: st.DrawFn, prefix: str = "e") -> list[SafetyEvent]:
    n = draw(st.integers(min_value=0, max_value=12))
    return [
        SafetyEvent(
            key=f"{prefix}{i}",
            participant=draw(PEOPLE),
            arm=draw(ARMS),
            term=draw(TERMS),
            grade=draw(st.integers(min_value=1, max_value=5)),
            serious=draw(st.sampled_from([True, False, None])),
            related=draw(st.sampled_from([True, False, None])),
        )
        for i in range(n)
    ]


@st.composite
def rules(draw: st.DrawFn) -> StoppingRule:
    return rule(
        count=draw(st.integers(min_value=1, max_value=4)),
        scope=draw(st.sampled_from(["study", "arm", "participant"])),
        action=draw(
            st.sampled_from(
                ["pause_enrolment", "pause_arm", "pause_dosing", "stop_participant_dosing"]
            )
        ),
        min_grade=draw(st.integers(min_value=1, max_value=5)),
        related_only=draw(st.booleans()),
        serious_only=draw(st.booleans()),
        terms=draw(st.sampled_from([[], ["HEADACHE"], ["fever", "Anaphylaxis"]])),
    )


def _numbered(rs: list[StoppingRule]) -> list[StoppingRule]:
    return [r.model_copy(update={"id": f"S{n}"}) for n, r in enumerate(rs, start=1)]


@settings(max_examples=300)
@given(st.lists(rules(), max_size=3).map(_numbered), event_lists(), event_lists(prefix="x"))
def test_adding_events_never_removes_a_firing(
    rs: list[StoppingRule], events: list[SafetyEvent], more: list[SafetyEvent]
) -> None:
    before = {f.identity: f for f in evaluate(rs, events)}
    after = {f.identity: f for f in evaluate(rs, [*events, *more])}
    assert before.keys() <= after.keys()
    for identity, firing in before.items():
        assert set(firing.event_keys) <= set(after[identity].event_keys)


def _numbered(rs: list[StoppingRule]) -> list[StoppingRule]:
    return [r.model_copy(update={"id": f"S{n}"}) for n, r in enumerate(rs, start=1)]


@settings(max_examples=300)
@given(st.lists(rules(), max_size=3).map(_numbered), event_lists(), event_lists(prefix="x"))
def test_events_the_filters_do_not_match_change_nothing(
    rs: list[StoppingRule], events: list[SafetyEvent], more: list[SafetyEvent]
) -> None:
    unmatched = [e for e in more if not any(matches(r.events, e) for r in rs)]
    assert evaluate(rs, [*events, *unmatched]) == evaluate(rs, events)


@settings(max_examples=300)
@given(rules(), event_lists())
def test_a_rule_fires_exactly_where_its_matching_events_reach_the_count(
    r: StoppingRule, events: list[SafetyEvent]
) -> None:
    counts: dict[str | None, int] = {}
    for e in events:
        if not matches(r.events, e):
            continue
        if r.scope == "study":
            target: str | None = None
        elif r.scope == "arm":
            if e.arm is None:
                continue
            target = e.arm
        else:
            target = e.participant
        counts[target] = counts.get(target, 0) + 1
    expected = {t: n for t, n in counts.items() if n >= r.count}
    assert {f.target: f.count for f in evaluate([r], events)} == expected


@settings(max_examples=200)
@given(rules(), event_lists())
def test_matching_is_conservative_about_missing_facts(
    r: StoppingRule, events: list[SafetyEvent]
) -> None:
    """Filling in a missing relation or seriousness as the worst case never un-matches."""
    for e in events:
        if not matches(r.events, e):
            continue
        worst = SafetyEvent(
            e.key,
            e.participant,
            e.arm,
            e.term,
            e.grade,
            True if e.serious is None else e.serious,
            True if e.related is None else e.related,
        )
        assert matches(r.events, worst)
