from __future__ import annotations

from trialkit.registry.schedule_text import Administration, find_administrations, find_follow_up


def test_day_one_vials_then_later_days() -> None:
    text = (
        "On day 1, 3 vials of exosomes with an interval of 8 hours, then one vial daily on "
        "days 2, 3, 10 and 21"
    )
    assert find_administrations(text) == [
        Administration(1, 0),
        Administration(1, 8),
        Administration(1, 16),
        Administration(2),
        Administration(3),
        Administration(10),
        Administration(21),
    ]


def test_intervals_past_midnight_roll_to_the_next_day() -> None:
    text = "on day 1, 4 vials with an interval of 8 hours"
    assert find_administrations(text)[-1] == Administration(2, 0)


def test_single_injection_and_nothing_stated() -> None:
    assert find_administrations("Single intra-dermal injection of 50 µg") == [Administration(1)]
    assert find_administrations("weekly for a while") == []


def test_follow_up_after_last_dose() -> None:
    visits = find_follow_up("until 3 months on days 7, 30, 60 and 90 after the last dose.")
    assert [(v.anchor, v.days) for v in visits] == [("last_dose", d) for d in (7, 30, 60, 90)]


def test_weekly_then_monthly_follow_up_states_its_assumptions() -> None:
    visits = find_follow_up(
        "Before intervention, every week up to 1 month, and every month up to 3 months"
    )
    assert [v.days for v in visits] == [7, 14, 21, 28, 60, 90]
    assert all(v.anchor == "first_dose" and v.assumed for v in visits)
