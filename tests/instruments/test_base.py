from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from trialkit.errors import ValidationFailed
from trialkit.instruments import PAIN_NRS, PAIN_VAS, Instrument, ItemDef, parse_decimal
from trialkit.instruments._numbers import fraction_to_decimal, is_terminating
from trialkit.instruments.base import Value
from trialkit.instruments.cdai import CDAI
from trialkit.instruments.result import ScoreResult


def test_float_is_refused_with_the_fix() -> None:
    with pytest.raises(ValidationFailed) as info:
        PAIN_VAS.score({"pain_vas_mm": 12.5})
    assert "binary float" in str(info.value)
    assert "'12.5'" in str(info.value)
    assert info.value.errors["pain_vas_mm"]


def test_text_int_and_decimal_are_accepted() -> None:
    assert PAIN_VAS.score({"pain_vas_mm": "12.5"}).value == Decimal("12.5")
    assert PAIN_VAS.score({"pain_vas_mm": 12}).value == Decimal(12)
    assert PAIN_VAS.score({"pain_vas_mm": Decimal("0.1")}).value == Decimal("0.1")


@pytest.mark.parametrize("raw", ["abc", "nan", "inf", True, [1]])
def test_non_numbers_are_refused(raw: object) -> None:
    with pytest.raises(ValidationFailed):
        PAIN_NRS.score({"pain_nrs": raw})


def test_integer_items_refuse_fractions_but_accept_integral_text() -> None:
    with pytest.raises(ValidationFailed, match="not a whole number"):
        PAIN_NRS.score({"pain_nrs": "3.5"})
    assert PAIN_NRS.score({"pain_nrs": "3.0"}).value == Decimal(3)


def test_range_message_names_item_value_and_fix() -> None:
    with pytest.raises(ValidationFailed) as info:
        PAIN_NRS.score({"pain_nrs": 11})
    msg = str(info.value)
    assert "pain_nrs" in msg
    assert "11" in msg
    assert "0..10" in msg
    assert "enter a whole number from 0 to 10" in msg


def test_unknown_item_is_an_error_not_ignored() -> None:
    with pytest.raises(ValidationFailed, match="unknown item 'pain'"):
        PAIN_NRS.score({"pain": 3})


def test_blank_and_none_are_missing() -> None:
    assert PAIN_NRS.score({"pain_nrs": None}).missing == ["pain_nrs"]
    assert PAIN_NRS.score({"pain_nrs": "  "}).missing == ["pain_nrs"]


def test_unknown_and_bad_options() -> None:
    with pytest.raises(ValidationFailed, match="unknown option"):
        PAIN_NRS.score({"pain_nrs": 1}, {"x": 1})
    with pytest.raises(ValidationFailed, match="not a whole number"):
        CDAI.score({}, {"min_diary_days": "6.5"})


def test_parse_decimal() -> None:
    assert parse_decimal(" 2.50 ", "x") == Decimal("2.50")
    with pytest.raises(ValueError, match="binary float"):
        parse_decimal(0.1, "x")


def test_fraction_to_decimal() -> None:
    from fractions import Fraction

    assert fraction_to_decimal(Fraction(3, 4)) == Decimal("0.75")
    assert str(fraction_to_decimal(Fraction(1, 3))) == "0.333333"
    assert str(fraction_to_decimal(Fraction(-2, 3))) == "-0.666667"
    assert fraction_to_decimal(Fraction(160)) == Decimal(160)
    assert is_terminating(Fraction(1, 40))
    assert not is_terminating(Fraction(1, 7))


class _Echo(Instrument):
    """An instrument with one item of each converted type, returning the parsed values."""

    name = "echo"
    title = "Echo"
    version = "test"
    reference = "test"
    has_total = False
    items = (
        ItemDef(name="flag", label="Flag", data_type="boolean", required=False),
        ItemDef(name="when", label="When", data_type="date", required=False),
        ItemDef(name="note", label="Note", data_type="text", required=False),
    )

    def _score(self, values: dict[str, Value], options: dict[str, object]) -> ScoreResult:
        self.seen = dict(values)
        return ScoreResult(instrument=self.name, version=self.version, value=None)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (True, True),
        (False, False),
        (1, True),
        (0, False),
        ("yes", True),
        ("No", False),
        (" TRUE ", True),
        ("false", False),
        ("1", True),
        ("0", False),
    ],
)
def test_yes_no_from_text_or_0_1(raw: object, expected: bool) -> None:
    echo = _Echo()
    echo.score({"flag": raw})
    assert echo.seen == {"flag": expected}


@pytest.mark.parametrize("raw", [2, "maybe", "y", 1.0, "2"])
def test_yes_no_refuses_anything_else(raw: object) -> None:
    with pytest.raises(ValidationFailed, match=r"item 'flag' value .* is not yes/no; enter true"):
        _Echo().score({"flag": raw})


def test_dates_from_iso_text_or_a_date() -> None:
    echo = _Echo()
    echo.score({"when": " 2025-03-03 "})
    assert echo.seen == {"when": dt.date(2025, 3, 3)}
    echo.score({"when": dt.date(2024, 2, 29)})
    assert echo.seen == {"when": dt.date(2024, 2, 29)}
    for bad in ("2025-02-30", "03/03/2025", 20250303):
        with pytest.raises(ValidationFailed, match="is not a date; enter YYYY-MM-DD"):
            echo.score({"when": bad})


def test_text_is_kept_as_entered_and_blank_is_absent() -> None:
    echo = _Echo()
    echo.score({"note": "  as entered  "})
    assert echo.seen == {"note": "  as entered  "}
    echo.score({"note": "   ", "flag": None})
    assert echo.seen == {}
    with pytest.raises(ValidationFailed, match="item 'note' value 12 is not text"):
        echo.score({"note": 12})
