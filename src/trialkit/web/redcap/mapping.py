"""How a trialkit protocol reads as a REDCap project, and REDCap's value conventions.

* A **record** is a participant (``record_id`` holds the participant code), an **event** a
  scheduled visit (``<visit>_arm_1``, one arm: REDCap's arms are schedules, never the
  randomisation), and ``<form>_complete`` the state of a form (0 incomplete: not required; 1
  unverified: entered; 2 complete: entered and covered by a signature in force).
* **Unscheduled visits** are one *repeating event*, ``unscheduled_arm_1`` (REDCap's "repeat
  the entire event"): the participant's unscheduled visit ``UNS-003`` is its instance 3
  (``redcap_repeat_instance`` = the unscheduled sequence, ``redcap_repeat_instrument`` empty).
* An **instrument** is a form's non-repeating item groups (named after the form), or one
  **repeating item group** (the lesion rows, the adverse-event rows): a repeating instrument,
  named after the form when the form has nothing else (``ae``, ``lesion``), else
  ``<form>_<group>`` (``labs_cytokines``). A repeating form's plain instrument repeats too.
* A **repeat instance** (``redcap_repeat_instance``, at a scheduled visit) is the form's
  instance number (a repeating form), the row number (a repeating group of a form entered once
  a visit), or, for a repeating group of a repeating form, the row's running number over the
  form's instances at that visit in order (instance 1's rows first): the adverse events of a
  visit are 1, 2, 3 whether each was entered as an instance of its own or several on one. At
  the unscheduled event a repeating instrument's instance is ``1000 x sequence + that
  number`` (REDCap has no repeating instrument inside a repeating event): ``2001`` is the
  first row at unscheduled visit 2.
* A **field** is an item. An item name used by an earlier form (``weight`` on the screening form
  and on vital signs) is ``<instrument>_<item>`` on the later one: REDCap field names are unique
  in a project. The names of the plain groups' items are given first, so a repeating group's
  item never renames one of them. The inputs of an instrument group (whose items the protocol
  does not list) have no field.
* Values are REDCap's raw values: booleans ``1``/``0``, date-times ``YYYY-MM-DD HH:MM:SS``,
  codes as coded; ``rawOrLabel=label`` gives the code list's labels and Yes/No.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from trialkit.protocol import Form, Item, ItemGroup, Study
from trialkit.protocol.forms import DataType
from trialkit.services.forms import UNSCHEDULED_PREFIX

__all__ = [
    "HEAD_COLUMNS",
    "RECORD_FIELD",
    "STATUS_COMPLETE",
    "STATUS_INCOMPLETE",
    "STATUS_UNVERIFIED",
    "UNSCHEDULED",
    "UNSCHEDULED_STEP",
    "Field",
    "Instrument",
    "ProjectMap",
    "label_of",
    "raw_of",
    "redcap_name",
]

RECORD_FIELD = "record_id"
#: the columns after ``record_id`` on every flat row
HEAD_COLUMNS = ("redcap_event_name", "redcap_repeat_instrument", "redcap_repeat_instance")
STATUS_INCOMPLETE, STATUS_UNVERIFIED, STATUS_COMPLETE = "0", "1", "2"
#: the visit key prefix of unscheduled visits (``UNS-001``; services.forms.UNSCHEDULED_PREFIX)
UNSCHEDULED = UNSCHEDULED_PREFIX
#: a repeating instrument's instance at the unscheduled event: ``UNSCHEDULED_STEP x sequence +
#: its number within that visit`` (1 to UNSCHEDULED_STEP - 1)
UNSCHEDULED_STEP = 1000
_NOT_NAME = re.compile(r"[^a-z0-9_]+")


def redcap_name(text: str) -> str:
    """``text`` as a REDCap name: lower case letters, digits and underscores, a letter first."""
    name = _NOT_NAME.sub("_", text.lower()).strip("_") or "x"
    return name if name[0].isalpha() else f"f_{name}"


@dataclass(frozen=True)
class Instrument:
    """One REDCap instrument: a form's plain item groups (``group`` None), or one repeating item
    group of the form."""

    name: str
    label: str
    form: Form
    group: ItemGroup | None

    @property
    def repeating(self) -> bool:
        """Whether it is a repeating instrument (a repeating group, or a repeating form)."""
        return self.group is not None or self.form.repeating

    @property
    def nested(self) -> bool:
        """A repeating group of a repeating form (instances numbered over the form's)."""
        return self.group is not None and self.form.repeating


@dataclass(frozen=True)
class Field:
    """One REDCap field: the item it stands for, on its form (``instrument`` is its name)."""

    name: str
    instrument: str
    form: Form
    group_id: str
    item: Item


class ProjectMap:
    """The REDCap names of a study's forms, item groups, items and visits, both ways."""

    def __init__(self, study: Study) -> None:
        self.study = study
        self.fields: list[Field] = []
        self.instruments: list[Instrument] = []
        taken = {RECORD_FIELD}
        mine: dict[str, list[Field]] = {}

        def named(instrument: str, item: Item) -> str:
            name = item.name if item.name not in taken else f"{instrument}_{item.name}"
            while name in taken:
                name += "_"
            taken.add(name)
            return name

        instruments: list[Instrument] = []
        used: set[str] = set()
        for form in study.forms:
            base = redcap_name(form.id)
            plain = [g for g in form.groups if not g.repeating and g.items]
            repeating = [g for g in form.groups if g.repeating and g.items]
            if plain:
                instruments.append(Instrument(base, form.name, form, None))
                used.add(base)
            for group in repeating:
                alone = not plain and len(repeating) == 1
                name = base if alone else f"{base}_{redcap_name(group.id)}"
                while name in used:
                    name += "_"
                used.add(name)
                label = form.name if alone else f"{form.name}: {group.name}"
                instruments.append(Instrument(name, label, form, group))
        for pass_repeating in (False, True):  # the plain groups' items are named first
            for inst in instruments:
                if (inst.group is not None) != pass_repeating:
                    continue
                groups = [inst.group] if inst.group is not None else inst.form.groups
                fields = mine.setdefault(inst.name, [])
                for group in groups:
                    if group.repeating != pass_repeating:
                        continue
                    for item in group.items:
                        fields.append(
                            Field(named(inst.name, item), inst.name, inst.form, group.id, item)
                        )
        for inst in instruments:
            if mine.get(inst.name):
                self.instruments.append(inst)
                self.fields.extend(mine[inst.name])
        self.instrument = {i.name: i for i in self.instruments}
        self.by_name = {f.name: f for f in self.fields}
        self.by_item = {(f.form.id, f.item.name): f for f in self.fields}
        self.form_of = {i.name: i.form for i in self.instruments}
        #: the instruments of each form, in project order
        self.instruments_of: dict[str, list[Instrument]] = {}
        for inst in self.instruments:
            self.instruments_of.setdefault(inst.form.id, []).append(inst)
        self.events: list[tuple[str, str, str]] = [  # unique name, visit id, visit name
            (f"{redcap_name(v.id)}_arm_1", v.id, v.name) for v in study.timeline.visits
        ]
        self.visit_forms = {v.id: list(v.forms) for v in study.timeline.visits}
        unscheduled = study.timeline.unscheduled
        #: the unique name of the unscheduled event (None: the study has no unscheduled visits)
        self.unscheduled_event: str | None = None
        if unscheduled.allowed and unscheduled.forms:
            unique = "unscheduled_arm_1"
            while unique in {e for e, _, _ in self.events}:
                unique = "x" + unique
            self.unscheduled_event = unique
            self.events.append((unique, UNSCHEDULED, "Unscheduled visit"))
            self.visit_forms[UNSCHEDULED] = list(unscheduled.forms)
        self.visit_of = {unique: visit for unique, visit, _ in self.events}
        self.event_of = {visit: unique for unique, visit, _ in self.events}

    @property
    def record_instrument(self) -> str:
        """The first instrument, which carries ``record_id`` (REDCap's rule)."""
        return self.instruments[0].name if self.instruments else "record"

    def fields_of(self, instrument: str) -> list[Field]:
        return [f for f in self.fields if f.instrument == instrument]

    def event_instance(self, visit_key: str) -> tuple[str, int] | None:
        """The event of a stored visit key and its repeat instance (the unscheduled sequence;
        0 for a scheduled visit); None for a visit the project has no event for."""
        event = self.event_of.get(visit_key)
        if event is not None:
            return event, 0
        if self.unscheduled_event is not None and visit_key.startswith(UNSCHEDULED):
            seq = visit_key[len(UNSCHEDULED) :]
            if seq.isdigit() and int(seq) > 0:
                return self.unscheduled_event, int(seq)
        return None


def raw_of(item: Item, value: str) -> str:
    """A stored canonical value as REDCap's raw value."""
    if value == "":
        return ""
    if item.data_type is DataType.BOOLEAN:
        return "1" if value == "true" else "0"
    if item.data_type is DataType.DATETIME:
        return value.replace("T", " ")
    return value


def label_of(study: Study, item: Item, raw: str) -> str:
    """A raw value as its label (``rawOrLabel=label``)."""
    if raw == "":
        return ""
    if item.data_type is DataType.BOOLEAN:
        return "Yes" if raw == "1" else "No"
    if item.data_type is DataType.CODE:
        cl = study.codelist(item.codelist or "")
        for choice in cl.items if cl else ():
            if choice.code == raw:
                return choice.label
    return raw
