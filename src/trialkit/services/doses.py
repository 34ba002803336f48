"""Dose administrations: the dose computed from the protocol and the captured data, what was
given, its deviations, and the administration form it fills.

**The basis comes from the captured data.** A dose per unit of something (50 ug per cm² of
plaque, 2e6 cells per kg) reads its basis item from the participant's entered forms, never from
an argument: with ``basis_visit: dosing`` the value entered at the visit that gives the dosing
event (the weight measured that day), and with ``basis_where`` the row of a repeating item group
that the protocol names (the treated lesion, not its untreated control).

**The tolerance is protocol data** (``dose.tolerance_percent``): a given dose further from the
computed one than that is a dose deviation.

**The administration form is filled** (``timeline.administration``): the time, lot, kit,
volume, amount and basis go into the protocol's form at the dosing visit through the same
validated, audited save as any form (:func:`trialkit.services.forms.save_in`), in the dose's
transaction.

**Blinded dosing.** In a masked study an unblinded role (the pharmacist, see
:mod:`trialkit.services.access`) prepares each dose with :func:`prepare_dose`: the amount for the
participant's arm, checked against the computed dose, and the kit or vial number it is in. A
blinded investigator or coordinator then records the administration with :func:`record_dose`
giving the kit, the volume and the time only; the amount is taken from the preparation. What a
blinded caller is told (result, message, error code) and what the service does on its behalf do
not depend on the arm: no dose is computed in that call, and the dose deviations (found when the
dose was prepared) are shown to unblinded readers only.

Recording a dose sets the anchors that dose sets (the first dose, the last dose): the
participant's future calendar is re-planned from the actual time. The first dose moves an
enrolled participant on study.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation, localcontext
from typing import Any

import sqlalchemy as sa

from trialkit.dosing import (
    ComputedDose,
    Deviation,
    compute_dose,
    dose_deviation,
    in_unit,
    time_deviation,
)
from trialkit.errors import AccessDenied, ConflictError, DoseError, NotFound, TransitionError
from trialkit.protocol import Administration, DoseRule, DosingEvent, Quantity, Study
from trialkit.schedule import PlannedDose, plan_doses
from trialkit.services import forms, lookups, participants, safety, studies
from trialkit.services.access import Permission, require, sees_allocation
from trialkit.services.anchors import anchors_set_by, current_anchors, set_anchor
from trialkit.services.context import Context, naive
from trialkit.services.lifecycle import Status, Step
from trialkit.services.locks import ensure_unlocked
from trialkit.services.records import write
from trialkit.store import Database, canonical
from trialkit.store.tables import dose_preparation, dose_record, form_instance

__all__ = [
    "BLINDED_DEVIATION",
    "DoseResult",
    "DoseTimeline",
    "GivenView",
    "PreparedDose",
    "PreparedView",
    "TimelineDose",
    "blinded_deviations",
    "dose_timeline",
    "prepare_dose",
    "record_dose",
]

#: What a blinded reader of a masked study is shown instead of a dose deviation's message.
BLINDED_DEVIATION = "the prepared dose deviates from the protocol (shown to unblinded roles)"


@dataclass(frozen=True)
class DoseResult:
    """A recorded administration. ``computed`` is None for a blinded caller of a masked study,
    whose ``deviations`` are the time deviations only."""

    id: int
    computed: ComputedDose | None
    deviations: list[Deviation]
    anchors_moved: list[str]
    kit: str | None = None
    volume: str | None = None
    form_instance_id: int | None = None
    blinded: bool = False


@dataclass(frozen=True)
class PreparedDose:
    """A dose prepared by an unblinded role: the amount in ``kit`` and its dose deviations."""

    id: int
    event_id: str
    kit: str
    amount: Decimal
    unit: str
    volume: str | None
    computed: ComputedDose
    deviations: list[Deviation]


def blinded_deviations(found: Sequence[Mapping[str, Any]], blind: bool) -> list[dict[str, Any]]:
    """Stored deviations as a reader may see them: a blinded reader of a masked study sees that
    a dose deviation exists, never its amounts."""
    if not blind:
        return [dict(d) for d in found]
    return [
        dict(d) if d.get("kind") != "dose" else {"kind": "dose", "message": BLINDED_DEVIATION}
        for d in found
    ]


def _decimal(text: str, what: str) -> Decimal:
    try:
        value = Decimal(text.strip())
    except InvalidOperation as exc:
        raise DoseError(
            f"{what} {text!r} is not a number", code="DOSE.E010", hint="e.g. 1.4e8 or 160"
        ) from exc
    if not value.is_finite():
        raise DoseError(f"{what} {text!r} is not a number", code="DOSE.E010")
    return value


def _dosing_visits(study_def: Study, event_id: str) -> list[str]:
    return [v.id for v in study_def.timeline.visits if event_id in v.dosing]


def _matches(row: Mapping[str, Any], where: Mapping[str, str]) -> bool:
    for name, wanted in where.items():
        entry = row.get(name)
        if not isinstance(entry, dict) or str(entry.get("value")) != wanted:
            return False
    return True


def _basis_from_forms(
    conn: sa.Connection, participant_id: int, study_def: Study, rule: DoseRule, event_id: str
) -> tuple[Decimal, str | None]:
    """The basis value of ``rule`` as entered (and its item's unit); see the module docstring."""
    item = str(rule.basis_item)
    unit = study_def.items()[item].unit if item in study_def.items() else None
    where = dict(rule.basis_where)
    query = sa.select(form_instance.c.data, form_instance.c.visit_key).where(
        form_instance.c.participant_id == participant_id, form_instance.c.status == "entered"
    )
    visits = _dosing_visits(study_def, event_id)
    if rule.basis_visit == "dosing":
        query = query.where(form_instance.c.visit_key.in_(visits))
    rows = conn.execute(
        query.order_by(form_instance.c.updated_at.desc(), form_instance.c.id.desc())
    )
    selector = ", ".join(f"{k} {v}" for k, v in where.items())
    for row in rows:
        found: list[str] = []
        for content in canonical.loads(row.data).values():
            for _, entry in safety.group_rows(content):
                if item in entry and _matches(entry, where):
                    found.append(entry[item]["value"])
        if len(found) == 1:
            return Decimal(found[0]), unit
        if len(found) > 1:
            raise DoseError(
                f"{item} is entered {len(found)} times at visit {row.visit_key}"
                + (f" in rows with {selector}" if where else "")
                + "; the dose needs exactly one",
                code="DOSE.E011",
                hint=(
                    f"correct the rows so that one has {selector}"
                    if where
                    else "name the row that holds the basis with `basis_where` in the dose "
                    "rule of the study definition (e.g. {lesion_role: treated})"
                ),
            )
    at = f" at visit {', '.join(visits)}" if rule.basis_visit == "dosing" else ""
    row_text = f" (the row with {selector})" if where else ""
    raise DoseError(
        f"the dose needs {item}{row_text}{at}, which is not entered for this participant",
        code="DOSE.E004",
        hint=f"enter {item}{row_text}{at} first, then record the dose",
    )


def _event(study_def: Study, study_code: str, event_id: str) -> DosingEvent:
    event = next((e for e in study_def.timeline.dosing if e.id == event_id), None)
    if event is None:
        raise NotFound(
            f"study {study_code}: no dosing event {event_id!r}",
            code="DOSE.E013",
            hint="events: " + ", ".join(e.id for e in study_def.timeline.dosing),
        )
    return event


def _dosable(p: participants.Participant) -> None:
    if p.status not in (Status.ENROLLED, Status.ON_STUDY):
        raise TransitionError(
            f"participant is {p.status.value}: doses are given only when enrolled or on study",
            code="STATE.E010",
        )


def _given(conn: sa.Connection, participant_id: int, event_id: str) -> None:
    done = conn.execute(
        sa.select(dose_record.c.id).where(
            dose_record.c.participant_id == participant_id,
            dose_record.c.dosing_event_id == event_id,
        )
    ).first()
    if done is not None:
        raise ConflictError(f"dose {event_id} is already recorded", code="DOSE.E014")


def _computed(
    conn: sa.Connection, p: participants.Participant, study_def: Study, event: DosingEvent
) -> tuple[DoseRule, ComputedDose]:
    """The dose rule of the participant's arm and the dose it gives for ``event``."""
    arm = study_def.arm(p.arm or "")
    if arm is None:
        raise DoseError("participant has no arm; enrol them first", code="DOSE.E015")
    rule = arm.interventions[0].dose if arm.interventions else None
    if rule is None:
        raise DoseError(
            f"arm {arm.id} states no dose rule, so no dose can be computed or checked",
            code="DOSE.E016",
            hint="add the intervention's dose rule to the study definition (an amendment)",
        )
    basis: Decimal | None = None
    unit: str | None = None
    if rule.basis_item is not None:
        basis, unit = _basis_from_forms(conn, p.id, study_def, rule, event.id)
    return rule, compute_dose(rule, basis_value=basis, basis_unit=unit, factor=event.amount_factor)


def _computed_json(
    computed: ComputedDose, rule: DoseRule, planned: datetime | None
) -> dict[str, Any]:
    return {
        "amount": computed.amount,
        "unit": computed.unit,
        "volume": None if computed.volume is None else str(computed.volume),
        "basis": computed.basis,
        "basis_unit": computed.basis_unit,
        "factor": computed.factor,
        "rule": str(rule),
        "planned": planned,
        "tolerance": rule.tolerance,
    }


def _from_json(data: Mapping[str, Any]) -> ComputedDose:
    volume = None
    if data.get("volume"):
        amount, _, unit = str(data["volume"]).partition(" ")
        volume = Quantity(amount=Decimal(amount), unit=unit)
    basis = data.get("basis")
    return ComputedDose(
        Decimal(str(data["amount"])),
        str(data["unit"]),
        volume,
        None if basis is None else Decimal(str(basis)),
        data.get("basis_unit"),
        int(data.get("factor", 1)),
    )


def _dose_deviations(
    event_id: str, computed: ComputedDose, amount: Decimal, unit: str, rule: DoseRule
) -> list[Deviation]:
    found = dose_deviation(event_id, computed, amount, unit, rule.tolerance)
    return [] if found is None else [found]


def prepare_dose(
    db: Database,
    ctx: Context,
    study_code: str,
    code: str,
    *,
    event_id: str,
    kit: str,
    amount: str,
    unit: str,
    product_lot: str,
    volume: str | None = None,
) -> PreparedDose:
    """An unblinded role (the pharmacist) prepares dose ``event_id``: ``amount`` ``unit`` in
    ``kit``, checked against the dose the participant's arm computes (its dose deviation is
    stored with the preparation and shown to unblinded readers only)."""
    with db.write() as conn:
        p = participants.load(conn, study_code, code)
        require(ctx.principal, Permission.PREPARE_DOSE, study_code, p.site)  # before the input
        if not kit.strip():
            raise DoseError("the kit or vial number is required", code="DOSE.E021")
        if not product_lot.strip():
            raise DoseError("the product lot number is required", code="DOSE.E012")
        ensure_unlocked(conn, None, p.id)
        _dosable(p)
        ref = studies.protocol_by_id(conn, p.protocol_version_id)
        event = _event(ref.study, study_code, event_id)
        _given(conn, p.id, event_id)
        prepared = conn.execute(
            sa.select(dose_preparation.c.kit).where(
                dose_preparation.c.participant_id == p.id,
                dose_preparation.c.dosing_event_id == event_id,
            )
        ).first()
        if prepared is not None:
            raise ConflictError(
                f"dose {event_id} is already prepared (kit {prepared.kit})", code="DOSE.E027"
            )
        safety.ensure_dosing_allowed(conn, ref.study_id, p.code, p.arm)
        rule, computed = _computed(conn, p, ref.study, event)
        given = _decimal(amount, f"dose {event_id} amount")
        found = _dose_deviations(event_id, computed, given, unit, rule)
        planned = {d.id: d for d in plan_doses(ref.study, current_anchors(conn, p.id))}[event_id]
        vol = None if volume is None or not volume.strip() else volume.strip()
        if vol is not None:
            _decimal(vol, f"dose {event_id} volume")
        prep_id = write(
            conn,
            ctx,
            table=dose_preparation,
            action="prepare_dose",
            values={
                "participant_id": p.id,
                "dosing_event_id": event_id,
                "kit": kit.strip(),
                "amount": amount.strip(),
                "unit": unit,
                "volume": vol,
                "product_lot": product_lot.strip(),
                "computed": canonical.dumps(_computed_json(computed, rule, planned.target)),
                "deviations": canonical.dumps(
                    [{"kind": d.kind, "message": d.message} for d in found]
                ),
                "protocol_version_id": ref.id,
                "prepared_by": ctx.actor,
                "prepared_at": ctx.as_of,
            },
            json_columns=("computed", "deviations"),
            protocol_version=ref.version,
        )
        return PreparedDose(prep_id, event_id, kit.strip(), given, unit, vol, computed, found)


def _raw_rows(content: Any) -> Any:
    """A stored item group as the values a save takes (the text as entered)."""
    if isinstance(content, list):
        return [{k: e["raw"] for k, e in row.items() if isinstance(e, dict)} for row in content]
    if isinstance(content, dict):
        return {k: e["raw"] for k, e in content.items() if isinstance(e, dict)}
    return {}


def _fill_administration(
    conn: sa.Connection,
    ctx: Context,
    study_code: str,
    p: participants.Participant,
    study_def: Study,
    admin: Administration,
    event_id: str,
    facts: Mapping[str, str | None],
) -> int:
    """Fill ``admin.form`` at the visit that gives ``event_id``; returns the form instance id."""
    visits = [v for v in study_def.timeline.visits if event_id in v.dosing]
    visit = next((v for v in visits if admin.form in v.forms), None)
    if visit is None:
        raise DoseError(
            f"dose {event_id}: no visit gives it and collects the administration form {admin.form}",
            code="DOSE.E026",
            hint="list the dosing event under `dosing` of a visit whose forms include "
            f"{admin.form} (study check reports it as DOSE.E009)",
        )
    form = study_def.form(admin.form)
    assert form is not None  # study check DOSE.E008
    wanted = {
        getattr(admin, fact): value
        for fact, value in facts.items()
        if getattr(admin, fact) is not None and value is not None
    }
    stored = conn.execute(
        sa.select(form_instance.c.data, form_instance.c.version).where(
            form_instance.c.participant_id == p.id,
            form_instance.c.visit_key == visit.id,
            form_instance.c.form_id == admin.form,
            form_instance.c.instance_no == 1,
            form_instance.c.status == "entered",
        )
    ).first()
    old = canonical.loads(stored.data) if stored is not None else {}
    values: dict[str, Any] = {}
    for group in form.groups:
        current = _raw_rows(old.get(group.id))
        mine = {k: v for k, v in wanted.items() if k in {i.name for i in group.items}}
        if group.repeating:
            rows = list(current) if isinstance(current, list) else []
            if mine:
                rows.append(mine)
            values[group.id] = rows
        else:
            row = dict(current) if isinstance(current, dict) else {}
            for name, value in mine.items():
                if row.get(name) not in (None, "", value):
                    raise ConflictError(
                        f"form {admin.form} at visit {visit.id} already records {name} "
                        f"{row[name]!r}; the dose gives {value!r}",
                        code="DOSE.E028",
                        hint=f"correct {name} on the form (with a reason), or check the dose",
                    )
                row[name] = value
            values.update(row)
    result = forms.save_in(
        conn,
        ctx,
        study_code,
        p.code,
        visit=visit.id,
        form_id=admin.form,
        values=values,
        expected_version=None if stored is None else int(stored.version),
        reason=None if stored is None else f"dose {event_id} recorded",
    )
    return result.form_instance_id


def _format(value: Decimal) -> str:
    # every figure typed is kept: normalize() alone rounds to the context's 28 figures
    with localcontext() as context:
        context.prec = max(context.prec, len(value.as_tuple().digits) + 1)
        return format(value.normalize(), "f")


def record_dose(
    db: Database,
    ctx: Context,
    study_code: str,
    code: str,
    *,
    event_id: str,
    given_at: datetime,
    product_lot: str,
    given_amount: str | None = None,
    given_unit: str | None = None,
    kit: str | None = None,
    volume: str | None = None,
    vials: Sequence[str] = (),
) -> DoseResult:
    """Record an administration of dosing event ``event_id``, flag its deviations and fill the
    protocol's administration form.

    ``given_amount``/``given_unit`` are what was given; without them the dose prepared for this
    event (:func:`prepare_dose`) is what was given, and ``kit`` must name its kit. A blinded
    role of a masked study always records the kit, never an amount.
    """
    given_at = naive(given_at)
    with db.write() as conn:
        p = participants.load_checked(conn, ctx, study_code, code, Permission.WRITE)
        if not product_lot.strip():  # after the access check: a stranger learns nothing
            raise DoseError("the product lot number is required", code="DOSE.E012")
        ensure_unlocked(conn, None, p.id)
        _dosable(p)
        ref = studies.protocol_by_id(conn, p.protocol_version_id)
        masked = lookups.masked(conn, p.protocol_version_id)  # the study's newest version
        blind = not sees_allocation(ctx.principal, study_code, masked, p.site)
        event = _event(ref.study, study_code, event_id)
        _given(conn, p.id, event_id)
        if blind and (given_amount is not None or given_unit is not None):
            raise AccessDenied(
                "in a masked study a blinded role records the kit given, not the amount: the "
                "amount was prepared for the participant's arm by the pharmacist",
                code="DOSE.E020",
                hint="record the kit or vial number, the volume and the time",
            )
        prep = conn.execute(
            sa.select(dose_preparation).where(
                dose_preparation.c.participant_id == p.id,
                dose_preparation.c.dosing_event_id == event_id,
            )
        ).first()
        if given_amount is None:
            if kit is None or not kit.strip():
                raise DoseError(
                    f"dose {event_id}: give the kit or vial number"
                    + ("" if blind else ", or the amount given"),
                    code="DOSE.E021",
                )
            if prep is None:
                raise DoseError(
                    f"dose {event_id} has no prepared kit: the pharmacist prepares it first",
                    code="DOSE.E022",
                    hint="the unblinded pharmacist records the preparation (prepare_dose)",
                )
            if prep.kit != kit.strip():
                raise DoseError(
                    f"kit {kit.strip()!r} is not the kit prepared for this participant's dose "
                    f"{event_id}",
                    code="DOSE.E023",
                    hint="check the label of the kit against the participant's id",
                )
        safety.ensure_dosing_allowed(conn, ref.study_id, p.code, p.arm, blind=blind)
        planned = {d.id: d for d in plan_doses(ref.study, current_anchors(conn, p.id))}[event_id]
        late = time_deviation(event_id, given_at, planned.earliest, planned.latest)
        timing = [] if late is None else [late]
        if given_amount is None:
            assert prep is not None
            stored_computed = canonical.loads(prep.computed)
            computed = _from_json(stored_computed)
            amount, unit = str(prep.amount), str(prep.unit)
            dose_devs = [
                Deviation(d["kind"], d["message"]) for d in canonical.loads(prep.deviations)
            ]
            vol = volume.strip() if volume and volume.strip() else prep.volume
        else:
            if given_unit is None:
                raise DoseError(
                    f"dose {event_id}: the unit of the amount given is required",
                    code="DOSE.E001",
                    hint="e.g. cells, ug, vial",
                )
            rule, computed = _computed(conn, p, ref.study, event)
            given = _decimal(given_amount, f"dose {event_id} amount")
            dose_devs = _dose_deviations(event_id, computed, given, given_unit, rule)
            stored_computed = _computed_json(computed, rule, planned.target)
            amount, unit = given_amount.strip(), given_unit
            vol = volume.strip() if volume and volume.strip() else None
        if vol is not None:
            _decimal(vol, f"dose {event_id} volume")
        found = timing + dose_devs
        kit_text = kit.strip() if kit and kit.strip() else (vials[0] if vials else None)
        dose_id = write(
            conn,
            ctx,
            table=dose_record,
            action="administer",
            values={
                "participant_id": p.id,
                "dosing_event_id": event_id,
                "given_at": given_at,
                "computed": canonical.dumps(stored_computed),
                "given_amount": amount,
                "given_unit": unit,
                "product_lot": product_lot.strip(),
                "vials": canonical.dumps(
                    [kit_text, *vials] if kit_text and kit_text not in vials else list(vials)
                ),
                "deviations": canonical.dumps(
                    [{"kind": d.kind, "message": d.message} for d in found]
                ),
                "protocol_version_id": ref.id,
                "recorded_at": ctx.as_of,
            },
            json_columns=("computed", "vials", "deviations"),
            protocol_version=ref.version,
        )
        form_id: int | None = None
        admin = ref.study.timeline.administration
        if admin is not None:
            given_value = (
                None
                if masked
                else in_unit(
                    _decimal(amount, f"dose {event_id} amount"), unit, computed.unit, event_id
                )
            )
            facts: dict[str, str | None] = {
                "given_at": given_at.isoformat(timespec="minutes"),
                "product_lot": product_lot.strip(),
                "kit": kit_text,
                "volume": vol,
                "given_by": ctx.actor,
                "amount": None if given_value is None else _format(given_value),
                "basis": None if masked or computed.basis is None else _format(computed.basis),
            }
            form_id = _fill_administration(
                conn, ctx, study_code, p, ref.study, admin, event_id, facts
            )
        moved = [
            a
            for a in anchors_set_by(ref.study, event_id)
            if set_anchor(conn, ctx, p.id, a, given_at, f"dose {event_id}", ref.version)
        ]
        if p.status is Status.ENROLLED:
            participants.start_in(conn, ctx, p, Step.START, None)
        return DoseResult(
            dose_id,
            None if blind else computed,
            timing if blind else found,
            moved,
            kit_text,
            vol,
            form_id,
            blind,
        )


# The dosing timeline as a reader sees it.


@dataclass(frozen=True)
class PreparedView:
    """A dose prepared by the pharmacist; ``amount``/``unit`` and the dose deviations' amounts
    are None/hidden for a blinded reader of a masked study."""

    kit: str
    amount: str | None
    unit: str | None
    volume: str | None
    product_lot: str
    prepared_by: str
    prepared_at: datetime
    deviations: list[dict[str, Any]]


@dataclass(frozen=True)
class GivenView:
    """A dose given: the dose computed from the protocol (None for a blinded reader of a
    masked study), what was given (amount None for that reader), lot, vials and deviations."""

    given_at: datetime
    computed: ComputedDose | None
    rule: str | None
    given_amount: str | None
    given_unit: str | None
    product_lot: str
    vials: tuple[str, ...]
    deviations: list[dict[str, Any]]


@dataclass(frozen=True)
class TimelineDose:
    """One dosing event of the participant: its planned time and window, and for a dose not
    given yet the dose the protocol computes now (``computed``, or ``not_computed`` saying what
    is missing; both None for a blinded reader), its preparation and its administration."""

    planned: PlannedDose
    computed: ComputedDose | None
    rule: str | None
    not_computed: str | None
    prepared: PreparedView | None
    given: GivenView | None

    @property
    def id(self) -> str:
        return self.planned.id


@dataclass(frozen=True)
class DoseTimeline:
    """The participant's doses; ``blind``: the reader is blinded in a masked study (records
    the kit, never an amount); ``dosable``: the participant's status lets a dose be given."""

    masked: bool
    blind: bool
    dosable: bool
    doses: list[TimelineDose]


def dose_timeline(db: Database, ctx: Context, study_code: str, code: str) -> DoseTimeline:
    """The participant's dosing timeline (READ at the participant's site): each dosing event
    with its window, the dose computed from the protocol's rule and the captured data, the
    preparation and what was given; nothing that depends on the arm for a blinded reader."""
    with db.read() as conn:
        p = participants.load_checked(conn, ctx, study_code, code, Permission.READ)
        ref = studies.protocol_by_id(conn, p.protocol_version_id)
        masked = lookups.masked(conn, p.protocol_version_id)  # the study's newest version
        blind = not sees_allocation(ctx.principal, study_code, masked, p.site)
        planned = plan_doses(ref.study, current_anchors(conn, p.id))
        given = {
            r.dosing_event_id: r
            for r in conn.execute(
                sa.select(dose_record).where(dose_record.c.participant_id == p.id)
            )
        }
        prepared = {
            r.dosing_event_id: r
            for r in conn.execute(
                sa.select(dose_preparation).where(dose_preparation.c.participant_id == p.id)
            )
        }
        doses: list[TimelineDose] = []
        for d in planned:
            computed: ComputedDose | None = None
            rule: str | None = None
            problem: str | None = None
            g = given.get(d.id)
            if g is None and not blind and p.arm is not None:
                try:
                    dose_rule, computed = _computed(conn, p, ref.study, d.event)
                    rule = str(dose_rule)
                except DoseError as exc:
                    problem = exc.message
            prep = prepared.get(d.id)
            doses.append(
                TimelineDose(
                    d,
                    computed,
                    rule,
                    problem,
                    None if prep is None else _prepared_view(prep, blind),
                    None if g is None else _given_view(g, blind),
                )
            )
    dosable = p.status in (Status.ENROLLED, Status.ON_STUDY)
    return DoseTimeline(masked, blind, dosable, doses)


def _prepared_view(row: Any, blind: bool) -> PreparedView:
    return PreparedView(
        row.kit,
        None if blind else str(row.amount),
        None if blind else str(row.unit),
        row.volume,
        row.product_lot,
        row.prepared_by,
        row.prepared_at,
        blinded_deviations(canonical.loads(row.deviations), blind),
    )


def _given_view(row: Any, blind: bool) -> GivenView:
    stored = canonical.loads(row.computed)
    computed = None if blind else _from_json(stored)
    return GivenView(
        row.given_at,
        computed,
        None if blind else str(stored.get("rule") or "") or None,
        None if blind else str(row.given_amount),
        None if blind else str(row.given_unit),
        row.product_lot,
        tuple(str(v) for v in canonical.loads(row.vials)),
        blinded_deviations(canonical.loads(row.deviations), blind),
    )
