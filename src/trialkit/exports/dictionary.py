"""The data dictionary: one row per item of every form (and derived score) the study captures.

The items come from every protocol version the exported values were captured under, newest
first (an item renamed by an amendment appears under both names). Units are UCUM codes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from trialkit.protocol import Item, Study, units

__all__ = ["DICTIONARY_COLUMNS", "Entry", "codelist_text", "codes", "entries", "forms_of"]

DICTIONARY_COLUMNS = (
    "form",
    "form_name",
    "group",
    "item",
    "label",
    "type",
    "unit",
    "codes",
    "min",
    "max",
    "derived",
    "protocol_versions",
)


@dataclass
class Entry:
    """One item of one form in the dictionary."""

    form: str
    form_name: str
    group: str
    item: Item
    versions: list[str]

    @property
    def key(self) -> tuple[str, str]:
        return (self.form, self.item.name)

    def row(self, study: Study) -> dict[str, str]:
        i = self.item
        return {
            "form": self.form,
            "form_name": self.form_name,
            "group": self.group,
            "item": i.name,
            "label": i.label,
            "type": i.data_type.value,
            "unit": units.ucum(i.unit) if i.unit else "",
            "codes": codelist_text(study, i),
            "min": _num(i.min),
            "max": _num(i.max),
            "derived": i.derived or "",
            "protocol_versions": " ".join(self.versions),
        }


def _num(value: Decimal | None) -> str:
    return "" if value is None else format(value, "f")


def codelist_text(study: Study, item: Item) -> str:
    """``code=label; ...`` of the item's code list (empty without one)."""
    found = codes(study, item)
    return "; ".join(f"{c}={label}" for c, label in found.items())


def codes(study: Study, item: Item) -> dict[str, str]:
    """The item's code list as code -> label, in the list's order (empty without one)."""
    if not item.codelist:
        return {}
    cl = study.codelist(item.codelist)
    return {} if cl is None else {c.code: c.label for c in cl.items}


def entries(versions: Mapping[str, Study], newest: str) -> list[Entry]:
    """The dictionary's entries: the newest version's forms in order, then older-only items."""
    order = [newest, *sorted((v for v in versions if v != newest), reverse=True)]
    found: dict[tuple[str, str], Entry] = {}
    for version in order:
        study = versions[version]
        for form in study.forms:
            for group in form.groups:
                for item in group.items:
                    key = (form.id, item.name)
                    if key in found:
                        found[key].versions.append(version)
                    else:
                        found[key] = Entry(form.id, form.name, group.id, item, [version])
    return list(found.values())


def forms_of(entries_: Iterable[Entry]) -> dict[str, list[Entry]]:
    """The entries grouped by form, in order."""
    out: dict[str, list[Entry]] = {}
    for e in entries_:
        out.setdefault(e.form, []).append(e)
    return out
