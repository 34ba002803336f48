"""Data entry over HTTP: every form of the three shipped studies rendered from its definition,
refusals that keep what was typed, a soft check's query, a stale save, the reason for a change,
missing-data reasons, the history, Solar Hijri dates, and access denied versus not found."""

from __future__ import annotations

import html
import re
from datetime import date, datetime
from typing import Any

import pytest
from starlette.testclient import TestClient
from tests.web.conftest import Login, form_token

from trialkit.protocol import DataType, dump_study, resolve_study
from trialkit.services import Context, read_form
from trialkit.services.amendments import apply_version, load_amendment, preview_amendment
from trialkit.store import Database
from trialkit.web.units import shown_unit

UCM = "psoriasis-ucmsc"
PAE = "psoriasis-adipose-exosomes"
IBD = "ibd-placental-exosomes"
VITALS = {
    "v:VS/systolic_bp": "120",
    "v:VS/diastolic_bp": "80",
    "v:VS/heart_rate": "72",
    "v:VS/temperature": "36.6",
    "v:VS/weight": "",
}


def url(study: str, code: str, visit: str, form: str) -> str:
    return f"/studies/{study}/participants/{code}/forms/{visit}/{form}"


def field(html_text: str, path: str) -> str:
    """The ``value`` of the input of ``path``."""
    name = re.escape(f"v:{path}")
    m = re.search(rf'<input[^>]*name="{name}"[^>]*value="([^"]*)"', html_text)
    assert m, path
    return html.unescape(m.group(1))


def post(client: TestClient, target: str, data: dict[str, str]) -> Any:
    page = client.get(target)
    assert page.status_code == 200, page.text
    version = re.search(r'name="version" value="(\d*)"', page.text)
    assert version
    body = {"csrftoken": form_token(page.text), "version": version.group(1), **data}
    return client.post(target, data=body, follow_redirects=False)


def _first_visit(study: str, form_id: str) -> str:
    return next(v.id for v in resolve_study(study).timeline.visits if form_id in v.forms)


#: Every form of the three shipped studies, at the first visit that collects it.
FORMS = sorted(
    (study, code, _first_visit(study, f.id), f.id)
    for study, code in ((UCM, "UCM-TEH-001"), (PAE, "PAE-TEH-002"), (IBD, "IBD-TEH-001"))
    for f in resolve_study(study).forms
)


def test_every_form_of_the_three_studies_renders_from_its_definition(login: Login) -> None:
    from trialkit.instruments.from_study import expand_study

    client = login("n.rahimi")
    definitions: dict[str, Any] = {}
    for study, code, visit, form_id in FORMS:
        r = client.get(url(study, code, visit, form_id))
        assert r.status_code == 200, (study, form_id, r.text[:500])
        page = r.text
        if study not in definitions:
            definitions[study] = expand_study(resolve_study(study))
        definition = definitions[study]
        form = definition.form(form_id)
        assert form is not None
        for group in form.groups:
            entered = [i for i in group.items if not i.derived]
            if entered:
                assert group.name in html.unescape(page), (form_id, group.id)
            prefix = f"{group.id}[1]" if group.repeating else group.id
            for item in entered:
                fid = "f-" + re.sub(r"[\[\]/]+", "-", f"{prefix}/{item.name}").strip("-")
                assert f'<label for="{fid}">' in page, (form_id, item.name)
                assert f'id="{fid}"' in page
                assert f'<label for="{fid}-m" class="visually-hidden">' in page
                if item.unit:
                    shown = html.escape(shown_unit(item.unit))
                    assert f'<span class="unit" dir="ltr">{shown}</span>' in page
                if item.data_type is DataType.CODE:
                    cl = definition.codelist(item.codelist or "")
                    assert cl is not None
                    for c in cl.items:
                        assert f'<option value="{c.code}"' in page
                if item.max is not None and item.data_type in (DataType.INTEGER, DataType.DECIMAL):
                    assert f"–{item.max}" in page
    assert len(FORMS) >= 25


def test_the_lesion_rows_come_with_their_roles(login: Login) -> None:
    page = login("n.rahimi").get(url(PAE, "PAE-TEH-002", "D1", "LESION")).text
    assert 'name="n:LESIONS" value="2"' in page
    assert re.search(r'name="v:LESIONS\[1\]/lesion_role".*?value="treated" selected', page, re.S)
    assert re.search(r'name="v:LESIONS\[2\]/lesion_role".*?value="control" selected', page, re.S)
    # the rules in the words of the fields: the item's label and the code's label
    assert "Exactly one row with Lesion role = Treated (injected) lesion." in page
    assert "Exactly one row with Lesion role = Untreated control lesion." in page
    assert "No two rows share Lesion role." in page
    rules = re.search(r'<p class="muted rules">(.*?)</p>', page, re.S)
    assert rules is not None
    assert " ".join(rules.group(1).split()) == (
        "Exactly 2 rows. Exactly one row with Lesion role = Treated (injected) lesion. "
        "Exactly one row with Lesion role = Untreated control lesion. "
        "No two rows share Lesion role."
    )
    # The stored lesion form of the injected participant shows both rows as entered.
    stored = login("n.rahimi").get(url(PAE, "PAE-TEH-001", "D1", "LESION")).text
    assert field(stored, "LESIONS[1]/plaque_area") == "3.2"
    assert field(stored, "LESIONS[2]/lesion_site") == "right knee"


def test_units_are_shown_as_people_write_them(login: Login) -> None:
    """The page shows °C, cm² and µg; the protocol and the data keep Cel, cm2 and ug."""
    vitals = login("n.rahimi").get(url(UCM, "UCM-TEH-002", "V_W2", "VITALS")).text
    assert '<span class="unit" dir="ltr">°C</span>' in vitals
    assert ">Cel<" not in vitals
    lesion = login("n.rahimi").get(url(PAE, "PAE-TEH-001", "D1", "LESION")).text
    assert '<span class="unit" dir="ltr">cm²</span>' in lesion
    assert "0.1–400 cm²" in lesion


def test_a_hard_check_refuses_and_keeps_everything_typed(login: Login) -> None:
    client = login("n.rahimi")
    target = url(UCM, "UCM-TEH-002", "V_W2", "VITALS")
    r = post(client, target, {**VITALS, "v:VS/systolic_bp": "80", "v:VS/diastolic_bp": "90"})
    assert r.status_code == 422
    page = r.text
    assert field(page, "VS/systolic_bp") == "80"
    assert field(page, "VS/diastolic_bp") == "90"
    assert field(page, "VS/heart_rate") == "72"
    assert "nothing was saved; what you typed is kept" in page
    # The check's message beside both fields it reads, with the values and the fix.
    text = html.unescape(page)
    message = "BP1: Systolic blood pressure must be higher than diastolic; check both values."
    assert text.count(message + " (systolic_bp = 80, diastolic_bp = 90)") >= 3
    assert 'id="f-VS-systolic_bp" ' in page
    assert 'aria-describedby="f-VS-systolic_bp-hint f-VS-systolic_bp-err" aria-invalid="true"' in (
        page
    )
    # An item out of range: the message names the item, the value and the range.
    r = post(client, target, {**VITALS, "v:VS/heart_rate": "300"})
    assert r.status_code == 422
    text = html.unescape(r.text)
    assert "heart_rate (Heart rate): 300 /min is out of range 20..250 /min" in text
    assert field(r.text, "VS/heart_rate") == "300"


def test_a_lesion_form_with_two_treated_rows_is_refused_and_kept(login: Login) -> None:
    client = login("n.rahimi")
    rows = {
        f"v:LESIONS[{n}]/{k}": v
        for n, role in ((1, "treated"), (2, "treated"))
        for k, v in {
            "lesion_role": role,
            "lesion_site": f"site {n}",
            "plaque_area": "2.5",
            "lesion_grade_v": "2",
            "erythema": "1",
            "scaling": "1",
            "induration": "1",
            "redness": "1",
            "pain_nrs": "2",
        }.items()
    }
    r = post(client, url(PAE, "PAE-TEH-002", "W1", "LESION"), {"n:LESIONS": "2", **rows})
    assert r.status_code == 422
    text = html.unescape(r.text)
    assert "exactly one row may have lesion_role treated, but rows 1 and 2 have it" in text
    assert field(r.text, "LESIONS[2]/lesion_site") == "site 2"


def test_a_soft_check_saves_and_opens_a_query(login: Login, web_db: Database) -> None:
    operator = Context.operator("trialkit-admin", datetime(2025, 6, 2, 9))
    study = resolve_study(UCM)
    forms = [
        f.model_copy(
            update={"checks": [c.model_copy(update={"severity": "soft"}) for c in f.checks]}
        )
        for f in study.forms
    ]
    text = dump_study(study.model_copy(update={"protocol_version": "1.1-soft", "forms": forms}))
    load_amendment(
        web_db,
        operator,
        UCM,
        text,
        checked=preview_amendment(web_db, operator, UCM, text).sha256,
        committee="TUMS Research Ethics Committee",
        reference="IR.TUMS.REC.1404.2",
        approved_on=date(2025, 6, 1),
    )
    apply_version(web_db, operator, UCM, "1.1-soft", "UCM-TEH-003", "amendment: soft BP check")
    client = login("n.rahimi")
    target = url(UCM, "UCM-TEH-003", "V_W0", "VITALS")
    r = post(client, target, {**VITALS, "v:VS/systolic_bp": "80", "v:VS/diastolic_bp": "90"})
    assert r.status_code == 303, r.text
    page = client.get(r.headers["location"]).text
    assert "Saved (version 1)." in page
    assert "Data queries on this form" in page
    assert "edit check BP1" in page
    assert "Systolic blood pressure must be higher than diastolic" in html.unescape(page)
    assert field(page, "VS/systolic_bp") == "80"


def test_a_change_asks_for_its_reason_and_the_history_shows_it(login: Login) -> None:
    client = login("n.rahimi")
    target = url(UCM, "UCM-TEH-001", "V_W2", "VITALS")
    page = client.get(target).text
    assert field(page, "VS/weight") == "68.5"
    assert '<label for="reason">' in page
    changed = {**VITALS, "v:VS/weight": "69.0"}
    r = post(client, target, changed)
    assert r.status_code == 422
    assert "Give the reason for the change." in r.text
    assert field(r.text, "VS/weight") == "69.0"
    r = post(client, target, {**changed, "reason": "scale recalibrated"})
    assert r.status_code == 303
    history = client.get(target + "/history")
    assert history.status_code == 200
    text = html.unescape(history.text)
    assert "scale recalibrated" in text
    assert "First entry" in text
    assert "Changed" in text
    assert "by n.rahimi" in text
    assert "by dr.amini" in text  # the first entry, by the investigator
    assert re.search(r"VS/weight.*?68\.5.*?69\.0", text, re.S)
    # each value with the item's unit, as people write it
    assert '<bdi dir="auto">69.0</bdi> <span class="unit" dir="ltr">kg</span>' in text
    assert '<bdi dir="auto">36.6</bdi> <span class="unit" dir="ltr">°C</span>' in text


def test_a_stale_save_shows_both_and_loses_neither(login: Login, web_db: Database) -> None:
    target = url(UCM, "UCM-TEH-002", "V_W0", "VITALS")
    mine, theirs = login("n.rahimi"), login("dr.amini")
    my_page, their_page = mine.get(target).text, theirs.get(target).text
    version = re.search(r'name="version" value="(\d+)"', my_page)
    assert version
    v = version.group(1)
    r = theirs.post(
        target,
        data={
            "csrftoken": form_token(their_page),
            "version": v,
            **VITALS,
            "v:VS/weight": "72",
            "v:VS/heart_rate": "64",
            "reason": "re-measured",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    r = mine.post(
        target,
        data={
            "csrftoken": form_token(my_page),
            "version": v,
            **VITALS,
            "v:VS/weight": "72",
            "v:VS/heart_rate": "88",
            "reason": "typo",
        },
        follow_redirects=False,
    )
    assert r.status_code == 409
    page = r.text
    assert "Someone else saved this form after you opened it." in page
    assert field(page, "VS/heart_rate") == "88"  # mine kept
    assert re.search(r"Saved by the other user: <bdi[^>]*>64</bdi>", page)  # theirs beside
    new_version = re.search(r'name="version" value="(\d+)"', page)
    assert new_version
    assert int(new_version.group(1)) == int(v) + 1
    assert f'href="{target}"' in page  # take theirs: the saved form
    # Re-apply mine on top of theirs.
    r = mine.post(
        target,
        data={
            "csrftoken": form_token(page),
            "version": new_version.group(1),
            **VITALS,
            "v:VS/weight": "72",
            "v:VS/heart_rate": "88",
            "reason": "my reading stands",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    operator = Context.operator("check", datetime(2025, 6, 2, 12))
    rec = read_form(web_db, operator, UCM, "UCM-TEH-002", visit="V_W0", form_id="VITALS")
    assert rec.values()["heart_rate"] == 88


def test_an_empty_required_item_saved_with_a_missing_data_reason(
    login: Login, web_db: Database
) -> None:
    client = login("n.rahimi")
    target = url(UCM, "UCM-TEH-002", "V_W4", "VITALS")
    empty = {**VITALS, "v:VS/temperature": ""}
    r = post(client, target, empty)
    assert r.status_code == 422
    assert "give the reason it is missing" in r.text
    r = post(client, target, {**empty, "m:VS/temperature": "not_done"})
    assert r.status_code == 303
    page = client.get(target).text
    assert re.search(
        r'name="m:VS/temperature"[^>]*>.*?<option value="not_done" selected>', page, re.S
    )
    operator = Context.operator("check", datetime(2025, 6, 2, 12))
    rec = read_form(web_db, operator, UCM, "UCM-TEH-002", visit="V_W4", form_id="VITALS")
    assert rec.data["VS"]["temperature"]["missing"] == "not_done"
    assert rec.data["VS"]["temperature"]["value"] is None
    assert "Not done" in client.get(target + "/history").text


def test_persian_dates_are_entered_in_solar_hijri_and_stored_gregorian(
    login: Login, web_db: Database
) -> None:
    client = login("n.rahimi", language="fa")
    target = url(IBD, "IBD-TEH-001", "SCR", "SCREEN")
    data = {
        "v:DEMOG/screening_date": "۱۴۰۴/۰۳/۱۱",
        "v:DEMOG/age": "۳۴",
        "v:DEMOG/sex": "female",
        "v:DEMOG/weight": "61",
        "v:DISEASE/ibd_type": "crohns_disease",
        "v:DISEASE/ibd_diagnosis_date": "2019-04-01",
        "v:DISEASE/mab_refractory": "yes",
        "v:DISEASE/mab_intolerant": "no",
        "v:DISEASE/mab_contraindicated": "no",
        "v:MEDS/immunomodulator_use": "no",
    }
    r = post(client, target, data)
    assert r.status_code == 303, r.text
    operator = Context.operator("check", datetime(2025, 6, 2, 12))
    rec = read_form(web_db, operator, IBD, "IBD-TEH-001", visit="SCR", form_id="SCREEN")
    assert rec.data["DEMOG"]["screening_date"]["value"] == "2025-06-01"
    assert rec.data["DEMOG"]["age"]["value"] == "34"
    page = client.get(target).text
    assert field(page, "DEMOG/screening_date") == "۱۴۰۴/۰۳/۱۱"
    assert '<bdi dir="ltr" class="greg">(2025-06-01)</bdi>' in page
    assert 'dir="rtl"' in page


def test_access_denied_and_not_found_are_distinct(login: Login) -> None:
    nurse = login("n.rahimi")
    # A participant at another site reads exactly like one that does not exist.
    other = nurse.get(url(UCM, "UCM-ISF-001", "SCR", "VITALS"))
    nobody = nurse.get(url(UCM, "UCM-TEH-999", "SCR", "VITALS"))
    assert other.status_code == nobody.status_code == 404
    assert "PART.E003" in other.text
    assert other.text.replace("UCM-ISF-001", "X") == nobody.text.replace("UCM-TEH-999", "X")
    assert nurse.get(url(UCM, "UCM-TEH-001", "SCR", "NOPE")).status_code == 404
    assert nurse.get(url(UCM, "UCM-TEH-001", "SCR", "INFUSION")).status_code == 422
    assert nurse.get(url(UCM, "UCM-ISF-001", "SCR", "VITALS") + "/history").status_code == 404
    # A monitor reads the form but may not save it.
    monitor = login("mon.hosseini")
    target = url(UCM, "UCM-TEH-001", "SCR", "VITALS")
    page = monitor.get(target)
    assert page.status_code == 200
    assert "Your role can read this form but not enter data." in page.text
    assert 'id="save"' not in page.text
    r = monitor.post(
        target,
        data={"csrftoken": form_token(page.text), "version": "1", **VITALS, "reason": "x"},
    )
    assert r.status_code == 403
    assert "AUTH.E010" in r.text


def test_the_visit_page_and_the_links_to_each_form(login: Login) -> None:
    client = login("n.rahimi")
    visit = client.get(f"/studies/{UCM}/participants/UCM-TEH-001/forms/SCR")
    assert visit.status_code == 200
    assert f'href="{url(UCM, "UCM-TEH-001", "SCR", "VITALS")}"' in visit.text
    participant = client.get(f"/studies/{UCM}/participants/UCM-TEH-001").text
    assert f'href="{url(UCM, "UCM-TEH-001", "V_W0", "PASI")}"' in participant
    matrix = client.get(f"/studies/{UCM}").text
    assert f'href="/studies/{UCM}/participants/UCM-TEH-001/forms/SCR"' in matrix


def test_the_form_pages_name_no_arm(login: Login) -> None:
    # Whoever reads them (here the safety board, who sees every allocation), a form page and
    # its history never show the arm: no page of data entry can unblind.
    client = login("dsmb.safavi")
    assert (
        'Arm <span dir="ltr">G50</span>'
        in client.get(f"/studies/{PAE}/participants/PAE-TEH-001").text
    )
    target = url(PAE, "PAE-TEH-001", "D1", "LESION")
    for page in (client.get(target).text, client.get(target + "/history").text):
        assert "G50" not in page
        assert "Arm" not in page


@pytest.mark.parametrize("lang", ["en", "fa"])
def test_the_form_page_in_both_languages(login: Login, lang: str) -> None:
    page = login("dm.karimi", language=lang).get(url(PAE, "PAE-TEH-001", "SCR", "PASI")).text
    assert f'<html lang="{lang}"' in page
    assert "Computed scores" in page if lang == "en" else "امتیازهای محاسبه‌شده" in page


def test_a_repeating_form_is_entered_again_as_another_instance(login: Login) -> None:
    client = login("n.rahimi")
    first = url(UCM, "UCM-TEH-001", "V_W0", "AE")
    page = client.get(first + "?instance=2")
    assert page.status_code == 200
    assert "Entry 2 of this form at this visit" in page.text
    assert f'action="{first}?instance=2"' in page.text
    assert client.get(first + "?instance=0").status_code == 422
    once = client.get(url(UCM, "UCM-TEH-001", "V_W0", "VITALS") + "?instance=2")
    assert once.status_code == 422
    assert "FORM.E006" in once.text


def test_saving_a_form_unchanged_is_no_change_in_either_language(
    login: Login, web_db: Database
) -> None:
    # The infusion's start is shown in the user's calendar (Solar Hijri in Persian) and its
    # yes/no and dates in the page's words: sent back untouched, nothing changes, no reason
    # is asked for.
    operator = Context.operator("check", datetime(2025, 6, 2, 12))
    before = read_form(web_db, operator, UCM, "UCM-TEH-001", visit="V_W0", form_id="INFUSION")
    for lang in ("en", "fa"):
        client = login("dr.amini", language=lang)
        target = url(UCM, "UCM-TEH-001", "V_W0", "INFUSION")
        page = client.get(target).text
        data = {
            m.group(1): html.unescape(m.group(2))
            for m in re.finditer(r'<input[^>]*name="(v:[^"]+)"[^>]*value="([^"]*)"', page)
        }
        if lang == "fa":
            assert re.search(r"[۰-۹]{4}/[۰-۹]{2}/[۰-۹]{2}", data["v:INF/infusion_start"])
        r = post(client, target, data)
        assert r.status_code == 303, r.text
    after = read_form(web_db, operator, UCM, "UCM-TEH-001", visit="V_W0", form_id="INFUSION")
    assert after.version == before.version


def test_rows_are_added_and_removed_without_saving(login: Login) -> None:
    client = login("n.rahimi")
    target = url(UCM, "UCM-TEH-002", "V_W6", "AE")
    typed = {"n:AE": "1", "v:AE[1]/ae_term": "headache"}
    r = post(client, target, {**typed, "rows": "add:AE"})
    assert r.status_code == 200
    assert 'name="n:AE" value="2"' in r.text
    assert field(r.text, "AE[1]/ae_term") == "headache"
    assert field(r.text, "AE[2]/ae_term") == ""
    r = post(
        client,
        target,
        {"n:AE": "2", "v:AE[1]/ae_term": "", "v:AE[2]/ae_term": "nausea", "rows": "remove:AE[1]"},
    )
    assert 'name="n:AE" value="1"' in r.text
    assert field(r.text, "AE[1]/ae_term") == "nausea"
    assert "Saved" not in r.text


def test_a_form_is_marked_not_required_with_its_reason(login: Login) -> None:
    client = login("n.rahimi")
    target = url(UCM, "UCM-TEH-002", "V_W6", "LABS")
    page = client.get(target).text
    r = client.post(
        target + "/not-required",
        data={"csrftoken": form_token(page), "not_required_reason": ""},
        follow_redirects=False,
    )
    assert r.status_code == 422
    r = client.post(
        target + "/not-required",
        data={"csrftoken": form_token(page), "not_required_reason": "laboratory closed"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = client.get(r.headers["location"]).text
    assert "This form is marked not required at this visit." in page
    history = client.get(target + "/history").text
    assert "Marked not required" in history
    assert "laboratory closed" in history


def test_an_overlong_field_is_a_clear_refusal(login: Login) -> None:
    client = login("n.rahimi")
    r = post(client, url(UCM, "UCM-TEH-002", "V_W6", "VITALS"), {"reason": "x" * 2001})
    assert r.status_code == 422
    assert "WEB.E034" in r.text
    assert "the form sent is too long at reason" in r.text


def test_a_locked_form_refuses_the_save_and_keeps_what_was_typed(
    login: Login, web_db: Database
) -> None:
    from trialkit.services import lock

    operator = Context.operator("dm.karimi", datetime(2025, 6, 2, 9))
    lock(
        web_db,
        operator,
        UCM,
        scope="form",
        participant="UCM-TEH-003",
        visit="SCR",
        form_id="VITALS",
        reason="database lock for the interim analysis",
    )
    client = login("n.rahimi")
    r = post(
        client,
        url(UCM, "UCM-TEH-003", "SCR", "VITALS"),
        {**VITALS, "v:VS/heart_rate": "99", "reason": "late correction"},
    )
    assert r.status_code == 423
    assert field(r.text, "VS/heart_rate") == "99"
    assert "nothing was saved; what you typed is kept" in r.text
