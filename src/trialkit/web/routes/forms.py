"""Data entry: every form rendered from the protocol's definition, saved through the services.

``GET .../forms/{visit}`` lists a visit's forms; ``GET .../forms/{visit}/{form}`` shows one
(item groups, repeating rows, code lists, units, ranges, derived scores, open queries) and
``POST`` saves it with :func:`trialkit.services.save_form`: the version the user started from,
the reason for a change, and a missing-data reason for each item left empty. A refused save
(an item, a repeating group's shape, a hard edit check) shows the form again with every error
beside its field and everything typed kept; a stale save shows the other user's values beside
the user's own; ``.../history`` lists every change from the audit trail.

Fields are named by the item paths of the services and the audit trail (``VS/heart_rate``,
``LESIONS[2]/plaque_area``): ``v:<path>`` the value, ``m:<path>`` its missing-data reason,
``n:<group>`` the number of rows of a repeating group. Persian users type dates in the Solar
Hijri calendar (and Persian digits); the route turns them into ISO Gregorian text before the
service sees them. No rule is decided here: the services validate, check, score and audit.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from markupsafe import Markup
from pydantic import BaseModel, Field
from pydantic import ValidationError as PydanticError

from trialkit.errors import AccessDenied, NotFound, TrialkitError, ValidationFailed
from trialkit.protocol import DataType, Form, Item, ItemGroup
from trialkit.services import (
    FormConflict,
    FormRefused,
    Permission,
    calendar,
    mark_not_required,
    save_form,
)
from trialkit.services.access import visible_sites
from trialkit.services.form_views import FormEntry, FormView, form_entry, form_history, form_view
from trialkit.services.forms import MISSING_REASONS
from trialkit.web.errors import TITLES, status_of
from trialkit.web.i18n import DATE_HINTS, digits, input_date, parse_date, show_date
from trialkit.web.lean import LeanRoute
from trialkit.web.oversight import MEANINGS, form_oversight
from trialkit.web.pages import User, db_of, redirect, render, signed_in, today

__all__ = ["Submission", "field_id", "router"]

router = APIRouter()

_BASE = "/studies/{study}/participants/{code}/forms/{visit}"
_LATIN = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩٫", "01234567890123456789.")
_NUMERIC = (DataType.INTEGER, DataType.DECIMAL)
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_Endpoint = Callable[..., Any]
DATETIME_HINTS = {"en": "YYYY-MM-DD HH:MM", "fa": "۱۴۰۳/۱۲/۱۳ 10:30"}


def _hidden(study: str, code: str) -> NotFound:
    return NotFound(
        f"study {study}: no participant {code!r} at your sites",
        code="PART.E003",
        hint="check the participant id",
    )


def _view(
    request: Request, user: User, study: str, code: str, visit: str, form: str, instance: int = 1
) -> FormView:
    """The form as the user may see it; a participant at another site reads as not found."""
    visible_sites(user.ctx.principal, Permission.READ, study)  # a non-member: access denied
    try:
        return form_view(
            db_of(request), user.ctx, study, code, visit=visit, form_id=form, instance_no=instance
        )
    except AccessDenied:
        raise _hidden(study, code) from None
    except NotFound as exc:
        if exc.code == "PART.E003":
            raise _hidden(study, code) from None
        raise


def _entry(
    request: Request,
    user: User,
    study: str,
    code: str,
    visit: str,
    form: str,
    instance: int,
    *,
    stored: bool,
) -> FormEntry:
    """What a save needs of the form (its definition, the stored instance when ``stored``),
    checked and refused exactly as :func:`_view` is; the whole page is read only when it is
    shown again (a refusal, a row added or removed)."""
    visible_sites(user.ctx.principal, Permission.READ, study)  # a non-member: access denied
    try:
        return form_entry(
            db_of(request),
            user.ctx,
            study,
            code,
            visit=visit,
            form_id=form,
            instance_no=instance,
            stored=stored,
        )
    except AccessDenied:
        raise _hidden(study, code) from None
    except NotFound as exc:
        if exc.code == "PART.E003":
            raise _hidden(study, code) from None
        raise


async def _signed_in_here(request: Request) -> User:
    """:func:`signed_in` (the same checks, the session ended at its next request by a role,
    password or activation change), run in the event loop with the rest of the save instead
    of on a worker thread of its own: the posting routes below read and save in the loop
    already, so the hop to a thread and back only added its wake-ups to every save."""
    return signed_in(request)


def _lean_post(path: str) -> Callable[[_Endpoint], _Endpoint]:
    """``@router.post(path)`` as a :class:`~trialkit.web.lean.LeanRoute` (its parameters
    resolved by hand, the same checks: see :mod:`trialkit.web.lean`)."""

    def decorator(func: _Endpoint) -> _Endpoint:
        router.add_api_route(path, func, methods=["POST"], route_class_override=LeanRoute)
        return func

    return decorator


def field_id(path: str) -> str:
    """An HTML id for an item path (``LESIONS[2]/plaque_area`` -> ``f-LESIONS-2-plaque_area``)."""
    return "f-" + re.sub(r"[\[\]/]+", "-", path).strip("-")


def _entry_text(entry: Any, item: Item, language: str) -> str:
    """A stored entry as it is typed in its field (dates in the user's calendar)."""
    if not isinstance(entry, dict) or entry.get("value") is None:
        return ""
    value = entry["value"]
    if item.data_type is DataType.BOOLEAN:
        return "yes" if value else "no"
    if item.data_type is DataType.DATE and language == "fa":
        return input_date(date.fromisoformat(str(value)), language)
    if item.data_type is DataType.DATETIME and language == "fa":
        day, _, clock = str(value).partition("T")
        return f"{input_date(date.fromisoformat(day), language)} {clock[:5]}"
    if item.data_type is DataType.DATETIME:
        return str(value).replace("T", " ")[:16]
    return str(entry.get("raw", value))


def _data(view: FormView | FormEntry) -> Mapping[str, Any]:
    """The stored instance's data of a view (``{}``: not entered)."""
    return view.record.data if view.record is not None else {}


def _stored(
    view: FormView | FormEntry, language: str
) -> tuple[dict[str, str], dict[str, str], dict[str, int]]:
    """The stored instance as field texts, missing-data reasons and row counts, by path."""
    return _stored_texts(view.form, _data(view), language)


def _stored_texts(
    form: Form, data: Mapping[str, Any], language: str
) -> tuple[dict[str, str], dict[str, str], dict[str, int]]:
    texts: dict[str, str] = {}
    missing: dict[str, str] = {}
    rows: dict[str, int] = {}
    for group in form.groups:
        content = data.get(group.id)
        if group.repeating:
            stored_rows = content if isinstance(content, list) else []
            rows[group.id] = len(stored_rows)
            for n, row in enumerate(stored_rows, start=1):
                _entries(group, row, f"{group.id}[{n}]", texts, missing, language)
        else:
            _entries(group, content or {}, group.id, texts, missing, language)
    return texts, missing, rows


def _entries(
    group: ItemGroup,
    row: dict[str, Any],
    prefix: str,
    texts: dict[str, str],
    missing: dict[str, str],
    language: str,
) -> None:
    for item in group.items:
        entry = row.get(item.name)
        path = f"{prefix}/{item.name}"
        if isinstance(entry, dict) and entry.get("missing"):
            missing[path] = str(entry["missing"])
        text = _entry_text(entry, item, language)
        if text:
            texts[path] = text


class Submission(BaseModel):
    """A posted form, parsed: field texts, missing-data reasons and row counts by item path
    (the names ``v:``, ``m:`` and ``n:`` of the page), the reason, the version it was opened at,
    and a row action (``add:GROUP``, ``remove:GROUP[n]``) that changes the rows shown."""

    texts: dict[str, Annotated[str, Field(max_length=4000)]] = {}
    missing: dict[str, Annotated[str, Field(max_length=32)]] = {}
    rows: dict[str, Annotated[int, Field(ge=0, le=200)]] = {}
    reason: str = Field(default="", max_length=2000)
    version: int | None = None
    action: str = Field(default="", max_length=300)

    @classmethod
    def parse(cls, form_data: Any) -> Submission:
        texts: dict[str, str] = {}
        missing: dict[str, str] = {}
        rows: dict[str, int] = {}
        for key, value in form_data.multi_items():
            if not isinstance(value, str):
                continue
            kind, _, path = key.partition(":")
            if kind == "v":
                texts[path] = value
            elif kind == "m" and value:
                missing[path] = value
            elif kind == "n":
                rows[path] = max(0, min(int(value), 200)) if value.strip().isdigit() else 0
        version = str(form_data.get("version") or "").strip()
        try:
            return cls.model_validate(
                {
                    "texts": texts,
                    "missing": missing,
                    "rows": rows,
                    "reason": str(form_data.get("reason") or ""),
                    "version": int(version) if version.isdigit() else None,
                    "action": str(form_data.get("rows") or ""),
                }
            )
        except PydanticError as exc:
            where = ", ".join(
                ".".join(str(p) for p in e["loc"][1:]) or str(e["loc"][0]) for e in exc.errors()
            )
            raise ValidationFailed(
                f"the form sent is too long at {where}",
                code="WEB.E034",
                hint="shorten the text (a value 4000 characters, the reason 2000)",
            ) from None


def _service_text(text: str, item: Item, language: str) -> str:
    """A typed text as the service takes it: Latin digits; a Persian date as ISO Gregorian."""
    raw = text.strip()
    if not raw:
        return ""
    if item.data_type in _NUMERIC:
        return raw.translate(_LATIN)
    if language != "fa":
        if item.data_type is DataType.DATETIME:
            return raw.replace(" ", "T", 1)
        return raw
    if item.data_type is DataType.DATE:
        try:
            return parse_date(raw, language, item.name).isoformat()
        except ValidationFailed:
            return raw.translate(_LATIN)  # the service names the item and the fix
    if item.data_type is DataType.DATETIME:
        day, _, clock = raw.translate(_LATIN).partition(" ")
        try:
            iso = parse_date(day, language, item.name).isoformat()
        except ValidationFailed:
            return raw.translate(_LATIN)
        return f"{iso}T{clock.strip()}" if clock.strip() else iso
    return raw


def _row_empty(
    group: ItemGroup, prefix: str, texts: dict[str, str], missing: dict[str, str]
) -> bool:
    return not any(
        texts.get(f"{prefix}/{i.name}", "").strip() or missing.get(f"{prefix}/{i.name}")
        for i in group.items
    )


def _raws(data: Mapping[str, Any]) -> dict[str, str]:
    """The stored text as entered of each item, by path."""
    out: dict[str, str] = {}
    for group_id, content in data.items():
        rows = content if isinstance(content, list) else [content]
        for n, row in enumerate(rows, start=1):
            prefix = f"{group_id}[{n}]" if isinstance(content, list) else group_id
            for name, entry in (row or {}).items():
                if isinstance(entry, dict) and entry.get("raw"):
                    out[f"{prefix}/{name}"] = str(entry["raw"])
    return out


def _values(
    form: Form,
    data: Mapping[str, Any],
    texts: dict[str, str],
    missing: dict[str, str],
    rows: dict[str, int],
    lang: str,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The ``values`` and ``missing`` of :func:`save_form` from the submitted fields (empty rows
    at the end of a repeating group left out), for ``form`` whose stored instance holds
    ``data``. A field left as it was shown sends the stored text as entered, so that showing a
    value in the user's calendar or words is no change."""
    shown, _missing, _rows = _stored_texts(form, data, lang)
    raws = _raws(data)

    def text(path: str, item: Item) -> str:
        typed = texts.get(path, "")
        if path in raws and typed == shown.get(path):
            return raws[path]
        return _service_text(typed, item, lang)

    values: dict[str, Any] = {}
    reasons: dict[str, Any] = {}
    for group in form.groups:
        entered = [i for i in group.items if not i.derived]
        if group.repeating:
            n = rows.get(group.id, 0)
            while n > 0 and _row_empty(group, f"{group.id}[{n}]", texts, missing):
                n -= 1
            value_rows, reason_rows = [], []
            for r in range(1, n + 1):
                prefix = f"{group.id}[{r}]"
                value_rows.append({i.name: text(f"{prefix}/{i.name}", i) for i in entered})
                reason_rows.append(
                    {
                        i.name: missing[f"{prefix}/{i.name}"]
                        for i in entered
                        if f"{prefix}/{i.name}" in missing
                    }
                )
            values[group.id] = value_rows
            reasons[group.id] = reason_rows
        else:
            for i in entered:
                path = f"{group.id}/{i.name}"
                values[i.name] = text(path, i)
                if path in missing:
                    reasons[i.name] = missing[path]
    return values, reasons


def _conflict_texts(view: FormView, current: dict[str, Any], lang: str) -> dict[str, str]:
    """The other user's stored values (of a stale save) as field texts, by path."""
    record = view.record
    if record is None:  # pragma: no cover - a conflict means an instance exists
        return {}
    shadow = FormView(
        view.participant,
        view.visit,
        view.visit_name,
        view.form,
        view.codelists,
        view.protocol_version,
        type(record)(
            record.id,
            record.visit_key,
            record.form_id,
            record.instance_no,
            record.status,
            record.version,
            record.protocol_version,
            current.get("data") or {},
            current.get("derived") or {},
        ),
        view.queries,
        view.may_write,
        view.instance_no,
    )
    texts, missing, _rows = _stored(shadow, lang)
    for path, reason in missing.items():
        texts.setdefault(path, f"({reason})")
    return texts


def _check_errors(form: Form, errors: dict[str, list[str]], texts: dict[str, str]) -> None:
    """Attach each failed edit check's message to the fields its expression names, with the
    values it read (``BP1`` -> ``VS/systolic_bp`` and ``VS/diastolic_bp``)."""
    paths = {i.name: f"{g.id}/{i.name}" for g in form.groups if not g.repeating for i in g.items}
    for check in form.checks:
        if check.id not in errors:
            continue
        names = [w for w in dict.fromkeys(_WORD.findall(check.expression)) if w in paths]
        read = ", ".join(f"{n} = {texts.get(paths[n], '').strip() or '—'}" for n in names)
        message = f"{check.id}: {check.message}" + (f" ({read})" if read else "")
        errors[check.id] = [message]
        for name in names:
            errors.setdefault(paths[name], []).append(message)


def _page(
    request: Request,
    user: User,
    view: FormView,
    *,
    texts: dict[str, str] | None = None,
    missing: dict[str, str] | None = None,
    rows: dict[str, int] | None = None,
    errors: dict[str, list[str]] | None = None,
    refused: TrialkitError | None = None,
    theirs: dict[str, str] | None = None,
    version: int | None = None,
    reason: str = "",
    saved: str | None = None,
    extra: dict[str, Any] | None = None,
) -> Response:
    lang = user.language
    if texts is None:
        texts, missing, rows = _stored(view, lang)
    shown_rows: dict[str, int] = dict(rows or {})
    for group in view.form.groups:
        if group.repeating:
            least = max(group.min_repeats or 0, len(group.exactly_once), 1)
            if view.record is None and not errors:
                shown_rows[group.id] = max(shown_rows.get(group.id, 0), least)
                for n, rule in enumerate(group.exactly_once, start=1):
                    texts.setdefault(f"{group.id}[{n}]/{rule.item}", rule.value)
            elif shown_rows.get(group.id, 0) == 0:
                shown_rows[group.id] = 1
    problem = None
    if refused is not None:
        problem = {
            "title": TITLES.get(status_of(refused), TITLES[400]),
            "message": refused.message,
            "hint": refused.hint,
            "code": refused.code,
        }
    record = view.record
    p = view.participant
    oversight = form_oversight(db_of(request), user, view)
    return render(
        request,
        "form.html",
        {
            "v": view,
            "p": p,
            "form": view.form,
            "texts": texts,
            "missing": missing or {},
            "rows": shown_rows,
            "errors": errors or {},
            "problem": problem,
            "theirs": theirs or {},
            "conflict": theirs is not None,
            "version": version if version is not None else (record.version if record else None),
            "reason": reason,
            "saved": saved,
            "reasons": MISSING_REASONS,
            "field_id": field_id,
            "date_hint": DATE_HINTS[lang],
            "datetime_hint": DATETIME_HINTS[lang],
            "gregorian": lambda text, item: _gregorian(text, item, lang),
            "base": f"/studies/{p.study}/participants/{p.code}/forms/{view.visit}/{view.form.id}",
            "inst": _instance_query(view.instance_no),
            "may_write": view.may_write and not oversight.locks,  # locked: shown read-only
            "o": oversight,
            "meanings": MEANINGS,
            "asked": {},
        }
        | (extra or {}),
        user=user,
        status_code=200 if refused is None else status_of(refused),
    )


def _instance_query(instance: int) -> str:
    """The query string naming an instance of a repeating form (none for the first)."""
    return "" if instance == 1 else f"?instance={instance}"


def _instance(value: int) -> int:
    if value < 1:
        raise ValidationFailed(
            f"instance {value} is not a form instance number",
            code="WEB.E035",
            hint="instances are counted from 1",
        )
    return value


def _gregorian(text: str, item: Item, lang: str) -> Markup:
    """Beside a Persian date field: the date it stands for, in both calendars."""
    if lang != "fa" or item.data_type not in (DataType.DATE, DataType.DATETIME) or not text:
        return Markup("")
    try:
        day = parse_date(text.strip().split(" ")[0], lang, item.name)
    except ValidationFailed:
        return Markup("")
    return show_date(day, lang)


@router.get(_BASE)
def visit_forms(
    request: Request,
    study: str,
    code: str,
    visit: str,
    user: Annotated[User, Depends(signed_in)],
) -> Response:
    """The forms of one visit, each with its state and a link to enter it."""
    visible_sites(user.ctx.principal, Permission.READ, study)
    try:
        cal = calendar(db_of(request), user.ctx, study, code, today(request))
    except (AccessDenied, NotFound):
        raise _hidden(study, code) from None
    found = next((v for v in cal.visits if v.key == visit), None)
    if found is None:
        raise NotFound(f"study {study}: no visit {visit!r} for {code}", code="FORM.E003")
    return render(
        request,
        "form_visit.html",
        {"study": study, "code": code, "visit": found},
        user=user,
    )


@router.get(_BASE + "/{form}")
def form_page(
    request: Request,
    study: str,
    code: str,
    visit: str,
    form: str,
    user: Annotated[User, Depends(signed_in)],
    saved: str | None = None,
    instance: int = 1,
    did: str | None = None,
    ask: str | None = None,
) -> Response:
    view = _view(request, user, study, code, visit, form, _instance(instance))
    return _page(request, user, view, saved=saved, extra={"did": did, "asked": {"item": ask}})


@_lean_post(_BASE + "/{form}")
async def form_save(
    request: Request,
    study: str,
    code: str,
    visit: str,
    form: str,
    user: Annotated[User, Depends(_signed_in_here)],
    instance: int = 1,
) -> Response:
    number = _instance(instance)
    visible_sites(user.ctx.principal, Permission.READ, study)  # a non-member: before the body
    posted = Submission.parse(await request.form())
    texts, missing, rows = dict(posted.texts), dict(posted.missing), dict(posted.rows)
    reason, expected, action = posted.reason, posted.version, posted.action
    keep = {"texts": texts, "missing": missing, "rows": rows, "reason": reason}
    if action.startswith(("add:", "remove:")):  # change the rows shown; nothing is saved
        view = _view(request, user, study, code, visit, form, number)
        kind, _, target = action.partition(":")
        if kind == "add":
            rows[target] = rows.get(target, 0) + 1
        else:
            _remove_row(view.form, target, texts, missing, rows)
        return _page(request, user, view, version=expected, **keep)  # type: ignore[arg-type]

    def values(definition: Form, data: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        # in the save's transaction: the definition and the stored text from its one look-up
        return _values(definition, data, texts, missing, rows, user.language)

    def again() -> FormView:  # the page, read in full only to be shown again
        return _view(request, user, study, code, visit, form, number)

    try:
        result = save_form(
            db_of(request),
            user.ctx,
            study,
            code,
            visit=visit,
            form_id=form,
            values=values,
            expected_version=expected,
            instance_no=number,
            reason=reason.strip() or None,
        )
    except (AccessDenied, NotFound):
        # refused as the page would refuse it: another site's participant, an unknown one or
        # a form not at this visit is not found; a reader who may not write is denied
        _entry(request, user, study, code, visit, form, number, stored=False)
        raise
    except FormConflict as exc:
        view = again()
        theirs = _conflict_texts(view, dict(exc.current), user.language)
        return _page(
            request,
            user,
            view,
            refused=exc,
            theirs=theirs,
            version=exc.current_version,
            **keep,  # type: ignore[arg-type]
        )
    except FormRefused as exc:
        errors = {k: list(v) for k, v in (exc.errors or {}).items()}
        view = again()
        if exc.code == "FORM.E011":
            _check_errors(view.form, errors, texts)
        return _page(
            request,
            user,
            view,
            refused=exc,
            errors=errors,
            version=expected,
            **keep,  # type: ignore[arg-type]
        )
    except ValidationFailed as exc:  # the reason for a change, and the like
        if exc.code == "FORM.E006":  # an instance of a form entered once: as the page says
            raise
        errors = {k: list(v) for k, v in (exc.errors or {}).items()}
        return _page(
            request,
            user,
            again(),
            refused=exc,
            errors=errors,
            version=expected,
            **keep,  # type: ignore[arg-type]
        )
    except TrialkitError as exc:  # a lock, and the like: refused, what was typed kept
        return _page(request, user, again(), refused=exc, version=expected, **keep)  # type: ignore[arg-type]
    more = "" if number == 1 else f"&instance={number}"
    return redirect(
        f"/studies/{study}/participants/{code}/forms/{visit}/{form}?saved={result.version}{more}"
    )


def _remove_row(
    form: Form, target: str, texts: dict[str, str], missing: dict[str, str], rows: dict[str, int]
) -> None:
    """Drop row ``GROUP[n]`` of what was typed, moving the rows after it up."""
    m = re.fullmatch(r"([A-Za-z0-9_]+)\[(\d+)\]", target)
    if m is None:
        return
    group_id, n = m.group(1), int(m.group(2))
    group = next((g for g in form.groups if g.id == group_id and g.repeating), None)
    if group is None or not 1 <= n <= rows.get(group_id, 0):
        return
    count = rows[group_id]
    for table in (texts, missing):
        for r in range(n, count + 1):
            for item in group.items:
                here, after = f"{group_id}[{r}]/{item.name}", f"{group_id}[{r + 1}]/{item.name}"
                if after in table:
                    table[here] = table[after]
                else:
                    table.pop(here, None)
    rows[group_id] = count - 1


@router.post(_BASE + "/{form}/not-required")
async def form_not_required(
    request: Request,
    study: str,
    code: str,
    visit: str,
    form: str,
    user: Annotated[User, Depends(signed_in)],
) -> Response:
    view = _view(request, user, study, code, visit, form)
    submitted = await request.form()
    reason = str(submitted.get("not_required_reason") or "")
    try:
        mark_not_required(
            db_of(request), user.ctx, study, code, visit=visit, form_id=form, reason=reason
        )
    except (AccessDenied, NotFound):
        raise
    except TrialkitError as exc:
        return _page(
            request, user, view, refused=exc, errors={"not_required_reason": [exc.message]}
        )
    return redirect(f"/studies/{study}/participants/{code}/forms/{visit}/{form}?saved=0")


@router.get(_BASE + "/{form}/history")
def form_history_page(
    request: Request,
    study: str,
    code: str,
    visit: str,
    form: str,
    user: Annotated[User, Depends(signed_in)],
    instance: int = 1,
) -> Response:
    view = _view(request, user, study, code, visit, form, _instance(instance))
    # a form not entered yet has no history: an empty page, not "not found"
    saves = (
        []
        if view.record is None
        else form_history(
            db_of(request),
            user.ctx,
            study,
            code,
            visit=visit,
            form_id=form,
            instance_no=view.instance_no,
        )
    )
    labels = {f"{g.id}/{i.name}": i.label for g in view.form.groups for i in g.items} | {
        f"derived/{i.name}": i.label for i in view.form.items() if i.derived
    }
    units = {f"{g.id}/{i.name}": i.unit for g in view.form.groups for i in g.items if i.unit}
    return render(
        request,
        "form_history.html",
        {
            "v": view,
            "p": view.participant,
            "saves": list(reversed(saves)),
            "item_label": lambda path: labels.get(re.sub(r"\[\d+\]", "", path), ""),
            "item_unit": lambda path: units.get(re.sub(r"\[\d+\]", "", path), ""),
            "shown": lambda entry: _shown_entry(entry, user.language),
            "base": f"/studies/{study}/participants/{code}/forms/{visit}/{form}",
            "inst": _instance_query(view.instance_no),
        },
        user=user,
    )


def _shown_entry(entry: Any, language: str) -> dict[str, Any]:
    """An audited value for the history table: text, a missing-data reason, or nothing."""
    if entry is None:
        return {"kind": "none"}
    if isinstance(entry, dict):
        if entry.get("missing"):
            return {"kind": "missing", "reason": entry["missing"]}
        if "raw" in entry:
            return {"kind": "value", "text": digits(entry["raw"], "en")}
        if "instrument" in entry:  # a derived score
            if entry.get("value") is None:
                return {"kind": "value", "text": "—", "note": entry.get("reason")}
            return {"kind": "value", "text": str(entry["value"])}
    return {"kind": "value", "text": str(entry)}
