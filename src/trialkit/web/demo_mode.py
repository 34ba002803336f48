"""Demo mode: a local database with the three shipped studies, two sites, a study team with
logins and a few made-up participants, so the web application can be tried at once.

Everything goes through the services' public API, as the local operator (``demo.setup``) for
what an operator does (loading studies, adding sites and users, granting memberships) and as
the team's own users for the trial work (the coordinator registers and enters data, the
investigator doses, the monitor opens a query). Dates are relative to the day the database is
made, so its calendars show visits done, due, overdue and to come. A database that already has
studies is used as it is: demo mode never seeds twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from trialkit.errors import TrialkitError
from trialkit.protocol import shipped_studies
from trialkit.services import (
    Context,
    Role,
    add_membership,
    add_site,
    authenticate,
    consent,
    create_user,
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
from trialkit.simulate.eligible import VITALS_VALUES, eligible_values
from trialkit.store import Database, current_revision, head_revision, upgrade

__all__ = ["DEMO_PASSWORD", "TEAM", "DemoLogin", "ensure_demo_database"]

#: Every demo user's password (printed by ``trialkit serve --demo``; demo mode only).
DEMO_PASSWORD = "demo passphrase, not for real use"

UCM = "psoriasis-ucmsc"
PAE = "psoriasis-adipose-exosomes"
IBD = "ibd-placental-exosomes"
SITES = (("TEH", "Tehran"), ("ISF", "Isfahan"))


@dataclass(frozen=True)
class DemoLogin:
    username: str
    display_name: str
    role: Role
    site: str | None
    unblinded: bool = False
    note: str = ""


#: The demo team: one login per role of :mod:`trialkit.services.access` (the pharmacist, who
#: prepares blinded doses, always sees allocations).
TEAM = (
    DemoLogin("n.rahimi", "N. Rahimi (coordinator)", Role.COORDINATOR, "TEH"),
    DemoLogin("dr.amini", "Dr A. Amini", Role.PRINCIPAL_INVESTIGATOR, "TEH"),
    DemoLogin("dr.kazemi", "Dr R. Kazemi", Role.INVESTIGATOR, "ISF"),
    DemoLogin("s.ahmadi", "S. Ahmadi (coordinator)", Role.COORDINATOR, "ISF"),
    DemoLogin("dm.karimi", "M. Karimi (data manager)", Role.DATA_MANAGER, None),
    DemoLogin("mon.hosseini", "L. Hosseini (monitor)", Role.MONITOR, "TEH"),
    DemoLogin("dsmb.safavi", "Prof D. Safavi (safety board)", Role.SAFETY_BOARD, None),
    DemoLogin("stat.moradi", "F. Moradi (statistician)", Role.STATISTICIAN, None),
    DemoLogin("pharm.jafari", "H. Jafari (pharmacist)", Role.PHARMACIST, None),
)


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


def ensure_demo_database(db: Database, today: date) -> bool:
    """Create the schema and seed the demo on an empty database; returns whether it seeded."""
    if current_revision(db.engine) != head_revision():
        upgrade(db.engine)
    start = today - timedelta(days=40)
    operator = Context.operator("demo.setup", _at(start - timedelta(days=7)))
    if _has_studies(db, operator):
        return False
    for name, text in shipped_studies():
        loaded = load_study(db, operator, text, source=name)
        for code, site_name in SITES:
            add_site(db, operator, loaded.study, code, site_name)
    for person in TEAM:
        create_user(db, operator, person.username, DEMO_PASSWORD, display_name=person.display_name)
        for study in (UCM, PAE, IBD):
            add_membership(
                db,
                operator,
                person.username,
                study,
                person.role,
                site_code=person.site,
                unblinded=person.unblinded,
            )
    team = {p.username: authenticate(db, p.username, DEMO_PASSWORD, operator.as_of) for p in TEAM}
    _participants(db, team, start, today)
    return True


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


def _participants(db: Database, team: dict[str, Context], start: date, today: date) -> None:
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
