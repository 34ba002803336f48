"""The shipped studies' own stopping rules on realistic adverse events."""

from __future__ import annotations

from datetime import date

import pytest

from trialkit.protocol import Study, resolve_study
from trialkit.safety import (
    RELATION_NOT_ASSESSED,
    SafetyEvent,
    evaluate,
    event_from_values,
    what_is_paused,
)

PSO = "psoriasis-adipose-exosomes"
IBD = "ibd-placental-exosomes"
UCM = "psoriasis-ucmsc"


@pytest.fixture(scope="module")
def studies() -> dict[str, Study]:
    return {s: resolve_study(s) for s in (PSO, IBD, UCM)}


def ae(
    key: str,
    participant: str,
    arm: str | None,
    *,
    grade: int,
    relation: str | None,
    serious: bool | None = False,
    term: str = "Injection site reaction",
) -> SafetyEvent:
    event = event_from_values(
        key,
        participant,
        arm,
        {
            "ae_term": term,
            "ae_onset": date(2025, 4, 1),
            "ae_grade": grade,
            "ae_serious": serious,
            "ae_relation": relation,
        },
    )
    assert event is not None
    return event


def test_every_shipped_rule_is_read(studies: dict[str, Study]) -> None:
    expected = {PSO: ["S1", "S2"], IBD: ["S1", "S2", "S3"], UCM: ["S1", "S2", "S3"]}
    for ref, study in studies.items():
        assert [r.id for r in study.safety.stopping_rules] == expected[ref]


def test_psoriasis_exosomes_pauses_the_dose_group_at_a_related_grade_3(
    studies: dict[str, Study],
) -> None:
    rules = studies[PSO].safety.stopping_rules
    mild = [
        ae("e1", "PSO-01", "G50", grade=2, relation="definite"),
        ae("e2", "PSO-02", "G100", grade=3, relation="not_related"),
        ae("e3", "PSO-03", "G100", grade=4, relation="unlikely"),
    ]
    assert evaluate(rules, mild) == []
    (firing,) = evaluate(rules, [*mild, ae("e4", "PSO-04", "G100", grade=3, relation="possible")])
    assert (firing.rule_id, firing.action, firing.target) == ("S1", "pause_arm", "G100")
    pauses = what_is_paused([firing])
    assert pauses.arms == {"G100": ("S1",)}
    assert pauses.enrolment_blocked_by("G100") == ("S1",)
    assert pauses.enrolment_blocked_by("G200") == ()
    assert pauses.dosing_blocked_by("PSO-05", "G50") == ()


def test_psoriasis_exosomes_pauses_all_enrolment_at_a_related_serious_event(
    studies: dict[str, Study],
) -> None:
    rules = studies[PSO].safety.stopping_rules
    firings = evaluate(
        rules, [ae("e1", "PSO-01", "G200", grade=2, relation="probable", serious=True)]
    )
    assert [(f.rule_id, f.scope, f.target) for f in firings] == [("S2", "study", None)]
    pauses = what_is_paused(firings)
    assert pauses.enrolment == ("S2",)
    assert pauses.arms == {}


@pytest.mark.parametrize("ref", [IBD, UCM])
def test_cell_studies_stop_the_participant_at_a_related_grade_3(
    studies: dict[str, Study], ref: str
) -> None:
    rules = studies[ref].safety.stopping_rules
    arm = studies[ref].arms[0].id
    firings = evaluate(
        rules,
        [
            ae("e1", "X-01", arm, grade=3, relation="probable"),
            ae("e2", "X-02", arm, grade=2, relation="definite"),
        ],
    )
    assert [(f.rule_id, f.action, f.target) for f in firings] == [
        ("S1", "stop_participant_dosing", "X-01")
    ]
    pauses = what_is_paused(firings)
    assert pauses.dosing_blocked_by("X-01", arm) == ("S1",)
    assert pauses.dosing_blocked_by("X-02", arm) == ()
    assert not pauses.enrolment_paused


@pytest.mark.parametrize("ref", [IBD, UCM])
def test_cell_studies_pause_enrolment_at_a_related_serious_event(
    studies: dict[str, Study], ref: str
) -> None:
    rules = studies[ref].safety.stopping_rules
    arm = studies[ref].arms[0].id
    firings = evaluate(rules, [ae("e1", "X-01", arm, grade=4, relation="definite", serious=True)])
    assert [(f.rule_id, f.target) for f in firings] == [
        ("S1", "X-01"),
        ("S2", None),
        ("S3", None),
    ]
    pauses = what_is_paused(firings)
    assert pauses.enrolment == ("S2",)
    assert pauses.dosing == ("S3",)
    assert pauses.participants == {"X-01": ("S1",)}


def test_a_grade_3_event_awaiting_causality_fires_provisionally(
    studies: dict[str, Study],
) -> None:
    rules = studies[UCM].safety.stopping_rules
    (firing,) = evaluate(rules, [ae("e1", "X-01", "UCMSC", grade=3, relation=None)])
    assert firing.rule_id == "S1"
    assert firing.provisional
    assert firing.triggers[0].flags == (RELATION_NOT_ASSESSED,)


def test_a_death_with_seriousness_blank_counts_as_serious(studies: dict[str, Study]) -> None:
    rules = studies[IBD].safety.stopping_rules
    firings = evaluate(rules, [ae("e1", "X-01", "EXO", grade=5, relation="possible", serious=None)])
    assert [f.rule_id for f in firings] == ["S1", "S2", "S3"]
    assert firings[1].provisional
    assert "grade 5 is death" in firings[1].triggers[0].flags[0]


def test_a_grade_2_with_seriousness_blank_does_not_pause_enrolment(
    studies: dict[str, Study],
) -> None:
    rules = studies[IBD].safety.stopping_rules
    assert (
        evaluate(rules, [ae("e1", "X-01", "EXO", grade=2, relation="possible", serious=None)]) == []
    )
