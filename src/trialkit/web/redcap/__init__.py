"""The REDCap-compatible endpoint: ``POST /redcap/api/`` with form fields, as REDCap serves it.

Clients written for REDCap (PyCap, REDCapR, curl scripts) read and write a trialkit study with
a REDCap token (``trialkit token create USER --study ID --redcap``): the token names the user
and the study, and every call runs through the services as that user, so role, site and
blinding apply exactly as on the pages. The endpoint reads no cookie (the token is the only
credential), which is why it alone is exempt from the CSRF check (:mod:`trialkit.web.app`).

The mapping of REDCap's concepts onto trialkit's is :mod:`trialkit.web.redcap.mapping`; the
project's description :mod:`.metadata`; record export :mod:`.records`, import
:mod:`.imports`; the log :mod:`.log`; request
and reply conventions :mod:`.reply`. docs/api.md documents it for users.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Callable
from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from trialkit import __version__
from trialkit.errors import AccessDenied, TrialkitError
from trialkit.services import redcap_context
from trialkit.services.context import Context
from trialkit.services.definitions import readable_study
from trialkit.store import Database
from trialkit.web.ratelimit import RateLimits, token_key
from trialkit.web.redcap import imports, log, metadata, records
from trialkit.web.redcap.mapping import ProjectMap
from trialkit.web.redcap.reply import (
    RedcapRefused,
    error_format,
    error_reply,
    format_of,
    listed,
    table,
    text,
)

__all__ = ["CONTENTS", "PATH", "router"]

PATH = "/redcap/api/"
#: Every ``content`` the endpoint serves (``record`` both ways; the others export only).
CONTENTS = (
    "version",
    "project",
    "metadata",
    "instrument",
    "event",
    "arm",
    "formEventMapping",
    "repeatingFormsEvents",
    "exportFieldNames",
    "record",
    "log",
)
router = APIRouter()
_log = logging.getLogger("trialkit.web")

Handler = Callable[[Database, Context, str, ProjectMap, FormData, str], Response]


def _describe(rows: metadata.Rows, fmt: str, *, one: bool = False) -> Response:
    columns, data = rows
    if one and fmt == "json":  # content=project is one object, not a list
        return Response(json.dumps(data[0]), media_type="application/json")
    return table(data, columns, fmt)


def _answer(db: Database, form: FormData, as_of: datetime, limits: RateLimits) -> Response:
    token = form.get("token")
    if not isinstance(token, str) or not token.strip():
        raise AccessDenied("no token was given: send the REDCap API token", code="AUTH.E033")
    ctx, study_code = redcap_context(db, token, as_of)
    decision = limits.tokens.hit(token_key(token.strip().upper()))  # any letter case: one count
    if not decision.allowed:
        raise RedcapRefused(
            f"API.E003: {limits.token_refusal(decision.retry_after)}",
            429,
            {"retry-after": str(decision.retry_after)},
        )
    content = str(form.get("content") or "").strip()
    if content == "version":
        return text(metadata.API_VERSION)
    fmt = format_of(form)
    action = str(form.get("action") or "export").strip().lower()
    if action not in ("export", "import"):
        raise RedcapRefused(f"action {action!r} is not served; records are never deleted here")
    pm = ProjectMap(readable_study(db, ctx, study_code))
    if content == "record":
        if action == "import" or form.get("data") is not None:
            return imports.import_records(db, ctx, study_code, pm, form, fmt)
        return records.export_records(db, ctx, study_code, pm, form, fmt)
    if action == "import":
        raise RedcapRefused(
            f"content={content} cannot be imported here: the protocol defines it (trialkit "
            "study load)"
        )
    if content == "log":
        return log.export_log(db, ctx, study_code, pm, form, fmt)
    if content == "metadata":
        fields, forms = listed(form, "fields"), listed(form, "forms")
        bad = [f for f in fields if f not in pm.by_name and f != "record_id"] + [
            f for f in forms if f not in pm.form_of
        ]
        if bad:
            raise RedcapRefused(f"not fields or instruments of the project: {', '.join(bad)}")
        return _describe(metadata.data_dictionary(pm, fields, forms), fmt)
    described: dict[str, Callable[[], metadata.Rows]] = {
        "project": lambda: metadata.project(pm, study_code),
        "instrument": lambda: metadata.instruments(pm, listed(form, "forms")),
        "event": lambda: metadata.events(pm),
        "arm": lambda: metadata.arms(pm),
        "formEventMapping": lambda: metadata.form_event_mapping(pm),
        "repeatingFormsEvents": lambda: metadata.repeating_forms_events(pm),
        "exportFieldNames": lambda: metadata.export_field_names(pm, str(form.get("field") or "")),
    }
    if content not in described:
        raise RedcapRefused(
            f"content {content!r} is not served; this endpoint serves " + ", ".join(CONTENTS)
        )
    return _describe(described[content](), fmt, one=content == "project")


@router.post(PATH, include_in_schema=False)
async def redcap_api(request: Request) -> Response:
    """One POST with form fields, REDCap's API."""
    form = await request.form()
    fmt = error_format(form)
    db: Database = request.app.state.db
    as_of = request.app.state.clock()
    try:
        response = await run_in_threadpool(_answer, db, form, as_of, request.app.state.limits)
    except RedcapRefused as exc:
        return error_reply(exc.message, fmt, exc.status, exc.headers)
    except TrialkitError as exc:
        message = exc.message + (f" ({exc.hint})" if exc.hint else "")
        status = 403 if isinstance(exc, AccessDenied) else 400
        return error_reply(f"{exc.code}: {message}", fmt, status)
    except Exception as exc:  # never a traceback to the client; the log has no request data
        reference = secrets.token_hex(6)
        _log.error("unexpected error %s on POST %s", reference, PATH, exc_info=exc)
        return error_reply(f"unexpected error, reference {reference}", fmt, 500)
    finally:
        await form.close()
    response.headers["x-trialkit-version"] = __version__
    return response
