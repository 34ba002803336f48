"""What a data query, a source data verification mark, a signature or a lock points at.

A form instance is named as on the calendar: participant, visit, form id and instance number.
An item is named by the path its changes carry in the audit trail (see ``_flatten`` in
:mod:`trialkit.services.forms`): ``<group id>/<item name>`` for a non-repeating group (e.g.
``VS/systolic_bp``) and ``<group id>[<row>]/<item name>`` for a row of a repeating group (e.g.
``LESION[2]/erythema``, rows counted from 1). Items of a non-repeating group are valid whether or
not a value was entered (a query may ask for a missing value); rows of a repeating group are
valid as far as they are stored. Derived (computed) items are not entered and are not targets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from trialkit.errors import NotFound, ValidationFailed
from trialkit.protocol import Form
from trialkit.services import lookups, studies
from trialkit.services.access import Permission
from trialkit.services.context import Context
from trialkit.store import canonical
from trialkit.store.tables import form_instance

__all__ = [
    "FormTarget",
    "check_item",
    "form_item_paths",
    "form_target",
    "item_paths",
    "load_form",
]


@dataclass(frozen=True)
class FormTarget:
    """A stored form instance with its participant and its definition (at its protocol
    version)."""

    participant: lookups.Participant
    study_id: int
    id: int
    visit: str
    form_id: str
    instance_no: int
    status: str
    version: int
    data: dict[str, Any]
    form: Form | None

    def describe(self) -> str:
        instance = f" (instance {self.instance_no})" if self.instance_no != 1 else ""
        return (
            f"form {self.form_id}{instance} at visit {self.visit} of participant "
            f"{self.participant.code}"
        )


def load_form(
    conn: sa.Connection,
    p: lookups.Participant,
    visit: str,
    form_id: str,
    instance_no: int = 1,
    *,
    entered: bool = True,
) -> FormTarget:
    """The form instance of ``p`` at ``visit``; refuses one not stored (or, with ``entered``,
    one marked not required)."""
    row = conn.execute(
        sa.select(form_instance).where(
            form_instance.c.participant_id == p.id,
            form_instance.c.visit_key == visit,
            form_instance.c.form_id == form_id,
            form_instance.c.instance_no == instance_no,
        )
    ).first()
    instance = f" (instance {instance_no})" if instance_no != 1 else ""
    if row is None or (entered and row.status != "entered"):
        state = "has not been entered" if row is None else "is marked not required"
        raise NotFound(
            f"form {form_id}{instance} at visit {visit} of participant {p.code} {state}",
            code="FORM.E012",
            hint="enter the form first; only entered data can be queried, verified or signed",
        )
    ref = studies.protocol_by_id(conn, row.protocol_version_id)
    return FormTarget(
        p,
        ref.study_id,
        int(row.id),
        row.visit_key,
        row.form_id,
        int(row.instance_no),
        row.status,
        int(row.version),
        canonical.loads(row.data),
        ref.study.form(form_id),
    )


def form_target(
    conn: sa.Connection,
    ctx: Context,
    study_code: str,
    participant_code: str,
    permission: Permission,
    *,
    visit: str,
    form_id: str,
    instance_no: int = 1,
    entered: bool = True,
) -> FormTarget:
    """The form instance, once ``ctx`` may ``permission`` at the participant's site."""
    p = lookups.load_checked(conn, ctx, study_code, participant_code, permission)
    return load_form(conn, p, visit, form_id, instance_no, entered=entered)


def item_paths(target: FormTarget) -> list[str]:
    """Every item path of the form instance, in the form's order."""
    if target.form is None:  # pragma: no cover - a stored form always has its definition
        return []
    return form_item_paths(target.form, target.data)


def form_item_paths(form: Form, data: dict[str, Any]) -> list[str]:
    """Every item path of ``form`` with the stored ``data`` (its repeating groups' rows as far
    as they are stored), in the form's order."""
    paths: list[str] = []
    for group in form.groups:
        names = [i.name for i in group.items if not i.derived]
        if group.repeating:
            rows = data.get(group.id)
            count = len(rows) if isinstance(rows, list) else 0
            paths += [f"{group.id}[{n}]/{name}" for n in range(1, count + 1) for name in names]
        else:
            paths += [f"{group.id}/{name}" for name in names]
    return paths


def check_item(target: FormTarget, item: str) -> str:
    """``item`` if it is an item path of the form instance; refuses it listing the valid ones."""
    valid = item_paths(target)
    if item in valid:
        return item
    shown = ", ".join(valid[:40]) + (f" and {len(valid) - 40} more" if len(valid) > 40 else "")
    raise ValidationFailed(
        f"{target.describe()} has no item {item!r}",
        code="FORM.E020",
        hint=f"items: {shown or 'none'} (a repeating group's rows as GROUP[row]/item)",
        errors={"item": [f"no item {item!r} on form {target.form_id}"]},
    )
