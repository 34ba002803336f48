"""The calendar template of a study and the dated calendar of one participant.

Study days follow the CDISC convention: the origin anchor's date is day 1, the day before it is
day -1; there is no day 0. Windows are inclusive on both ends.

Anchors are set by events: ``consent`` by the consent date, ``dosing:ID`` by the time dosing
event ID was given, ``dosing:last`` by the last dosing event of the timeline. Until an anchor's
event has happened its date is *planned* from the anchors it depends on (the last dose is planned
from the first dose and the offsets of the dosing events), so a participant's whole calendar can
be shown from the day of the first dose; when the event happens at another time the calendar is
re-planned from the actual date.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import NamedTuple

from trialkit.errors import ScheduleError
from trialkit.protocol import DosingEvent, Study, Visit

__all__ = [
    "AnchorDates",
    "PlannedDose",
    "PlannedVisit",
    "Template",
    "TemplateEntry",
    "VisitPlanner",
    "VisitState",
    "plan_doses",
    "plan_visits",
    "study_day",
    "template",
    "visit_state",
]

#: Anchor id -> the actual date and time its event happened (only for events that happened).
AnchorDates = Mapping[str, datetime]


def study_day(on: date, origin: date) -> int:
    """The CDISC study day of ``on`` for a study whose day 1 is ``origin`` (no day 0)."""
    delta = (on - origin).days
    return delta + 1 if delta >= 0 else delta


def _last_dosing_event(study: Study) -> DosingEvent:
    if not study.timeline.dosing:
        raise ScheduleError(
            f"study {study.id}: anchor set by 'dosing:last' but the timeline has no dosing events",
            code="SCHED.E101",
            hint="add dosing events, or anchor the visits elsewhere",
        )
    return max(study.timeline.dosing, key=lambda d: (d.offset.days, d.offset.hours))


def _setter(study: Study, anchor_id: str) -> str:
    for anchor in study.timeline.anchors:
        if anchor.id == anchor_id:
            return anchor.set_by
    raise ScheduleError(
        f"study {study.id}: anchor {anchor_id!r} is not defined",
        code="SCHED.E102",
        hint="use one of: " + ", ".join(a.id for a in study.timeline.anchors),
    )


def _dosing_event(study: Study, set_by: str) -> DosingEvent | None:
    if not set_by.startswith("dosing:"):
        return None
    ref = set_by.split(":", 1)[1]
    if ref == "last":
        return _last_dosing_event(study)
    for ev in study.timeline.dosing:
        if ev.id == ref:
            return ev
    raise ScheduleError(
        f"study {study.id}: an anchor is set by dosing event {ref!r}, which is not defined",
        code="SCHED.E103",
    )


def _resolve(
    study: Study, anchor_id: str, actual: AnchorDates, seen: frozenset[str]
) -> datetime | None:
    """The anchor's actual time, else its planned time from the anchors it depends on."""
    if anchor_id in actual:
        return actual[anchor_id]
    if anchor_id in seen:
        raise ScheduleError(
            f"study {study.id}: anchors depend on each other in a circle ({' -> '.join(seen)})",
            code="SCHED.E104",
        )
    ev = _dosing_event(study, _setter(study, anchor_id))
    if ev is None or ev.anchor == anchor_id:
        return None  # set by an event (consent, the first dose) that has not happened
    base = _resolve(study, ev.anchor, actual, seen | {anchor_id})
    if base is None:
        return None
    return base + timedelta(days=ev.offset.days, hours=ev.offset.hours)


def _at(value: datetime, offset_days: int, offset_hours: int) -> datetime:
    return value + timedelta(days=offset_days, hours=offset_hours)


class VisitState(StrEnum):
    """Where a planned visit stands on a given date."""

    NOT_PLANNED = "not_planned"  # its anchor has no date yet
    UPCOMING = "upcoming"  # the window has not opened
    OPEN = "open"  # today is inside the window
    OVERDUE = "overdue"  # the window has closed and the visit was not done
    DONE = "done"  # done inside the window
    DONE_OUT_OF_WINDOW = "done_out_of_window"  # done, but outside the window (a deviation)
    MISSED = "missed"  # declared missed


@dataclass(frozen=True)
class PlannedVisit:
    visit: Visit
    target: date | None
    earliest: date | None
    latest: date | None
    anchor_is_actual: bool

    @property
    def id(self) -> str:
        return self.visit.id


@dataclass(frozen=True)
class PlannedDose:
    event: DosingEvent
    target: datetime | None
    earliest: datetime | None
    latest: datetime | None
    anchor_is_actual: bool

    @property
    def id(self) -> str:
        return self.event.id


def plan_visits(study: Study, actual: AnchorDates) -> list[PlannedVisit]:
    """Every scheduled visit with its target date and window, from the anchors known so far."""
    out: list[PlannedVisit] = []
    for v in study.timeline.visits:
        base = _resolve(study, v.anchor, actual, frozenset())
        if base is None:
            out.append(PlannedVisit(v, None, None, None, False))
            continue
        target = _at(base, v.offset.days, v.offset.hours).date()
        out.append(
            PlannedVisit(
                v,
                target,
                target + timedelta(days=v.window.lower),
                target + timedelta(days=v.window.upper),
                v.anchor in actual,
            )
        )
    return out


def _chain(
    study: Study, anchor_id: str, known: frozenset[str], seen: frozenset[str]
) -> tuple[str, tuple[timedelta, ...]] | None:
    """:func:`_resolve` without the dates: the known anchor that ``anchor_id`` is planned from
    and the offsets added to its time, innermost first (None: not planned yet)."""
    if anchor_id in known:
        return anchor_id, ()
    if anchor_id in seen:
        raise ScheduleError("anchors depend on each other in a circle", code="SCHED.E104")
    ev = _dosing_event(study, _setter(study, anchor_id))
    if ev is None or ev.anchor == anchor_id:
        return None
    inner = _chain(study, ev.anchor, known, seen | {anchor_id})
    if inner is None:
        return None
    return inner[0], (*inner[1], timedelta(days=ev.offset.days, hours=ev.offset.hours))


class _Step(NamedTuple):
    visit: Visit
    root: str | None  # the known anchor the visit is planned from (None: not planned)
    chain: tuple[timedelta, ...]  # added to the root's time, in order
    offset: timedelta
    lower: timedelta
    upper: timedelta
    anchor_is_actual: bool


class VisitPlanner:
    """:func:`plan_visits` for one study, worked out once per pattern of known anchors.

    Which anchor each visit is planned from, through which dosing offsets, does not depend on
    the dates, only on which anchors are known: it is resolved once per set of anchor ids and
    reused, and a calendar whose anchor dates were planned already is returned again (the
    planned visits are immutable). The result equals ``plan_visits(study, actual)`` exactly,
    errors included (a study whose anchors cannot be resolved is planned by ``plan_visits``).
    Keep one planner per protocol version for as long as its callers want the memo.
    """

    def __init__(self, study: Study) -> None:
        self.study = study
        self._steps: dict[frozenset[str], tuple[_Step, ...]] = {}
        self._plans: dict[tuple[tuple[str, datetime], ...], list[PlannedVisit]] = {}

    def _compile(self, known: frozenset[str]) -> tuple[_Step, ...] | None:
        steps: list[_Step] = []
        for v in self.study.timeline.visits:
            try:
                found = _chain(self.study, v.anchor, known, frozenset())
            except ScheduleError:
                return None
            offset = timedelta(days=v.offset.days, hours=v.offset.hours)
            lower, upper = timedelta(days=v.window.lower), timedelta(days=v.window.upper)
            if found is None:
                steps.append(_Step(v, None, (), offset, lower, upper, False))
            else:
                steps.append(_Step(v, found[0], found[1], offset, lower, upper, v.anchor in known))
        return tuple(steps)

    def plan(self, actual: AnchorDates) -> list[PlannedVisit]:
        """Every scheduled visit with its target date and window (as :func:`plan_visits`); the
        list is shared between calls with the same anchors: read it, never change it."""
        key = tuple(sorted(actual.items()))
        planned = self._plans.get(key)
        if planned is not None:
            return planned
        known = frozenset(actual)
        if known not in self._steps:
            compiled = self._compile(known)
            if compiled is None:  # an anchor that cannot be resolved: its error, as ever
                return plan_visits(self.study, actual)
            self._steps[known] = compiled
        out: list[PlannedVisit] = []
        for step in self._steps[known]:
            if step.root is None:
                out.append(PlannedVisit(step.visit, None, None, None, False))
                continue
            base = actual[step.root]
            for delta in step.chain:
                base = base + delta
            target = (base + step.offset).date()
            out.append(
                PlannedVisit(
                    step.visit,
                    target,
                    target + step.lower,
                    target + step.upper,
                    step.anchor_is_actual,
                )
            )
        self._plans[key] = out
        return out


def plan_doses(study: Study, actual: AnchorDates) -> list[PlannedDose]:
    """Every dosing event with its planned time and window, from the anchors known so far."""
    out: list[PlannedDose] = []
    for ev in study.timeline.dosing:
        base = _resolve(study, ev.anchor, actual, frozenset())
        if base is None:
            out.append(PlannedDose(ev, None, None, None, False))
            continue
        target = _at(base, ev.offset.days, ev.offset.hours)
        out.append(
            PlannedDose(
                ev,
                target,
                target + timedelta(hours=ev.window_hours.lower),
                target + timedelta(hours=ev.window_hours.upper),
                ev.anchor in actual,
            )
        )
    return out


def visit_state(
    planned: PlannedVisit, as_of: date, done_on: date | None = None, missed: bool = False
) -> VisitState:
    """The state of ``planned`` on ``as_of``, given when (if) it was done."""
    if missed:
        return VisitState.MISSED
    if done_on is not None:
        if planned.earliest is not None and planned.latest is not None:
            if planned.earliest <= done_on <= planned.latest:
                return VisitState.DONE
            return VisitState.DONE_OUT_OF_WINDOW
        return VisitState.DONE
    if planned.target is None or planned.earliest is None or planned.latest is None:
        return VisitState.NOT_PLANNED
    if as_of < planned.earliest:
        return VisitState.UPCOMING
    if as_of <= planned.latest:
        return VisitState.OPEN
    return VisitState.OVERDUE


@dataclass(frozen=True)
class TemplateEntry:
    """One row of a study's calendar template: a visit or a dose, relative to its anchor."""

    kind: str  # "visit" or "dose"
    id: str
    label: str
    anchor: str
    offset_days: int
    offset_hours: int
    window_lower: int
    window_upper: int
    window_unit: str  # "d" for visits, "h" for doses
    study_day: int | None  # relative to the origin, where the anchor's position is known
    forms: tuple[str, ...] = ()
    dosing: tuple[str, ...] = ()


@dataclass(frozen=True)
class Template:
    study_id: str
    origin: str
    entries: tuple[TemplateEntry, ...]


def template(study: Study) -> Template:
    """The study's calendar template, ordered by study day (anchors before day 1 first)."""
    origin = study.timeline.origin
    zero = datetime.combine(date(2000, 1, 1), time(0, 0))
    actual = {origin: zero}

    def day_of(anchor: str, days: int, hours: int) -> int | None:
        base = _resolve(study, anchor, actual, frozenset())
        if base is None:
            return None
        return study_day(_at(base, days, hours).date(), zero.date())

    entries: list[TemplateEntry] = []
    for ev in study.timeline.dosing:
        entries.append(
            TemplateEntry(
                "dose",
                ev.id,
                ev.label,
                ev.anchor,
                ev.offset.days,
                ev.offset.hours,
                ev.window_hours.lower,
                ev.window_hours.upper,
                "h",
                day_of(ev.anchor, ev.offset.days, ev.offset.hours),
            )
        )
    for v in study.timeline.visits:
        entries.append(
            TemplateEntry(
                "visit",
                v.id,
                v.name,
                v.anchor,
                v.offset.days,
                v.offset.hours,
                v.window.lower,
                v.window.upper,
                "d",
                day_of(v.anchor, v.offset.days, v.offset.hours),
                tuple(v.forms),
                tuple(v.dosing),
            )
        )

    def key(e: TemplateEntry) -> tuple[int, int, int, int]:
        known = 0 if e.study_day is None else 1
        return (known, e.study_day or 0, e.offset_hours, 0 if e.kind == "visit" else 1)

    return Template(study.id, origin, tuple(sorted(entries, key=key)))
