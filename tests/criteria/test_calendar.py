from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from trialkit.criteria.calendar import days_between, months_between, years_between


def test_months_between_examples() -> None:
    assert months_between(date(2023, 1, 15), date(2023, 7, 15)) == 6
    assert months_between(date(2023, 1, 15), date(2023, 7, 14)) == 5
    assert months_between(date(2023, 1, 31), date(2023, 2, 28)) == 1  # last day of February
    assert months_between(date(2024, 1, 31), date(2024, 2, 28)) == 0  # 29 Feb exists in 2024
    assert months_between(date(2024, 1, 31), date(2024, 2, 29)) == 1
    assert months_between(date(2023, 8, 31), date(2024, 2, 29)) == 6
    assert months_between(date(2023, 7, 15), date(2023, 1, 15)) == -6


def test_years_and_age() -> None:
    assert years_between(date(2000, 2, 29), date(2018, 2, 28)) == 18
    assert years_between(date(2000, 3, 1), date(2018, 2, 28)) == 17
    assert years_between(date(2007, 6, 1), date(2025, 6, 1)) == 18
    assert years_between(date(2007, 6, 2), date(2025, 6, 1)) == 17
    assert years_between(date(2025, 6, 1), date(2007, 6, 2)) == -17


def test_days_between() -> None:
    assert days_between(date(2024, 2, 1), date(2024, 3, 1)) == 29


dates = st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31))


@given(dates, dates)
def test_months_antisymmetric_and_consistent_with_days(a: date, b: date) -> None:
    assert months_between(a, b) == -months_between(b, a)
    m = months_between(a, b)
    if m > 0:
        assert days_between(a, b) >= 28 * m
    assert years_between(a, b) == (m // 12 if m >= 0 else -((-m) // 12))


@given(dates, st.integers(min_value=0, max_value=400))
def test_months_never_decrease_as_end_moves_on(a: date, k: int) -> None:
    b = a + timedelta(days=k)
    assert months_between(a, b) <= months_between(a, b + timedelta(days=1))
