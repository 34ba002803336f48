"""The values a synthetic participant's forms are filled with, from the scenario and the study.

For each form of a visit, every item is given, in this order of precedence: the participant's
screening values (:mod:`trialkit.simulate.eligible`, with a screen failure's changes), the
scenario's ``baseline`` values, a draw from the scenario's ``measurements`` (normal, rounded,
kept inside the item's range; drawn once per participant when ``per_participant``), and
otherwise a plain value for the item's type (a boolean no, the first code of its code list, the
middle of an integer range, the visit date). Items the services fill (derived scores, the
consent form, the administration form) are never entered, optional items only when the
scenario gives them. Items the scenario ``scaled`` follow the participant's severity: the
baseline value times the fraction of the disease left (rounded half up, inside the range).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from trialkit.protocol import Study
from trialkit.protocol.forms import DataType, Form, Item, ItemGroup
from trialkit.simulate.eligible import ELIGIBLE
from trialkit.simulate.scenario import Scenario

__all__ = ["Patient", "form_values", "skipped_forms"]


@dataclass
class Patient:
    """What the simulation knows of one synthetic participant."""

    code: str
    site: str
    screening: dict[str, dict[str, str]]
    severity_drop: float = 0.0
    constants: dict[str, str] = field(default_factory=dict)


def skipped_forms(study: Study) -> set[str]:
    """Forms the services fill themselves: the consent form and the administration form."""
    out = {f.id for f in study.forms if f.consent is not None}
    if study.timeline.administration is not None:
        out.add(study.timeline.administration.form)
    return out


def _quantize(value: float, decimals: int) -> Decimal:
    step = Decimal(1).scaleb(-decimals)
    return Decimal(str(value)).quantize(step, rounding=ROUND_HALF_UP)


def _clip(value: Decimal, item: Item) -> Decimal:
    if item.min is not None and value < item.min:
        value = item.min
    if item.max is not None and value > item.max:
        value = item.max
    return value


def _text(value: Decimal) -> str:
    return f"{value:f}"


def _plain(item: Item, study: Study, on: date) -> str | None:
    if item.data_type is DataType.BOOLEAN:
        return "no"
    if item.data_type is DataType.CODE and item.codelist:
        codes = next((c for c in study.codelists if c.id == item.codelist), None)
        return codes.items[0].code if codes is not None else None
    if item.data_type in (DataType.INTEGER, DataType.DECIMAL):
        low = item.min if item.min is not None else Decimal(0)
        high = item.max if item.max is not None else low
        return _text(((low + high) / 2).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    if item.data_type is DataType.DATE:
        return on.isoformat()
    if item.data_type is DataType.DATETIME:
        return f"{on.isoformat()}T09:00"
    return "synthetic"


class _Filler:
    def __init__(self, study: Study, scenario: Scenario, rng: random.Random) -> None:
        self.study = study
        self.scenario = scenario
        self.rng = rng

    def measured(self, item: Item, patient: Patient) -> str | None:
        m = self.scenario.measurements.get(item.name)
        if m is None:
            return None
        if m.per_participant and item.name in patient.constants:
            return patient.constants[item.name]
        value = _text(_clip(_quantize(self.rng.gauss(m.mean, m.sd), m.decimals), item))
        if m.per_participant:
            patient.constants[item.name] = value
        return value

    def item_value(
        self,
        form: Form,
        item: Item,
        patient: Patient,
        on: date,
        given: dict[str, str],
        left: float,
    ) -> str | None:
        if item.derived is not None:
            return None
        value = patient.constants.get(item.name, given.get(item.name))
        if value is None:
            value = self.scenario.baseline.get(form.id, {}).get(item.name)
        if value is None:
            value = self.measured(item, patient)
        if value is None:
            if not item.required:
                return None
            value = _plain(item, self.study, on)
        if value is not None and item.name in self.scenario.response.scaled.get(form.id, ()):
            value = _scaled(value, left, item)
        return value

    def rows(
        self, form: Form, group: ItemGroup, patient: Patient, on: date, left: float
    ) -> list[dict[str, str]] | None:
        base = self.scenario.rows.get(group.id)
        if base is None:
            return None
        response = self.scenario.response
        out = []
        for row in base:
            improving = (
                response.role_item is None or row.get(response.role_item) == response.improving_role
            )
            values: dict[str, str] = {}
            for item in group.items:
                value = self.item_value(form, item, patient, on, row, left if improving else 1.0)
                if value is not None:
                    values[item.name] = value
            out.append(values)
        return out


def _scaled(value: str, left: float, item: Item) -> str:
    try:
        number = Decimal(value)
    except ArithmeticError:
        return value
    exponent = number.as_tuple().exponent
    step = Decimal(1).scaleb(min(0, exponent) if isinstance(exponent, int) else 0)
    scaled = (number * Decimal(str(round(left, 4)))).quantize(step, rounding=ROUND_HALF_UP)
    return _text(_clip(scaled, item))


def form_values(
    study: Study,
    scenario: Scenario,
    rng: random.Random,
    form: Form,
    patient: Patient,
    on: date,
    *,
    left: float = 1.0,
) -> dict[str, Any]:
    """The values of ``form`` for ``patient`` at a visit on ``on``; ``left``: the fraction of
    the baseline severity left (1 at baseline)."""
    filler = _Filler(study, scenario, rng)
    given = patient.screening.get(form.id) or ELIGIBLE.get(study.id, {}).get(form.id, {})
    values: dict[str, Any] = {}
    for group in form.groups:
        if group.repeating:
            rows = filler.rows(form, group, patient, on, left)
            if rows is not None:
                values[group.id] = rows
            continue
        for item in group.items:
            value = filler.item_value(form, item, patient, on, given, left)
            if value is not None:
                values[item.name] = value
    return values
