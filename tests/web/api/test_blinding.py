"""Blinding over the API: in a masked study a blinded caller sees no arm, in the list, the
participant, its history or its doses, while the allocation is stored."""

from __future__ import annotations

from tests.web.api.conftest import Bearer
from tests.web.conftest import NOW

from trialkit.services import (
    Context,
    add_membership,
    add_site,
    consent,
    create_user,
    enrol,
    get_participant,
    load_study,
    register,
    save_form,
    screen,
)
from trialkit.store import Database
from trialkit.web.demo_mode import DEMO_PASSWORD

PAE = "psoriasis-adipose-exosomes"
MASKED = "masked-adipose-exosomes-api"


def test_a_blinded_caller_sees_no_arm(web_db: Database, bearer: Bearer) -> None:
    from tests.services.conftest import ELIGIBLE

    from trialkit.protocol import shipped_studies

    text = dict(shipped_studies())["psoriasis-adipose-exosomes.yaml"]
    text = text.replace(f"id: {PAE}", f"id: {MASKED}", 1).replace(
        "masking: {level: none, placebo: false, description: Not blinded}",
        "masking: {level: double, masked_roles: [participant, investigator], placebo: false}",
        1,
    )
    admin = Context.operator("admin", NOW)
    load_study(web_db, admin, text, source="masked.yaml")
    add_site(web_db, admin, MASKED, "TEH", "Tehran")
    create_user(web_db, admin, "blind.api", DEMO_PASSWORD, display_name="Blind Nurse")
    add_membership(web_db, admin, "blind.api", MASKED, "coordinator", site_code="TEH")
    code = register(web_db, admin, MASKED, "TEH").code
    consent(web_db, admin, MASKED, code, on=NOW.date(), form_version="1", obtained_by="dr.b")
    for form_id, values in ELIGIBLE[PAE].items():
        save_form(web_db, admin, MASKED, code, visit="SCR", form_id=form_id, values=values)
    screen(web_db, admin, MASKED, code)
    enrol(web_db, admin, MASKED, code, investigator_override="confirmed by the investigator")
    assert get_participant(web_db, admin, MASKED, code).arm is not None  # allocated

    nurse = bearer("blind.api")
    base = f"/api/v1/studies/{MASKED}/participants"
    assert [p["arm"] for p in nurse.get(base).json()["items"]] == [None]
    assert nurse.get(f"{base}/{code}").json()["arm"] is None
    events = nurse.get(f"{base}/{code}/history").json()["items"]
    enrolled = next(e for e in events if e["step"] == "enrol")
    assert enrolled["data"]["arm"] is None
    assert nurse.get(f"{base}/{code}/doses").json()["blind"] is True
    assert '"G50"' not in nurse.get(f"{base}/{code}").text
