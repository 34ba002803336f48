"""What every export shares: its result, the progress callback, and the error it raises."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from trialkit.errors import ValidationFailed

__all__ = [
    "ExportError",
    "ExportResult",
    "Progress",
    "no_progress",
]

#: Called with (form instances done, form instances in all) while an export reads.
Progress = Callable[[int, int], None]


def no_progress(done: int, total: int) -> None:
    """The progress callback that shows nothing."""


class ExportError(ValidationFailed):
    """An export that cannot be written (an unknown format, an output that is not a folder)."""


@dataclass
class ExportResult:
    """The files one export wrote and what they hold (counts only: no participant ids)."""

    format: str
    files: list[Path] = field(default_factory=list)
    participants: int = 0
    values: int = 0
    notes: list[str] = field(default_factory=list)
