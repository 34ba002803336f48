"""A study's forms seen through the instruments: expansion into items, and the checks.

An item group that names an ``instrument`` and lists no ``items`` takes the instrument's items;
:func:`expand_study` returns the study with those items written out (code items get a generated
code list ``<instrument>.<item>``), so that validation, exports and pages see every item.
:func:`check_study_instruments` is a :data:`~trialkit.protocol.Checker` for the references to
instruments (codes in :data:`CODES`, documented in docs/checks.md).
"""

from __future__ import annotations

from trialkit.errors import ValidationFailed
from trialkit.instruments.items import ItemDef
from trialkit.instruments.registry import INSTRUMENTS
from trialkit.protocol import (
    CodeList,
    CodeListItem,
    DataType,
    Diagnostic,
    Form,
    Item,
    ItemGroup,
    Severity,
    Study,
)

__all__ = ["CODES", "check_study_instruments", "derived_instrument", "expand_study"]

CODES: dict[str, str] = {
    "INSTR.E001": "an item group or item names an instrument that does not exist",
    "INSTR.E002": "a derived item names an instrument that does not exist",
    "INSTR.E003": "an item group's instrument options are not valid for the instrument",
    "INSTR.E004": "an item says it feeds an instrument that has no item of that name",
}


def derived_instrument(derived: str) -> tuple[str, str | None]:
    """``"sf36_pcs"`` -> ("sf36_pcs", None); ``"rand36:physical_functioning"`` -> (name, part)."""
    name, _, part = derived.partition(":")
    return name, part or None


def _item(instrument: str, d: ItemDef) -> tuple[Item, CodeList | None]:
    codelist = None
    if d.data_type == "code":
        codelist = CodeList(
            id=f"{instrument}.{d.name}",
            items=[CodeListItem(code=c, label=label) for c, label in d.codes.items()],
        )
    item = Item(
        name=d.name,
        label=d.label,
        data_type=DataType(d.data_type),
        unit=d.unit,
        min=d.minimum,
        max=d.maximum,
        required=d.required,
        codelist=codelist.id if codelist else None,
        instrument=instrument,
        help=d.description,
    )
    return item, codelist


def expand_study(study: Study) -> Study:
    """``study`` with every instrument item group's items written out."""
    codelists = list(study.codelists)
    known = {c.id for c in codelists}
    forms: list[Form] = []
    changed = False
    for form in study.forms:
        groups: list[ItemGroup] = []
        for group in form.groups:
            if group.instrument and not group.items and group.instrument in INSTRUMENTS:
                inst = INSTRUMENTS[group.instrument]
                items: list[Item] = []
                for d in inst.item_defs(inst.parse_options(group.instrument_options)):
                    item, codelist = _item(inst.name, d)
                    items.append(item)
                    if codelist and codelist.id not in known:
                        codelists.append(codelist)
                        known.add(codelist.id)
                groups.append(group.model_copy(update={"items": items}))
                changed = True
            else:
                groups.append(group)
        forms.append(form.model_copy(update={"groups": groups}))
    if not changed:
        return study
    return study.model_copy(update={"forms": forms, "codelists": codelists})


def check_study_instruments(study: Study) -> list[Diagnostic]:
    known = ", ".join(sorted(INSTRUMENTS))
    found: list[Diagnostic] = []
    for form in study.forms:
        for group in form.groups:
            path = f"forms.{form.id}.groups.{group.id}"
            if group.instrument and group.instrument not in INSTRUMENTS:
                found.append(
                    Diagnostic(
                        "INSTR.E001",
                        Severity.ERROR,
                        path,
                        f"item group {group.id} names instrument {group.instrument!r}, which "
                        "does not exist",
                        f"use one of: {known}",
                    )
                )
            elif group.instrument:
                try:
                    INSTRUMENTS[group.instrument].parse_options(group.instrument_options)
                except ValidationFailed as exc:
                    found.append(
                        Diagnostic(
                            "INSTR.E003",
                            Severity.ERROR,
                            path,
                            f"options of instrument {group.instrument}: {exc.message}",
                        )
                    )
            for item in group.items:
                ipath = f"{path}.items.{item.name}"
                if item.derived:
                    name, _ = derived_instrument(item.derived)
                    if name not in INSTRUMENTS:
                        found.append(
                            Diagnostic(
                                "INSTR.E002",
                                Severity.ERROR,
                                ipath,
                                f"item {item.name} is derived from instrument {name!r}, which "
                                "does not exist",
                                f"use one of: {known}",
                            )
                        )
                if item.instrument:
                    inst = INSTRUMENTS.get(item.instrument)
                    if inst is None:
                        found.append(
                            Diagnostic(
                                "INSTR.E001",
                                Severity.ERROR,
                                ipath,
                                f"item {item.name} feeds instrument {item.instrument!r}, which "
                                "does not exist",
                                f"use one of: {known}",
                            )
                        )
                    elif item.name not in {d.name for d in inst.items}:
                        found.append(
                            Diagnostic(
                                "INSTR.E004",
                                Severity.ERROR,
                                ipath,
                                f"item {item.name} feeds {inst.name}, which has no item of that "
                                "name",
                                "use one of: " + ", ".join(d.name for d in inst.items),
                            )
                        )
    return found
