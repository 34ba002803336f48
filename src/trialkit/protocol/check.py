"""Consistency checks of a study definition, each with a stable code.

``check_study`` runs the structural checks of this layer; callers add the checks of lower layers
(criteria type-checking, instrument names) by passing ``extra`` checkers, so that this module
imports nothing below it. Every code is documented in ``docs/checks.md`` (a test enforces it).
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from trialkit.protocol import units
from trialkit.protocol.design import INTERVENTIONAL_MODELS, OBSERVATIONAL_MODELS, Allocation
from trialkit.protocol.endpoints import DoseSelection, EndpointSpec, ResponderRule
from trialkit.protocol.forms import DataType, Form, Item, ItemGroup
from trialkit.protocol.passages import disagreements
from trialkit.protocol.randomisation import FACTOR_METHODS, Factor
from trialkit.protocol.study import Study

__all__ = ["CODES", "Checker", "Diagnostic", "Severity", "check_study"]


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True)
class Diagnostic:
    """One finding: a stable code, where it is, what is wrong and how to fix it."""

    code: str
    severity: Severity
    path: str
    message: str
    hint: str | None = None
    cites: tuple[str, ...] = field(default=())

    def __str__(self) -> str:
        text = f"{self.severity.value} {self.code} at {self.path}: {self.message}"
        if self.hint:
            text += f" ({self.hint})"
        return text


Checker = Callable[[Study], Iterable[Diagnostic]]

#: Every code this layer emits, with a one-line meaning (documented in docs/checks.md).
CODES: dict[str, str] = {
    "STUDY.E001": "the screening form is not a defined form",
    "STUDY.E002": "an interventional study has no arm",
    "ARM.E001": "two arms share an id",
    "ARM.E002": "two interventions share an id",
    "ARM.E003": "an experimental or comparator arm has no intervention",
    "DES.E001": "the cohort order names an arm that is not defined",
    "DES.W002": "cohorts times cohort size differ from the target sample size",
    "DES.W003": "the arms' planned sizes do not add up to the target sample size",
    "DES.W004": "the intervention model does not fit the study type",
    "SCHED.E001": "two visits share an id",
    "SCHED.E002": "a visit window is empty or does not contain its target day",
    "SCHED.E003": "a visit or dosing event counts from an anchor that is not defined",
    "SCHED.E004": "a visit lists a form that is not defined",
    "SCHED.E005": "a visit lists a dosing event that is not defined",
    "SCHED.W006": "the windows of two visits on the same anchor overlap",
    "SCHED.W007": "a dosing event is given at no visit",
    "SCHED.E008": "two dosing events share an id",
    "SCHED.E009": "two anchors share an id",
    "SCHED.E010": "a dosing window is empty",
    "SCHED.W011": "arms give interventions but the timeline has no dosing event",
    "FORM.E001": "two forms share an id",
    "FORM.W002": "a form is due at no visit",
    "FORM.E003": "an item names a code list that is not defined",
    "FORM.E004": "two items of one form share a name",
    "FORM.E005": "two item groups of one form share an id",
    "FORM.E006": "one item name is defined with different types on different forms",
    "FORM.E007": "a unit does not resolve",
    "FORM.E008": "one item name has different code lists on different forms",
    "GROUP.E001": "a row rule is given for an item group that does not repeat",
    "GROUP.E002": "an item group's minimum number of rows is above its maximum",
    "GROUP.E003": "a row rule names an item that is not in its item group",
    "GROUP.E004": "an exactly-once value is not a valid value of its item",
    "GROUP.E005": "an item group's rows cannot meet its own rules",
    "CONSENT.E001": "more than one form records the consent",
    "CONSENT.E002": "a consent item is not an item of its form, or not of the right type",
    "CONSENT.E003": "the consent form is listed at no visit",
    "DOSE.E001": "a dose unit does not resolve",
    "DOSE.E002": "the unit a dose is given per does not resolve",
    "DOSE.E003": "the item a dose is computed from is not defined",
    "DOSE.E004": "the basis item's unit is not of the dimension the dose is given per",
    "DOSE.E005": "a dose volume is not a volume",
    "DOSE.E006": "a drug, biological, cells or exosomes intervention has no dose rule",
    "DOSE.W007": "an intervention of kind 'other' has no dose rule",
    "DOSE.E008": "the administration form or one of its items is not defined",
    "DOSE.E009": "a dosing event is not given at a visit that collects the administration form",
    "DOSE.E010": "a dose's basis_where names an item or code its basis item's group lacks",
    "ELIG.E001": "two criteria share an id",
    "ELIG.E002": "a judgement criterion names an item that is not defined",
    "ELIG.E003": "a judgement item is not a yes/no item",
    "OUT.E001": "an endpoint names an item that is not defined",
    "OUT.E002": "an endpoint names a visit that is not defined",
    "OUT.E003": "an endpoint counts time from an anchor that is not defined",
    "OUT.E004": "two outcomes share an id",
    "OUT.E005": "a dose selection names an arm that is not defined",
    "OUT.E007": "a dose selection scored by BOIN12 desirability has utilities that are not "
    "standardised (u(E¬T) = 100, u(¬ET) = 0, all within 0..100) or a non-positive utility prior",
    "OUT.W006": "an outcome has no endpoint (no computable definition)",
    "REF.E001": "a reference range is for an item that is not defined",
    "REF.E002": "a reference range's unit does not resolve or differs from its item's unit",
    "SAFE.E001": "two stopping rules share an id",
    "REG.W001": "the registry record states a criterion twice with different numbers",
    "ALLOC.E001": "the randomisation ratio names an arm that is not defined",
    "ALLOC.E002": "a block size is not a multiple of the ratio total",
    "ALLOC.E003": "stratified blocks or minimisation without factors",
    "ALLOC.E004": "a factor's item is not captured at the screening visit",
    "ALLOC.W005": "the design is randomised but states no randomisation",
    "ALLOC.E006": "a randomisation is given for a design that is not randomised",
    "ALLOC.E007": "sequential cohorts and a randomisation are both given",
    "ALLOC.E008": "a factor's levels do not fit its item",
    "ALLOC.E009": "fewer than two arms to randomise between",
}


def _dupes(values: Iterable[str]) -> list[str]:
    return [v for v, n in Counter(values).items() if n > 1]


def _d(
    code: str, path: str, message: str, hint: str | None = None, cites: tuple[str, ...] = ()
) -> Diagnostic:
    sev = {"E": Severity.ERROR, "W": Severity.WARNING, "I": Severity.INFO}[code.split(".")[1][0]]
    return Diagnostic(code, sev, path, message, hint, cites)


#: Arm types that exist to give something, so they need at least one intervention.
_TREATED_ARMS = frozenset({"experimental", "active_comparator", "placebo_comparator"})
#: Product kinds that are given in amounts, so they need a dose rule.
_DOSED_KINDS = frozenset({"drug", "biological", "cells", "exosomes"})


def _study_type(study: Study) -> str:
    return study.identity.study_type.strip().lower().replace("-", "_").replace(" ", "_")


def _check_study_type(study: Study) -> Iterable[Diagnostic]:
    kind = _study_type(study)
    if kind == "interventional" and not study.arms:
        yield _d(
            "STUDY.E002",
            "arms",
            "the study is interventional but defines no arm",
            "add an arm with its interventions and doses, or set identity.study_type to "
            "observational",
        )
    model = study.design.intervention_model
    if kind == "interventional" and model in OBSERVATIONAL_MODELS:
        yield _d(
            "DES.W004",
            "design.intervention_model",
            f"intervention model {model!r} is an observational model, but the study is "
            "interventional",
            "use one of: " + ", ".join(INTERVENTIONAL_MODELS),
        )
    elif kind == "observational" and model in INTERVENTIONAL_MODELS:
        yield _d(
            "DES.W004",
            "design.intervention_model",
            f"intervention model {model!r} is an interventional model, but the study is "
            "observational",
            "use one of: " + ", ".join(OBSERVATIONAL_MODELS),
        )


def _check_arms(study: Study) -> Iterable[Diagnostic]:
    for arm in study.arms:
        if arm.type in _TREATED_ARMS and not arm.interventions:
            yield _d(
                "ARM.E003",
                f"arms.{arm.id}.interventions",
                f"arm {arm.id} ({arm.name}) is {arm.type.replace('_', ' ')} but has no "
                "intervention",
                "add the intervention it gives (product, route, dose), or set its type to "
                "no_intervention or other",
            )
    for arm_id in _dupes(a.id for a in study.arms):
        yield _d(
            "ARM.E001",
            f"arms.{arm_id}",
            f"arm id {arm_id!r} is used twice",
            "give each arm its own id",
        )
    # The same intervention may serve several arms only if it is identical.
    seen: dict[str, object] = {}
    for arm in study.arms:
        for iv in arm.interventions:
            if iv.id in seen and seen[iv.id] != iv:
                yield _d(
                    "ARM.E002",
                    f"arms.{arm.id}.interventions.{iv.id}",
                    f"intervention id {iv.id!r} names two different interventions",
                    "give each intervention its own id",
                )
            seen.setdefault(iv.id, iv)
    design = study.design
    arm_ids = {a.id for a in study.arms}
    if design.cohorts:
        for arm_id in design.cohorts.order:
            if arm_id not in arm_ids:
                yield _d(
                    "DES.E001",
                    "design.cohorts.order",
                    f"cohort arm {arm_id!r} is not defined",
                    "use one of: " + ", ".join(sorted(arm_ids)),
                )
        total = len(design.cohorts.order) * design.cohorts.cohort_size
        if total != design.sample_size.target:
            yield _d(
                "DES.W002",
                "design.cohorts",
                f"{len(design.cohorts.order)} cohorts of {design.cohorts.cohort_size} make "
                f"{total}, but the target sample size is {design.sample_size.target}",
            )
    planned = [a.planned_size for a in study.arms]
    if planned and all(p is not None for p in planned):
        total_planned = sum(p for p in planned if p is not None)
        if total_planned != design.sample_size.target:
            yield _d(
                "DES.W003",
                "arms",
                f"arms plan {total_planned} participants, the target sample size is "
                f"{design.sample_size.target}",
            )


def _check_timeline(study: Study) -> Iterable[Diagnostic]:
    tl = study.timeline
    anchors = {a.id for a in tl.anchors}
    forms = {f.id for f in study.forms}
    dosing = {d.id for d in tl.dosing}
    for dup in _dupes(a.id for a in tl.anchors):
        yield _d("SCHED.E009", f"timeline.anchors.{dup}", f"anchor id {dup!r} is used twice")
    for dup in _dupes(v.id for v in tl.visits):
        yield _d(
            "SCHED.E001",
            f"timeline.visits.{dup}",
            f"visit id {dup!r} is used twice",
            "give each visit its own id",
        )
    for dup in _dupes(d.id for d in tl.dosing):
        yield _d("SCHED.E008", f"timeline.dosing.{dup}", f"dosing event id {dup!r} is used twice")
    for ev in tl.dosing:
        if ev.anchor not in anchors:
            yield _d(
                "SCHED.E003",
                f"timeline.dosing.{ev.id}.anchor",
                f"dosing event {ev.id} counts from anchor {ev.anchor!r}, which is not defined",
                "use one of: " + ", ".join(sorted(anchors)),
            )
        w = ev.window_hours
        if w.lower > w.upper or w.lower > 0 or w.upper < 0:
            yield _d(
                "SCHED.E010",
                f"timeline.dosing.{ev.id}.window_hours",
                f"dosing event {ev.id}: window {w.lower:+d} h to {w.upper:+d} h is empty or "
                "misses its target",
                "the lower bound must be ≤ 0 and come first",
            )
    if not tl.dosing and any(arm.interventions for arm in study.arms):
        yield _d(
            "SCHED.W011",
            "timeline.dosing",
            "the arms give interventions, but the timeline has no dosing event",
            "add the administrations (or device applications) under timeline.dosing and list "
            "them under the visits they happen at",
        )
    given: set[str] = set()
    for v in tl.visits:
        path = f"timeline.visits.{v.id}"
        if v.anchor not in anchors:
            yield _d(
                "SCHED.E003",
                f"{path}.anchor",
                f"visit {v.id} counts from anchor {v.anchor!r}, which is not defined",
                "use one of: " + ", ".join(sorted(anchors)),
            )
        w = v.window
        if w.lower > w.upper:
            yield _d(
                "SCHED.E002",
                f"{path}.window",
                f"visit {v.id}: window {w.lower:+d} d to {w.upper:+d} d is empty",
                "the lower bound must come first",
            )
        elif w.lower > 0 or w.upper < 0:
            yield _d(
                "SCHED.E002",
                f"{path}.window",
                f"visit {v.id}: window {w.lower:+d} d to {w.upper:+d} d does not contain the "
                "target day",
                "the lower bound must be ≤ 0 and the upper ≥ 0",
            )
        for f in v.forms:
            if f not in forms:
                yield _d(
                    "SCHED.E004",
                    f"{path}.forms",
                    f"visit {v.id} lists form {f!r}, which is not defined",
                    "use one of: " + ", ".join(sorted(forms)),
                )
        for d in v.dosing:
            if d not in dosing:
                yield _d(
                    "SCHED.E005",
                    f"{path}.dosing",
                    f"visit {v.id} lists dosing event {d!r}, which is not defined",
                )
            given.add(d)
    for ev in tl.dosing:
        if ev.id not in given:
            yield _d(
                "SCHED.W007",
                f"timeline.dosing.{ev.id}",
                f"dosing event {ev.id} is given at no visit",
                "list it under a visit's `dosing`",
            )
    by_anchor: dict[str, list[tuple[int, int, str]]] = {}
    for v in tl.visits:
        target = v.offset.days
        by_anchor.setdefault(v.anchor, []).append(
            (target + v.window.lower, target + v.window.upper, v.id)
        )
    for anchor, spans in by_anchor.items():
        spans.sort()
        for (lo1, hi1, a), (lo2, hi2, b) in itertools.pairwise(spans):
            if lo2 <= hi1:
                yield _d(
                    "SCHED.W006",
                    f"timeline.visits.{b}",
                    f"visits {a} (days {lo1}..{hi1}) and {b} (days {lo2}..{hi2}) after "
                    f"{anchor} overlap",
                    "narrow the windows so a date falls in one visit",
                )


def _codes(study: Study, codelist_id: str | None) -> frozenset[str] | None:
    if codelist_id is None:
        return None
    codelist = study.codelist(codelist_id)
    return None if codelist is None else frozenset(codelist.codes())


def _check_forms(study: Study) -> Iterable[Diagnostic]:
    codelists = {c.id for c in study.codelists}
    if study.screening_form not in {f.id for f in study.forms}:
        yield _d(
            "STUDY.E001",
            "screening_form",
            f"screening form {study.screening_form!r} is not defined",
            "name one of the forms",
        )
    for f in _dupes(f.id for f in study.forms):
        yield _d("FORM.E001", f"forms.{f}", f"form id {f!r} is used twice")
    due = {f for v in study.timeline.visits for f in v.forms}
    due |= set(study.timeline.unscheduled.forms)
    due.add(study.screening_form)
    types: dict[str, tuple[DataType, str]] = {}
    codelists_seen: dict[str, tuple[frozenset[str] | None, str]] = {}
    for form in study.forms:
        path = f"forms.{form.id}"
        if form.id not in due:
            yield _d(
                "FORM.W002",
                path,
                f"form {form.id} is due at no visit",
                "list it under a visit's `forms` or the unscheduled forms",
            )
        for g in _dupes(g.id for g in form.groups):
            yield _d("FORM.E005", f"{path}.groups.{g}", f"item group id {g!r} is used twice")
        for name in _dupes(i.name for i in form.items()):
            yield _d(
                "FORM.E004",
                f"{path}.items.{name}",
                f"item {name!r} is defined twice on form {form.id}",
            )
        for item in form.items():
            ipath = f"{path}.items.{item.name}"
            if item.codelist and item.codelist not in codelists:
                yield _d(
                    "FORM.E003",
                    ipath,
                    f"item {item.name} names code list {item.codelist!r}, which is not defined",
                    "add it under `codelists`",
                )
            if item.unit and not units.is_known(item.unit):
                yield _d(
                    "FORM.E007",
                    ipath,
                    f"item {item.name}: unit {item.unit!r} does not resolve",
                    "use a unit from trialkit.protocol.units",
                )
            if item.name in types and types[item.name][0] != item.data_type:
                other_type, other_form = types[item.name]
                yield _d(
                    "FORM.E006",
                    ipath,
                    f"item {item.name} is {item.data_type.value} here but "
                    f"{other_type.value} on form {other_form}",
                    "use one type, or rename one",
                )
            types.setdefault(item.name, (item.data_type, form.id))
            codes = _codes(study, item.codelist)
            if item.name in codelists_seen and codes is not None:
                other_codes, other_form = codelists_seen[item.name]
                if other_codes is not None and other_codes != codes:
                    yield _d(
                        "FORM.E008",
                        ipath,
                        f"item {item.name} has codes {', '.join(sorted(codes))} here but "
                        f"{', '.join(sorted(other_codes))} on form {other_form}",
                        "use one code list for one item name, or rename one of the items",
                    )
            codelists_seen.setdefault(item.name, (codes, form.id))


def _check_group_rules(study: Study) -> Iterable[Diagnostic]:
    for form in study.forms:
        for group in form.groups:
            yield from _group_rules(study, form, group)


def _group_rules(study: Study, form: Form, group: ItemGroup) -> Iterable[Diagnostic]:
    path = f"forms.{form.id}.groups.{group.id}"
    rules = [
        name
        for name, given in (
            ("min_repeats", group.min_repeats is not None),
            ("max_repeats", group.max_repeats is not None),
            ("unique", bool(group.unique)),
            ("exactly_once", bool(group.exactly_once)),
        )
        if given
    ]
    if rules and not group.repeating:
        yield _d(
            "GROUP.E001",
            path,
            f"item group {group.id} does not repeat, but states the row rule(s) "
            + ", ".join(rules),
            "set `repeating: true`, or remove the row rules",
        )
    low, high = group.min_repeats, group.max_repeats
    if low is not None and high is not None and low > high:
        yield _d(
            "GROUP.E002",
            path,
            f"item group {group.id}: at least {low} row(s) but at most {high}: no number fits",
            "the minimum must not be above the maximum",
        )
    items = {i.name: i for i in group.items}
    named = [("unique", n) for n in group.unique] + [
        ("exactly_once", r.item) for r in group.exactly_once
    ]
    if items or not group.instrument:  # an instrument's items are checked once written out
        for which, name in named:
            if name not in items:
                yield _d(
                    "GROUP.E003",
                    f"{path}.{which}",
                    f"item group {group.id}: {which} names item {name!r}, which is not in "
                    "the group",
                    "use one of: " + (", ".join(items) or "no items"),
                )
    seen: set[tuple[str, str]] = set()
    for rule in group.exactly_once:
        item = items.get(rule.item)
        if item is None:
            continue
        codes = _codes(study, item.codelist)
        if item.data_type is DataType.CODE and codes is not None and rule.value not in codes:
            yield _d(
                "GROUP.E004",
                f"{path}.exactly_once",
                f"item group {group.id}: {rule.item} has no code {rule.value!r}",
                "use one of: " + ", ".join(sorted(codes)),
            )
        elif item.data_type is DataType.BOOLEAN and rule.value not in ("yes", "no"):
            yield _d(
                "GROUP.E004",
                f"{path}.exactly_once",
                f"item group {group.id}: {rule.item} is yes/no, not {rule.value!r}",
                "use yes or no",
            )
        if (rule.item, rule.value) in seen:
            yield _d(
                "GROUP.E005",
                f"{path}.exactly_once",
                f"item group {group.id}: {rule.item} = {rule.value} is listed twice",
                "list each role once",
            )
        seen.add((rule.item, rule.value))
    if high is not None and len(seen) > high:
        yield _d(
            "GROUP.E005",
            path,
            f"item group {group.id}: {len(seen)} roles must each occur once, but at most "
            f"{high} row(s) are allowed",
            f"allow at least {len(seen)} rows, or drop a role",
        )


def _check_consent_form(study: Study) -> Iterable[Diagnostic]:
    recording = [f for f in study.forms if f.consent is not None]
    if len(recording) > 1:
        yield _d(
            "CONSENT.E001",
            f"forms.{recording[1].id}.consent",
            "forms " + ", ".join(f.id for f in recording) + " all record the consent",
            "state `consent:` on one form only",
        )
    for form in recording:
        assert form.consent is not None
        path = f"forms.{form.id}.consent"
        items = {i.name: i for i in form.items()}
        wanted = (
            ("date", form.consent.date, DataType.DATE),
            ("form_version", form.consent.form_version, DataType.TEXT),
            ("obtained_by", form.consent.obtained_by, DataType.TEXT),
        )
        for field_name, name, data_type in wanted:
            item = items.get(name)
            if item is None:
                yield _d(
                    "CONSENT.E002",
                    f"{path}.{field_name}",
                    f"form {form.id}: consent {field_name} names item {name!r}, which is not "
                    "on the form",
                    "use one of: " + ", ".join(items),
                )
            elif item.data_type is not data_type or item.derived:
                yield _d(
                    "CONSENT.E002",
                    f"{path}.{field_name}",
                    f"form {form.id}: consent {field_name} item {name} is "
                    f"{'derived' if item.derived else item.data_type.value}, not "
                    f"{data_type.value}",
                    f"make {name} a {data_type.value} item that is entered",
                )
        if not any(form.id in v.forms for v in study.timeline.visits):
            yield _d(
                "CONSENT.E003",
                path,
                f"form {form.id} records the consent but is listed at no visit",
                "list it under the screening visit's `forms`",
            )


def _check_doses(study: Study) -> Iterable[Diagnostic]:
    items = study.items()
    for arm in study.arms:
        for iv in arm.interventions:
            path = f"arms.{arm.id}.interventions.{iv.id}.dose"
            dose = iv.dose
            if dose is None:
                kind = iv.product.kind
                if kind in _DOSED_KINDS:
                    yield _d(
                        "DOSE.E006",
                        path,
                        f"intervention {iv.id} ({iv.name}, {kind}) of arm {arm.id} has no "
                        "dose rule",
                        "add `dose` with amount and unit (e.g. 2000000 cells per kg of weight), "
                        "as the protocol states it",
                    )
                elif kind == "other":
                    yield _d(
                        "DOSE.W007",
                        path,
                        f"intervention {iv.id} ({iv.name}) of arm {arm.id} is of kind 'other' "
                        "and has no dose rule",
                        "add `dose` if it is given in amounts; if it is a device, set "
                        "product.kind to device",
                    )
                continue
            if not units.is_known(dose.unit):
                yield _d(
                    "DOSE.E001",
                    path,
                    f"dose unit {dose.unit!r} does not resolve",
                    "use e.g. ug, mg, cells, particles or vial",
                )
            if dose.per is not None:
                per = units.resolve(dose.per)
                if per is None:
                    yield _d(
                        "DOSE.E002",
                        path,
                        f"dose per {dose.per!r}: unit does not resolve",
                        "use e.g. kg or cm2",
                    )
                basis = items.get(dose.basis_item or "")
                if basis is None:
                    yield _d(
                        "DOSE.E003",
                        path,
                        f"dose basis item {dose.basis_item!r} is not defined on any form",
                        "add the item (e.g. weight in kg)",
                    )
                elif per is not None:
                    bunit = units.resolve(basis.unit or "")
                    if bunit is None or bunit.dimension != per.dimension:
                        yield _d(
                            "DOSE.E004",
                            path,
                            f"dose is per {dose.per} but item "
                            f"{basis.name} is in {basis.unit or 'no unit'}",
                            f"record {basis.name} in a unit of {per.dimension}",
                        )
            if dose.volume is not None:
                vu = units.resolve(dose.volume.unit)
                if vu is None or vu.dimension != "volume":
                    yield _d(
                        "DOSE.E005",
                        path,
                        f"dose volume unit {dose.volume.unit!r} is not a volume",
                        "use mL or L",
                    )


def _check_administration(study: Study) -> Iterable[Diagnostic]:
    admin = study.timeline.administration
    if admin is None:
        return
    path = "timeline.administration"
    form = study.form(admin.form)
    if form is None:
        yield _d("DOSE.E008", path, f"administration form {admin.form!r} is not defined")
        return
    names = {i.name for i in form.items()}
    for fact in ("given_at", "product_lot", "kit", "volume", "amount", "basis", "given_by"):
        item = getattr(admin, fact)
        if item is not None and item not in names:
            yield _d(
                "DOSE.E008",
                f"{path}.{fact}",
                f"administration {fact} item {item!r} is not on form {admin.form}",
                f"add it to form {admin.form} or name one of: {', '.join(sorted(names))}",
            )
    for event in study.timeline.dosing:
        if not any(event.id in v.dosing and admin.form in v.forms for v in study.timeline.visits):
            yield _d(
                "DOSE.E009",
                f"timeline.dosing.{event.id}",
                f"dosing event {event.id} is not given at a visit that collects {admin.form}",
                f"list {event.id} under `dosing` of the visit that collects {admin.form}",
            )


def _check_basis_rows(study: Study) -> Iterable[Diagnostic]:
    for arm in study.arms:
        for iv in arm.interventions:
            dose = iv.dose
            if dose is None or not dose.basis_where or dose.basis_item is None:
                continue
            path = f"arms.{arm.id}.interventions.{iv.id}.dose.basis_where"
            groups = [
                g
                for f in study.forms
                for g in f.groups
                if dose.basis_item in {i.name for i in g.items}
            ]
            for name, code in dose.basis_where.items():
                item = next((i for g in groups for i in g.items if i.name == name), None)
                if item is None:
                    yield _d(
                        "DOSE.E010",
                        path,
                        f"item {name!r} is not in the item group of {dose.basis_item}",
                        "name an item of the same (repeating) group, e.g. lesion_role",
                    )
                    continue
                codes = _codes(study, item.codelist)
                if codes is not None and code not in codes:
                    yield _d(
                        "DOSE.E010",
                        path,
                        f"{name} has no code {code!r}",
                        "codes: " + ", ".join(sorted(codes)),
                    )


def _check_eligibility(study: Study) -> Iterable[Diagnostic]:
    items = study.items()
    for c in _dupes(c.id for c in study.eligibility):
        yield _d("ELIG.E001", f"eligibility.{c}", f"criterion id {c!r} is used twice")
    for crit in study.eligibility:
        path = f"eligibility.{crit.id}"
        if crit.judgement_item:
            item = items.get(crit.judgement_item)
            if item is None:
                yield _d(
                    "ELIG.E002",
                    path,
                    f"criterion {crit.id} names judgement item "
                    f"{crit.judgement_item!r}, which is not defined",
                    f"add a yes/no item to form {study.screening_form}",
                )
            elif item.data_type is not DataType.BOOLEAN:
                yield _d(
                    "ELIG.E003",
                    path,
                    f"judgement item {item.name} is {item.data_type.value}, not yes/no",
                    "make it a boolean item",
                )
        for passage in crit.also_stated:
            for what in disagreements(crit.text, passage.text):
                yield _d(
                    "REG.W001",
                    path,
                    f"criterion {crit.id}: the registry states {what}",
                    "decide which the study follows and record it as an amendment or note",
                    cites=(f"Criteria: {crit.text}", f"{passage.where}: {passage.text}"),
                )


def _endpoint_refs(ep: EndpointSpec) -> tuple[list[str], list[str]]:
    """The item names and visit ids an endpoint refers to."""
    item_refs = [n for n in (getattr(ep, "item", None), getattr(ep, "role_item", None)) if n]
    visit_refs = list(getattr(ep, "visits", []))
    visit_refs += [
        v for v in (getattr(ep, "visit", None), getattr(ep, "baseline_visit", None)) if v
    ]
    if isinstance(ep, ResponderRule):
        item_refs += ep.subscore_items + ([ep.bleeding_item] if ep.bleeding_item else [])
    if isinstance(ep, DoseSelection):
        item_refs.append(ep.efficacy.item)
        visit_refs.append(ep.efficacy.visit)
        if ep.efficacy.baseline_visit:
            visit_refs.append(ep.efficacy.baseline_visit)
    return item_refs, visit_refs


def _check_outcomes(study: Study) -> Iterable[Diagnostic]:
    items = study.items()
    visits = {v.id for v in study.timeline.visits}
    anchors = {a.id for a in study.timeline.anchors}
    arms = {a.id for a in study.arms}
    for o in _dupes(o.id for o in study.outcomes):
        yield _d("OUT.E004", f"outcomes.{o}", f"outcome id {o!r} is used twice")
    for outcome in study.outcomes:
        if not outcome.endpoints:
            yield _d(
                "OUT.W006",
                f"outcomes.{outcome.id}",
                f"outcome {outcome.id} ({outcome.description[:60]}) has no endpoint, so it "
                "cannot be computed",
                "add its endpoints: change from baseline, responder rule, incidence ...",
            )
        for n, ep in enumerate(outcome.endpoints):
            path = f"outcomes.{outcome.id}.endpoints[{n}]"
            item_refs, visit_refs = _endpoint_refs(ep)
            for name in item_refs:
                if name not in items:
                    yield _d(
                        "OUT.E001",
                        path,
                        f"endpoint {ep.name!r} names item {name!r}, which no form defines",
                    )
            for v in visit_refs:
                if v not in visits:
                    yield _d(
                        "OUT.E002",
                        path,
                        f"endpoint {ep.name!r} names visit {v!r}, which is not defined",
                        "use one of: " + ", ".join(sorted(visits)),
                    )
            origin = getattr(ep, "origin", None)
            if origin is not None and origin not in anchors:
                yield _d(
                    "OUT.E003",
                    path,
                    f"endpoint {ep.name!r} counts time from undefined anchor {origin!r}",
                )
            if isinstance(ep, DoseSelection):
                for arm_id in ep.doses:
                    if arm_id not in arms:
                        yield _d(
                            "OUT.E005",
                            path,
                            f"dose selection names arm {arm_id!r}, which is not defined",
                            "use one of: " + ", ".join(sorted(arms)),
                        )
                yield from _check_boin12(ep, path)


def _check_boin12(ep: DoseSelection, path: str) -> Iterable[Diagnostic]:
    u = ep.utilities
    if ep.score == "boin12_desirability" and (
        u[0] != 100 or u[3] != 0 or any(not 0 <= x <= 100 for x in u)
    ):
        yield _d(
            "OUT.E007",
            path,
            f"dose selection {ep.name!r} is scored by BOIN12 desirability but its utilities "
            f"{[str(x) for x in u]} are not standardised",
            "set utilities to [100, u(¬E¬T), u(ET), 0] with the middle two within 0..100, "
            "e.g. [100, 40, 60, 0]",
        )
    if any(a <= 0 for a in ep.utility_prior):
        yield _d(
            "OUT.E007",
            path,
            f"dose selection {ep.name!r}: utility prior "
            f"{[str(a) for a in ep.utility_prior]} needs two positive Beta parameters",
            "use e.g. utility_prior: [1, 1]",
        )


def _check_reference_ranges(study: Study) -> Iterable[Diagnostic]:
    items = study.items()
    for n, rr in enumerate(study.reference_ranges):
        path = f"reference_ranges[{n}]"
        item = items.get(rr.item)
        if item is None:
            yield _d("REF.E001", path, f"reference range for {rr.item!r}, which is not defined")
            continue
        if not units.is_known(rr.unit) or (
            item.unit and units.resolve(item.unit) != units.resolve(rr.unit)
        ):
            yield _d(
                "REF.E002",
                path,
                f"reference range for {rr.item} is in {rr.unit!r}, the item in {item.unit!r}",
                "give the range in the item's unit",
            )


def _check_safety(study: Study) -> Iterable[Diagnostic]:
    for r in _dupes(r.id for r in study.safety.stopping_rules):
        yield _d(
            "SAFE.E001",
            f"safety.stopping_rules.{r}",
            f"stopping rule id {r!r} is used twice",
            "give each stopping rule its own id: the pauses it causes are recorded under it",
        )


def _screening_items(study: Study) -> dict[str, Item]:
    """The items captured at the screening visit: its forms' items, the screening form's first."""
    forms = [study.screening_form]
    for visit in study.timeline.visits:
        if study.screening_form in visit.forms:
            forms += [f for f in visit.forms if f not in forms]
    out: dict[str, Item] = {}
    for form_id in forms:
        form = study.form(form_id)
        for item in form.items() if form else []:
            out.setdefault(item.name, item)
    return out


_NUMERIC = frozenset({DataType.INTEGER, DataType.DECIMAL})


def _factor_fit(study: Study, factor: Factor, item: Item) -> str | None:
    """Why ``factor``'s levels do not fit ``item``, or None when they do."""
    if item.data_type in _NUMERIC:
        if not factor.cut_points:
            return (
                f"item {item.name} is a number: give `cut_points` to cut it into bins instead of "
                "`levels`"
            )
        return None
    if factor.cut_points:
        return f"item {item.name} is {item.data_type.value}, not a number: give `levels`"
    if item.data_type in {DataType.DATE, DataType.DATETIME}:
        return f"item {item.name} is a {item.data_type.value}: factors are codes, yes/no or bins"
    if item.data_type is DataType.BOOLEAN:
        allowed: frozenset[str] | None = frozenset({"yes", "no"})
    else:
        allowed = _codes(study, item.codelist)
    if allowed is not None and not set(factor.levels) <= allowed:
        unknown = sorted(set(factor.levels) - allowed)
        return (
            f"levels {unknown} are not values of item {item.name} (it takes "
            f"{', '.join(sorted(allowed))})"
        )
    return None


def _check_randomisation(study: Study) -> Iterable[Diagnostic]:
    design = study.design
    spec = design.randomisation
    randomised = design.allocation is Allocation.RANDOMISED
    if spec is None:
        if randomised:
            yield _d(
                "ALLOC.W005",
                "design.allocation",
                "the design is randomised but states no randomisation, so nothing can allocate",
                "add design.randomisation with its method (simple, permuted_blocks, "
                "stratified_blocks or minimisation); see docs/allocation.md",
            )
        return
    path = "design.randomisation"
    if not randomised:
        yield _d(
            "ALLOC.E006",
            path,
            f"a randomisation is given, but the design's allocation is {design.allocation.value}",
            "set design.allocation to randomised, or remove design.randomisation",
        )
    if design.cohorts is not None:
        yield _d(
            "ALLOC.E007",
            path,
            "the design gives both sequential cohorts and a randomisation; a participant is "
            "assigned by one of them",
            "keep design.cohorts for dose groups filled one after another, or "
            "design.randomisation for randomised arms",
        )
    arm_ids = [a.id for a in study.arms]
    for arm_id in spec.ratio:
        if arm_id not in arm_ids:
            yield _d(
                "ALLOC.E001",
                f"{path}.ratio",
                f"the ratio names arm {arm_id!r}, which is not defined",
                "use one of: " + ", ".join(sorted(arm_ids)),
            )
    ratio = spec.ratio or dict.fromkeys(arm_ids, 1)
    if len(ratio) < 2:
        yield _d(
            "ALLOC.E009",
            f"{path}.ratio",
            f"the randomisation has {len(ratio)} arm(s) ({', '.join(ratio) or 'none'}) to "
            "assign; it needs at least two",
            "list two or more arms in the ratio (or define them under arms)",
        )
    total = sum(ratio.values())
    for size in spec.block_sizes:
        if total and size % total:
            yield _d(
                "ALLOC.E002",
                f"{path}.block_sizes",
                f"block size {size} is not a multiple of the ratio total {total} "
                f"({':'.join(str(n) for n in ratio.values())}), so no block can keep the ratio",
                f"use multiples of {total}, e.g. {total * 2} or {total * 3}",
            )
    if spec.method in FACTOR_METHODS and not spec.factors:
        yield _d(
            "ALLOC.E003",
            f"{path}.factors",
            f"method {spec.method} needs at least one factor",
            "add the factors (site, or items captured at screening), or use permuted_blocks",
        )
    items = _screening_items(study)
    for factor in spec.factors:
        if factor.source == "site":
            continue
        fpath = f"{path}.factors.{factor.name}"
        item = items.get(factor.source)
        if item is None:
            yield _d(
                "ALLOC.E004",
                fpath,
                f"factor {factor.name} reads item {factor.source!r}, which no form of the "
                "screening visit captures",
                "use `site` or an item of the screening visit's forms: "
                + ", ".join(sorted(items)[:12])
                + (" ..." if len(items) > 12 else ""),
            )
            continue
        why = _factor_fit(study, factor, item)
        if why:
            yield _d(
                "ALLOC.E008",
                fpath,
                f"factor {factor.name}: {why}",
                "list the item's values as levels, or cut a number into bins with cut_points",
            )


_LAYER_CHECKS: tuple[Checker, ...] = (
    _check_study_type,
    _check_arms,
    _check_timeline,
    _check_forms,
    _check_group_rules,
    _check_consent_form,
    _check_doses,
    _check_administration,
    _check_basis_rows,
    _check_eligibility,
    _check_outcomes,
    _check_reference_ranges,
    _check_safety,
    _check_randomisation,
)


def check_study(study: Study, extra: Iterable[Checker] = ()) -> list[Diagnostic]:
    """Every finding on ``study``, errors first, then warnings, then information."""
    found: list[Diagnostic] = []
    for checker in (*_LAYER_CHECKS, *extra):
        found.extend(checker(study))
    order = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}
    return sorted(found, key=lambda d: (order[d.severity], d.code, d.path))
