"""The demos' one seeding: the shipped studies, sites TEH and ISF, the synthetic team, and
participants, on a database of its own.

``seed_demo`` serves both demos. ``trialkit serve --demo`` (web demo mode, through
:func:`trialkit.web.demo_mode.ensure_demo_database`) seeds a few hand-made participants in
every state the workspace shows, dated around today, and then simulated participants of the
single-arm studies (:func:`trialkit.simulate.simulate`) whose trial has run up to today, so the
pages show visits done, due and overdue (the simulated ones at Isfahan, so Tehran's team sees
the hand-made ones alone). ``trialkit demo`` (``make demo``) seeds simulated
participants of every shipped study whose trial has run to its end, and writes each study's
report (:func:`demo_reports`). The dose-cohort study (``psoriasis-adipose-exosomes``) is not
simulated in web demo mode: its cohorts are study-wide and the hand-made ones fill the first.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path

from rich.console import Console

from trialkit.errors import TrialkitError
from trialkit.protocol import shipped_studies
from trialkit.services import (
    Context,
    authenticate,
    consent,
    enrol,
    list_sites,
    load_study,
    open_query,
    record_dose,
    record_visit,
    register,
    save_form,
    screen,
)
from trialkit.simulate.eligible import IBD, PAE, UCM, VITALS_VALUES, eligible_values
from trialkit.simulate.run import SimulationResult, simulate
from trialkit.simulate.scenario import default_scenario
from trialkit.simulate.team import DEMO_PASSWORD, SITES, ensure_sites, ensure_team
from trialkit.store import Database, current_revision, head_revision, upgrade

__all__ = ["DEMO_PARTICIPANTS", "demo_reports", "seed_demo"]

#: Simulated participants per study: the web demo (quick to start) and ``trialkit demo``.
DEMO_PARTICIPANTS = {"web": {UCM: 3, IBD: 2}, "demo": {PAE: 14, UCM: 10, IBD: 8}}


def _at(day: date, hour: int = 9, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute))


def _has_studies(db: Database, operator: Context) -> bool:
    for name in (UCM, PAE, IBD):
        try:
            list_sites(db, operator, name)
        except TrialkitError:
            continue
        return True
    return False


def seed_demo(
    db: Database,
    today: date,
    *,
    showcase: bool = True,
    participants: dict[str, int] | None = None,
    seed: int = 1,
    until_today: bool = True,
) -> dict[str, SimulationResult] | None:
    """Create the schema and seed an empty database: the studies, sites, team, the hand-made
    showcase participants (``showcase``) and ``participants`` simulated per study (default
    :data:`DEMO_PARTICIPANTS` web or demo); their trial starts 150 days before ``today`` and
    stops at ``today`` when ``until_today``, else runs to its end. Returns the simulations, or
    None when the database already had studies (a demo never seeds twice)."""
    if current_revision(db.engine) != head_revision():
        upgrade(db.engine)
    first = today - timedelta(days=150)
    operator = Context.operator("demo.setup", _at(first - timedelta(days=14)))
    if _has_studies(db, operator):
        return None
    for name, text in shipped_studies():
        loaded = load_study(db, operator, text, source=name)
        ensure_sites(db, operator, loaded.study, [code for code, _ in SITES])
    team = ensure_team(db, operator, [UCM, PAE, IBD])
    if showcase:
        _showcase(db, team, today - timedelta(days=40), today)
    counts = participants
    if counts is None:
        counts = DEMO_PARTICIPANTS["web" if showcase else "demo"]
    until = _at(today, 18) if until_today else None
    results = {}
    for study, n in counts.items():
        if n > 0:
            scenario = default_scenario(study)
            if showcase:  # the hand-made participants are Tehran's; the simulated, Isfahan's
                scenario = scenario.model_copy(update={"sites": {"ISF": 1.0}})
            results[study] = simulate(
                db, study, participants=n, seed=seed, scenario=scenario, start=first, until=until
            )
    return results


def demo_reports(
    console: Console, folder: Path, today: date, participants: dict[str, int] | None = None
) -> list[Path]:
    """``trialkit demo``: simulate every shipped study to its end in a fresh SQLite database in
    ``folder`` and write each study's report there, in English and Persian (HTML)."""
    from trialkit.report import collect, write_report

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "demo.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    db = Database.from_url(f"sqlite:///{path}")
    written = []
    try:
        results = (
            seed_demo(db, today, showcase=False, participants=participants, until_today=False) or {}
        )
        for result in results.values():
            console.print(result.summary(), markup=False)
        statistician = authenticate(db, "stat.moradi", DEMO_PASSWORD, _at(today, 12))
        for study in results:
            data = collect(db, statistician, study)
            for language in ("en", "fa"):
                suffix = "" if language == "en" else ".fa"
                written.append(write_report(data, folder / f"{study}{suffix}.html", language))
    finally:
        db.dispose()
    return written


def _ucm_candidate(db: Database, nurse: Context, site: str, on: date, age: str, weight: str) -> str:
    ctx = nurse.at(_at(on))
    code = register(db, ctx, UCM, site).code
    consent(db, ctx, UCM, code, on=on, form_version="1.0", obtained_by="dr.amini")
    values = eligible_values(UCM, on)
    values["SCREEN"] |= {"age": age, "weight": weight, "bsa_percent": "14"}
    for form_id, form_values in values.items():
        save_form(db, ctx, UCM, code, visit="SCR", form_id=form_id, values=form_values)
    record_visit(db, ctx, UCM, code, "SCR", on)
    return code


def _dosing_weight(db: Database, ctx: Context, code: str, visit: str, weight: str) -> None:
    """The weight measured at a UC-MSC dosing visit: the cells-per-kg dose is computed from it."""
    values = {**VITALS_VALUES, "weight": weight}
    save_form(db, ctx, UCM, code, visit=visit, form_id="VITALS", values=values)


def _treated_lesion(db: Database, ctx: Context, code: str, treated_area: str) -> None:
    """The D1 lesion form (treated and untreated control lesion): the dose per cm² reads the
    treated lesion's plaque area."""
    rows = [
        {
            "lesion_role": role,
            "lesion_site": site,
            "plaque_area": area,
            "lesion_grade_v": "2",
            "erythema": "2",
            "scaling": "2",
            "induration": "2",
            "redness": "2",
            "pain_nrs": "3",
        }
        for role, site, area in (
            ("treated", "left knee", treated_area),
            ("control", "right knee", "3.0"),
        )
    ]
    save_form(db, ctx, PAE, code, visit="D1", form_id="LESION", values={"LESIONS": rows})


def _pae_candidate(db: Database, nurse: Context, on: date, age: int) -> str:
    ctx = nurse.at(_at(on))
    code = register(db, ctx, PAE, "TEH").code
    consent(db, ctx, PAE, code, on=on, form_version="1.0", obtained_by="dr.amini")
    values = eligible_values(PAE, on)
    values["SCREEN"]["age"] = str(age)
    for form_id, form_values in values.items():
        save_form(db, ctx, PAE, code, visit="SCR", form_id=form_id, values=form_values)
    record_visit(db, ctx, PAE, code, "SCR", on)
    return code


def _showcase(db: Database, team: dict[str, Context], start: date, today: date) -> None:
    """Hand-made participants in every state the workspace shows (done, due, overdue, to
    come; a query; a participant at the other site; a dose cohort being filled)."""
    nurse, doctor = team["n.rahimi"], team["dr.amini"]
    isf_nurse, isf_doctor = team["s.ahmadi"], team["dr.kazemi"]

    # UC-MSC infusions: one participant two infusions in, one a week behind, one screened and
    # waiting for enrolment, and one at Isfahan (unseen by Tehran's team).
    first = _ucm_candidate(db, nurse, "TEH", start, "41", "68.5")
    screen(db, nurse.at(_at(start, 11)), UCM, first)
    enrol(db, nurse.at(_at(start, 12)), UCM, first)
    w0 = _at(start + timedelta(days=7), 9, 30)
    _dosing_weight(db, doctor.at(w0), first, "V_W0", "68.5")
    record_dose(
        db,
        doctor.at(w0),
        UCM,
        first,
        event_id="W0",
        given_at=w0,
        given_amount="1.37e8",
        given_unit="cells",
        product_lot="UC-0425",
        vials=["UC-0425-01", "UC-0425-02"],
    )
    record_visit(db, nurse.at(w0), UCM, first, "V_W0", w0.date())
    w2 = w0 + timedelta(days=15)
    _dosing_weight(db, doctor.at(w2), first, "V_W2", "68.5")
    record_dose(
        db,
        doctor.at(w2),
        UCM,
        first,
        event_id="W2",
        given_at=w2,
        given_amount="1.37e8",
        given_unit="cells",
        product_lot="UC-0425",
    )
    record_visit(db, nurse.at(w2), UCM, first, "V_W2", w2.date())

    second_day = start + timedelta(days=10)
    second = _ucm_candidate(db, nurse, "TEH", second_day, "36", "72")
    screen(db, nurse.at(_at(second_day, 11)), UCM, second)
    enrol(db, nurse.at(_at(second_day, 12)), UCM, second)
    w0b = _at(second_day + timedelta(days=7), 10)
    _dosing_weight(db, doctor.at(w0b), second, "V_W0", "72")
    record_dose(
        db,
        doctor.at(w0b),
        UCM,
        second,
        event_id="W0",
        given_at=w0b,
        given_amount="1.44e8",
        given_unit="cells",
        product_lot="UC-0425",
    )
    record_visit(db, nurse.at(w0b), UCM, second, "V_W0", w0b.date())

    third_day = today - timedelta(days=3)
    third = _ucm_candidate(db, nurse, "TEH", third_day, "52", "80")
    screen(db, nurse.at(_at(third_day, 11)), UCM, third)
    monitor = team["mon.hosseini"].at(_at(today - timedelta(days=1), 15))
    open_query(
        db,
        monitor,
        UCM,
        third,
        visit="SCR",
        form_id="VITALS",
        item="VS/systolic_bp",
        text="Please confirm the systolic pressure against the clinic chart.",
    )
    isf_day = today - timedelta(days=5)
    isf = _ucm_candidate(db, isf_nurse, "ISF", isf_day, "47", "64")
    screen(db, isf_nurse.at(_at(isf_day, 11)), UCM, isf)

    # Adipose exosomes: two participants allocated to the first dose cohort, one injected.
    cohort = []
    for n in range(2):
        day = start + timedelta(days=2 + n)
        code = _pae_candidate(db, nurse, day, 37 + n)
        screen(db, nurse.at(_at(day, 11)), PAE, code)
        enrol(db, nurse.at(_at(day, 12)), PAE, code)
        cohort.append(code)
    inj = _at(start + timedelta(days=9), 10, 30)
    _treated_lesion(db, doctor.at(inj), cohort[0], "3.2")
    record_dose(
        db,
        doctor.at(inj),
        PAE,
        cohort[0],
        event_id="INJ",
        given_at=inj,
        given_amount="160",
        given_unit="ug",
        product_lot="EX-0311",
        vials=["EX-0311-07"],
    )
    record_visit(db, nurse.at(inj), PAE, cohort[0], "D1", inj.date())

    # IBD: one candidate consented at Tehran, one registered at Isfahan.
    ibd_day = today - timedelta(days=2)
    ibd = register(db, nurse.at(_at(ibd_day)), IBD, "TEH").code
    consent(
        db,
        nurse.at(_at(ibd_day, 10)),
        IBD,
        ibd,
        on=ibd_day,
        form_version="1.0",
        obtained_by="dr.amini",
    )
    register(db, isf_doctor.at(_at(ibd_day, 11)), IBD, "ISF")
