"""``demo_records``: a fresh SQLite database, the three studies, a study team of real users,
a few participants walked through screening, enrolment, allocation, dosing and their first
visits; prints calendars, statuses, the dose cohorts and a stopping rule at work.

The team logs in with passwords (argon2) and acts through its memberships: a coordinator at
Tehran enters the data, the principal investigator doses, the safety board chair reviews.
Eligibility is evaluated from each study's criteria, and edit checks and scores run on every
save, with the standard ports the services are bound to (:mod:`trialkit.services.standard`); one
candidate fails screening to show the explanation. The adipose-exosome study fills its first
dose cohort (G50) by allocation; the fifth candidate is refused until the safety review, and a
related grade 3 event then pauses the cohort.
"""

from __future__ import annotations

import tempfile
from datetime import date, datetime, time, timedelta
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from trialkit.errors import TrialkitError
from trialkit.protocol import shipped_studies
from trialkit.services import (
    Context,
    Role,
    add_membership,
    add_site,
    authenticate,
    calendar,
    cohorts,
    consent,
    create_user,
    enrol,
    get_participant,
    load_study,
    record_dose,
    record_visit,
    register,
    safety_status,
    save_form,
    screen,
    screen_fail,
)
from trialkit.simulate.eligible import CDAI_455, SESCD_10, VITALS_VALUES, eligible_values
from trialkit.store import Database, upgrade, verify

__all__ = ["demo_records"]

_IBD = "ibd-placental-exosomes"
_UCM = "psoriasis-ucmsc"
_PAE = "psoriasis-adipose-exosomes"


def _lesions(treated_area: str, control_area: str) -> list[dict[str, str]]:
    """The treated and the untreated control lesion of the adipose-exosome study at D1."""
    return [
        {
            "lesion_role": role,
            "lesion_site": "left knee" if role == "treated" else "right knee",
            "plaque_area": area,
            "lesion_grade_v": "2",
            "erythema": "2",
            "scaling": "2",
            "induration": "2",
            "redness": "2",
            "pain_nrs": "3",
        }
        for role, area in (("treated", treated_area), ("control", control_area))
    ]


# CDAI exactly 450: the eligible CDAI 455 with weight 76 instead of 72 (100 x (1 - 76/80) = 5
# instead of 10).
_CDAI_450 = CDAI_455 | {"weight": "76"}
# SES-CD 7: ileum ulcers 2 + ulcerated surface 2 + affected surface 2 + narrowing 1.
_SESCD_7 = SESCD_10 | {
    "ileum_ulcer_size": "2",
    "ileum_ulcerated_surface": "2",
    "ileum_affected_surface": "2",
    "ileum_narrowing": "1",
}


def _print_calendar(
    console: Console, db: Database, ctx: Context, study: str, code: str, on: date
) -> None:
    ctx = ctx.at(datetime.combine(on, time(12)))
    p = get_participant(db, ctx, study, code)
    cal = calendar(db, ctx, study, code, on)
    table = Table(title=f"{study} · {code} · {p.status.value} · arm {p.arm} · as of {on}")
    for col in ("visit", "target", "window", "state", "forms"):
        table.add_column(col)
    for v in cal.visits:
        window = f"{v.earliest} … {v.latest}" if v.earliest else "—"
        forms = ", ".join(f"{f}:{s}" for f, s in v.forms.items())
        table.add_row(v.key, str(v.target or "—"), window, v.state.value, forms)
    console.print(table)
    for event_id, given in cal.given.items():
        devs = "; ".join(d["message"] for d in given["deviations"]) or "no deviation"
        console.print(f"  dose {event_id} given {given['given_at']:%Y-%m-%d %H:%M}: {devs}")


def _screen(
    console: Console,
    db: Database,
    ctx: Context,
    study: str,
    code: str,
    *,
    explain: bool = True,
) -> None:
    """Screen and print the stored verdict with its explanation (or just the verdict)."""
    p = screen(db, ctx, study, code)
    verdict = p.eligibility or {}
    explanation = verdict.get("explanation") or {}
    if not explain:
        eligible = verdict.get("eligible")
        state = "eligible" if eligible is True else "not eligible" if eligible is False else "?"
        console.print(f"{code}: {state} (explained as for the first candidate)")
        return
    console.print(Text.assemble((code, "bold"), " eligibility:"))
    console.print(explanation.get("text", verdict), markup=False)


_PASSWORD = "demo passphrase, not for real use"


def _team(console: Console, db: Database, admin: Context) -> dict[str, Context]:
    """The study team: real users with memberships, logged in with their passwords."""
    people = (
        ("n.rahimi", "Nurse N. Rahimi", Role.COORDINATOR, "TEH"),
        ("dr.amini", "Dr A. Amini", Role.PRINCIPAL_INVESTIGATOR, "TEH"),
        ("dsmb.chair", "Prof D. Safavi", Role.SAFETY_BOARD, None),
    )
    for username, name, role, site in people:
        create_user(db, admin, username, _PASSWORD, display_name=name)
        for study in (_UCM, _PAE, _IBD):
            add_membership(db, admin, username, study, role, site_code=site)
        where = f"at site {site}" if site else "at every site"
        console.print(f"user {username} ({name}): {role.value} {where} of the three studies")
    return {u: authenticate(db, u, _PASSWORD, admin.as_of) for u, _, _, _ in people}


def _pae_candidate(
    console: Console,
    db: Database,
    ctx: Context,
    age: int = 37,
    *,
    explain: bool = False,
) -> str:
    pae = register(db, ctx, _PAE, "TEH").code
    consent(db, ctx, _PAE, pae, on=ctx.as_of.date(), form_version="1.0", obtained_by="dr.amini")
    values = eligible_values(_PAE, ctx.as_of.date())
    values["SCREEN"]["age"] = str(age)
    for form_id, form_values in values.items():
        saved = save_form(db, ctx, _PAE, pae, visit="SCR", form_id=form_id, values=form_values)
        if form_id == "PASI":
            console.print(f"{pae}: PASI at screening {saved.derived['pasi']['value']}")
    record_visit(db, ctx, _PAE, pae, "SCR", ctx.as_of.date())
    _screen(console, db, ctx, _PAE, pae, explain=explain)
    return pae


def _print_cohorts(console: Console, db: Database, ctx: Context) -> None:
    table = Table(title=f"{_PAE} · dose cohorts · as of {ctx.as_of.date()}")
    for col in ("cohort", "state", "allocated", "dosed", "last dose", "review from"):
        table.add_column(col)
    for c in cohorts(db, ctx, _PAE):
        table.add_row(
            c.arm,
            c.state.value,
            f"{c.allocated}/{c.size}",
            str(c.dosed),
            str(c.last_dose or "—"),
            str(c.review_from or "—"),
        )
    console.print(table)


def demo_records(console: Console, directory: Path | None = None) -> None:
    """Run the records tour in a fresh SQLite database (a temporary one unless given)."""
    tmp = tempfile.TemporaryDirectory() if directory is None else None
    folder = Path(tmp.name) if tmp is not None else directory
    assert folder is not None
    path = folder / "demo.sqlite3"
    path.unlink(missing_ok=True)
    db = Database.from_url(f"sqlite:///{path}")
    try:
        upgrade(db.engine)
        t0 = datetime(2025, 3, 3, 9, 0)
        admin = Context.operator("admin.demo", t0 - timedelta(days=7))
        for name, text in shipped_studies():
            loaded = load_study(db, admin, text, source=name)
            add_site(db, admin, loaded.study, "TEH", "Tehran")
            console.print(f"loaded {loaded.study} protocol version {loaded.version}")
        team = _team(console, db, admin)
        ctx = team["n.rahimi"].at(t0)
        doctor = team["dr.amini"]

        # UC-MSC infusions: screening, consent, enrolment, first two infusions.
        ucm = register(db, ctx, _UCM, "TEH").code
        consent(db, ctx, _UCM, ucm, on=t0.date(), form_version="1.0", obtained_by="dr.demo")
        values = eligible_values(_UCM, t0.date())
        values["SCREEN"] |= {"age": "41", "weight": "68.5", "bsa_percent": "14"}
        for form_id, form_values in values.items():
            save_form(db, ctx, _UCM, ucm, visit="SCR", form_id=form_id, values=form_values)
        record_visit(db, ctx, _UCM, ucm, "SCR", t0.date())
        _screen(console, db, ctx, _UCM, ucm)
        enrol(db, ctx, _UCM, ucm)
        w0 = datetime(2025, 3, 10, 9, 0)
        save_form(
            db,
            doctor.at(w0),
            _UCM,
            ucm,
            visit="V_W0",
            form_id="VITALS",
            values={**VITALS_VALUES, "weight": "68.5"},
        )
        d = record_dose(
            db,
            doctor.at(w0),
            _UCM,
            ucm,
            event_id="W0",
            given_at=w0,
            given_amount="1.37e8",
            given_unit="cells",
            product_lot="UC-0425",
            vials=["UC-0425-01", "UC-0425-02"],
        )
        console.print(f"{ucm}: W0 computed dose {d.computed}")
        record_visit(db, ctx, _UCM, ucm, "V_W0", w0.date())
        w2 = w0 + timedelta(days=15)
        save_form(
            db,
            doctor.at(w2),
            _UCM,
            ucm,
            visit="V_W2",
            form_id="VITALS",
            values={**VITALS_VALUES, "weight": "68.5"},
        )
        record_dose(
            db,
            doctor.at(w2),
            _UCM,
            ucm,
            event_id="W2",
            given_at=w2,
            given_amount="1.37e8",
            given_unit="cells",
            product_lot="UC-0425",
        )
        record_visit(db, ctx, _UCM, ucm, "V_W2", w2.date())
        _print_calendar(console, db, ctx, _UCM, ucm, date(2025, 4, 12))

        # Adipose exosomes: dose groups filled one after another, each participant allocated
        # to the open cohort at enrolment; one intradermal injection dosed by plaque area.
        cohort = []
        for n in range(4):
            pae = _pae_candidate(console, db, ctx, age=37 + n, explain=n == 0)
            arm = enrol(db, ctx, _PAE, pae).arm
            cohort.append(pae)
            console.print(f"{pae}: allocated to {arm}")
        for n, pae in enumerate(cohort):
            inj = datetime(2025, 3, 11 + n, 10, 30)
            save_form(
                db,
                doctor.at(inj),
                _PAE,
                pae,
                visit="D1",
                form_id="LESION",
                values={"LESIONS": _lesions("3.2", "3.0")},
            )
            d = record_dose(
                db,
                doctor.at(inj),
                _PAE,
                pae,
                event_id="INJ",
                given_at=inj,
                given_amount="160",
                given_unit="ug",
                product_lot="EX-0311",
                vials=[f"EX-0311-{n + 7:02d}"],
            )
            record_visit(db, ctx.at(inj), _PAE, pae, "D1", inj.date())
        console.print(f"{cohort[0]}: INJ computed dose {d.computed} (50 ug/cm2 x 3.2 cm2)")
        _print_calendar(console, db, ctx, _PAE, cohort[0], date(2025, 3, 25))
        fifth = _pae_candidate(console, db, ctx.at(datetime(2025, 3, 16, 9)))
        try:
            enrol(db, ctx.at(datetime(2025, 3, 16, 9)), _PAE, fifth)
        except TrialkitError as refused:
            console.print(f"{fifth}: not allocated [{refused.code}]: {refused}", markup=False)
        board = team["dsmb.chair"].at(datetime(2025, 3, 21, 9))
        _print_cohorts(console, db, board)
        report = ctx.at(datetime(2025, 3, 22, 11))
        save_form(
            db,
            report,
            _PAE,
            cohort[1],
            visit="D1",
            form_id="AE",
            values={
                "AE": [
                    {
                        "ae_term": "Injection site ulceration",
                        "ae_onset": "2025-03-20",
                        "ae_grade": "3",
                        "ae_serious": "no",
                        "ae_relation": "probable",
                        "ae_outcome": "recovering",
                        "ae_at_injection_site": "yes",
                    }
                ]
            },
        )
        status = safety_status(db, board, _PAE)
        for pause in status.pauses:
            console.print(
                f"stopping rule {pause.rule_id} fired on {pause.fired_at:%Y-%m-%d %H:%M}: "
                f"{pause.trigger['text']} -> paused arm(s) {', '.join(status.paused_arms)}",
                markup=False,
            )

        # An IBD candidate whose CDAI is exactly 450: not "greater than 450", a screen failure.
        ibd = register(db, ctx, _IBD, "TEH").code
        consent(db, ctx, _IBD, ibd, on=t0.date(), form_version="1.0", obtained_by="dr.demo")
        ibd_screen = eligible_values(_IBD, t0.date())["SCREEN"] | {"weight": "76"}
        save_form(db, ctx, _IBD, ibd, visit="SCR", form_id="SCREEN", values=ibd_screen)
        for form_id, scores in (("CDAI", _CDAI_450), ("SESCD", _SESCD_7)):
            r = save_form(db, ctx, _IBD, ibd, visit="SCR", form_id=form_id, values=scores)
            console.print(f"{ibd}: {form_id} {next(iter(r.derived.values()))['value']}")
        _screen(console, db, ctx, _IBD, ibd)
        screen_fail(db, ctx, _IBD, ibd, "CDAI 450 is not above 450 and SES-CD 7 is below 8")
        console.print(f"{ibd}: {get_participant(db, ctx, _IBD, ibd).status.value}")
        with db.read() as conn:
            result = verify(conn)
        console.print(
            f"audit trail: {result.entries} entries, intact={result.ok}, head "
            f"sha256:{result.head_hash[:16]}…"
        )
    finally:
        db.dispose()
        if tmp is not None:
            tmp.cleanup()
