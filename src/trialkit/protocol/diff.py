"""What an amendment changes: two protocol versions compared item by item.

:func:`diff_studies` compares a study's current version with a new one section by section, each
element matched by its id: visits (their anchor, offset, window, forms and dosing), dosing
events, forms (name, checks, repeating, consent; the groups without their items) and each
item of each form (``FORM/item``: type, unit, range, code list, required...), code lists, the
eligibility criteria (text, expression, judgement item), the stopping rules, the arms, the
reference ranges and the serious-report hours. An element is ``added``, ``removed`` or
``changed``; a changed one lists each field that differs (a dotted path into the element, e.g.
``window.upper``) with its old and new value. Nothing here reads a database or a clock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from trialkit.protocol.study import Study

__all__ = ["DIFF_SECTIONS", "ChangedField", "ProtocolChange", "diff_studies"]


@dataclass(frozen=True)
class ChangedField:
    """One field of an element: its dotted path, the old and the new value (JSON-like)."""

    path: str
    old: Any
    new: Any


@dataclass(frozen=True)
class ProtocolChange:
    """One element of a section, added, removed or changed (with the fields that differ)."""

    section: str
    key: str
    kind: str  # added | removed | changed
    fields: tuple[ChangedField, ...] = ()


_MISSING = object()


def _flat(value: Any, prefix: str = "") -> dict[str, Any]:
    """``value`` (a dump) as dotted paths to leaves; lists of scalars stay whole."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k in sorted(value):
            out.update(_flat(value[k], f"{prefix}.{k}" if prefix else str(k)))
        return out
    if isinstance(value, list) and any(isinstance(v, dict | list) for v in value):
        out = {}
        for i, v in enumerate(value):
            out.update(_flat(v, f"{prefix}[{i}]"))
        return out
    return {prefix or "value": value}


def _fields(old: Any, new: Any) -> tuple[ChangedField, ...]:
    a, b = _flat(old), _flat(new)
    out = []
    for path in sorted(set(a) | set(b)):
        x, y = a.get(path, _MISSING), b.get(path, _MISSING)
        if x != y:
            out.append(
                ChangedField(path, None if x is _MISSING else x, None if y is _MISSING else y)
            )
    return tuple(out)


def _compare(section: str, old: dict[str, Any], new: dict[str, Any]) -> list[ProtocolChange]:
    out = [ProtocolChange(section, k, "removed") for k in old if k not in new]
    for k, value in new.items():
        if k not in old:
            out.append(ProtocolChange(section, k, "added"))
        elif old[k] != value:
            out.append(ProtocolChange(section, k, "changed", _fields(old[k], value)))
    return out


def _dump(model: Any, exclude: set[str] | None = None) -> Any:
    return model.model_dump(mode="json", exclude=exclude)


def _visits(s: Study) -> dict[str, Any]:
    return {v.id: _dump(v) for v in s.timeline.visits}


def _dosing(s: Study) -> dict[str, Any]:
    return {d.id: _dump(d) for d in s.timeline.dosing}


def _forms(s: Study) -> dict[str, Any]:
    out = {}
    for f in s.forms:
        dumped = _dump(f, {"groups"})
        dumped["groups"] = [_dump(g, {"items"}) for g in f.groups]
        out[f.id] = dumped
    return out


def _items(s: Study) -> dict[str, Any]:
    return {f"{f.id}/{i.name}": _dump(i) for f in s.forms for i in f.items()}


def _by_id(get: Callable[[Study], Iterable[Any]]) -> Callable[[Study], dict[str, Any]]:
    return lambda s: {str(x.id): _dump(x) for x in get(s)}


def _ranges(s: Study) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for r in s.reference_ranges:
        key, n = r.item, 1
        while key in out:  # several ranges of one item: numbered in their order
            n += 1
            key = f"{r.item} #{n}"
        out[key] = _dump(r)
    return out


def _safety(s: Study) -> dict[str, Any]:
    return {
        "serious_report_hours": s.safety.serious_report_hours,
        "grading": s.safety.grading,
    }


#: The sections compared, in the order shown: (name, the elements by key).
DIFF_SECTIONS: tuple[tuple[str, Callable[[Study], dict[str, Any]]], ...] = (
    ("visits", _visits),
    ("dosing", _dosing),
    ("forms", _forms),
    ("items", _items),
    ("codelists", _by_id(lambda s: s.codelists)),
    ("criteria", _by_id(lambda s: s.eligibility)),
    ("stopping_rules", _by_id(lambda s: s.safety.stopping_rules)),
    ("arms", _by_id(lambda s: s.arms)),
    ("reference_ranges", _ranges),
    ("safety", lambda s: {"safety": _safety(s)}),
)


def diff_studies(old: Study, new: Study) -> list[ProtocolChange]:
    """Every element of :data:`DIFF_SECTIONS` that ``new`` adds, removes or changes from ``old``,
    section by section, each section in ``new``'s order (removed elements first)."""
    out: list[ProtocolChange] = []
    for name, elements in DIFF_SECTIONS:
        out.extend(_compare(name, elements(old), elements(new)))
    return out
