"""Dose administrations: the dose computed from the protocol, what was given, and deviations.

Recording a dose sets the anchors that dose sets (the first dose, the last dose): the
participant's future calendar is re-planned from the actual time. The first dose moves an
enrolled participant on study.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa

from trialkit.dosing import ComputedDose, Deviation, compute_dose, deviations
from trialkit.errors import ConflictError, DoseError, NotFound, TransitionError
from trialkit.protocol import Study
from trialkit.schedule import plan_doses
from trialkit.services import participants, safety, studies
from trialkit.services.access import Permission
from trialkit.services.anchors import anchors_set_by, current_anchors, set_anchor
from trialkit.services.context import Context, naive
from trialkit.services.lifecycle import Status, Step
from trialkit.services.locks import ensure_unlocked
from trialkit.services.records import write
from trialkit.store import Database, canonical
from trialkit.store.tables import dose_record, form_instance

__all__ = ["DoseResult", "record_dose"]


@dataclass(frozen=True)
class DoseResult:
    id: int
    computed: ComputedDose
    deviations: list[Deviation]
    anchors_moved: list[str]


def _decimal(text: str, what: str) -> Decimal:
    try:
        return Decimal(text.strip())
    except InvalidOperation as exc:
        raise DoseError(f"{what} {text!r} is not a number", code="DOSE.E010") from exc


def _basis_from_forms(
    conn: sa.Connection, participant_id: int, study: Study, item: str
) -> tuple[Decimal, str | None]:
    unit = study.items()[item].unit if item in study.items() else None
    rows = conn.execute(
        sa.select(form_instance.c.data)
        .where(
            form_instance.c.participant_id == participant_id, form_instance.c.status == "entered"
        )
        .order_by(form_instance.c.updated_at.desc(), form_instance.c.id.desc())
    )
    for row in rows:
        found: list[str] = []
        for content in canonical.loads(row.data).values():
            entries = content if isinstance(content, list) else [content]
            found += [e[item]["value"] for e in entries if item in e]
        if len(found) == 1:
            return Decimal(found[0]), unit
        if len(found) > 1:
            raise DoseError(
                f"{item} is entered {len(found)} times (one per row); which one is the basis?",
                code="DOSE.E011",
                hint=f"pass the {item} the dose is computed from",
            )
    raise DoseError(
        f"the dose needs {item}, which is not entered for this participant",
        code="DOSE.E004",
        hint=f"enter {item} first, or pass it",
    )


def record_dose(
    db: Database,
    ctx: Context,
    study_code: str,
    code: str,
    *,
    event_id: str,
    given_at: datetime,
    given_amount: str,
    given_unit: str,
    product_lot: str,
    vials: Sequence[str] = (),
    basis_value: str | None = None,
    basis_unit: str | None = None,
    tolerance: Decimal = Decimal(0),
) -> DoseResult:
    """Record an administration of dosing event ``event_id`` and flag its deviations."""
    given_at = naive(given_at)
    if not product_lot.strip():
        raise DoseError("the product lot number is required", code="DOSE.E012")
    with db.write() as conn:
        p = participants.load_checked(conn, ctx, study_code, code, Permission.WRITE)
        ensure_unlocked(conn, None, p.id)
        if p.status not in (Status.ENROLLED, Status.ON_STUDY):
            raise TransitionError(
                f"participant is {p.status.value}: doses are given only when enrolled or on study",
                code="STATE.E010",
            )
        ref = studies.protocol_by_id(conn, p.protocol_version_id)
        event = next((e for e in ref.study.timeline.dosing if e.id == event_id), None)
        if event is None:
            raise NotFound(
                f"study {study_code}: no dosing event {event_id!r}",
                code="DOSE.E013",
                hint="events: " + ", ".join(e.id for e in ref.study.timeline.dosing),
            )
        done = conn.execute(
            sa.select(dose_record.c.id).where(
                dose_record.c.participant_id == p.id, dose_record.c.dosing_event_id == event_id
            )
        ).first()
        if done is not None:
            raise ConflictError(f"dose {event_id} is already recorded", code="DOSE.E014")
        arm = ref.study.arm(p.arm or "")
        if arm is None:
            raise DoseError("participant has no arm; enrol them first", code="DOSE.E015")
        safety.ensure_dosing_allowed(conn, ref.study_id, p.code, p.arm)
        rule = arm.interventions[0].dose if arm.interventions else None
        if rule is None:
            raise DoseError(
                f"arm {arm.id} states no dose rule, so no dose can be computed or checked",
                code="DOSE.E016",
                hint="add the intervention's dose rule to the study definition (an amendment)",
            )
        basis: Decimal | None = None
        unit = basis_unit
        if rule.basis_item is not None:
            if basis_value is not None:
                basis = _decimal(basis_value, str(rule.basis_item))
            else:
                basis, form_unit = _basis_from_forms(conn, p.id, ref.study, rule.basis_item)
                unit = unit or form_unit
        computed = compute_dose(
            rule, basis_value=basis, basis_unit=unit, factor=event.amount_factor
        )
        planned = {d.id: d for d in plan_doses(ref.study, current_anchors(conn, p.id))}[event_id]
        found = deviations(
            event_id=event_id,
            given_at=given_at,
            earliest=planned.earliest,
            latest=planned.latest,
            computed=computed,
            given_amount=_decimal(given_amount, f"dose {event_id} amount"),
            given_unit=given_unit,
            tolerance=tolerance,
        )
        computed_json = {
            "amount": computed.amount,
            "unit": computed.unit,
            "volume": None if computed.volume is None else str(computed.volume),
            "basis": computed.basis,
            "basis_unit": computed.basis_unit,
            "factor": computed.factor,
            "rule": str(rule),
            "planned": None if planned.target is None else planned.target,
            "tolerance": tolerance,
        }
        dose_id = write(
            conn,
            ctx,
            table=dose_record,
            action="administer",
            values={
                "participant_id": p.id,
                "dosing_event_id": event_id,
                "given_at": given_at,
                "computed": canonical.dumps(computed_json),
                "given_amount": given_amount.strip(),
                "given_unit": given_unit,
                "product_lot": product_lot,
                "vials": canonical.dumps(list(vials)),
                "deviations": canonical.dumps(
                    [{"kind": d.kind, "message": d.message} for d in found]
                ),
                "protocol_version_id": ref.id,
                "recorded_at": ctx.as_of,
            },
            json_columns=("computed", "vials", "deviations"),
            protocol_version=ref.version,
        )
        moved = [
            a
            for a in anchors_set_by(ref.study, event_id)
            if set_anchor(conn, ctx, p.id, a, given_at, f"dose {event_id}", ref.version)
        ]
        if p.status is Status.ENROLLED:
            participants.start_in(conn, ctx, p, Step.START, None)
        return DoseResult(dose_id, computed, found, moved)
