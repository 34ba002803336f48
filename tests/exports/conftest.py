"""Fixtures of the export tests: the service tests' database (both engines) and a small filled
study (two enrolled participants of the adipose-exosome psoriasis study, one screen failure)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from tests.services.conftest import (  # noqa: F401 (fixtures)
    ctx,
    db,
    person,
    prepared_sqlite,
    screened,
)

from trialkit.services import (
    Context,
    enrol,
    mark_not_required,
    record_dose,
    record_visit,
    save_form,
    screen_fail,
)
from trialkit.store import Database

PAE = "psoriasis-adipose-exosomes"
REGIONS = ("head", "upper_limbs", "trunk", "lower_limbs")


def pasi(**regions: tuple[int, int, int, int]) -> dict[str, str]:
    out: dict[str, str] = {}
    for r in REGIONS:
        e, i, d, a = regions.get(r, (0, 0, 0, 0))
        out |= {
            f"{r}_erythema": str(e),
            f"{r}_induration": str(i),
            f"{r}_desquamation": str(d),
            f"{r}_area_percent": str(a),
        }
    return out


def lesions(treated: int, control: int) -> list[dict[str, str]]:
    def row(role: str, redness: int) -> dict[str, str]:
        return {
            "lesion_role": role,
            "lesion_site": "left forearm" if role == "treated" else "right forearm",
            "plaque_area": "3.20",
            "lesion_grade_v": "2",
            "erythema": "2",
            "scaling": "1",
            "induration": "1",
            "redness": str(redness),
            "pain_nrs": "3",
        }

    return [row("treated", treated), row("control", control)]


#: When the second PASI at month 3 was corrected (after the --as-of cut of the tests).
CORRECTED = datetime(2025, 8, 1, 9, 0)


@pytest.fixture
def filled(db: Database, ctx: Context, screened) -> tuple[str, str]:  # noqa: F811
    """Two participants to month 3 (arms G50, G100), a screen failure, a form not required,
    and participant 2's month-3 PASI corrected on 2025-08-01."""
    codes = []
    for n, (arm, dose) in enumerate((("G50", "160"), ("G100", "320")), start=1):
        code = screened(PAE)
        record_visit(db, ctx, PAE, code, "SCR", ctx.as_of.date())
        enrol(
            db,
            ctx,
            PAE,
            code,
            arm=arm,
            allocation_override="carried over from paper records" if arm == "G100" else None,
        )
        inj = datetime(2025, 3, 10 + n, 10, 30)
        at = Context.operator("dr.demo", inj)
        save_form(
            db, at, PAE, code, visit="D1", form_id="LESION", values={"LESIONS": lesions(3, 3)}
        )
        record_dose(
            db,
            at,
            PAE,
            code,
            event_id="INJ",
            given_at=inj,
            given_amount=dose,
            given_unit="ug",
            product_lot="EX-0311",
            vials=[f"EX-0311-{n:02d}"],
        )
        later = Context.operator("dr.demo", inj + timedelta(days=100))
        record_visit(db, later, PAE, code, "D1", inj.date())
        save_form(
            db, later, PAE, code, visit="D1", form_id="PASI", values=pasi(trunk=(2, 2, 1, 12))
        )
        record_visit(db, later, PAE, code, "M3", inj.date() + timedelta(days=90))
        save_form(db, later, PAE, code, visit="M3", form_id="PASI", values=pasi(trunk=(1, 1, 0, 5)))
        codes.append(code)
    p1, p2 = codes
    fix = Context.operator("dr.demo", CORRECTED)
    save_form(
        db,
        fix,
        PAE,
        p2,
        visit="M3",
        form_id="PASI",
        values=pasi(trunk=(2, 1, 1, 5)),
        reason="transcription error",
        expected_version=1,
    )
    mark_not_required(db, fix, PAE, p1, visit="M3", form_id="LESION", reason="lesion resolved")
    failed = screened(PAE)
    screen_fail(db, ctx, PAE, failed, "withdrew before enrolment")
    return p1, p2
