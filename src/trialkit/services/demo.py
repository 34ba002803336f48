"""``demo_records``: a fresh SQLite database, the three studies, a few participants walked
through screening, enrolment, dosing and their first visits; prints calendars and statuses.

Eligibility is confirmed by the investigator in the demo (no criteria evaluator is wired into
the services yet); that confirmation is recorded and audited as such.
"""

from __future__ import annotations

import tempfile
from datetime import date, datetime, timedelta
from pathlib import Path

from rich.console import Console
from rich.table import Table

from trialkit.protocol import shipped_studies
from trialkit.services import (
    Context,
    add_site,
    calendar,
    consent,
    enrol,
    get_participant,
    load_study,
    record_dose,
    record_visit,
    register,
    save_form,
    screen,
)
from trialkit.store import Database, upgrade, verify

__all__ = ["demo_records"]

_UCM = "psoriasis-ucmsc"
_PAE = "psoriasis-adipose-exosomes"
_NO = [
    "standard_treatment_failure",
    "new_or_enlarging_lesions_3m",
    "immunosuppressant_use",
    "topical_treatment_use",
    "severe_underlying_disease",
    "uncontrolled_hypertension",
    "pregnant",
    "lactating",
    "diabetes",
    "hbv_positive",
    "hcv_positive",
    "hiv_positive",
    "immunodeficiency",
    "malignancy",
    "disabling_disease",
    "systemic_infection",
    "injection_site_infection",
]
_VITALS = {"systolic_bp": "118", "diastolic_bp": "76", "heart_rate": "70", "temperature": "36.8"}


def _print_calendar(console: Console, db: Database, study: str, code: str, on: date) -> None:
    p = get_participant(db, study, code)
    cal = calendar(db, study, code, on)
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
        ctx = Context("coordinator.demo", t0)
        for name, text in shipped_studies():
            loaded = load_study(db, ctx, text, source=name)
            add_site(db, ctx, loaded.study, "TEH", "Tehran")
            console.print(f"loaded {loaded.study} protocol version {loaded.version}")
        override = "demo: eligibility confirmed by the investigator"

        # UC-MSC infusions: screening, consent, enrolment, first two infusions.
        ucm = register(db, ctx, _UCM, "TEH").code
        consent(db, ctx, _UCM, ucm, on=t0.date(), form_version="1.0", obtained_by="dr.demo")
        save_form(
            db,
            ctx,
            _UCM,
            ucm,
            visit="SCR",
            form_id="SCREEN",
            values={
                "screening_date": "2025-03-03",
                "age": "41",
                "sex": "female",
                "weight": "68.5",
                "bsa_percent": "14",
            },
        )
        save_form(db, ctx, _UCM, ucm, visit="SCR", form_id="VITALS", values=_VITALS)
        record_visit(db, ctx, _UCM, ucm, "SCR", t0.date())
        screen(db, ctx, _UCM, ucm, None)
        enrol(db, ctx, _UCM, ucm, investigator_override=override)
        w0 = datetime(2025, 3, 10, 9, 0)
        d = record_dose(
            db,
            Context("nurse.demo", w0),
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
        record_dose(
            db,
            Context("nurse.demo", w2),
            _UCM,
            ucm,
            event_id="W2",
            given_at=w2,
            given_amount="1.37e8",
            given_unit="cells",
            product_lot="UC-0425",
        )
        record_visit(db, ctx, _UCM, ucm, "V_W2", w2.date())
        _print_calendar(console, db, _UCM, ucm, date(2025, 4, 12))

        # Adipose exosomes: one intradermal injection dosed by plaque area.
        pae = register(db, ctx, _PAE, "TEH").code
        consent(db, ctx, _PAE, pae, on=t0.date(), form_version="1.0", obtained_by="dr.demo")
        save_form(
            db,
            ctx,
            _PAE,
            pae,
            visit="SCR",
            form_id="SCREEN",
            values={
                "screening_date": "2025-03-03",
                "age": "37",
                "sex": "male",
                "psoriasis_type": "plaque",
                "psoriasis_onset_date": "2018-06-01",
                "lesion_grade": "2",
                **dict.fromkeys(_NO, "no"),
            },
        )
        record_visit(db, ctx, _PAE, pae, "SCR", t0.date())
        screen(db, ctx, _PAE, pae, None)
        enrol(db, ctx, _PAE, pae, arm="G50", investigator_override=override)
        inj = datetime(2025, 3, 11, 10, 30)
        d = record_dose(
            db,
            Context("dr.demo", inj),
            _PAE,
            pae,
            event_id="INJ",
            given_at=inj,
            given_amount="160",
            given_unit="ug",
            product_lot="EX-0311",
            vials=["EX-0311-07"],
            basis_value="3.2",
        )
        console.print(f"{pae}: INJ computed dose {d.computed} (50 ug/cm2 x 3.2 cm2)")
        record_visit(db, ctx, _PAE, pae, "D1", inj.date())
        _print_calendar(console, db, _PAE, pae, date(2025, 3, 25))

        # A candidate who is still in screening.
        ibd = register(db, ctx, "ibd-placental-exosomes", "TEH")
        console.print(f"{ibd.code}: {ibd.status.value}")
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
