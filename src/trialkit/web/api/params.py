"""The path parameters every resource shares, with the shapes identifiers take, and the shape
of a time: trialkit stores the trial's times naive, on the site's clock (docs/storage.md), so a
time leaves as ISO 8601 without an offset (``2025-06-02T10:00:00``), which is not RFC 3339's
``date-time``; the schema says so with a pattern instead of claiming that format."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Path, Query
from pydantic import WithJsonSchema

__all__ = [
    "FormPath",
    "Instance",
    "LocalDateTime",
    "ParticipantPath",
    "StudyPath",
    "VisitPath",
]

_ID = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$"

StudyPath = Annotated[str, Path(pattern=_ID, description="The study's code.")]
ParticipantPath = Annotated[str, Path(pattern=_ID, description="The participant id.")]
VisitPath = Annotated[str, Path(pattern=_ID, description="The visit key of the schedule.")]
FormPath = Annotated[str, Path(pattern=_ID, description="The form id of the protocol.")]
Instance = Annotated[
    int, Query(ge=1, le=10_000, description="The instance number of a repeating form.")
]

LocalDateTime = Annotated[
    datetime,
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?$",
            "description": "A time on the site's clock, ISO 8601 without an offset.",
            "examples": ["2025-06-02T10:00:00"],
        }
    ),
]
