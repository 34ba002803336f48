"""How a trialkit protocol reads as a REDCap project, and REDCap's value conventions.

* A **record** is a participant (``record_id`` holds the participant code), an **event** a
  scheduled visit (``<visit>_arm_1``, one arm: REDCap's arms are schedules, never the
  randomisation), an **instrument** a form, a **repeat instance** the instance number of a
  repeating form, and ``<form>_complete`` the form's state (0 incomplete: not required; 1
  unverified: entered; 2 complete: entered and covered by a signature in force).
* A **field** is an item of a form's non-repeating item groups. An item name used by an earlier
  form (``weight`` on the screening form and on vital signs) is ``<form>_<item>`` on the later
  one: REDCap field names are unique in a project. Items of repeating item groups and the inputs
  of an instrument group (whose items the protocol does not list) have no field.
* Values are REDCap's raw values: booleans ``1``/``0``, date-times ``YYYY-MM-DD HH:MM:SS``,
  codes as coded; ``rawOrLabel=label`` gives the code list's labels and Yes/No.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from trialkit.protocol import Form, Item, Study
from trialkit.protocol.forms import DataType

__all__ = [
    "HEAD_COLUMNS",
    "RECORD_FIELD",
    "STATUS_COMPLETE",
    "STATUS_INCOMPLETE",
    "STATUS_UNVERIFIED",
    "Field",
    "ProjectMap",
    "label_of",
    "raw_of",
    "redcap_name",
]

RECORD_FIELD = "record_id"
#: the columns after ``record_id`` on every flat row
HEAD_COLUMNS = ("redcap_event_name", "redcap_repeat_instrument", "redcap_repeat_instance")
STATUS_INCOMPLETE, STATUS_UNVERIFIED, STATUS_COMPLETE = "0", "1", "2"
_NOT_NAME = re.compile(r"[^a-z0-9_]+")


def redcap_name(text: str) -> str:
    """``text`` as a REDCap name: lower case letters, digits and underscores, a letter first."""
    name = _NOT_NAME.sub("_", text.lower()).strip("_") or "x"
    return name if name[0].isalpha() else f"f_{name}"


@dataclass(frozen=True)
class Field:
    """One REDCap field: the item it stands for, on its form (``instrument`` is its name)."""

    name: str
    instrument: str
    form: Form
    group_id: str
    item: Item


class ProjectMap:
    """The REDCap names of a study's forms, items and visits, both ways."""

    def __init__(self, study: Study) -> None:
        self.study = study
        self.fields: list[Field] = []
        self.instruments: list[tuple[str, Form]] = []
        taken = {RECORD_FIELD}
        for form in study.forms:
            instrument = redcap_name(form.id)
            mine: list[Field] = []
            for group in form.groups:
                if group.repeating:
                    continue
                for item in group.items:
                    name = item.name if item.name not in taken else f"{instrument}_{item.name}"
                    while name in taken:
                        name += "_"
                    taken.add(name)
                    mine.append(Field(name, instrument, form, group.id, item))
            if mine:
                self.instruments.append((instrument, form))
                self.fields.extend(mine)
        self.by_name = {f.name: f for f in self.fields}
        self.by_item = {(f.form.id, f.item.name): f for f in self.fields}
        self.form_of = dict(self.instruments)
        self.instrument_of = {form.id: name for name, form in self.instruments}
        self.events: list[tuple[str, str, str]] = [  # unique name, visit id, visit name
            (f"{redcap_name(v.id)}_arm_1", v.id, v.name) for v in study.timeline.visits
        ]
        self.visit_of = {unique: visit for unique, visit, _ in self.events}
        self.event_of = {visit: unique for unique, visit, _ in self.events}
        self.visit_forms = {v.id: list(v.forms) for v in study.timeline.visits}

    @property
    def record_instrument(self) -> str:
        """The first instrument, which carries ``record_id`` (REDCap's rule)."""
        return self.instruments[0][0] if self.instruments else "record"

    def fields_of(self, instrument: str) -> list[Field]:
        return [f for f in self.fields if f.instrument == instrument]


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
