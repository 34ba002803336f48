"""Every captured value of a study as a stream (:func:`trialkit.services.extract.open_extract`:
the values the exports write, in one read snapshot, the ``ANALYSE`` permission, the caller's
sites, the arm blinded where the caller may not see it).

The answer is newline-delimited JSON (``application/x-ndjson``), one value a line, in the order
participant, visit, form, instance; it is written while the database is read, so memory stays
bounded however large the study. Refusals (no permission, no such study) come before the first
line, as the envelope with their status.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from starlette.background import BackgroundTask

from trialkit.services.extract import open_extract
from trialkit.web.api.auth import Auth
from trialkit.web.api.errors import READ_ERRORS
from trialkit.web.api.params import StudyPath

__all__ = ["ValueOut", "router"]

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
