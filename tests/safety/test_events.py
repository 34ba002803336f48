"""Reading one adverse-event row into a SafetyEvent."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from trialkit.errors import ValidationFailed
from trialkit.safety import (
    NOT_RELATED_CODES,
    RELATED_CODES,
    SafetyEvent,
    event_from_values,
    normalise_term,
)
from trialkit.services import tidy

ROW: dict[str, object] = {
    "ae_term": "Infusion reaction",
    "ae_onset": date(2025, 3, 4),
    "ae_end": None,
    "ae_grade": 3,
    "ae_serious": False,
    "ae_relation": "probable",
}


def _event(**changes: object) -> SafetyEvent | None:
    return event_from_values("form_instance:12/AE/1", "P-001", "G50", {**ROW, **changes})


def test_a_complete_row() -> None:
    assert _event() == SafetyEvent(
        key="form_instance:12/AE/1",
        participant="P-001",
        arm="G50",
        term="Infusion reaction",
        grade=3,
        serious=False,
        related=True,
        onset=date(2025, 3, 4),
    )


def test_relation_codes_live_here_and_tidy_keeps_its_names() -> None:
    assert frozenset({"possible", "probable", "definite"}) == RELATED_CODES
    assert frozenset({"not_related", "unlikely"}) == NOT_RELATED_CODES
    assert tidy.RELATED_CODES is RELATED_CODES
    assert tidy.NOT_RELATED_CODES is NOT_RELATED_CODES


@pytest.mark.parametrize("code", sorted(RELATED_CODES))
def test_related_codes(code: str) -> None:
    event = _event(ae_relation=code)
    assert event is not None
    assert event.related is True


@pytest.mark.parametrize("code", sorted(NOT_RELATED_CODES))
def test_not_related_codes(code: str) -> None:
    event = _event(ae_relation=code)
    assert event is not None
    assert event.related is False


@pytest.mark.parametrize("relation", [None, "unassessable", "Possible", ""])
def test_missing_or_unknown_relation_is_not_assessed(relation: object) -> None:
    event = _event(ae_relation=relation)
    assert event is not None
    assert event.related is None


def test_missing_items_are_not_entered() -> None:
    event = event_from_values("k", "P-001", None, {"ae_grade": 2})
    assert event == SafetyEvent("k", "P-001", None, "", 2, None, None, None)


def test_missing_grade_is_not_countable() -> None:
    assert _event(ae_grade=None) is None
    assert event_from_values("k", "P-001", "G50", {"ae_serious": True}) is None


def test_datetime_onset_keeps_its_date() -> None:
    event = _event(ae_onset=datetime(2025, 3, 4, 23, 50))
    assert event is not None
    assert event.onset == date(2025, 3, 4)


@pytest.mark.parametrize(
    ("item", "value"),
    [
        ("ae_grade", 0),
        ("ae_grade", 6),
        ("ae_grade", "3"),
        ("ae_grade", True),
        ("ae_serious", "yes"),
        ("ae_onset", "2025-03-04"),
    ],
)
def test_wrong_types_are_refused_with_the_item_and_value(item: str, value: object) -> None:
    with pytest.raises(ValidationFailed) as caught:
        _event(**{item: value})
    assert caught.value.code == "SAFETY.E001"
    assert item in caught.value.message
    assert repr(value) in caught.value.message
    assert "form_instance:12/AE/1" in caught.value.message
    assert caught.value.errors == {item: [caught.value.errors[item][0]]}


@pytest.mark.parametrize("grade", [0, 6, -1])
def test_an_event_has_a_ctcae_grade(grade: int) -> None:
    with pytest.raises(ValueError, match="grade"):
        SafetyEvent("k", "P", None, "x", grade, None, None)


def test_summary_is_json_able_and_names_no_participant() -> None:
    event = _event()
    assert event is not None
    summary = event.summary()
    assert summary == {
        "key": "form_instance:12/AE/1",
        "term": "Infusion reaction",
        "grade": 3,
        "serious": False,
        "related": True,
        "onset": "2025-03-04",
        "arm": "G50",
    }
    assert "P-001" not in repr(summary)


@pytest.mark.parametrize(
    ("term", "normal"),
    [
        ("Infusion reaction", "infusion reaction"),
        ("  INFUSION\t reaction \n", "infusion reaction"),
        ("", ""),
    ],
)
def test_normalise_term(term: str, normal: str) -> None:
    assert normalise_term(term) == normal
