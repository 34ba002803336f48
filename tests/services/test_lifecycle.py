"""Every allowed and every refused lifecycle transition."""

from __future__ import annotations

import itertools

import pytest

from trialkit.errors import TransitionError
from trialkit.services import TRANSITIONS, Status, Step, allowed_steps, next_status

EXPECTED = {
    ("screening", "consent"): "consented",
    ("screening", "screen_fail"): "screen_failed",
    ("consented", "screen_fail"): "screen_failed",
    ("consented", "enrol"): "enrolled",
    ("consented", "withdraw"): "withdrawn",
    ("enrolled", "start"): "on_study",
    ("enrolled", "withdraw"): "withdrawn",
    ("enrolled", "lose"): "lost_to_follow_up",
    ("on_study", "complete"): "completed",
    ("on_study", "withdraw"): "withdrawn",
    ("on_study", "lose"): "lost_to_follow_up",
}


def test_the_table_is_the_documented_one() -> None:
    assert {(s.value, t.value): n.value for (s, t), n in TRANSITIONS.items()} == EXPECTED


@pytest.mark.parametrize(("state", "step"), list(itertools.product(Status, Step)))
def test_each_pair_is_allowed_or_refused_clearly(state: Status, step: Step) -> None:
    expected = EXPECTED.get((state.value, step.value))
    if expected is not None:
        assert next_status(state, step).value == expected
        return
    with pytest.raises(TransitionError) as err:
        next_status(state, step)
    message = str(err.value)
    assert f"participant is {state.value}: cannot {step.value}" in message
    allowed = allowed_steps(state)
    if allowed:
        assert all(s.value in message for s in allowed)
    else:
        assert "none (a final state)" in message


def test_final_states_have_no_way_out() -> None:
    for final in (Status.COMPLETED, Status.WITHDRAWN, Status.LOST_TO_FOLLOW_UP):
        assert allowed_steps(final) == []
    assert allowed_steps(Status.SCREEN_FAILED) == []
