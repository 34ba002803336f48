"""The participant's adverse events: the list with grades and serious-event clocks, entering
one (the CTCAE term with its computed grade, the override with its reason, seriousness,
relatedness; the dose group is the participant's), and recording a serious event's report.

Entering calls :func:`trialkit.services.adverse_events.record_adverse_event`, the form save
that grades the event and runs the stopping rules in its transaction; the page then says which
rule fired and what it paused, in the words of the pause as the service shows it (no arm for a
blinded user). A refused entry shows the form again with every problem and what was typed.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from trialkit.errors import AccessDenied, NotFound, TrialkitError
from trialkit.protocol import DataType, Item
from trialkit.services import (
    Permission,
    record_serious_report,
    serious_reports,
)
from trialkit.services.access import require
from trialkit.services.adverse_events import (
    AeEntry,
    adverse_event_form,
    list_adverse_events,
    preview_grade,
    record_adverse_event,
)
from trialkit.services.doses import dose_timeline
from trialkit.services.grades import AE_CTCAE_TERM, AE_GRADE_REASON
from trialkit.services.safety import active_pauses
from trialkit.web.errors import TITLES, status_of
from trialkit.web.i18n import DATE_HINTS, input_date, latin, parse_date, parse_moment
from trialkit.web.pages import User, db_of, redirect, render, signed_in, today
from trialkit.web.panels import pause_lines
from trialkit.web.routes.participants import _load

__all__ = ["router"]

router = APIRouter()

#: Items the entry form lays out itself (the rest of the group follows in the protocol's order).
_PLACED = ("ae_term", "ae_onset", "ae_end", AE_CTCAE_TERM, "ae_grade", AE_GRADE_REASON)


def _base(study: str, code: str) -> str:
    return f"/studies/{study}/participants/{code}/adverse-events"


def _field_errors(exc: TrialkitError) -> dict[str, list[str]]:
    """A refusal's problems by item name (``AE[1]/ae_grade`` -> ``ae_grade``)."""
    out: dict[str, list[str]] = {}
    for path, messages in (getattr(exc, "errors", None) or {}).items():
        out.setdefault(str(path).rsplit("/", 1)[-1], []).extend(messages)
    return out


def _ae_page(
    request: Request,
    user: User,
    study: str,
    code: str,
    *,
    refused: TrialkitError | None = None,
    typed: dict[str, str] | None = None,
) -> Response:
    db = db_of(request)
    p = _load(request, user, study, code)
    ctx = user.ctx
    on = today(request)
    principal = ctx.principal
    may_write = principal.can(Permission.WRITE, study, p.site)
    entry: AeEntry | None = adverse_event_form(db, ctx, study, code, on) if may_write else None
    events = list_adverse_events(db, ctx, study, code)
    blind = dose_timeline(db, ctx, study, code).blind
    pauses = active_pauses(db, ctx, study, p.site)
    lines = pause_lines(pauses, user._, participant=code, arm=p.arm)
    fired_ids = {
        int(v) for v in request.query_params.get("fired", "").split(",") if v.strip().isdigit()
    }
    lang = user.language
    typed = typed or {}
    default_visit = None
    by_name: dict[str, Item] = {}
    if entry is not None:
        by_name = {item.name: item for item in entry.items}
        done = [key for key, _, when, was in entry.visits if was and when and when <= on]
        past = [key for key, _, when, _ in entry.visits if when is not None and when <= on]
        chosen = done or past or [key for key, *_ in entry.visits[:1]]
        default_visit = chosen[-1] if chosen else None
    visit = typed.get("visit") or default_visit or ""
    term = typed.get(AE_CTCAE_TERM, "")
    grade = preview_grade(db, ctx, study, code, visit=visit, term=term) if visit and term else None
    problem = None
    if refused is not None:
        problem = {
            "title": TITLES.get(status_of(refused), TITLES[400]),
            "message": refused.message,
            "hint": refused.hint,
            "fields": _field_errors(refused),
        }
    return render(
        request,
        "adverse_events.html",
        {
            "p": p,
            "entry": entry,
            "placed": _PLACED,
            "events": events,
            "pauses": [line for line in lines if line.id not in fired_ids],
            "fired": [line for line in lines if line.id in fired_ids],
            "saved": request.query_params.get("saved"),
            "problem": problem,
            "typed": typed,
            "by_name": by_name,
            "default_visit": default_visit,
            "visit": visit,
            "term": term,
            "grade": grade,
            "may_write": may_write,
            "blind": blind,
            "today": on,
            "now": ctx.as_of,
            "day_input": lambda d: input_date(d, lang),
            "date_hint": DATE_HINTS[lang],
            "DataType": DataType,
        },
        user=user,
        status_code=200 if refused is None else status_of(refused),
    )


@router.get("/studies/{study}/participants/{code}/adverse-events")
def adverse_events_page(
    request: Request, study: str, code: str, user: Annotated[User, Depends(signed_in)]
) -> Response:
    return _ae_page(request, user, study, code)


@router.get("/studies/{study}/participants/{code}/adverse-events/grade")
def grade_preview(
    request: Request,
    study: str,
    code: str,
    user: Annotated[User, Depends(signed_in)],
    visit: str = "",
    ae_ctcae_term: str = "",
) -> Response:
    """The grade the chosen visit's values give the chosen CTCAE term (an htmx fragment)."""
    _load(request, user, study, code)
    grade = None
    if visit and ae_ctcae_term:
        grade = preview_grade(
            db_of(request), user.ctx, study, code, visit=visit, term=ae_ctcae_term
        )
    return render(
        request,
        "ae_grade_preview.html",
        {"grade": grade, "term": ae_ctcae_term, "visit": visit},
        user=user,
    )


def _values(entry: AeEntry, raw: dict[str, str], language: str) -> dict[str, str]:
    """The texts the service takes, from the fields typed (dates in the user's calendar)."""
    out: dict[str, str] = {}
    for item in entry.items:
        text = raw.get(item.name, "").strip()
        if item.data_type is DataType.DATETIME:
            day, clock = raw.get(f"{item.name}__day", "").strip(), raw.get(f"{item.name}__time", "")
            if day:
                moment = parse_moment(day, clock or "00:00", language, item.name)
                out[item.name] = moment.isoformat(timespec="minutes")
            continue
        if not text:
            continue
        if item.data_type is DataType.DATE:
            out[item.name] = parse_date(text, language, item.name).isoformat()
        elif item.data_type in (DataType.INTEGER, DataType.DECIMAL):
            out[item.name] = latin(text)
        else:
            out[item.name] = text
    return out


def _item_fields(item: Item) -> tuple[str, ...]:
    if item.data_type is DataType.DATETIME:
        return (f"{item.name}__day", f"{item.name}__time")
    return (item.name,)


@router.post("/studies/{study}/participants/{code}/adverse-events/new")
async def record_adverse_event_action(
    request: Request, study: str, code: str, user: Annotated[User, Depends(signed_in)]
) -> Response:
    form = await request.form()
    raw = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrftoken"}
    return await run_in_threadpool(_record, request, user, study, code, raw)


def _record(request: Request, user: User, study: str, code: str, raw: dict[str, str]) -> Response:
    db = db_of(request)
    _load(request, user, study, code)
    try:
        entry = adverse_event_form(db, user.ctx, study, code, today(request))
        wanted = {"visit"} | {f for item in entry.items for f in _item_fields(item)}
        typed = {k: v for k, v in raw.items() if k in wanted}
        visit = raw.get("visit", "").strip()
        recorded = record_adverse_event(
            db,
            user.ctx,
            study,
            code,
            visit=visit,
            values=_values(entry, raw, user.language),
        )
    except (AccessDenied, NotFound) as exc:
        if isinstance(exc, NotFound) and exc.code.startswith(("FORM.", "SAFETY.")):
            return _ae_page(request, user, study, code, refused=exc, typed=raw)
        raise
    except TrialkitError as exc:
        return _ae_page(request, user, study, code, refused=exc, typed=typed)
    fired = ",".join(str(r.id) for r in recorded.fired)
    query = f"?saved={recorded.visit}" + (f"&fired={fired}" if fired else "")
    return redirect(_base(study, code) + query + "#saved")


class ReportForm(BaseModel):
    reported_on: str = Field(default="", max_length=32)
    reported_time: str = Field(default="", max_length=16)
    reference: str = Field(default="", max_length=500)


@router.post("/studies/{study}/participants/{code}/adverse-events/reports/{report_id}")
def record_report_action(
    request: Request,
    study: str,
    code: str,
    report_id: int,
    user: Annotated[User, Depends(signed_in)],
    form: Annotated[ReportForm, Form()],
) -> Response:
    """Record that a serious event's report was made (only a report of this participant: an id
    of another participant's report reads as not found)."""
    db = db_of(request)
    participant = _load(request, user, study, code)
    # who may record it is checked before the report is looked up, so a role that may not
    # record reports is told so whatever the id
    require(user.ctx.principal, Permission.WRITE, study, participant.site)
    mine = {r.id for r in serious_reports(db, user.ctx, study, participant_code=code)}
    if report_id not in mine:
        raise NotFound(
            f"participant {code}: no serious-event report {report_id}",
            code="SAFETY.E031",
            hint="the participant's adverse-event page lists their reports",
        )
    typed: dict[str, Any] = {f"report_{report_id}_{k}": v for k, v in form.model_dump().items()}
    try:
        at = parse_moment(form.reported_on, form.reported_time, user.language, "reported_at")
        record_serious_report(
            db, user.ctx, study, report_id, reported_at=at, reference=form.reference
        )
    except (AccessDenied, NotFound):
        raise
    except TrialkitError as exc:
        return _ae_page(request, user, study, code, refused=exc, typed=typed)
    return redirect(_base(study, code) + f"#report-{report_id}")
