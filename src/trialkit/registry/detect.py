"""Tell which registry format a record's text is in."""

from __future__ import annotations

from trialkit.errors import ImportFailed
from trialkit.registry.result import SourceFormat

__all__ = ["detect_format"]


def detect_format(text: str) -> SourceFormat:
    """The format of ``text``: ClinicalTrials.gov JSON (an object) or an IRCT record page export.

    Raises :class:`~trialkit.errors.ImportFailed` naming the first line when it is neither.
    """
    stripped = text.lstrip("\ufeff \t\r\n")
    if stripped.startswith(("{", "[")):
        return SourceFormat.CTGOV_V2
    head = stripped[:2000]
    if "Iranian Registry of Clinical Trials" in head or "IRCT registration number" in text:
        return SourceFormat.IRCT_TEXT
    first = stripped.splitlines()[0][:80] if stripped else "(nothing)"
    line = text[: len(text) - len(stripped)].count("\n") + 1
    raise ImportFailed(
        f"line {line}: {first!r} starts neither a ClinicalTrials.gov JSON record nor an IRCT "
        "record page export",
        code="IMPORT.E001",
        hint="give the JSON from clinicaltrials.gov/api/v2/studies/<NCT id>, or the text export "
        "of an IRCT record page",
    )
