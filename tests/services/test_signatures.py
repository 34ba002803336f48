"""Electronic signatures through the service layer, on both databases, with real users."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import sqlalchemy as sa

from trialkit.errors import AccessDenied, ConflictError, NotFound, ValidationFailed
from trialkit.services import (
    Context,
    Role,
    lock,
    mark_not_required,
    read_form,
    save_form,
    sign,
    signatures,
)
from trialkit.services.signatures import MISMATCH, VALID, VOIDED, content_hash
from trialkit.services.users import MAX_FAILED_LOGINS
from trialkit.store import Database, canonical
from trialkit.store import verify as verify_audit
from trialkit.store.tables import app_user, form_instance, participant, signature

UCM = "psoriasis-ucmsc"
PASSWORD = "correct horse battery staple"
MEANING = "I confirm that I reviewed these data and they are accurate"
VITALS = {"systolic_bp": "120", "diastolic_bp": "80", "heart_rate": "72", "temperature": "36.6"}
People = Callable[..., Context]


def audit_ok(db: Database) -> bool:
    with db.read() as conn:
        return verify_audit(conn).ok


def count(db: Database, table: sa.Table) -> int:
    with db.read() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def test_a_form_signature_records_who_what_and_the_hash_and_a_change_voids_it(
    db: Database, ctx: Context, person: People, sites: tuple[str, str]
) -> None:
    teh, _ = sites
    doctor = person("dr.teh", UCM, Role.INVESTIGATOR, site="TEH")
    nurse = person("nurse.teh", UCM, Role.COORDINATOR, site="TEH")
    s = sign(
        db,
        doctor,
        UCM,
        teh,
        scope="form",
        visit="SCR",
        form_id="VITALS",
        meaning=MEANING,
        password=PASSWORD,
    )
    assert (s.status, s.scope, s.visit, s.form_id, s.instance_no) == (
        VALID,
        "form",
        "SCR",
        "VITALS",
        1,
    )
    assert (s.signed_by, s.signer_name, s.meaning) == ("dr.teh", "Dr.Teh", MEANING)
    stored = read_form(db, ctx, UCM, teh, visit="SCR", form_id="VITALS")
    expected = [
        {
            "id": stored.id,
            "form_id": "VITALS",
            "visit": "SCR",
            "instance": 1,
            "version": 1,
            "data": stored.data,
        }
    ]
    assert s.content_hash == content_hash(expected)
    assert len(s.content_hash) == 64
    with pytest.raises(ConflictError) as twice:
        sign(
            db,
            doctor,
            UCM,
            teh,
            scope="form",
            visit="SCR",
            form_id="VITALS",
            meaning=MEANING,
            password=PASSWORD,
        )
    assert twice.value.code == "SIGN.E005"

    r = save_form(
        db,
        nurse,
        UCM,
        teh,
        visit="SCR",
        form_id="VITALS",
        values={**VITALS, "heart_rate": "74"},
        expected_version=1,
        reason="re-measured",
    )
    assert f"signature(s) {s.id} voided by the change" in r.notes
    [voided] = signatures(db, nurse, UCM, teh)
    assert voided.status == VOIDED
    assert voided.void_reason == "form VITALS at SCR changed by nurse.teh (version 2)"
    assert voided.voided_at == nurse.as_of
    # Signed again, the new signature is valid; the old one stays voided in the list.
    sign(
        db,
        doctor,
        UCM,
        teh,
        scope="form",
        visit="SCR",
        form_id="VITALS",
        meaning=MEANING,
        password=PASSWORD,
    )
    assert [x.status for x in signatures(db, doctor, UCM, teh)] == [VOIDED, VALID]
    assert audit_ok(db)


def test_visit_and_casebook_signatures_cover_every_entered_form(
    db: Database, person: People, sites: tuple[str, str]
) -> None:
    teh, _ = sites
    doctor = person("dr.teh", UCM, Role.INVESTIGATOR, site="TEH")
    pi = person("pi", UCM, Role.PRINCIPAL_INVESTIGATOR)
    nurse = person("nurse.teh", UCM, Role.COORDINATOR, site="TEH")
    visit = sign(
        db, doctor, UCM, teh, scope="visit", visit="SCR", meaning=MEANING, password=PASSWORD
    )
    book = sign(db, pi, UCM, teh, scope="casebook", meaning=MEANING, password=PASSWORD)
    assert (visit.forms, book.forms) == (2, 2)
    assert visit.content_hash == book.content_hash  # both cover SCREEN and VITALS at SCR
    # Marking a form not required at the signed visit voids both.
    mark_not_required(db, nurse, UCM, teh, visit="SCR", form_id="LABS", reason="not drawn")
    listed = signatures(db, pi, UCM, teh)
    assert [x.status for x in listed] == [VOIDED, VOIDED]
    assert listed[0].void_reason == "form LABS at SCR marked not required by nurse.teh"
    assert audit_ok(db)


def test_who_may_sign_what(
    db: Database, ctx: Context, person: People, sites: tuple[str, str]
) -> None:
    teh, isf = sites
    doctor = person("dr.teh", UCM, Role.INVESTIGATOR, site="TEH")
    monitor = person("monitor.all", UCM, Role.MONITOR)
    nurse = person("nurse.teh", UCM, Role.COORDINATOR, site="TEH")
    with pytest.raises(AccessDenied) as denied:
        sign(db, doctor, UCM, teh, scope="casebook", meaning=MEANING, password=PASSWORD)
    assert "sign a participant's casebook" in str(denied.value)
    for who in (monitor, nurse):
        with pytest.raises(AccessDenied) as denied:
            sign(
                db,
                who,
                UCM,
                teh,
                scope="form",
                visit="SCR",
                form_id="VITALS",
                meaning=MEANING,
                password=PASSWORD,
            )
        assert "sign forms and visits" in str(denied.value)
    with pytest.raises(AccessDenied) as denied:
        sign(db, doctor, UCM, isf, scope="visit", visit="SCR", meaning=MEANING, password=PASSWORD)
    assert "at site ISF" in str(denied.value)
    with pytest.raises(AccessDenied) as denied:
        sign(db, ctx, UCM, teh, scope="visit", visit="SCR", meaning=MEANING, password=PASSWORD)
    assert denied.value.code == "SIGN.E002"
    assert "has no password and cannot sign" in str(denied.value)
    assert count(db, signature) == 0


def test_a_wrong_password_is_refused_nothing_is_signed_and_it_counts_toward_the_lockout(
    db: Database, person: People, sites: tuple[str, str]
) -> None:
    teh, _ = sites
    doctor = person("dr.teh", UCM, Role.INVESTIGATOR, site="TEH")
    with pytest.raises(AccessDenied) as denied:
        sign(db, doctor, UCM, teh, scope="visit", visit="SCR", meaning=MEANING, password="guess")
    assert denied.value.code == "SIGN.E001"
    assert "the password of user 'dr.teh' is wrong: visit not signed" in str(denied.value)
    assert count(db, signature) == 0
    with db.read() as conn:
        failed = conn.execute(
            sa.select(app_user.c.failed_logins).where(app_user.c.username == "dr.teh")
        ).scalar_one()
    assert failed == 1  # a session cannot be used to guess the password
    for _ in range(MAX_FAILED_LOGINS - 1):
        with pytest.raises(AccessDenied):
            sign(db, doctor, UCM, teh, scope="visit", visit="SCR", meaning=MEANING, password="x")
    with pytest.raises(AccessDenied) as locked:
        sign(db, doctor, UCM, teh, scope="visit", visit="SCR", meaning=MEANING, password=PASSWORD)
    assert locked.value.code == "AUTH.E022"
    assert count(db, signature) == 0


def test_meaning_and_something_entered_are_required(
    db: Database, person: People, sites: tuple[str, str]
) -> None:
    teh, _ = sites
    doctor = person("dr.teh", UCM, Role.INVESTIGATOR, site="TEH")
    with pytest.raises(ValidationFailed) as err:
        sign(db, doctor, UCM, teh, scope="visit", visit="SCR", meaning=" ", password=PASSWORD)
    assert err.value.code == "SIGN.E003"
    with pytest.raises(NotFound) as missing:
        sign(
            db,
            doctor,
            UCM,
            teh,
            scope="form",
            visit="SCR",
            form_id="LABS",
            meaning=MEANING,
            password=PASSWORD,
        )
    assert missing.value.code == "FORM.E012"
    with pytest.raises(ValidationFailed) as empty:
        sign(db, doctor, UCM, teh, scope="visit", visit="V_W0", meaning=MEANING, password=PASSWORD)
    assert empty.value.code == "SIGN.E004"
    assert "nothing is entered in visit V_W0" in str(empty.value)
    with pytest.raises(ValidationFailed) as scope:
        sign(db, doctor, UCM, teh, scope="visit", meaning=MEANING, password=PASSWORD)
    assert scope.value.code == "SIGN.E006"


def test_locked_data_may_be_signed(db: Database, person: People, sites: tuple[str, str]) -> None:
    teh, _ = sites
    doctor = person("dr.teh", UCM, Role.INVESTIGATOR, site="TEH")
    dm = person("dm.all", UCM, Role.DATA_MANAGER)
    lock(db, dm, UCM, scope="participant", participant=teh, reason="database lock")
    s = sign(db, doctor, UCM, teh, scope="visit", visit="SCR", meaning=MEANING, password=PASSWORD)
    assert s.status == VALID


@pytest.mark.tampers
def test_data_changed_outside_the_write_path_is_reported(
    db: Database, person: People, sites: tuple[str, str]
) -> None:
    teh, _ = sites
    doctor = person("dr.teh", UCM, Role.INVESTIGATOR, site="TEH")
    s = sign(db, doctor, UCM, teh, scope="visit", visit="SCR", meaning=MEANING, password=PASSWORD)
    with db.engine.begin() as conn:  # tampering: straight to the table, no audit, no voiding
        row = conn.execute(
            sa.select(form_instance.c.id, form_instance.c.data)
            .join(participant, participant.c.id == form_instance.c.participant_id)
            .where(form_instance.c.form_id == "VITALS", participant.c.code == teh)
        ).first()
        assert row is not None
        data = canonical.loads(row.data)
        data["VS"]["heart_rate"]["raw"] = "99"
        conn.execute(
            form_instance.update()
            .where(form_instance.c.id == row.id)
            .values(data=canonical.dumps(data))
        )
    [listed] = signatures(db, doctor, UCM, teh)
    assert listed.id == s.id
    assert listed.status == MISMATCH
    assert listed.problem is not None
    assert "changed outside trialkit's write path" in listed.problem
