"""The Hypothesis profiles of tests/conftest.py: no deadline anywhere, "ci" under CI=true."""

from __future__ import annotations

import os

from hypothesis import given, settings
from hypothesis import strategies as st


def test_no_profile_has_a_deadline() -> None:
    for name in ("dev", "ci"):
        assert settings.get_profile(name).deadline is None, name


def test_ci_profile_is_sized_for_two_cores_and_reproducible() -> None:
    ci = settings.get_profile("ci")
    assert ci.max_examples == 50
    assert ci.derandomize is True
    assert ci.database is None


def test_the_profile_in_use_follows_the_environment() -> None:
    ci = os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}
    expected = os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if ci else "dev")
    assert settings.default == settings.get_profile(expected)
    assert settings.default.deadline is None


@settings(max_examples=3)
@given(st.integers())
def test_a_given_test_inherits_no_deadline(x: int) -> None:
    assert settings.default.deadline is None
    assert isinstance(x, int)
