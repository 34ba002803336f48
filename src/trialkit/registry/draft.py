"""Build the parts of a draft study a registry record cannot give: forms, timeline, criteria ids.

Both importers collect what they read into a :class:`Draft`; :meth:`Draft.build` turns it into a
valid :class:`~trialkit.protocol.Study` (or raises :class:`~trialkit.errors.ImportFailed` naming
why the record cannot make one) and an :class:`~trialkit.registry.result.ImportResult`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from trialkit.errors import ImportFailed
from trialkit.protocol import (
    Anchor,
    Arm,
    Assumption,
    Criterion,
    DataType,
    Design,
    DosingEvent,
    Form,
    Identity,
    Item,
    ItemGroup,
    Offset,
    Outcome,
    Passage,
    Study,
    Timeline,
    Visit,
)
from trialkit.registry.result import ImportResult, SourceFormat
from trialkit.registry.schedule_text import Administration, FollowUp

__all__ = ["IMPORT_NOTE", "SCREENING_FORM", "Draft", "DraftCriterion", "slug"]

#: The note every imported criterion carries until a person writes its expression.
IMPORT_NOTE = "imported: write a computable expression"
SCREENING_FORM = "SCREENING"
DOSE_FORM = "DOSE_BASIS"

_BASIS_UNITS = {"cm2": "cm2", "kg": "kg", "m2": "m2"}


def slug(text: str) -> str:
    """A study id from an acronym or registry id: lower case, runs of other characters -> ``-``."""
    s = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    if not s or not s[0].isalpha():
        s = f"study-{s}" if s else "study"
    return s[:64].rstrip("-")


@dataclass
class DraftCriterion:
    kind: str  # "inclusion" or "exclusion"
    text: str
    also_stated: list[Passage] = field(default_factory=list)
    group: str | None = None
    """The sub-group heading the record lists it under, verbatim."""


@dataclass
class Draft:
    """What an importer read, before it becomes a study."""

    source_format: SourceFormat
    study_id: str
    identity: dict[str, Any]
    design: dict[str, Any]
    arms: list[dict[str, Any]] = field(default_factory=list)
    criteria: list[DraftCriterion] = field(default_factory=list)
    outcomes: list[dict[str, Any]] = field(default_factory=list)
    administrations: list[Administration] = field(default_factory=list)
    follow_up: list[FollowUp] = field(default_factory=list)
    unmapped: list[str] = field(default_factory=list)
    assumptions: list[Assumption] = field(default_factory=list)

    def assume(self, topic: str, text: str) -> None:
        if not any(a.topic == topic and a.text == text for a in self.assumptions):
            self.assumptions.append(Assumption(topic=topic, text=text))

    # -- parts ----------------------------------------------------------------------------------
    def _criteria(self) -> tuple[list[Criterion], list[Item]]:
        out: list[Criterion] = []
        items: list[Item] = []
        counts = {"inclusion": 0, "exclusion": 0}
        for c in self.criteria:
            counts[c.kind] += 1
            n = counts[c.kind]
            prefix = "INC" if c.kind == "inclusion" else "EXC"
            item = f"{'incl' if c.kind == 'inclusion' else 'excl'}_{n:02d}_met"
            out.append(
                Criterion(
                    id=f"{prefix}{n:02d}",
                    kind="inclusion" if c.kind == "inclusion" else "exclusion",
                    text=c.text,
                    judgement_item=item,
                    also_stated=c.also_stated,
                    group=c.group,
                    note=IMPORT_NOTE,
                )
            )
            items.append(
                Item(
                    name=item,
                    label=c.text if len(c.text) <= 200 else c.text[:197] + "...",
                    data_type=DataType.BOOLEAN,
                    judgement=True,
                    help=f"{c.kind} criterion {prefix}{n:02d}, imported from the registry",
                )
            )
        return out, items

    def _forms(self, judgement_items: list[Item]) -> list[Form]:
        if not judgement_items:
            self.unmapped.append("eligibility: the record states no criteria")
            judgement_items = [
                Item(
                    name="eligibility_confirmed",
                    label="The investigator confirms the participant is eligible",
                    data_type=DataType.BOOLEAN,
                    judgement=True,
                )
            ]
        forms = [
            Form(
                id=SCREENING_FORM,
                name="Screening (imported criteria)",
                groups=[ItemGroup(id="ELIG", name="Eligibility", items=judgement_items)],
            )
        ]
        basis: dict[str, Item] = {}
        for arm in self.arms:
            for iv in arm["interventions"]:
                dose = iv.get("dose")
                if dose is not None and dose.basis_item and dose.per:
                    basis.setdefault(
                        dose.basis_item,
                        Item(
                            name=dose.basis_item,
                            label=f"{dose.basis_item.replace('_', ' ').capitalize()} "
                            f"({dose.per}), the basis of the dose",
                            data_type=DataType.DECIMAL,
                            unit=_BASIS_UNITS.get(dose.per, dose.per),
                            min=0,
                        ),
                    )
        if basis:
            forms.append(
                Form(
                    id=DOSE_FORM,
                    name="Dose basis (imported)",
                    groups=[ItemGroup(id="BASIS", name="Dose basis", items=list(basis.values()))],
                )
            )
        return forms

    def _timeline(self, has_dose_form: bool) -> Timeline:
        given = any(arm["interventions"] for arm in self.arms)
        if not (given or self.administrations or self.follow_up):
            # Nothing is given (an observational study, or a record without arms): time counts
            # from enrolment, and there is no dosing to schedule.
            self.unmapped.append(
                "visits: the record states no visit schedule the importer can read; only a "
                "screening visit was made, counting from consent (study day 1 = enrolment)"
            )
            return Timeline(
                anchors=[
                    Anchor(id="consent", name="Informed consent", set_by="consent"),
                    Anchor(id="enrolment", name="Enrolment", set_by="enrolment"),
                ],
                origin="enrolment",
                visits=[
                    Visit(id="SCR", name="Screening", anchor="consent", forms=[SCREENING_FORM])
                ],
            )
        anchors = [
            Anchor(id="consent", name="Informed consent", set_by="consent"),
            Anchor(id="first_dose", name="First dose", set_by="first dosing event"),
            Anchor(id="last_dose", name="Last dose", set_by="last dosing event"),
        ]
        visits = [
            Visit(id="SCR", name="Screening", anchor="consent", forms=[SCREENING_FORM]),
        ]
        dosing: list[DosingEvent] = []
        by_day: dict[int, list[str]] = {}
        days = [adm.day for adm in self.administrations]
        for adm in self.administrations:
            same_day = by_day.setdefault(adm.day, [])
            ev_id = f"D{adm.day}" if days.count(adm.day) == 1 else f"D{adm.day}_{len(same_day) + 1}"
            dosing.append(
                DosingEvent(
                    id=ev_id,
                    label=f"Day {adm.day}" + (f", hour {adm.hour}" if adm.hour else ""),
                    anchor="first_dose",
                    offset=Offset(days=adm.day - 1, hours=adm.hour),
                )
            )
            same_day.append(ev_id)
        for day, events in by_day.items():
            visits.append(
                Visit(
                    id=f"DOSE_D{day}",
                    name=f"Dosing, day {day}",
                    anchor="first_dose",
                    offset=Offset(days=day - 1),
                    forms=[DOSE_FORM] if has_dose_form else [],
                    dosing=events,
                )
            )
        for fu in self.follow_up:
            prefix = "FU_L" if fu.anchor == "last_dose" else "FU_D"
            visits.append(
                Visit(
                    id=f"{prefix}{fu.days}",
                    name=fu.label,
                    anchor=fu.anchor,
                    offset=Offset(days=fu.days),
                )
            )
            if fu.assumed:
                self.assume("visits", fu.assumed)
        if not self.administrations:
            self.unmapped.append(
                "dosing schedule: the record states no administration days the importer can "
                "read; add dosing events and dosing visits"
            )
        if not self.follow_up:
            self.unmapped.append(
                "visits: the record states no follow-up schedule the importer can read; "
                "only a screening visit was made"
            )
        else:
            self.unmapped.append(
                "visit windows: the record gives none; every visit was given a window of 0 days"
            )
        return Timeline(anchors=anchors, origin="first_dose", dosing=dosing, visits=visits)

    # -- the study ------------------------------------------------------------------------------
    def build(self, source: str) -> ImportResult:
        try:
            criteria, judgement_items = self._criteria()
            forms = self._forms(judgement_items)
            timeline = self._timeline(any(f.id == DOSE_FORM for f in forms))
            self.unmapped.append(
                "outcomes: endpoints (computable definitions) are not in a registry record; "
                "add them to each outcome"
            )
            study = Study(
                id=self.study_id,
                identity=Identity.model_validate(self.identity),
                design=Design.model_validate(self.design),
                arms=[Arm.model_validate(a) for a in self.arms],
                timeline=timeline,
                forms=forms,
                screening_form=SCREENING_FORM,
                eligibility=criteria,
                outcomes=[Outcome.model_validate(o) for o in self.outcomes],
                assumptions=self.assumptions,
            )
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise ImportFailed(
                f"{source}: the record's values do not make a valid study: {where}: {first['msg']}",
                code="IMPORT.E031",
                hint="correct the record, or report this to the trialkit maintainers",
            ) from exc
        return ImportResult(
            study=study,
            unmapped=list(self.unmapped),
            source_format=self.source_format,
            record_id=study.identity.registrations[0].id,
        )
