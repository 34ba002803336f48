"""The documented list of functions an expression may call (the checker knows no others)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["FUNCTIONS", "FunctionDoc"]


@dataclass(frozen=True)
class FunctionDoc:
    signature: str
    returns: str
    description: str


FUNCTIONS: dict[str, FunctionDoc] = {
    "uln": FunctionDoc(
        "uln(item)",
        "number, in the item's unit",
        "Upper limit of normal of a lab item: the candidate's `<item>_uln` value if present, "
        "else the study's default range.",
    ),
    "lln": FunctionDoc(
        "lln(item)",
        "number, in the item's unit",
        "Lower limit of normal: the candidate's `<item>_lln` value if present, else the "
        "study's default.",
    ),
    "days_between": FunctionDoc(
        "days_between(start, end)",
        "whole days (unit days)",
        "end minus start in days; negative when end is before start.",
    ),
    "months_between": FunctionDoc(
        "months_between(start, end)",
        "whole months",
        "Completed calendar months from start to end. A month is complete on the same day of "
        "the month, or on the last day of a shorter month (31 Jan to 28 Feb is one month). "
        "Negative when end is before start.",
    ),
    "years_between": FunctionDoc(
        "years_between(start, end)",
        "whole years (unit years)",
        "Completed years: months_between(start, end) divided by 12, rounded toward zero.",
    ),
    "age_at": FunctionDoc(
        "age_at(birth_date, date)",
        "whole years (unit years)",
        "Age in completed years on date (a 29 February birthday completes on 28 February).",
    ),
    "days_since": FunctionDoc(
        "days_since(date)",
        "whole days (unit days)",
        "days_between(date, as_of), where as_of is the evaluation date passed in.",
    ),
    "months_since": FunctionDoc(
        "months_since(date)",
        "whole months",
        "months_between(date, as_of).",
    ),
    "date": FunctionDoc(
        'date("YYYY-MM-DD")',
        "date",
        "A date literal written in ISO form.",
    ),
    "abs": FunctionDoc("abs(number)", "number, same unit", "Absolute value."),
}
