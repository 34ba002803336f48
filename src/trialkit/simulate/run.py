"""``simulate``: a whole synthetic trial run through the services, never by writing rows.

Candidates arrive at the scenario's rate and are screened at a site by its coordinator (some
fail, for the scenario's reasons, by the study's own criteria), consented, enrolled and
allocated; the investigator gives every dose on the calendar and the coordinator records every
visit with its forms, on days drawn around the targets (late, early, now and then outside the
window, sometimes missed); participants withdraw or are lost at the scenario's rates; adverse
events are entered by the investigator and the stopping rules react to them as they would to
real ones; the monitor (the data manager at sites without a monitor) opens queries that the
coordinator answers and the monitor closes; the safety board opens each dose cohort after its
review. Everything happens in time order on one event queue, from one seeded random generator,
so a seed gives the same trial twice.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

from trialkit.allocation import CohortState
from trialkit.dosing import compute_dose
from trialkit.errors import NotFound, TrialkitError, ValidationFailed
from trialkit.protocol import Study, shipped_studies
from trialkit.protocol.forms import Form, ItemGroup
from trialkit.protocol.timeline import Visit
from trialkit.services import (
    Context,
    Status,
    answer_query,
    close_query,
    cohorts,
    complete,
    consent,
    enrol,
    get_participant,
    list_sites,
    load_study,
    lose,
    miss_visit,
    open_cohort,
    open_query,
    record_dose,
    record_visit,
    register,
    save_form,
    screen,
    screen_fail,
    set_seed,
    withdraw,
)
from trialkit.services.studies import protocol
from trialkit.simulate.eligible import ELIGIBLE, eligible_values
from trialkit.simulate.scenario import Scenario, default_scenario
from trialkit.simulate.team import ensure_sites, ensure_team
from trialkit.simulate.values import Patient, form_values, skipped_forms
from trialkit.store import Database, verify_all

__all__ = ["SimulationResult", "simulate"]

#: Who does what: site -> (coordinator, investigator, query owner).
_STAFF = {
    "TEH": ("n.rahimi", "dr.amini", "mon.hosseini"),
    "ISF": ("s.ahmadi", "dr.kazemi", "dm.karimi"),
}
_BOARD = "dsmb.safavi"


@dataclass
class SimulationResult:
    """What a simulation did, counted (no participant identifiers)."""

    study: str
    seed: int
    candidates: int = 0
    screen_failed: int = 0
    not_enrolled: int = 0
    enrolled: Counter[str] = field(default_factory=Counter)
    completed: int = 0
    withdrawn: int = 0
    lost: int = 0
    doses: int = 0
    doses_refused: int = 0
    visits: int = 0
    missed: int = 0
    forms: int = 0
    adverse_events: int = 0
    queries: int = 0
    answered: int = 0
    closed: int = 0
    cohorts_opened: int = 0
    audit_entries: int = 0
    audit_ok: bool = False

    def summary(self) -> str:
        arms = ", ".join(f"{a} {n}" for a, n in sorted(self.enrolled.items())) or "none"
        return (
            f"{self.study}: {self.candidates} screened, {self.screen_failed} screen failures, "
            f"{self.not_enrolled} not enrolled, enrolled {arms}; {self.completed} completed, "
            f"{self.withdrawn} withdrew, {self.lost} lost; {self.doses} doses "
            f"({self.doses_refused} refused), {self.visits} visits, {self.missed} missed, "
            f"{self.forms} forms, {self.adverse_events} adverse events, {self.queries} queries "
            f"({self.answered} answered, {self.closed} closed), {self.cohorts_opened} cohorts "
            f"opened by the board; audit trail {self.audit_entries} entries, "
            f"{'verified' if self.audit_ok else 'NOT VERIFIED'}"
        )


@dataclass
class _Plan:
    patient: Patient
    arm: str = ""
    active: bool = True
    responder: bool = False
    last_visit: str = ""


class _Trial:
    def __init__(
        self,
        db: Database,
        study: Study,
        scenario: Scenario,
        team: dict[str, Context],
        rng: random.Random,
        result: SimulationResult,
        until: datetime | None,
    ) -> None:
        self.db, self.study, self.scenario, self.team = db, study, scenario, team
        self.rng, self.result, self.until = rng, result, until
        self.queue: list[tuple[datetime, int, Callable[[datetime], None]]] = []
        self.seq = 0
        self.forms = {f.id: f for f in study.forms}
        self.skip = skipped_forms(study)
        self.visits = {v.id: v for v in study.timeline.visits}
        self.done: Callable[[], None] = lambda: None
        self.reviews: set[str] = set()

    # -- the event queue ------------------------------------------------------------------

    def at(self, when: datetime, action: Callable[[datetime], None]) -> None:
        self.seq += 1
        heapq.heappush(self.queue, (when, self.seq, action))

    def run(self) -> None:
        while self.queue:
            when, _, action = heapq.heappop(self.queue)
            if self.until is not None and when > self.until:
                continue
            action(when)

    def who(self, username: str, when: datetime) -> Context:
        return self.team[username].at(when)

    # -- screening and enrolment ----------------------------------------------------------

    def arrive(self, site: str, when: datetime) -> None:
        self.at(when, lambda t: self.screen(site, t))

    def screen(self, site: str, when: datetime) -> None:
        coordinator, investigator, _ = _STAFF[site]
        ctx = self.who(coordinator, when)
        study = self.study.id
        code = register(self.db, ctx, study, site).code
        self.result.candidates += 1
        consent(
            self.db, ctx, study, code, on=when.date(), form_version="1.0", obtained_by=investigator
        )
        values = eligible_values(study, when.date()) if study in ELIGIBLE else {}
        failure = None
        failures = self.scenario.screen_failures
        if failures and self.rng.random() < self.scenario.screen_failure_rate:
            failure = self.rng.choice(failures)
            values.setdefault(failure.form, {}).update(failure.values)
        patient = Patient(code, site, values)
        for name, m in self.scenario.measurements.items():
            if m.per_participant:
                draw = max(0.0, self.rng.gauss(m.mean, m.sd))
                step = Decimal(1).scaleb(-m.decimals)
                patient.constants[name] = f"{Decimal(str(draw)).quantize(step):f}"
        for name, weights in self.scenario.choices.items():
            patient.constants[name] = self.rng.choices(list(weights), list(weights.values()))[0]
        for name in failure.values if failure is not None else ():
            patient.constants.pop(name, None)  # the failing value is the one entered
        plan = _Plan(patient)
        self.enter_forms(plan, self.visits[self._screening_visit()], when, 1.0)
        record_visit(self.db, ctx, study, code, self._screening_visit(), when.date())
        verdict = screen(self.db, ctx, study, code).eligibility or {}
        if verdict.get("eligible") is not True:
            reason = failure.name if failure is not None else "not eligible at screening"
            screen_fail(self.db, ctx.at(when + timedelta(hours=1)), study, code, reason)
            self.result.screen_failed += 1
            self.done()
            return
        self.at(when + timedelta(hours=2), lambda t: self.enrol(plan, t, 0))

    def _screening_visit(self) -> str:
        return self.study.timeline.visits[0].id

    def enrol(self, plan: _Plan, when: datetime, tries: int) -> None:
        code, site = plan.patient.code, plan.patient.site
        ctx = self.who(_STAFF[site][0], when)
        try:
            p = enrol(self.db, ctx, self.study.id, code)
        except TrialkitError as refused:
            retry = self._retry(refused, when) if tries < 12 else None
            if retry is not None:
                self.at(retry, lambda t: self.enrol(plan, t, tries + 1))
                return
            withdraw(self.db, ctx, self.study.id, code, f"not enrolled: {refused}")
            self.result.not_enrolled += 1
            self.done()
            return
        plan.arm = p.arm or ""
        self.result.enrolled[plan.arm] += 1
        self.schedule(plan, when)

    def _retry(self, refused: TrialkitError, when: datetime) -> datetime | None:
        """When to try again an enrolment a dose cohort refused (None: give up)."""
        if refused.code == "ALLOC.E041":  # waiting for the open cohort's doses
            return when + timedelta(days=2)
        if refused.code in ("ALLOC.E042", "ALLOC.E043"):
            board = self.who(_BOARD, when)
            due = [c for c in cohorts(self.db, board, self.study.id) if c.review_from]
            review = max((c.review_from for c in due if c.review_from), default=when.date())
            day = max(review, when.date())
            self.at(datetime.combine(day, time(8)), self.review)
            return datetime.combine(day, time(11)) + timedelta(minutes=self.seq % 50)
        return None

    def review(self, when: datetime) -> None:
        """The safety board reviews the cohort whose review is due and opens the next one."""
        board = self.who(_BOARD, when)
        status = cohorts(self.db, board, self.study.id)
        for c, nxt in itertools.pairwise(status):
            if c.state is not CohortState.REVIEW_DUE or c.arm in self.reviews:
                continue
            try:
                open_cohort(
                    self.db,
                    board,
                    self.study.id,
                    nxt.arm,
                    f"cohort {c.arm} reviewed: every adverse event seen; {nxt.arm} may open",
                )
            except TrialkitError:
                continue  # a paused cohort, say: the board does not open the next
            self.reviews.add(c.arm)
            self.result.cohorts_opened += 1

    # -- the calendar ---------------------------------------------------------------------

    def schedule(self, plan: _Plan, enrolled: datetime) -> None:
        rng, vs = self.rng, self.scenario.visits
        low, high = vs.first_dose_after_enrolment_days
        first = datetime.combine(enrolled.date() + timedelta(days=rng.randint(low, high)), time(10))
        plan.responder = rng.random() < self.scenario.arms[plan.arm].response
        band = (
            self.scenario.response.responder
            if plan.responder
            else (self.scenario.response.non_responder)
        )
        plan.patient.severity_drop = rng.uniform(*band)
        doses: dict[str, datetime] = {}
        for event in self.study.timeline.dosing:
            planned = first + timedelta(days=event.offset.days, hours=event.offset.hours)
            jitter = 0.0
            if planned != first:  # the first dose sets the anchor: never late against itself
                lo, hi = event.window_hours.lower, event.window_hours.upper
                jitter = min(max(rng.gauss(0, vs.dose_lateness_sd_hours), lo), hi)
            doses[event.id] = planned + timedelta(minutes=round(jitter * 60))
        last = max(doses.values()) if doses else first
        anchors = {"first_dose": first.date(), "last_dose": last.date()}
        visits = self.study.timeline.visits[1:]
        days: dict[str, datetime] = {}
        for v in visits:
            dosing = [doses[d] for d in v.dosing if d in doses]
            if dosing:
                days[v.id] = min(dosing)
                continue
            base = anchors.get(v.anchor, enrolled.date()) + timedelta(days=v.offset.days)
            shift = round(rng.gauss(0, vs.lateness_sd_days))
            shift = min(max(shift, v.window.lower), v.window.upper)
            if rng.random() < vs.out_of_window_rate:
                shift = v.window.upper + rng.randint(1, 3)
            days[v.id] = datetime.combine(base + timedelta(days=shift), time(10, 30))
        plan.last_visit = visits[-1].id if visits else ""
        follow_up = max(1.0, (max(days.values()) - first).total_seconds() / 86400)
        events = self._adverse_events(plan, first, days)
        for v in visits:
            when = days[v.id]
            elapsed = max(0.0, (when - first).total_seconds() / 86400)
            left = 1.0 - plan.patient.severity_drop * min(1.0, elapsed / follow_up)
            rows = events.get(v.id, [])
            dose_times = {d: doses[d] for d in v.dosing if d in doses}
            self.at(
                when,
                partial(self.visit, plan, v, left, rows, dose_times),
            )

    def _adverse_events(
        self, plan: _Plan, first: datetime, days: dict[str, datetime]
    ) -> dict[str, list[dict[str, str]]]:
        """Adverse events by the visit whose form records them (the first visit on or after
        the onset)."""
        rng, ae = self.rng, self.scenario.adverse_events
        truth = self.scenario.arms[plan.arm]
        after = sorted((when, vid) for vid, when in days.items() if when >= first)
        if not after:
            return {}
        out: dict[str, list[dict[str, str]]] = {}
        previous = first
        for when, vid in after:
            if rng.random() < ae.per_visit and ae.terms:
                onset = previous.date() + timedelta(
                    days=rng.randint(0, max(0, (when.date() - previous.date()).days))
                )
                out.setdefault(vid, []).append(
                    self._ae_row(rng.choice(ae.terms), onset, rng.choice((1, 1, 2)), False, False)
                )
            previous = when
        if rng.random() < truth.toxicity and ae.related_terms:
            when, vid = after[min(len(after) - 1, rng.randint(0, 2))]
            onset = max(first.date(), when.date() - timedelta(days=rng.randint(0, 2)))
            grade = 3 if rng.random() < truth.severe else 2
            serious = rng.random() < truth.serious
            row = self._ae_row(rng.choice(ae.related_terms), onset, grade, True, serious)
            out.setdefault(vid, []).append(row)
        return out

    def _ae_row(
        self, term: str, onset: date, grade: int, related: bool, serious: bool
    ) -> dict[str, str]:
        row = {
            "ae_term": term,
            "ae_onset": onset.isoformat(),
            "ae_end": (onset + timedelta(days=self.rng.randint(1, 10))).isoformat(),
            "ae_grade": str(grade),
            "ae_serious": "yes" if serious else "no",
            "ae_relation": self.rng.choice(
                ("probable", "possible") if related else ("not_related", "unlikely")
            ),
            "ae_outcome": "recovered",
        }
        if serious:
            row["ae_aware_at"] = f"{onset.isoformat()}T12:00"
        flag = self.scenario.adverse_events.flag_item
        if flag is not None:
            row[flag] = "yes" if related else "no"
        return row

    # -- one visit ------------------------------------------------------------------------

    def visit(
        self,
        plan: _Plan,
        visit: Visit,
        left: float,
        ae_rows: list[dict[str, str]],
        doses: dict[str, datetime],
        when: datetime,
    ) -> None:
        if not plan.active:
            return
        study, code, site = self.study.id, plan.patient.code, plan.patient.site
        coordinator, investigator, _ = _STAFF[site]
        vs = self.scenario.visits
        nurse = self.who(coordinator, when)
        if not doses and self.rng.random() < vs.missed_rate:
            miss_visit(self.db, nurse, study, code, visit.id, "participant did not attend")
            self.result.missed += 1
            self._finish_if_last(plan, visit, when)
            return
        if self.rng.random() < vs.withdrawal_per_visit:
            withdraw(self.db, nurse, study, code, "participant withdrew consent")
            self.result.withdrawn += 1
            self._stop(plan)
            return
        if self.rng.random() < vs.lost_per_visit:
            lose(self.db, nurse, study, code, "no contact after three attempts")
            self.result.lost += 1
            self._stop(plan)
            return
        self.enter_forms(plan, visit, when, left, exclude={"AE"})
        for event_id, given_at in sorted(doses.items(), key=lambda kv: kv[1]):
            self.dose(plan, event_id, given_at)
        record_visit(self.db, nurse, study, code, visit.id, when.date())
        self.result.visits += 1
        if "AE" in visit.forms:
            doctor = self.who(investigator, when + timedelta(minutes=30))
            rows = [self._complete_row(self.forms["AE"], r, when.date()) for r in ae_rows]
            if rows:
                save_form(
                    self.db, doctor, study, code, visit=visit.id, form_id="AE", values={"AE": rows}
                )
                self.result.forms += 1
                self.result.adverse_events += len(rows)
        self._finish_if_last(plan, visit, when)

    def _complete_row(self, form: Form, row: dict[str, str], on: date) -> dict[str, str]:
        group: ItemGroup = next(g for g in form.groups if g.repeating)
        out = dict(row)
        for item in group.items:
            if item.name not in out and item.required and item.data_type.value == "boolean":
                out[item.name] = "no"
        return out

    def _finish_if_last(self, plan: _Plan, visit: Visit, when: datetime) -> None:
        if visit.id != plan.last_visit or not plan.active:
            return
        ctx = self.who(_STAFF[plan.patient.site][0], when + timedelta(hours=2))
        p = get_participant(self.db, ctx, self.study.id, plan.patient.code)
        if p.status is Status.ON_STUDY:
            complete(self.db, ctx, self.study.id, plan.patient.code)
            self.result.completed += 1
        self._stop(plan)

    def _stop(self, plan: _Plan) -> None:
        plan.active = False
        self.done()

    def enter_forms(
        self,
        plan: _Plan,
        visit: Visit,
        when: datetime,
        left: float,
        exclude: set[str] | frozenset[str] = frozenset(),
    ) -> None:
        site = plan.patient.site
        coordinator, _, _querier = _STAFF[site]
        nurse = self.who(coordinator, when)
        for form_id in visit.forms:
            if form_id in self.skip or form_id in exclude:
                continue
            form = self.forms[form_id]
            values = form_values(
                self.study, self.scenario, self.rng, form, plan.patient, when.date(), left=left
            )
            if not values:
                continue
            save_form(
                self.db,
                nurse,
                self.study.id,
                plan.patient.code,
                visit=visit.id,
                form_id=form_id,
                values=values,
            )
            self.result.forms += 1
            if self.rng.random() < self.scenario.queries.per_form:
                item = self._queried_item(form, values)
                if item is not None:
                    later = when + timedelta(days=self.rng.randint(1, 3), hours=3)
                    self.at(
                        later,
                        partial(self.query, plan, visit.id, form_id, item),
                    )

    def _queried_item(self, form: Form, values: dict[str, Any]) -> str | None:
        for group in form.groups:
            if group.repeating:
                continue
            for item in group.items:
                if item.name in values and item.derived is None:
                    return f"{group.id}/{item.name}"
        return None

    def query(self, plan: _Plan, visit: str, form_id: str, item: str, when: datetime) -> None:
        _coordinator, _, querier = _STAFF[plan.patient.site]
        q = open_query(
            self.db,
            self.who(querier, when),
            self.study.id,
            plan.patient.code,
            visit=visit,
            form_id=form_id,
            item=item,
            text="Please confirm this value against the source document.",
        )
        self.result.queries += 1
        low, high = self.scenario.queries.answer_days
        answer_at = when + timedelta(days=self.rng.randint(low, high))
        close = self.rng.random() < self.scenario.queries.closed_rate
        self.at(answer_at, lambda t: self.answer(plan, q.id, q.version, close, t))

    def answer(self, plan: _Plan, query_id: int, version: int, close: bool, when: datetime) -> None:
        coordinator, _, querier = _STAFF[plan.patient.site]
        a = answer_query(
            self.db,
            self.who(coordinator, when),
            self.study.id,
            query_id,
            text="Checked against the clinic chart: the value is correct.",
            expected_version=version,
        )
        self.result.answered += 1
        if close:
            self.at(
                when + timedelta(days=1),
                lambda t: self._close(query_id, a.version, querier, t),
            )

    def _close(self, query_id: int, version: int, querier: str, when: datetime) -> None:
        close_query(
            self.db,
            self.who(querier, when),
            self.study.id,
            query_id,
            expected_version=version,
            text="answer accepted",
        )
        self.result.closed += 1

    def dose(self, plan: _Plan, event_id: str, given_at: datetime) -> None:
        investigator = _STAFF[plan.patient.site][1]
        arm = self.study.arm(plan.arm)
        rule = arm.interventions[0].dose if arm is not None and arm.interventions else None
        event = next(e for e in self.study.timeline.dosing if e.id == event_id)
        if rule is None:
            return
        basis = None
        if rule.basis_item is not None:
            text = plan.patient.constants.get(rule.basis_item)
            basis = Decimal(text) if text is not None else None
        computed = compute_dose(rule, basis_value=basis, factor=event.amount_factor)
        try:
            record_dose(
                self.db,
                self.who(investigator, given_at),
                self.study.id,
                plan.patient.code,
                event_id=event_id,
                given_at=given_at,
                given_amount=f"{computed.amount.normalize():f}",
                given_unit=computed.unit,
                product_lot=f"LOT-{given_at:%y%m}",
                kit=f"K{self.result.doses + 1:04d}",
            )
        except TrialkitError:
            self.result.doses_refused += 1  # a paused arm, say: the dose is not given
            return
        self.result.doses += 1


def _ensure_study(db: Database, operator: Context, study: str) -> None:
    try:
        list_sites(db, operator, study)
        return
    except NotFound:
        pass
    texts = {name.removesuffix(".yaml"): text for name, text in shipped_studies()}
    if study not in texts:
        raise NotFound(
            f"study {study!r} is not loaded in this database",
            code="SIM.E006",
            hint="load it with `trialkit study load FILE`, or name a shipped study",
        )
    load_study(db, operator, texts[study], source=f"{study}.yaml")


def simulate(
    db: Database,
    study: str,
    *,
    participants: int,
    seed: int = 1,
    scenario: Scenario | None = None,
    start: date | None = None,
    until: datetime | None = None,
    progress: Callable[[], None] | None = None,
) -> SimulationResult:
    """Run ``participants`` synthetic candidates of ``study`` through the services (the study is
    loaded first when it is a shipped one and not in the database yet); ``start`` moves the
    scenario's first day, ``until`` stops the clock there (later events do not happen);
    ``progress`` is called once per candidate whose part of the trial is over."""
    if participants < 1:
        raise ValidationFailed(f"--participants {participants}: give at least 1", code="SIM.E007")
    scenario = scenario if scenario is not None else default_scenario(study)
    first_day = start or scenario.start
    operator = Context.operator(
        "simulate", datetime.combine(first_day, time(7)) - timedelta(days=14)
    )
    _ensure_study(db, operator, study)
    sites = list(scenario.sites)
    ensure_sites(db, operator, study, sites)
    team = ensure_team(db, operator, [study])
    with db.read() as conn:
        ref = protocol(conn, study)
    study_def = ref.study
    unknown = sorted(set(scenario.arms) ^ {a.id for a in study_def.arms})
    if unknown:
        raise ValidationFailed(
            f"scenario arms {sorted(scenario.arms)} do not match the study's arms "
            f"{[a.id for a in study_def.arms]}",
            code="SIM.E008",
        )
    rng = random.Random(f"{seed}:{study}")
    if study_def.design.randomisation is not None:
        with contextlib.suppress(TrialkitError):  # a seed set before stays
            set_seed(db, operator, study, f"simulation-seed-{seed:012d}")
    result = SimulationResult(study, seed)
    trial = _Trial(db, study_def, scenario, team, rng, result, until)
    trial.done = progress or (lambda: None)
    day = datetime.combine(first_day, time(9))
    shares = list(scenario.sites.values())
    for n in range(participants):
        site = rng.choices(sites, weights=shares)[0]
        trial.arrive(site, day + timedelta(minutes=n % 7))
        gap = rng.expovariate(scenario.arrivals_per_week / 7)
        day = datetime.combine((day + timedelta(days=gap)).date(), time(9))
    trial.run()
    with db.read() as conn:
        verified = verify_all(conn)
    result.audit_entries, result.audit_ok = verified.entries, verified.ok
    return result
