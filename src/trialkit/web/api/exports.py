"""Every captured value of a study as a stream, and the formatted exports as downloads.

``GET /studies/{study}/values``: the values (:func:`trialkit.services.extract.open_extract`: the
values the exports write, in one read snapshot, the ``ANALYSE`` permission, the caller's sites,
the arm blinded where the caller may not see it) as newline-delimited JSON
(``application/x-ndjson``), one value a line, in the order participant, visit, form, instance;
it is written while the database is read, so memory stays bounded however large the study.

``GET /studies/{study}/exports/{format}``: one of :data:`trialkit.exports.FORMATS`, written by
:func:`trialkit.exports.export` as the token's user (sites, blinding) into a private temporary
folder, then sent as the single file it wrote (ODM, FHIR, ClinicalTrials.gov results) or a zip
of its files (``archive=true``: always a zip). The file sent is unlinked before the first byte
leaves (the open handle keeps it readable), so nothing is left behind however the download
ends, and it is read in chunks: memory stays bounded by what the export itself holds.

Refusals (no permission, no such study, an ``as_of`` the format cannot honour) come before the
first byte, as the envelope with their status.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import weakref
import zipfile
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path as FilePath
from typing import Annotated, BinaryIO, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from starlette.background import BackgroundTask

from trialkit.exports import FORMATS, export
from trialkit.services.extract import open_extract
from trialkit.web.api.auth import Auth
from trialkit.web.api.errors import READ_ERRORS
from trialkit.web.api.paging import Page
from trialkit.web.api.params import StudyPath

__all__ = ["ExportFormatOut", "ValueOut", "router"]

router = APIRouter(tags=["exports"], responses=READ_ERRORS)

NDJSON = "application/x-ndjson"


class ValueOut(BaseModel):
    """One line: an item value (canonical text) or a documented absence (``missing_reason``)."""

    participant: str
    site: str
    arm: str
    visit: str
    visit_date: str
    form: str
    instance: str
    group: str
    item: str
    value: str
    unit: str
    missing_reason: str
    protocol_version: str
    derived: bool


_FIELDS = tuple(ValueOut.model_fields)


@router.get(
    "/studies/{study}/values",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "One JSON object a line (see ValueOut)",
            "content": {NDJSON: {"schema": {"$ref": "#/components/schemas/ValueOut"}}},
        }
    },
    summary="Every captured value of the study, streamed",
)
def study_values(
    call: Auth,
    study: StudyPath,
    as_of: Annotated[
        datetime | None, Query(description="The data as they stood then (site's clock).")
    ] = None,
) -> StreamingResponse:
    stack = ExitStack()
    extract = stack.enter_context(open_extract(call.db, call.ctx, study, as_of=as_of))

    def lines() -> Iterator[bytes]:
        try:
            for batch in extract.form_batches():
                yield b"".join(
                    json.dumps(dict(zip(_FIELDS, v, strict=False)), ensure_ascii=False).encode()
                    + b"\n"
                    for v in batch
                )
        finally:
            stack.close()

    return StreamingResponse(lines(), media_type=NDJSON, background=BackgroundTask(stack.close))


# The formatted exports.

Format = Literal["csv", "stata", "xpt", "odm", "fhir", "ipd", "ctgov-results", "sdtm"]
assert set(Format.__args__) == set(FORMATS)  # type: ignore[attr-defined]

#: The media type of a single file sent as it is, by its suffix.
_MEDIA = {
    ".xml": "application/xml",
    ".json": "application/json",
    ".csv": "text/csv",
    ".dta": "application/x-stata-dta",
    ".xpt": "application/x-sas-xport",
}
ZIP = "application/zip"
FHIR_JSON = "application/fhir+json"
_BINARY = {"schema": {"type": "string", "format": "binary"}}
_JSON = {
    "schema": {
        "type": "object",
        "description": "The export's JSON file: a FHIR R4 Bundle, or ClinicalTrials.gov results",
    }
}
_CHUNK = 1 << 16


class ExportFormatOut(BaseModel):
    format: str
    description: str


@router.get(
    "/exports/formats",
    response_model=Page[ExportFormatOut],
    summary="The export formats (docs/exports.md)",
)
def export_formats(call: Auth) -> Page[ExportFormatOut]:
    items = [ExportFormatOut(format=name, description=text) for name, (_, text) in FORMATS.items()]
    return Page[ExportFormatOut](items=items, next_cursor=None)


def _chunks(handle: BinaryIO) -> Iterator[bytes]:
    try:
        while chunk := handle.read(_CHUNK):
            yield chunk
    finally:
        handle.close()


def _media(path: FilePath) -> str:
    return _MEDIA.get(path.suffix.lower(), "application/octet-stream")


def _zip(files: list[FilePath], root: FilePath, target: FilePath) -> None:
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for f in files:
            archive.write(f, f.relative_to(root).as_posix())


@router.get(
    "/studies/{study}/exports/{format}",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "The export: its single file, or a zip of its files",
            "content": {
                ZIP: _BINARY,
                **{m: _JSON if m.endswith("json") else _BINARY for m in sorted(_MEDIA.values())},
                FHIR_JSON: _JSON,
                "application/octet-stream": _BINARY,
            },
            "headers": {
                "Content-Disposition": {
                    "description": "attachment, with the file's name",
                    "schema": {"type": "string"},
                },
                "X-Trialkit-Participants": {
                    "description": "How many participants the export holds",
                    "schema": {"type": "integer"},
                },
            },
        }
    },
    summary="A formatted export of the study, downloaded (a file, or a zip of its files)",
)
def study_export(
    call: Auth,
    study: StudyPath,
    format: Annotated[Format, Path(description="The export format (docs/exports.md).")],
    as_of: Annotated[
        datetime | None,
        Query(description="The data as they stood then (site's clock); not for ctgov-results."),
    ] = None,
    archive: Annotated[
        bool, Query(description="Always a zip, even of an export that writes one file.")
    ] = False,
) -> StreamingResponse:
    work = FilePath(tempfile.mkdtemp(prefix="trialkit-export-"))
    try:
        out = work / "files"
        result = export(call.db, call.ctx, study, format, out, as_of=as_of)
        files = sorted(p for p in out.rglob("*") if p.is_file())
        stamp = "" if as_of is None else "-as-of-" + as_of.strftime("%Y%m%dT%H%M%S")
        if len(files) == 1 and not archive:
            path, media = files[0], FHIR_JSON if format == "fhir" else _media(files[0])
            name = f"{study}{stamp}-{files[0].name}"
        else:
            path, media, name = work / "export.zip", ZIP, f"{study}-{format}{stamp}.zip"
            _zip(files, out, path)
        handle = path.open("rb")
        size = os.fstat(handle.fileno()).st_size
    finally:
        shutil.rmtree(work, ignore_errors=True)  # an open handle keeps its file readable
    headers = {
        "content-disposition": f'attachment; filename="{name}"',
        "content-length": str(size),
        "cache-control": "no-store",
        "x-trialkit-participants": str(result.participants),
    }
    response = StreamingResponse(
        _chunks(handle), media_type=media, headers=headers, background=BackgroundTask(handle.close)
    )
    # a download abandoned before its first chunk (a client gone) never runs the generator or
    # the background task: the file is closed when the response is collected
    weakref.finalize(response, handle.close)
    return response
