"""Import a registry record file as a draft study."""

from __future__ import annotations

import json
from pathlib import Path

from trialkit.errors import ImportFailed, NotFound
from trialkit.registry.ctgov import parse_ctgov
from trialkit.registry.detect import detect_format
from trialkit.registry.irct import parse_irct
from trialkit.registry.result import ImportResult, SourceFormat

__all__ = ["import_record", "import_text"]


def import_text(text: str, *, source: str = "<record>") -> ImportResult:
    """A draft study from a record's text, in whichever supported format it is."""
    fmt = detect_format(text)
    if fmt is SourceFormat.IRCT_TEXT:
        return parse_irct(text, source=source)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportFailed(
            f"{source}: line {exc.lineno}, column {exc.colno}: not valid JSON ({exc.msg}); "
            "the file looks truncated or edited",
            code="IMPORT.E002",
            hint="download the record again from clinicaltrials.gov/api/v2/studies/<NCT id>",
        ) from exc
    return parse_ctgov(data, source=source)


def import_record(path: str | Path) -> ImportResult:
    """A draft study from a registry record file (IRCT text export or ClinicalTrials.gov JSON)."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError as exc:
        raise NotFound(f"record file {str(p)!r} does not exist", code="IMPORT.E003") from exc
    except IsADirectoryError as exc:
        raise ImportFailed(
            f"{str(p)!r} is a folder, not a record file", code="IMPORT.E003"
        ) from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ImportFailed(
            f"{p}: line {line}: not UTF-8 text (byte {raw[exc.start]:#04x})",
            code="IMPORT.E004",
            hint="save the record as UTF-8",
        ) from exc
    return import_text(text, source=str(p))
