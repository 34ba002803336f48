"""Form data: validate, score, check and save a form instance through the one write path.

One ``form_instance`` row per form entered at a visit (``instance_no`` for repeating forms),
its items as JSON (see :mod:`trialkit.services.values`); a protocol change needs no migration.

``values`` passed to :func:`save_form` map an item name to the text as entered, and a
repeating item group's id to a list of rows (each a mapping of item name to text). An item group
that takes its items from an instrument (``instrument:`` and no ``items``) accepts its values
under the group id (a mapping, or a list of rows when repeating), or as otherwise unknown item
names when the form has exactly one such group; they are stored as entered without per-item
validation, and the result says so.

Saving an existing instance needs the ``expected_version`` the user started from; if someone
saved in between, :class:`FormConflict` is raised with the current values and the submitted
ones, and nothing is written. A change after first entry needs a ``reason``.

An item left empty may carry a missing-data reason (:data:`MISSING_REASONS`: not done, not
applicable, unknown), passed in ``missing`` in the shape of ``values`` (item name -> reason; a
repeating group id -> list of rows). It is stored apart from the value: the item's entry keeps
``value`` null and ``raw`` empty and records the reason under ``missing``, so a rule or score
still sees a missing value. A required item may be saved empty only with such a reason. With
``missing`` None a save keeps the reasons stored for items it leaves empty (a re-save from
stored values); given a mapping, it states them all.

The oversight layer (docs/oversight.md) hooks in here: a locked study, participant or form
refuses the save; a change clears the SDV marks of the changed items and the whole-form mark,
and voids the signatures covering the form; a failed soft edit check opens a query, which a
later save passing the check closes. Whether any of that applies is read in the save's one
look-up, so a save it does not concern costs nothing more.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from trialkit.errors import ConflictError, NotFound, ValidationFailed
from trialkit.protocol import Form, Item, ItemGroup, Study
from trialkit.services import lookups, safety, studies
from trialkit.services.access import Permission, require
from trialkit.services.context import Context
from trialkit.services.locks import ensure_unlocked
from trialkit.services.monitoring import WHOLE_FORM, clear_changed
from trialkit.services.ports import RuleEvaluator, Scorer
from trialkit.services.queries import (
    close_check_query,
    open_check_query,
    outstanding_check_queries,
)
from trialkit.services.records import FieldChange, StaleVersion, write
from trialkit.services.signatures import void_covering
from trialkit.services.values import Parser, item_parser, typed_form
from trialkit.store import Database, Prepared, canonical
from trialkit.store.tables import (
    data_query,
    form_instance,
    participant,
    protocol_version,
    record_lock,
    sdv_mark,
    signature,
    site,
    study,
    visit_record,
)

__all__ = [
    "MISSING_REASONS",
    "CheckOutcome",
    "FormConflict",
    "FormRecord",
    "FormRefused",
    "SaveResult",
    "Values",
    "ValuesOf",
    "mark_not_required",
    "read_form",
    "save_form",
    "save_in",
]

UNSCHEDULED_PREFIX = "UNS-"

#: How a caller that holds what was *typed* (the data-entry page's field texts) gives a save its
#: values: called inside the save's transaction with the form's definition at the participant's
#: protocol version and the stored instance's data (``{}`` when there is none), it returns the
#: ``values`` and ``missing`` of :func:`save_form`. The page thus needs no read of its own before
#: the save (the definition and the stored text as entered come from the save's one look-up).
ValuesOf = Callable[[Form, Mapping[str, Any]], tuple[Mapping[str, Any], Mapping[str, Any] | None]]

#: The values of a save: item values by name (repeating groups as lists of rows), or a
#: :data:`ValuesOf` that works them out from the form and the stored data.
Values = Mapping[str, Any] | ValuesOf

#: Why an item has no value: the codes a save takes in ``missing``, kept apart from the value.
MISSING_REASONS = ("not_done", "not_applicable", "unknown")


class FormConflict(ConflictError):
    """A stale save: ``current``/``current_version`` are stored now, ``submitted`` is yours."""

    def __init__(
        self,
        message: str,
        *,
        current: dict[str, Any],
        current_version: int,
        submitted: Mapping[str, Any],
    ) -> None:
        super().__init__(
            message,
            code="FORM.E001",
            hint="review the current values, merge your changes and save again with the "
            f"version {current_version}",
            current=current,
            current_version=current_version,
        )
        self.submitted = dict(submitted)


class FormRefused(ValidationFailed):
    """A refused save: ``errors`` maps each field path (item, group or row) to its problems,
    the message lists them all, and ``submitted`` is what was typed; nothing was written."""

    def __init__(
        self,
        message: str,
        *,
        code: str,
        errors: dict[str, list[str]],
        submitted: Mapping[str, Any],
        hint: str | None = None,
    ) -> None:
        super().__init__(message, code=code, hint=hint, errors=errors)
        self.submitted = dict(submitted)


def _problems(errors: Mapping[str, list[str]]) -> str:
    """Every problem as ``path: message``, in the order found."""
    return "; ".join(f"{path}: {m}" for path, messages in errors.items() for m in messages)


@dataclass(frozen=True)
class CheckOutcome:
    """One edit check's result: ``passed``, ``failed``, or ``not_evaluated`` when an input is
    missing (``missing`` names them, and ``message`` says so)."""

    id: str
    severity: str
    status: str  # passed | failed | not_evaluated
    message: str
    missing: tuple[str, ...] = ()


@dataclass(frozen=True)
class SaveResult:
    form_instance_id: int
    version: int
    protocol_version: str
    changed: list[str]
    derived: dict[str, Any]
    checks: list[CheckOutcome]
    queries_opened: list[int]
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class FormRecord:
    id: int
    visit_key: str
    form_id: str
    instance_no: int
    status: str
    version: int
    protocol_version: str
    data: dict[str, Any]
    derived: dict[str, Any]

    def values(self) -> dict[str, Any]:
        """Typed values by item name (repeating groups as lists of rows)."""
        return typed_form(self.data)


def _form_for_visit(study: Study, visit_key: str, form_id: str) -> Form:
    form = study.form(form_id)
    if form is None:
        raise NotFound(
            f"study {study.id}: no form {form_id!r}",
            code="FORM.E002",
            hint="forms: " + ", ".join(f.id for f in study.forms),
        )
    if visit_key.startswith(UNSCHEDULED_PREFIX):
        allowed = study.timeline.unscheduled.forms if study.timeline.unscheduled.allowed else []
    else:
        visit = next((v for v in study.timeline.visits if v.id == visit_key), None)
        if visit is None:
            raise NotFound(
                f"study {study.id}: no visit {visit_key!r}",
                code="FORM.E003",
                hint="visits: " + ", ".join(v.id for v in study.timeline.visits),
            )
        allowed = visit.forms
    if form_id not in allowed:
        raise ValidationFailed(
            f"form {form_id} is not collected at visit {visit_key}",
            code="FORM.E004",
            hint="forms at this visit: " + (", ".join(allowed) or "none"),
        )
    return form


def _rows(value: Any, path: str, errors: dict[str, list[str]]) -> list[Mapping[str, Any]]:
    if value is None:
        return []
    is_list = isinstance(value, Sequence) and not isinstance(value, str)
    if is_list and all(isinstance(r, Mapping) for r in value):
        return list(value)
    errors.setdefault(path, []).append(
        f"{path} repeats: give a list of rows, each a mapping of item name to value"
    )
    return []


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float):
        raise ValidationFailed(
            f"binary float {value!r} refused: pass the value as text, as entered",
            code="FORM.E005",
        )
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | Decimal):
        return str(value)
    return str(value)


@dataclass(frozen=True)
class _ItemPlan:
    item: Item
    name: str
    type: str
    parse: Parser


@dataclass(frozen=True)
class _FormPlan:
    """What a save of ``form`` needs from its definition, worked out once per form (of one
    parsed protocol version): the names it accepts, each item's parser, whether it holds
    adverse events. The study and form are kept so that a hit is the very same definition."""

    study: Study
    form: Form
    names: frozenset[str]  # the flat items' names and the groups' ids
    known: dict[str, frozenset[str]]
    items: dict[str, tuple[_ItemPlan, ...]]
    adverse_events: bool


_PLANS: dict[tuple[int, int], _FormPlan] = {}


def _form_plan(study: Study, form: Form) -> _FormPlan:
    key = (id(study), id(form))
    found = _PLANS.get(key)
    if found is not None and found.study is study and found.form is form:
        return found
    items = {
        g.id: tuple(_ItemPlan(i, i.name, i.data_type.value, item_parser(i, study)) for i in g.items)
        for g in form.groups
    }
    plan = _FormPlan(
        study,
        form,
        frozenset(
            {i.name for g in form.groups if not g.repeating for i in g.items}
            | {g.id for g in form.groups}
        ),
        {g.id: frozenset(i.name for i in g.items) for g in form.groups},
        items,
        form.id in safety.ae_form_ids(study),
    )
    if len(_PLANS) >= 1024:
        _PLANS.clear()
    _PLANS[key] = plan
    return plan


class _Builder:
    def __init__(
        self,
        study: Study,
        form: Form,
        pv: str,
        old: dict[str, Any],
        missing: Mapping[str, Any] | None = None,
    ) -> None:
        self.study, self.form, self.pv, self.old = study, form, pv, old
        self.plan = _form_plan(study, form)
        self.missing = missing
        self.errors: dict[str, list[str]] = {}
        self.notes: list[str] = []

    def entry(self, old: Any, item_type: str, raw: str, value: Any) -> dict[str, Any]:
        if isinstance(old, dict) and old.get("raw") == raw and old.get("type") == item_type:
            return old  # unchanged: keeps the protocol version it was captured under
        return {"raw": raw, "value": value, "type": item_type, "pv": self.pv}

    def absent(self, old: Any, item_type: str, reason: str) -> dict[str, Any]:
        """The entry of an empty item with its missing-data reason (no value)."""
        if isinstance(old, dict) and old.get("missing") == reason and old.get("type") == item_type:
            return old
        return {"raw": "", "value": None, "missing": reason, "type": item_type, "pv": self.pv}

    def reason_for(
        self, item: Item, given: Mapping[str, Any] | None, old: Any, ipath: str
    ) -> str | None:
        """The missing-data reason of ``item`` (checked), or None."""
        if given is None:  # missing not stated: a stored reason stays
            return old.get("missing") if isinstance(old, dict) else None
        reason = given.get(item.name)
        if reason in (None, ""):
            return None
        if reason not in MISSING_REASONS:
            self.errors.setdefault(ipath, []).append(
                f"{item.name}: missing-data reason {reason!r} is not one of "
                + ", ".join(MISSING_REASONS)
            )
            return None
        return str(reason)

    def group_row(
        self,
        group: ItemGroup,
        given: Mapping[str, Any],
        path: str,
        old: Mapping[str, Any],
        missing: Mapping[str, Any] | None,
    ) -> dict[str, Any]:
        row: dict[str, Any] = {}
        errors = self.errors
        if group.repeating:
            known = self.plan.known[group.id]
            for name in given:
                if name not in known:
                    errors.setdefault(f"{path}/{name}", []).append(
                        f"{name}: not an item of group {group.id}"
                    )
        for prepared in self.plan.items[group.id]:
            item, name = prepared.item, prepared.name
            raw = _text(given.get(name))
            if item.derived:
                ipath = f"{path}/{name}"
                if raw not in (None, ""):
                    errors.setdefault(ipath, []).append(
                        f"{name}: computed from {item.derived}, never entered; leave it empty"
                    )
                if missing is not None and missing.get(name) not in (None, ""):
                    errors.setdefault(ipath, []).append(
                        f"{name}: computed from {item.derived}; it takes no missing-data reason"
                    )
                continue
            before = old.get(name)
            if missing is None and not isinstance(before, dict):
                reason = None  # nothing stated, nothing stored: the commonest case
            else:
                reason = self.reason_for(item, missing, before, f"{path}/{name}")
            if raw is None or raw.strip() == "":
                if reason is not None:
                    row[name] = self.absent(before, prepared.type, reason)
                elif item.required:
                    errors.setdefault(f"{path}/{name}", []).append(
                        f"{name} ({item.label}) is required; enter a value, or give the "
                        "reason it is missing (not done, not applicable, unknown)"
                    )
                continue
            if reason is not None and missing is not None:
                errors.setdefault(f"{path}/{name}", []).append(
                    f"{name}: has the value {raw.strip()!r} and the missing-data reason "
                    f"{reason!r}; keep one: clear the value or the reason"
                )
                continue
            value, problems = prepared.parse(raw)
            if problems:
                errors.setdefault(f"{path}/{name}", []).extend(problems)
                continue
            row[name] = self.entry(before, prepared.type, raw, value)
        return row

    def build(self, values: Mapping[str, Any]) -> dict[str, Any]:
        form = self.form
        names = self.plan.names
        unknown = {k: v for k, v in values.items() if k not in names}
        missing = self.missing
        if missing is not None:
            unknown |= {k: v for k, v in missing.items() if k not in names}
        data: dict[str, Any] = {}
        for group in form.groups:
            old = self.old.get(group.id)
            if group.repeating:
                rows = _rows(values.get(group.id), group.id, self.errors)
                n = len(rows)
                if group.min_repeats is not None and n < group.min_repeats:
                    self.errors.setdefault(group.id, []).append(
                        f"{group.name}: {n} row(s) entered, at least {group.min_repeats} needed; "
                        "add the missing row(s)"
                    )
                if group.max_repeats is not None and n > group.max_repeats:
                    self.errors.setdefault(group.id, []).append(
                        f"{group.name}: {n} row(s) entered, at most {group.max_repeats} allowed; "
                        "remove the extra row(s)"
                    )
                olds = old if isinstance(old, list) else []
                reasons = (
                    None if missing is None else _rows(missing.get(group.id), group.id, self.errors)
                )
                built = [
                    self.group_row(
                        group,
                        r,
                        f"{group.id}[{i + 1}]",
                        olds[i] if i < len(olds) else {},
                        None if reasons is None else (reasons[i] if i < len(reasons) else {}),
                    )
                    for i, r in enumerate(rows)
                ]
                for problem in _row_rules(group, built):
                    self.errors.setdefault(group.id, []).append(problem)
                data[group.id] = built
            else:
                data[group.id] = self.group_row(
                    group, values, group.id, old if isinstance(old, dict) else {}, missing
                )
        for name in unknown:
            self.errors.setdefault(name, []).append(
                f"{name}: form {form.id} has no such item or group"
            )
        return data


def _shown(entry: Any) -> str | None:
    """An entered value as the protocol writes it (codes as codes, yes/no for booleans)."""
    if not isinstance(entry, dict) or entry.get("value") is None:
        return None
    value = entry["value"]
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _rows_named(numbers: Sequence[int]) -> str:
    listed = [str(n) for n in numbers]
    return (
        "row " + listed[0]
        if len(listed) == 1
        else "rows " + ", ".join(listed[:-1]) + (f" and {listed[-1]}")
    )


def _row_rules(group: ItemGroup, rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """What breaks the group's ``exactly_once`` and ``unique`` rules, each with its fix."""
    problems: list[str] = []
    for rule in group.exactly_once:
        having = [
            n for n, row in enumerate(rows, start=1) if _shown(row.get(rule.item)) == rule.value
        ]
        if not having:
            problems.append(
                f"{group.name}: exactly one row must have {rule.item} {rule.value}, none has; "
                f"add that row, or set {rule.item} to {rule.value} on the row it belongs to"
            )
        elif len(having) > 1:
            problems.append(
                f"{group.name}: exactly one row may have {rule.item} {rule.value}, but "
                f"{_rows_named(having)} have it; correct {rule.item} on all but one of them"
            )
    if group.unique:
        by_key: dict[tuple[str | None, ...], list[int]] = {}
        for n, row in enumerate(rows, start=1):
            key = tuple(_shown(row.get(name)) for name in group.unique)
            if any(k is not None for k in key):
                by_key.setdefault(key, []).append(n)
        for key, numbers in by_key.items():
            if len(numbers) > 1:
                shared = ", ".join(
                    f"{name} {value if value is not None else '(empty)'}"
                    for name, value in zip(group.unique, key, strict=True)
                )
                problems.append(
                    f"{group.name}: {_rows_named(numbers)} share {shared}; each row needs its own "
                    f"{' and '.join(group.unique)}: correct one of them or remove the duplicate"
                )
    return problems


def _keep_consent_items(
    form: Form, old: Mapping[str, Any], new: dict[str, Any], errors: dict[str, list[str]]
) -> None:
    """Refuse a hand entry of the consent items (date, version, by whom): recording the consent
    fills them once; a save that repeats the stored values unchanged is fine."""
    assert form.consent is not None
    names = set(form.consent.names())
    for group in form.groups:
        if group.repeating:
            continue
        before, after = old.get(group.id) or {}, new.get(group.id) or {}
        for name in sorted(names & {i.name for i in group.items}):
            was, now = before.get(name), after.get(name)
            if now is not None and (was is None or was.get("raw") != now.get("raw")):
                errors.setdefault(f"{group.id}/{name}", []).append(
                    f"{name} is filled when the consent is recorded, not entered on form "
                    f"{form.id}; record the consent (date, version, by whom) instead"
                )
            elif now is None and was is not None:
                new[group.id][name] = was  # left out: the recorded value stays


def _flatten(data: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for group_id, content in data.items():
        if isinstance(content, list):
            for i, row in enumerate(content):
                for name, entry in row.items():
                    out[f"{group_id}[{i + 1}]/{name}"] = entry
        else:
            for name, entry in content.items():
                out[f"{group_id}/{name}"] = entry
    return out


def _derive(form: Form, values: dict[str, Any], scorer: Scorer) -> dict[str, Any]:
    derived: dict[str, Any] = {}
    cache: dict[str, Any] = {}
    for item in form.items():
        if not item.derived:
            continue
        instrument, _, part = item.derived.partition(":")
        if instrument not in cache:
            cache[instrument] = scorer.score(instrument, values)
        result = cache[instrument]
        value = result.parts.get(part) if part else result.value
        reason = result.reason
        if value is None and reason is None:
            reason = f"the score has no part {part!r}" if part else "no score"
        derived[item.name] = {
            "value": None if value is None else format(value, "f"),
            "instrument": instrument,
            "version": result.version,
            "reason": reason,
        }
    return derived


def _checks(form: Form, values: dict[str, Any], rules: RuleEvaluator) -> list[CheckOutcome]:
    out: list[CheckOutcome] = []
    for check in form.checks:
        verdict = rules.evaluate(check.expression, values)
        if verdict.holds is None:
            missing = verdict.missing
            named = ", ".join(missing) if missing else "an input"
            out.append(
                CheckOutcome(
                    check.id,
                    check.severity,
                    "not_evaluated",
                    f"not evaluated: {named} missing ({check.message})",
                    missing,
                )
            )
        else:
            status = "passed" if verdict.holds else "failed"
            out.append(CheckOutcome(check.id, check.severity, status, check.message))
    return out


def _current(row: Any) -> dict[str, Any]:
    return {"data": canonical.loads(row.data), "derived": canonical.loads(row.derived)}


@dataclass(frozen=True)
class _Stored:
    id: int
    version: int
    data: str
    derived: str
    protocol_version_id: int


def _update_columns(record: dict[str, Any], row: _Stored) -> dict[str, Any]:
    """The columns an update writes: the protocol version only when it changes.

    An indexed column named in ``SET`` costs its index entry a rewrite even when the value is
    the same (on SQLite another page in every commit).
    """
    if record["protocol_version_id"] == row.protocol_version_id:
        return {k: v for k, v in record.items() if k != "protocol_version_id"}
    return record


#: The paths of a new instance's first entries that say what it is, not what was entered.
IDENTITY_PATHS = frozenset({"participant_id", "visit_key", "form_id", "instance_no", "created_at"})


def _identity(
    participant_id: int, visit: str, form_id: str, instance_no: int, ctx: Context
) -> list[FieldChange]:
    """The first entries of a new form instance: what it is and when it was made (the audit
    trail proves them; ``updated_at`` and ``protocol_version_id`` follow every entry, see
    :mod:`trialkit.store.audited`)."""
    return [
        FieldChange("participant_id", None, participant_id),
        FieldChange("visit_key", None, visit),
        FieldChange("form_id", None, form_id),
        FieldChange("instance_no", None, instance_no),
        FieldChange("created_at", None, ctx.as_of),
    ]


def _flag(exists: sa.Exists, name: str) -> sa.Label[int]:
    """``exists`` as an integer column: a boolean one would need result processing on SQLite,
    which keeps the look-up off the driver's cursor (see :mod:`trialkit.store.direct`)."""
    return sa.type_coerce(exists, sa.Integer).label(name)


# Whether anything of the oversight layer concerns the save: an active lock on the study, the
# participant or the form; a valid signature covering the form (its own, its visit's, the
# casebook); an active SDV mark on the form; an open or answered query an edit check opened on
# it. Evaluated inside the look-up, so a save that none of them concerns costs no extra round
# trip; only a flag that is set leads to more work.
_LOCKED = sa.exists().where(
    record_lock.c.unlocked_at.is_(None),
    sa.or_(
        sa.and_(record_lock.c.scope == "study", record_lock.c.study_id == study.c.id),
        sa.and_(
            record_lock.c.scope == "participant",
            record_lock.c.participant_id == participant.c.id,
        ),
        sa.and_(
            record_lock.c.scope == "form",
            record_lock.c.form_instance_id == form_instance.c.id,
        ),
    ),
)
_SIGNED = sa.exists().where(
    signature.c.participant_id == participant.c.id,
    signature.c.voided_at.is_(None),
    sa.or_(
        signature.c.scope == "casebook",
        sa.and_(signature.c.scope == "visit", signature.c.visit_key == sa.bindparam("visit_key")),
        sa.and_(signature.c.scope == "form", signature.c.form_instance_id == form_instance.c.id),
    ),
)
_VERIFIED = sa.exists().where(
    sdv_mark.c.form_instance_id == form_instance.c.id, sdv_mark.c.cleared_at.is_(None)
)
_CHECK_QUERIES = sa.exists().where(
    data_query.c.form_instance_id == form_instance.c.id,
    data_query.c.check_id.is_not(None),
    data_query.c.status != "closed",
)

# One round trip for everything a save reads: the participant, its protocol version, the form
# instance (if any) and the oversight flags above. Built once; executed with parameters on the
# driver's cursor.
_SAVE_LOOKUP = Prepared(
    sa.select(
        participant.c.id.label("participant_id"),
        site.c.code.label("site_code"),
        protocol_version.c.id.label("pv_id"),
        protocol_version.c.study_id.label("pv_study_id"),
        protocol_version.c.version.label("pv_version"),
        protocol_version.c.sha256.label("pv_sha256"),
        form_instance.c.id.label("fi_id"),
        form_instance.c.version.label("fi_version"),
        form_instance.c.data.label("fi_data"),
        form_instance.c.derived.label("fi_derived"),
        form_instance.c.protocol_version_id.label("fi_pv_id"),
        study.c.id.label("study_id"),
        _flag(_LOCKED, "locked"),
        _flag(_SIGNED, "signed"),
        _flag(_VERIFIED, "verified"),
        _flag(_CHECK_QUERIES, "check_queries"),
    )
    .select_from(participant)
    .join(study, study.c.id == participant.c.study_id)
    .join(site, site.c.id == participant.c.site_id)
    .join(protocol_version, protocol_version.c.id == participant.c.protocol_version_id)
    .outerjoin(
        form_instance,
        sa.and_(
            form_instance.c.participant_id == participant.c.id,
            form_instance.c.visit_key == sa.bindparam("visit_key"),
            form_instance.c.form_id == sa.bindparam("form_id"),
            form_instance.c.instance_no == sa.bindparam("instance_no"),
        ),
    )
    .where(study.c.code == sa.bindparam("study_code"), participant.c.code == sa.bindparam("code"))
)

# Parsed protocol versions by everything that identifies one; the content hash makes a hit
# exact whichever database it came from.
_REFS: dict[tuple[int, int, str, str], studies.ProtocolRef] = {}


@dataclass(frozen=True)
class _Flags:
    """What of the oversight layer concerns a save (see ``_LOCKED`` and the others)."""

    signed: bool
    verified: bool
    check_queries: bool


def _lookup(
    conn: sa.Connection,
    ctx: Context,
    study_code: str,
    participant_code: str,
    visit: str,
    form_id: str,
    instance_no: int,
) -> tuple[int, studies.ProtocolRef, _Stored | None, _Flags]:
    # The transaction's first statement: on PostgreSQL it travels with the BEGIN and the
    # ledger lock, run after the lock is held (trialkit.store.Prepared.execute_first).
    found = _SAVE_LOOKUP.execute_first(
        conn,
        {
            "study_code": study_code,
            "code": participant_code,
            "visit_key": visit,
            "form_id": form_id,
            "instance_no": instance_no,
        },
    ).first()
    if found is None:
        lookups.load(conn, study_code, participant_code)  # raises the usual NotFound
        raise NotFound(  # pragma: no cover - load raised
            f"study {study_code}: no participant {participant_code!r}", code="PART.E003"
        )
    (
        participant_id,
        site_code,
        pv_id,
        pv_study_id,
        pv_version,
        pv_sha256,
        fi_id,
        fi_version,
        fi_data,
        fi_derived,
        fi_pv_id,
        study_id,
        locked,
        signed,
        verified,
        check_queries,
    ) = found
    require(ctx.principal, Permission.WRITE, study_code, site_code)
    if locked:
        ensure_unlocked(conn, int(study_id), int(participant_id), fi_id)
    key = (pv_id, pv_study_id, pv_version, pv_sha256)
    ref = _REFS.get(key)
    if ref is None:
        ref = studies.protocol_by_id(conn, pv_id)
        if len(_REFS) >= 256:
            _REFS.clear()
        _REFS[key] = ref
    stored = None if fi_id is None else _Stored(fi_id, fi_version, fi_data, fi_derived, fi_pv_id)
    flags = _Flags(bool(signed), bool(verified), bool(check_queries))
    return int(participant_id), ref, stored, flags


def save_form(
    db: Database,
    ctx: Context,
    study_code: str,
    participant_code: str,
    *,
    visit: str,
    form_id: str,
    values: Values,
    expected_version: int | None = None,
    instance_no: int = 1,
    reason: str | None = None,
    missing: Mapping[str, Any] | None = None,
) -> SaveResult:
    """Validate, score, check and save one form instance (new: ``expected_version`` None).

    The protocol version's edit checks and scores always run, through the ports it is served
    with (``ProtocolRef.ports``); no caller can leave them out. ``values`` may be a
    :data:`ValuesOf` (then ``missing`` is what it returns, and must not be given as well).
    """
    with db.write() as conn:
        return save_in(
            conn,
            ctx,
            study_code,
            participant_code,
            visit=visit,
            form_id=form_id,
            values=values,
            expected_version=expected_version,
            instance_no=instance_no,
            reason=reason,
            missing=missing,
        )


def save_in(
    conn: sa.Connection,
    ctx: Context,
    study_code: str,
    participant_code: str,
    *,
    visit: str,
    form_id: str,
    values: Values,
    expected_version: int | None = None,
    instance_no: int = 1,
    reason: str | None = None,
    consent: bool = False,
    missing: Mapping[str, Any] | None = None,
) -> SaveResult:
    """:func:`save_form` inside the caller's write transaction (the one write path for a use
    case that fills a form as part of its own step). ``consent`` is set only by recording the
    consent, which alone fills the consent form's consent items."""
    participant_id, ref, row, flags = _lookup(
        conn, ctx, study_code, participant_code, visit, form_id, instance_no
    )
    form = _form_for_visit(ref.study, visit, form_id)
    if visit.startswith(UNSCHEDULED_PREFIX):
        _need_visit_record(conn, participant_id, visit)
    if instance_no != 1 and not form.repeating:
        raise ValidationFailed(
            f"form {form_id} is entered once per visit; instance {instance_no} is not allowed",
            code="FORM.E006",
        )
    old_data = canonical.loads(row.data) if row is not None else {}
    if callable(values):
        if missing is not None:
            raise TypeError("save_form: values given as a function return their missing reasons")
        values, missing = values(form, old_data)
    if row is not None and expected_version != row.version:
        raise FormConflict(
            f"form {form_id} at visit {visit} was saved by someone else (version "
            f"{row.version}; you started from "
            f"{'a new form' if expected_version is None else expected_version})",
            current=_current(row),
            current_version=row.version,
            submitted=values,
        )
    if row is None and expected_version is not None:
        raise NotFound(
            f"form {form_id} at visit {visit} does not exist yet (no version {expected_version})",
            code="FORM.E007",
            hint="save it as a new form (no expected version)",
        )
    builder = _Builder(ref.study, form, ref.version, old_data, missing)
    data = builder.build(values)
    if form.consent is not None and not consent:
        _keep_consent_items(form, old_data, data, builder.errors)
    if builder.errors:
        count = sum(len(v) for v in builder.errors.values())
        raise FormRefused(
            f"form {form_id}: nothing was saved, {count} problem(s): " + _problems(builder.errors),
            code="FORM.E010",
            errors=builder.errors,
            submitted=values,
            hint="correct each item named and save again; what you typed is kept",
        )
    ports = ref.ports
    typed_values = typed_form(data)
    derived = _derive(form, typed_values, ports.scorer)
    notes: list[str] = []
    for name, d in derived.items():
        typed_values[name] = None if d["value"] is None else Decimal(d["value"])
    checks = _checks(form, typed_values, ports.rules)
    hard = {c.id: [c.message] for c in checks if c.status == "failed" and c.severity == "hard"}
    if hard:
        raise FormRefused(
            f"form {form_id}: nothing was saved, edit check(s) failed: " + _problems(hard),
            code="FORM.E011",
            errors=hard,
            submitted=values,
            hint="check the values the edit check names and save again",
        )
    old_flat = _flatten(old_data)
    new_flat = _flatten(data)
    old_derived = canonical.loads(row.derived) if row is not None else {}
    changes = [
        FieldChange(path, old_flat.get(path), new_flat.get(path))
        for path in sorted(old_flat.keys() | new_flat.keys())
        if old_flat.get(path) != new_flat.get(path)
    ] + [
        FieldChange(f"derived/{name}", old_derived.get(name), derived.get(name))
        for name in sorted(old_derived.keys() | derived.keys())
        if old_derived.get(name) != derived.get(name)
    ]
    if row is not None and changes and not (reason and reason.strip()):
        raise ValidationFailed(
            f"form {form_id}: changing entered data needs a reason for the change",
            code="FORM.E008",
            errors={"reason": ["give the reason for the change"]},
        )
    record = {
        "protocol_version_id": ref.id,
        "status": "entered",
        "data": canonical.dumps(data),
        "derived": canonical.dumps(derived),
        "updated_at": ctx.as_of,
    }
    if row is None:
        instance_id = write(
            conn,
            ctx,
            table=form_instance,
            action="enter",
            values={
                **record,
                "participant_id": participant_id,
                "visit_key": visit,
                "form_id": form_id,
                "instance_no": instance_no,
                "version": 1,
                "created_at": ctx.as_of,
            },
            changes=[*_identity(participant_id, visit, form_id, instance_no, ctx), *changes],
            reason=reason,
            protocol_version=ref.version,
        )
        version = 1
    else:
        assert expected_version is not None
        if not changes:
            return SaveResult(
                row.id, row.version, ref.version, [], derived, checks, [], notes + builder.notes
            )
        try:
            instance_id = write(
                conn,
                ctx,
                table=form_instance,
                row_id=row.id,
                action="change",
                values=_update_columns(record, row),
                changes=changes,
                reason=reason,
                protocol_version=ref.version,
                expected_version=expected_version,
            )
        except StaleVersion:  # pragma: no cover - the write lock makes this unreachable
            fresh = conn.execute(sa.select(form_instance).where(form_instance.c.id == row.id)).one()
            raise FormConflict(
                f"form {form_id} at visit {visit} was saved by someone else",
                current=_current(fresh),
                current_version=fresh.version,
                submitted=values,
            ) from None
        version = expected_version + 1
    notes = notes + builder.notes
    paths = [c.path for c in changes]
    if flags.verified and changes:
        items = [p for p in paths if not p.startswith("derived/")] or paths
        cleared = clear_changed(conn, ctx, instance_id, items, version, ref.version)
        if cleared:
            named = ("the whole form" if i == WHOLE_FORM else i for i in cleared)
            notes.append("source data verification cleared: " + ", ".join(named))
    if flags.signed and changes:
        verb = "entered" if row is None else "changed"
        voided = void_covering(
            conn,
            ctx,
            participant_id,
            visit,
            None if row is None else instance_id,
            f"form {form_id} at {visit} {verb} by {ctx.actor} (version {version})",
            ref.version,
        )
        if voided:
            notes.append("signature(s) " + ", ".join(map(str, voided)) + " voided by the change")
    outstanding = outstanding_check_queries(conn, instance_id) if flags.check_queries else []
    pending = {check for _, check, _, _ in outstanding}
    passed = {c.id for c in checks if c.status == "passed"}
    for query_id, check, status, query_version in outstanding:
        if check in passed:
            close_check_query(conn, ctx, query_id, check, status, query_version)
            notes.append(f"query {query_id} closed: edit check {check} passes")
    opened: list[int] = []
    for c in checks:
        if c.status == "failed" and c.severity == "soft" and c.id not in pending:
            opened.append(open_check_query(conn, ctx, instance_id, c.id, c.message, ref.version))
    if builder.plan.adverse_events:
        safety.after_change(conn, ctx, ref.study_id)
    return SaveResult(
        instance_id,
        version,
        ref.version,
        [c.path for c in changes],
        derived,
        checks,
        opened,
        notes,
    )


def _need_visit_record(conn: sa.Connection, participant_id: int, visit_key: str) -> None:
    found = conn.execute(
        sa.select(visit_record.c.id).where(
            visit_record.c.participant_id == participant_id, visit_record.c.visit_key == visit_key
        )
    ).first()
    if found is None:
        raise NotFound(
            f"no unscheduled visit {visit_key} recorded",
            code="FORM.E009",
            hint="record the unscheduled visit first",
        )


def _record(row: Any, pv: str) -> FormRecord:
    return FormRecord(
        row.id,
        row.visit_key,
        row.form_id,
        row.instance_no,
        row.status,
        row.version,
        pv,
        canonical.loads(row.data),
        canonical.loads(row.derived),
    )


def read_form(
    db: Database,
    ctx: Context,
    study_code: str,
    participant_code: str,
    *,
    visit: str,
    form_id: str,
    instance_no: int = 1,
) -> FormRecord:
    """A stored form instance, readable whatever protocol version it was captured under."""
    with db.read() as conn:
        p = lookups.load_checked(conn, ctx, study_code, participant_code, Permission.READ)
        row = conn.execute(
            sa.select(form_instance).where(
                form_instance.c.participant_id == p.id,
                form_instance.c.visit_key == visit,
                form_instance.c.form_id == form_id,
                form_instance.c.instance_no == instance_no,
            )
        ).first()
        if row is None:
            raise NotFound(
                f"form {form_id} at visit {visit} has not been entered", code="FORM.E012"
            )
        pv = studies.protocol_by_id(conn, row.protocol_version_id).version
        return _record(row, pv)


def mark_not_required(
    db: Database,
    ctx: Context,
    study_code: str,
    participant_code: str,
    *,
    visit: str,
    form_id: str,
    reason: str,
) -> int:
    """Record that a form expected at a visit is not required for this participant."""
    if not reason.strip():
        raise ValidationFailed("marking a form not required needs a reason", code="FORM.E013")
    with db.write() as conn:
        p = lookups.load_checked(conn, ctx, study_code, participant_code, Permission.WRITE)
        ensure_unlocked(conn, None, p.id)
        ref = studies.protocol_by_id(conn, p.protocol_version_id)
        _form_for_visit(ref.study, visit, form_id)
        exists = conn.execute(
            sa.select(form_instance.c.id).where(
                form_instance.c.participant_id == p.id,
                form_instance.c.visit_key == visit,
                form_instance.c.form_id == form_id,
            )
        ).first()
        if exists is not None:
            raise ConflictError(
                f"form {form_id} at visit {visit} already has data", code="FORM.E014"
            )
        void_covering(
            conn,
            ctx,
            p.id,
            visit,
            None,
            f"form {form_id} at {visit} marked not required by {ctx.actor}",
            ref.version,
        )
        return write(
            conn,
            ctx,
            table=form_instance,
            action="not_required",
            values={
                "participant_id": p.id,
                "visit_key": visit,
                "form_id": form_id,
                "instance_no": 1,
                "protocol_version_id": ref.id,
                "status": "not_required",
                "data": "{}",
                "derived": "{}",
                "version": 1,
                "created_at": ctx.as_of,
                "updated_at": ctx.as_of,
            },
            changes=[
                *_identity(p.id, visit, form_id, 1, ctx),
                FieldChange("status", None, "not_required"),
            ],
            reason=reason,
            protocol_version=ref.version,
        )
