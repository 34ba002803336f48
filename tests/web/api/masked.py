"""A masked copy of the adipose-exosome study for the API tests of blinding: a blinded
coordinator at Tehran, a blinded and an unblinded statistician of every site, a pharmacist, and
one participant enrolled (allocated) at Tehran."""

from __future__ import annotations

from dataclasses import dataclass

from tests.web.conftest import NOW

from trialkit.protocol import shipped_studies
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
from trialkit.simulate.eligible import ELIGIBLE, PAE
from trialkit.store import Database
from trialkit.web.demo_mode import DEMO_PASSWORD

__all__ = ["Masked", "masked_study"]


@dataclass(frozen=True)
class Masked:
    study: str
    participant: str
    arm: str
    nurse: str  # blinded coordinator at TEH
    blind_stat: str  # blinded statistician, every site
    open_stat: str  # unblinded statistician, every site
    pharmacist: str


def masked_study(db: Database, study: str) -> Masked:
    """Load ``study``, a double-masked copy of the adipose-exosome study, with its team."""
    text = dict(shipped_studies())["psoriasis-adipose-exosomes.yaml"]
    text = text.replace(f"id: {PAE}", f"id: {study}", 1).replace(
        "masking: {level: none, placebo: false, description: Not blinded}",
        "masking: {level: double, masked_roles: [participant, investigator], placebo: false}",
        1,
    )
    admin = Context.operator("admin", NOW)
    load_study(db, admin, text, source="masked.yaml")
    add_site(db, admin, study, "TEH", "Tehran")
    tag = study[-6:]
    team = Masked(
        study,
        "",
        "",
        f"nurse.{tag}",
        f"blind.{tag}",
        f"open.{tag}",
        f"pharm.{tag}",
    )
    for username, role, site, unblinded in (
        (team.nurse, "coordinator", "TEH", False),
        (team.blind_stat, "statistician", None, False),
        (team.open_stat, "statistician", None, True),
        (team.pharmacist, "pharmacist", None, False),
    ):
        create_user(db, admin, username, DEMO_PASSWORD, display_name=username)
        add_membership(db, admin, username, study, role, site_code=site, unblinded=unblinded)
    code = register(db, admin, study, "TEH").code
    consent(db, admin, study, code, on=NOW.date(), form_version="1", obtained_by="dr.b")
    for form_id, values in ELIGIBLE[PAE].items():
        save_form(db, admin, study, code, visit="SCR", form_id=form_id, values=values)
    screen(db, admin, study, code)
    enrol(db, admin, study, code, investigator_override="confirmed by the investigator")
    arm = get_participant(db, admin, study, code).arm
    assert arm is not None
    return Masked(study, code, arm, team.nurse, team.blind_stat, team.open_stat, team.pharmacist)
