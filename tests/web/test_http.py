"""Every route over HTTP: signed-out redirects, CSRF refusals, role and site denials, nothing
from another site, session expiry, the security headers, and both languages."""

from __future__ import annotations

import html
import re

import pytest
from starlette.testclient import TestClient
from tests.web.conftest import NOW, Clock, Login, csrf_of, form_token

from trialkit.services.web_sessions import LANGUAGES

UCM = "psoriasis-ucmsc"
TEH1 = "UCM-TEH-001"
ISF1 = "UCM-ISF-001"
PAGES = ["/", f"/studies/{UCM}", f"/studies/{UCM}/participants/{TEH1}"]


def anonymous(app: object) -> TestClient:
    return TestClient(app, raise_server_exceptions=False)  # type: ignore[arg-type]


@pytest.mark.parametrize("path", PAGES)
def test_signed_out_pages_redirect_to_sign_in(app: object, path: str) -> None:
    r = anonymous(app).get(path, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"].startswith("/login")
    if path != "/":
        assert "next=" in r.headers["location"]


def test_the_api_answers_401_with_the_envelope(app: object) -> None:
    r = anonymous(app).get("/api/session")
    assert r.status_code == 401
    assert r.json() == {
        "error": {"code": "WEB.E001", "message": "you are not signed in", "hint": "sign in"}
    }
    r = anonymous(app).get("/api/nothing-here")
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "WEB.E404"


def test_sign_in_sets_a_safe_cookie_and_sign_out_ends_it(app: object) -> None:
    client = anonymous(app)
    from trialkit.web.demo_mode import DEMO_PASSWORD

    r = client.post(
        "/login",
        data={"username": "n.rahimi", "password": DEMO_PASSWORD, "csrftoken": csrf_of(client)},
        follow_redirects=False,
    )
    assert r.status_code == 303
    cookie = next(
        v
        for k, v in r.headers.multi_items()
        if k == "set-cookie" and v.startswith("trialkit_session=")
    )
    assert "HttpOnly" in cookie
    assert "samesite=lax" in cookie.lower()
    assert "Secure" not in cookie  # served on 127.0.0.1 in the tests
    token = client.cookies.get("trialkit_session")
    assert token
    assert len(token) >= 43
    assert client.get("/api/session").json()["username"] == "n.rahimi"
    page = client.get(f"/studies/{UCM}").text
    r = client.post("/logout", data={"csrftoken": form_token(page)}, follow_redirects=False)
    assert r.status_code == 303
    stale = anonymous(app)
    stale.cookies.set("trialkit_session", str(token))
    r = stale.get("/", follow_redirects=False)
    assert r.status_code == 303
    assert "ended=WEB.E002" in r.headers["location"]


def test_a_wrong_password_is_refused_in_the_users_language(app: object) -> None:
    for lang, text in (
        ("en", "Unknown user or wrong password."),
        ("fa", "کاربر ناشناخته یا گذرواژهٔ نادرست."),
    ):
        client = anonymous(app)
        client.cookies.set("trialkit_lang", lang)
        r = client.post(
            "/login",
            data={"username": "stat.moradi", "password": "nope", "csrftoken": csrf_of(client)},
        )
        assert r.status_code == 401
        assert text in r.text
        assert 'value="stat.moradi"' in r.text  # what was typed is kept (not the password)


def test_secure_cookies_outside_localhost(web_db: object, clock: Clock) -> None:
    from trialkit.web import Settings, create_app
    from trialkit.web.demo_mode import DEMO_PASSWORD

    settings = Settings(secret_key="s" * 40, host="0.0.0.0")
    client = TestClient(
        create_app(settings, db=web_db, clock=clock),  # type: ignore[arg-type]
        base_url="https://testserver",
    )
    r = client.post(
        "/login",
        data={"username": "n.rahimi", "password": DEMO_PASSWORD, "csrftoken": csrf_of(client)},
        follow_redirects=False,
    )
    cookies = [v for k, v in r.headers.multi_items() if k == "set-cookie"]
    assert cookies
    assert all("Secure" in c for c in cookies)
    assert "max-age=31536000" in r.headers["strict-transport-security"]


def test_csrf_is_refused_on_every_state_changing_request(app: object, login: Login) -> None:
    client = anonymous(app)
    r = client.post("/login", data={"username": "n.rahimi", "password": "x"})
    assert r.status_code == 403
    assert "WEB.E020" in r.text
    nurse = login("n.rahimi")
    for path, data in (
        ("/logout", {}),
        ("/language", {"language": "fa"}),
        (f"/studies/{UCM}/participants", {"site": "TEH"}),
        (f"/studies/{UCM}/participants/{TEH1}/withdraw", {"reason": "x"}),
        ("/session/keepalive", {}),
    ):
        r = nurse.post(path, data={**data, "csrftoken": "forged"})
        assert r.status_code == 403, path
        assert "WEB.E020" in r.text
    assert nurse.get("/api/session").status_code == 200  # still signed in: nothing happened


def test_security_headers_and_no_inline_script(app: object, login: Login) -> None:
    page = login("n.rahimi").get(f"/studies/{UCM}")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-store"
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page.text)
    assert " on" + "click=" not in page.text


def test_session_idle_timeout_and_keepalive(app: object, login: Login, clock: Clock) -> None:
    nurse = login("n.rahimi")
    clock.advance(minutes=25)
    page = nurse.get(f"/studies/{UCM}")
    assert 'data-idle-seconds="1800"' in page.text
    r = nurse.post("/session/keepalive", headers={"x-csrftoken": form_token(page.text)})
    assert r.status_code == 200
    assert r.json()["idle_seconds"] == 1800
    clock.advance(minutes=31)
    r = nurse.get(f"/studies/{UCM}", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == f"/login?next=/studies/{UCM}&ended=WEB.E003"
    login_page = nurse.get(r.headers["location"])
    assert "timed out after a period of inactivity" in login_page.text


def test_the_home_page_and_the_matrix_show_only_the_users_sites(login: Login) -> None:
    nurse = login("n.rahimi")
    home = nurse.get("/")
    assert home.status_code == 200
    for study in (UCM, "psoriasis-adipose-exosomes", "ibd-placental-exosomes"):
        assert f"/studies/{study}" in home.text
    m = nurse.get(f"/studies/{UCM}")
    assert TEH1 in m.text
    assert ISF1 not in m.text
    assert "ISF" not in m.text
    everyone = login("dm.karimi").get(f"/studies/{UCM}")
    assert ISF1 in everyone.text
    assert TEH1 in everyone.text


def test_another_sites_participant_reads_as_not_found(login: Login) -> None:
    nurse = login("n.rahimi")
    other = nurse.get(f"/studies/{UCM}/participants/{ISF1}")
    missing = nurse.get(f"/studies/{UCM}/participants/UCM-TEH-999")
    assert other.status_code == missing.status_code == 404
    assert "ISF" not in other.text.replace(ISF1, "")
    assert "consented" not in other.text.lower()
    assert other.text.replace(ISF1, "X") == missing.text.replace("UCM-TEH-999", "X")


def test_a_study_without_membership_is_access_denied(
    app: object, web_db: object, clock: Clock
) -> None:
    from trialkit.services import Context, create_user
    from trialkit.web.demo_mode import DEMO_PASSWORD

    create_user(
        web_db,
        Context.operator("test", clock()),
        "outsider",
        DEMO_PASSWORD,  # type: ignore[arg-type]
        display_name="Outsider",
    )
    client = anonymous(app)
    client.post(
        "/login",
        data={"username": "outsider", "password": DEMO_PASSWORD, "csrftoken": csrf_of(client)},
    )
    home = client.get("/")
    assert "You have no role in any study yet" in home.text
    r = client.get(f"/studies/{UCM}")
    assert r.status_code == 403
    assert "AUTH.E010" in r.text
    assert client.get(f"/studies/{UCM}/participants/{TEH1}").status_code == 403


ROLES_AT = {
    # username: (sees TEH participants, sees ISF participants, may register at TEH)
    "n.rahimi": (True, False, True),
    "dr.amini": (True, False, True),
    "dr.kazemi": (False, True, False),
    "s.ahmadi": (False, True, False),
    "dm.karimi": (True, True, False),
    "mon.hosseini": (True, False, False),
    "dsmb.safavi": (True, True, False),
    "stat.moradi": (True, True, False),
    "pharm.jafari": (True, True, False),
    "adm.tehrani": (True, True, False),
}


@pytest.mark.parametrize("username", sorted(ROLES_AT))
def test_every_role_and_site(login: Login, username: str) -> None:
    teh, isf, registers = ROLES_AT[username]
    client = login(username)
    m = client.get(f"/studies/{UCM}")
    assert m.status_code == 200
    assert (TEH1 in m.text) is teh
    assert (ISF1 in m.text) is isf
    assert client.get(f"/studies/{UCM}/participants/{TEH1}").status_code == (200 if teh else 404)
    assert client.get(f"/studies/{UCM}/participants/{ISF1}").status_code == (200 if isf else 404)
    enrols = registers or username in ("dr.kazemi", "s.ahmadi")  # (at their own site)
    page = client.get(f"/studies/{UCM}/participants/{TEH1 if teh else ISF1}").text
    assert ('/withdraw"' in page) is enrols
    assert ("Register a new participant" in m.text) is enrols
    r = client.post(
        f"/studies/{UCM}/participants",
        data={"site": "TEH", "csrftoken": form_token(m.text)},
        follow_redirects=False,
    )
    if registers:
        assert r.status_code == 303
        assert r.headers["location"].startswith(f"/studies/{UCM}/participants/UCM-TEH-")
    else:
        assert r.status_code == 403
        assert "AUTH.E010" in r.text


def test_lifecycle_actions_keep_what_was_typed_when_refused(login: Login) -> None:
    nurse = login("n.rahimi")
    page = nurse.get(f"/studies/{UCM}")
    r = nurse.post(
        f"/studies/{UCM}/participants", data={"site": "TEH", "csrftoken": form_token(page.text)}
    )
    assert r.status_code == 200
    code = re.search(r"UCM-TEH-\d+", str(r.url)).group(0)  # type: ignore[union-attr]
    assert "Record consent" in r.text
    bad = nurse.post(
        f"/studies/{UCM}/participants/{code}/consent",
        data={
            "on": "31/31/2025",
            "form_version": "1.0-typed",
            "obtained_by": "dr.amini",
            "csrftoken": form_token(r.text),
        },
    )
    assert bad.status_code == 422
    assert "is not a date" in bad.text
    assert 'value="31/31/2025"' in bad.text
    assert 'value="1.0-typed"' in bad.text
    ok = nurse.post(
        f"/studies/{UCM}/participants/{code}/consent",
        data={
            "on": "2025-06-01",
            "form_version": "1.0",
            "obtained_by": "dr.amini",
            "csrftoken": form_token(r.text),
        },
    )
    assert ok.status_code == 200
    assert "Consented" in ok.text
    assert "Enrol" in ok.text
    refused = nurse.post(
        f"/studies/{UCM}/participants/{code}/enrol", data={"csrftoken": form_token(ok.text)}
    )
    assert refused.status_code == 409
    assert "cannot be enrolled" in refused.text
    withdrawn = nurse.post(
        f"/studies/{UCM}/participants/{code}/withdraw",
        data={"reason": "moved abroad", "csrftoken": form_token(ok.text)},
    )
    assert "Withdrawn" in withdrawn.text
    assert "moved abroad" in withdrawn.text


def test_persian_pages_are_right_to_left_with_solar_hijri_dates(login: Login) -> None:
    nurse = login("mon.hosseini")
    page = nurse.get(f"/studies/{UCM}")
    r = nurse.post(
        "/language",
        data={"language": "fa", "next": f"/studies/{UCM}", "csrftoken": form_token(page.text)},
    )
    assert '<html lang="fa" dir="rtl">' in r.text
    assert "جدول وضعیت" in r.text or "وضعیت در تاریخ" in r.text
    # 2025-06-02 is 12 Khordad 1404: Persian digits, the Gregorian date beside it
    assert '<bdi>۱۴۰۴/۰۳/۱۲</bdi> <bdi dir="ltr" class="greg">(2025-06-02)</bdi>' in r.text
    p = nurse.get(f"/studies/{UCM}/participants/{TEH1}")
    assert "تقویم ویزیت‌ها" in p.text
    assert "Calendar" not in p.text
    english = login("dm.karimi").get(f"/studies/{UCM}")
    assert '<html lang="en" dir="ltr">' in english.text
    assert "2025-06-02" in english.text
    assert not re.search("[\u0600-\u06ff]", english.text.replace("فارسی", ""))


def test_a_persian_consent_date_is_stored_gregorian(login: Login, web_db: object) -> None:
    from trialkit.services import Context, history

    nurse = login("n.rahimi", language="fa")
    page = nurse.get(f"/studies/{UCM}")
    r = nurse.post(
        f"/studies/{UCM}/participants", data={"site": "TEH", "csrftoken": form_token(page.text)}
    )
    code = re.search(r"UCM-TEH-\d+", str(r.url)).group(0)  # type: ignore[union-attr]
    assert "۱۴۰۴/۰۳/۱۲" in r.text  # today offered in the Solar Hijri calendar
    done = nurse.post(
        f"/studies/{UCM}/participants/{code}/consent",
        data={
            "on": "۱۴۰۴/۰۳/۱۱",
            "form_version": "1.0",
            "obtained_by": "dr.amini",
            "csrftoken": form_token(r.text),
        },
    )
    assert done.status_code == 200
    operator = Context.operator("test", NOW)
    events = history(web_db, operator, UCM, code)  # type: ignore[arg-type]
    assert events[-1]["data"]["date"] == "2025-06-01"


def test_matrix_filters_and_bad_filter_values(login: Login) -> None:
    dm = login("dm.karimi")
    only_isf = dm.get(f"/studies/{UCM}", params={"site": "ISF"})
    assert ISF1 in only_isf.text
    assert TEH1 not in only_isf.text
    overdue = dm.get(f"/studies/{UCM}", params={"state": "overdue"})
    assert TEH1 in overdue.text
    assert "UCM-TEH-003" not in overdue.text
    one_visit = dm.get(f"/studies/{UCM}", params={"visit": "V_W4", "sort": "overdue"})
    assert ">V_W4<" in one_visit.text
    assert ">V_W2<" not in one_visit.text
    bad = dm.get(f"/studies/{UCM}", params={"visit": "W99"})
    assert bad.status_code == 422
    assert "visit 'W99' is not one of the choices" in html.unescape(bad.text)
    nurse = login("n.rahimi")
    assert nurse.get(f"/studies/{UCM}", params={"site": "ISF"}).status_code == 422


def test_an_unexpected_error_shows_a_reference_not_a_traceback(
    login: Login, monkeypatch: pytest.MonkeyPatch
) -> None:
    from trialkit.web.routes import home

    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("secret internals")

    nurse = login("n.rahimi")
    monkeypatch.setattr(home, "status_matrix", broken)
    r = nurse.get(f"/studies/{UCM}")
    assert r.status_code == 500
    assert "WEB.E500" in r.text
    assert "secret internals" not in r.text
    assert "Traceback" not in r.text


def test_languages_are_the_catalogues() -> None:
    assert LANGUAGES == ("en", "fa")


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/\\evil"])
def test_sign_in_never_redirects_off_site(app: object, target: str) -> None:
    from trialkit.web.demo_mode import DEMO_PASSWORD

    client = anonymous(app)
    r = client.post(
        "/login",
        data={
            "username": "stat.moradi",
            "password": DEMO_PASSWORD,
            "next": target,
            "csrftoken": csrf_of(client),
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert r.headers["location"] == "/"


def test_a_wrong_method_is_the_error_page(login: Login) -> None:
    r = login("stat.moradi").get(f"/studies/{UCM}/participants/{TEH1}/withdraw")
    assert r.status_code == 405
    assert "This address does not accept that kind of request." in r.text


def test_visits_are_recorded_done_or_missed_by_who_enters_data(login: Login) -> None:
    doctor = login("dr.amini")
    page = doctor.get(f"/studies/{UCM}/participants/{TEH1}")
    assert f"/participants/{TEH1}/visits/V_W4/done" in page.text
    bad = doctor.post(
        f"/studies/{UCM}/participants/{TEH1}/visits/V_W6/done",
        data={"on": "2025-13-01", "csrftoken": form_token(page.text)},
    )
    assert bad.status_code == 422
    assert 'value="2025-13-01"' in bad.text  # kept in that visit's form, which stays open
    done = doctor.post(
        f"/studies/{UCM}/participants/{TEH1}/visits/V_W4/done",
        data={"on": "2025-06-02", "csrftoken": form_token(page.text)},
    )
    assert done.status_code == 200
    row = re.search(r'<tr id="visit-V_W4" class="state-([a-z_]+)"', done.text)
    assert row is not None
    assert row.group(1) == "done_out_of_window"
    missed = doctor.post(
        f"/studies/{UCM}/participants/{TEH1}/visits/V_W6/missed",
        data={"reason": "travelling", "csrftoken": form_token(page.text)},
    )
    assert re.search(r'<tr id="visit-V_W6" class="state-missed"', missed.text)
    monitor = login("mon.hosseini")
    seen = monitor.get(f"/studies/{UCM}/participants/{TEH1}")
    assert "/visits/V_W8/done" not in seen.text
    refused = monitor.post(
        f"/studies/{UCM}/participants/{TEH1}/visits/V_W8/done",
        data={"on": "2025-06-02", "csrftoken": form_token(seen.text)},
    )
    assert refused.status_code == 403
