"""Diagnostics from checking an expression: a stable code, a severity, a message, a column."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from trialkit.criteria.parser import caret

__all__ = ["CODES", "Diagnostic", "Severity"]

Severity = Literal["error", "warning"]

# Every code the checker can report, with what it means (docs/criteria.md lists them too).
CODES: dict[str, str] = {
    "EXPR.E001": "the expression does not parse",
    "EXPR.E002": "unknown item",
    "EXPR.E003": "type mismatch (a date compared with a number, a number used as a condition...)",
    "EXPR.E004": "unit mismatch (units that cannot be converted, or a unit on a unitless item)",
    "EXPR.E005": "unknown unit",
    "EXPR.E006": "unknown function",
    "EXPR.E007": "wrong arguments for a function",
    "EXPR.E008": "a text that is not in the item's code list",
    "EXPR.E009": "the expression is not a yes/no condition",
    "EXPR.E010": "invalid date literal",
    "EXPR.E011": "a criterion with neither an expression nor a judgement item",
    "EXPR.E012": "a judgement item that is unknown or not boolean",
    "EXPR.W001": "uln()/lln() of an item with no study default: needs the candidate's own limit",
}


@dataclass(frozen=True)
class Diagnostic:
    """One finding. ``column`` is 1-based (0 when it concerns the whole criterion)."""

    code: str
    severity: Severity
    message: str
    column: int = 0
    criterion: str | None = None
    source: str | None = None

    def render(self) -> str:
        """``criterion: [CODE] message`` followed by the source with a caret, when known."""
        where = f"{self.criterion}: " if self.criterion else ""
        text = f"{where}[{self.code}] {self.severity}: {self.message}"
        if self.source is not None and self.column > 0 and "\n" not in self.message:
            text += "\n" + caret(self.source, self.column)
        return text
