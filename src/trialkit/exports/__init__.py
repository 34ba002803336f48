"""Data exports that other tools open: ``trialkit export STUDY --format F --out DIR``.

Every export reads the study through :func:`trialkit.services.extract.open_extract` (the
caller's permission, sites and blinding; one read snapshot; values streamed) and writes files
into one folder. Formats: :data:`FORMATS`; each is described, with what it keeps and what it
loses, in docs/exports.md.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from trialkit.exports.base import ExportError, ExportResult, Progress, no_progress
from trialkit.services.context import Context
from trialkit.services.extract import Extract, open_extract
from trialkit.store import Database

__all__ = ["FORMATS", "ExportError", "ExportResult", "Progress", "export"]

Writer = Callable[[Extract, Path, Progress], ExportResult]


def _csv(extract: Extract, out: Path, progress: Progress) -> ExportResult:
    from trialkit.exports.csv_export import write_csv

    return write_csv(extract, out, progress)


def _stata(extract: Extract, out: Path, progress: Progress) -> ExportResult:
    from trialkit.exports.readstat import write_stata

    return write_stata(extract, out, progress)


def _xpt(extract: Extract, out: Path, progress: Progress) -> ExportResult:
    from trialkit.exports.readstat import write_xpt

    return write_xpt(extract, out, progress)


def _odm(extract: Extract, out: Path, progress: Progress) -> ExportResult:
    from trialkit.exports.odm import write_odm

    return write_odm(extract, out, progress)


def _sdtm(extract: Extract, out: Path, progress: Progress) -> ExportResult:
    from trialkit.exports.sdtm import write_sdtm

    return write_sdtm(extract, out, progress)


def _ctgov(extract: Extract, out: Path, progress: Progress) -> ExportResult:
    from trialkit.exports.ctgov_results import write_ctgov_results

    return write_ctgov_results(extract, out, progress)


def _ipd(extract: Extract, out: Path, progress: Progress) -> ExportResult:
    from trialkit.exports.ipd import write_ipd

    return write_ipd(extract, out, progress)


def _fhir(extract: Extract, out: Path, progress: Progress) -> ExportResult:
    from trialkit.exports.fhir import write_fhir

    return write_fhir(extract, out, progress)


#: format name -> (writer, one line of description).
FORMATS: dict[str, tuple[Writer, str]] = {
    "csv": (_csv, "long and wide CSV with a data dictionary"),
    "stata": (_stata, "Stata .dta, one dataset per form, labels and value labels"),
    "xpt": (_xpt, "SAS transport v5 (.xpt), one dataset per form, with a PROC FORMAT file"),
    "odm": (_odm, "CDISC ODM 1.3.2: metadata, clinical data, audit records, signatures"),
    "fhir": (_fhir, "a FHIR R4 Bundle (R4B resources): study, subjects, observations, AEs, doses"),
    "ipd": (_ipd, "de-identified participant data: pseudonyms, shifted dates, risk summary"),
    "ctgov-results": (_ctgov, "ClinicalTrials.gov results modules (API v2 JSON) from the analysis"),
    "sdtm": (_sdtm, "CDISC SDTM datasets (.xpt) with define.xml 2.0: subject and design domains"),
}


def export(
    db: Database,
    ctx: Context,
    study_code: str,
    fmt: str,
    out: Path,
    *,
    as_of: datetime | None = None,
    progress: Progress = no_progress,
) -> ExportResult:
    """Write ``study_code`` in format ``fmt`` into the folder ``out`` (created if missing)."""
    if fmt not in FORMATS:
        raise ExportError(
            f"export format {fmt!r} is not known",
            code="EXPORT.E002",
            hint="use one of: " + ", ".join(FORMATS),
        )
    if out.exists() and not out.is_dir():
        raise ExportError(
            f"--out {out} is a file, not a folder",
            code="EXPORT.E003",
            hint="give a folder (it is created if it does not exist)",
        )
    out.mkdir(parents=True, exist_ok=True)
    writer, _ = FORMATS[fmt]
    with open_extract(db, ctx, study_code, as_of=as_of) as extract:
        return writer(extract, out, progress)
