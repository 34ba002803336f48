"""Sign-in over HTTP, beyond test_http.py: the absolute lifetime, sessions ended by a password
or role change made elsewhere, and the lockout after repeated wrong passwords."""

from __future__ import annotations

from collections.abc import Callable

from starlette.testclient import TestClient
from tests.web.conftest import NOW, SECRET, Clock, csrf_of

from trialkit.services import Context, Role, add_membership, create_user, set_password
from trialkit.store import Database
from trialkit.web import Settings, create_app
from trialkit.web.demo_mode import DEMO_PASSWORD

UCM = "psoriasis-ucmsc"
Client = Callable[[str], TestClient]


def _app(web_db: Database, clock: Clock, **settings: int) -> object:
    return create_app(Settings(secret_key=SECRET, **settings), db=web_db, clock=clock)


def _sign_in(app: object, username: str, password: str = DEMO_PASSWORD) -> TestClient:
    client = TestClient(app, raise_server_exceptions=False)  # type: ignore[arg-type]
    r = client.post(
        "/login",
        data={"username": username, "password": password, "csrftoken": csrf_of(client)},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return client


def _user(web_db: Database, name: str, role: Role | None = Role.COORDINATOR) -> None:
    operator = Context.operator("test.sign-in", NOW)
    create_user(web_db, operator, name, DEMO_PASSWORD, display_name=name)
    if role is not None:
        add_membership(web_db, operator, name, UCM, role, site_code="TEH")


def test_a_session_ends_at_its_absolute_lifetime_however_active(
    web_db: Database, clock: Clock
) -> None:
    app = _app(web_db, clock, idle_minutes=30, session_hours=1)
    client = _sign_in(app, "n.rahimi")
    for _ in range(2):
        clock.advance(minutes=25)
        assert client.get(f"/studies/{UCM}", follow_redirects=False).status_code == 200
    clock.advance(minutes=11)  # 61 minutes after signing in, 11 after the last request
    r = client.get(f"/studies/{UCM}", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"].endswith("ended=WEB.E004")
    assert "reached its time limit" in client.get(r.headers["location"]).text
    assert client.get("/api/session").json()["error"]["code"] == "WEB.E002"  # ended for good


def test_a_password_change_elsewhere_ends_the_session(web_db: Database, clock: Clock) -> None:
    _user(web_db, "t.password")
    app = _app(web_db, clock)
    client = _sign_in(app, "t.password")
    assert client.get(f"/studies/{UCM}").status_code == 200
    new = "another passphrase, longer"
    set_password(web_db, Context.operator("test", NOW), "t.password", new, current=DEMO_PASSWORD)
    r = client.get(f"/studies/{UCM}", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"].endswith("ended=WEB.E002")
    assert _sign_in(app, "t.password", new).get("/api/session").status_code == 200


def test_a_role_change_ends_the_session_and_the_next_one_has_the_new_role(
    web_db: Database, clock: Clock
) -> None:
    _user(web_db, "t.promoted", Role.MONITOR)
    app = _app(web_db, clock)
    client = _sign_in(app, "t.promoted")
    page = client.get(f"/studies/{UCM}").text
    assert "Register a new participant" not in page
    add_membership(
        web_db, Context.operator("test", NOW), "t.promoted", UCM, Role.COORDINATOR, site_code="TEH"
    )
    r = client.get(f"/studies/{UCM}", follow_redirects=False)
    assert r.headers["location"].endswith("ended=WEB.E002")
    again = _sign_in(app, "t.promoted").get(f"/studies/{UCM}").text
    assert "Register a new participant" in again


def test_five_wrong_passwords_lock_the_account_even_against_the_right_one(
    web_db: Database, clock: Clock
) -> None:
    _user(web_db, "t.locked", None)
    app = _app(web_db, clock)
    client = TestClient(app, raise_server_exceptions=False)  # type: ignore[arg-type]

    def attempt(password: str) -> object:
        return client.post(
            "/login",
            data={"username": "t.locked", "password": password, "csrftoken": csrf_of(client)},
            follow_redirects=False,
        )

    for _ in range(5):
        assert attempt("not the password").status_code == 401  # type: ignore[attr-defined]
    locked = attempt(DEMO_PASSWORD)
    assert locked.status_code == 403  # type: ignore[attr-defined]
    assert "locked after repeated wrong passwords" in locked.text  # type: ignore[attr-defined]
    assert "trialkit_session" not in client.cookies
    clock.advance(minutes=16)  # the lock lasts 15 minutes from the last failure
    assert attempt(DEMO_PASSWORD).status_code == 303  # type: ignore[attr-defined]


def test_asking_how_long_the_session_has_left_is_not_activity(
    web_db: Database, clock: Clock
) -> None:
    client = _sign_in(_app(web_db, clock), "n.rahimi")
    clock.advance(minutes=25)
    assert client.get("/api/session").json()["idle_seconds"] == 5 * 60
    clock.advance(minutes=5)
    r = client.get(f"/studies/{UCM}", follow_redirects=False)
    assert r.headers["location"].endswith("ended=WEB.E003")
