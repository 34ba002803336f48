"""What an import gives back: a draft study and what it could not map."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from trialkit.protocol import Study

__all__ = ["ImportResult", "SourceFormat"]


class SourceFormat(StrEnum):
    IRCT_TEXT = "irct_text"
    """The text export of an IRCT (Iranian Registry of Clinical Trials) record page."""
    CTGOV_V2 = "ctgov_v2_json"
    """A ClinicalTrials.gov API v2 single-study JSON document."""


@dataclass(frozen=True)
class ImportResult:
    """A draft study (valid, not yet runnable) and what the record stated but it could not map."""

    study: Study
    unmapped: list[str] = field(default_factory=list)
    source_format: SourceFormat = SourceFormat.IRCT_TEXT
