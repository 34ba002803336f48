"""Rate limits (trialkit.web.ratelimit): the sliding window itself, sign-in attempts per client
address over HTTP (the lockout per account stays), and requests per token on /api/v1 and the
REDCap endpoint (429, Retry-After, the stable code API.E003 in each endpoint's error format);
nothing logged names a token or a participant."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
from starlette.testclient import TestClient
from tests.web.api.conftest import token_for
from tests.web.conftest import NOW, SECRET, Clock, csrf_of

from trialkit.services import Context, issue_token
from trialkit.store import Database
from trialkit.web import Settings, create_app
from trialkit.web.demo_mode import DEMO_PASSWORD
from trialkit.web.ratelimit import RateLimits, SlidingWindow, token_key
from trialkit.web.settings import ENV

ROOT = Path(__file__).resolve().parents[2]
UCM = "psoriasis-ucmsc"


class Seconds:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_window_slides_and_a_refusal_is_not_counted() -> None:
    t = Seconds()
    w = SlidingWindow(3, 10, clock=t)
    for step in (0, 4, 9):
        t.now = 1000 + step
        assert w.hit("a").allowed
    refused = w.hit("a")
    assert (refused.allowed, refused.retry_after) == (False, 1)  # the first leaves at 1010
    assert w.hit("b").allowed  # another key has its own count
    t.now = 1010  # the event of 1000 has left the window, those of 1004 and 1009 have not
    assert w.hit("a").allowed
    refused = w.hit("a")
    assert (refused.allowed, refused.retry_after) == (False, 4)
    t.now = 1019.5
    assert w.hit("a").allowed  # only 1010 is still in the window
    assert SlidingWindow(0, 10, clock=t).hit("a").allowed  # 0: no limit
    with pytest.raises(ValueError, match="limit >= 0"):
        SlidingWindow(-1, 10)


def test_the_keys_are_bounded_and_idle_ones_go_first() -> None:
    t = Seconds()
    w = SlidingWindow(1, 10, clock=t, max_keys=3)
    for key in ("a", "b", "c"):
        assert w.hit(key).allowed
    t.now += 5
    assert w.hit("d").allowed  # full: the least recently seen ("a") is forgotten
    assert len(w) == 3
    assert w.hit("a").allowed
    assert not w.hit("d").allowed  # "d" is remembered
    t.now += 20
    assert w.hit("e").allowed  # every other key is idle past the window: all dropped
    assert len(w) == 1
    assert token_key("tk_secret") != "tk_secret"
    assert "secret" not in token_key("tk_secret")


def _server_log(caplog: pytest.LogCaptureFixture) -> str:
    """What the application logged (the test client's own log lines aside)."""
    return " ".join(r.getMessage() for r in caplog.records if r.name.startswith("trialkit"))


def _app(web_db: Database, seconds: Seconds, **limits: int) -> object:
    settings = Settings(secret_key=SECRET, **limits)  # type: ignore[arg-type]
    return create_app(
        settings,
        db=web_db,
        clock=Clock(NOW),
        limits=RateLimits.from_settings(settings, clock=seconds),
    )


def _sign_in(client: TestClient, username: str, password: str) -> object:
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrftoken": csrf_of(client)},
        follow_redirects=False,
    )


def test_sign_in_attempts_per_address_are_limited_before_the_password_is_checked(
    web_db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    seconds = Seconds()
    app = _app(web_db, seconds, login_attempts=3, login_window_seconds=60)
    client = TestClient(app, raise_server_exceptions=False)  # type: ignore[arg-type]
    for user in ("mon.hosseini", "stat.moradi", "dr.kazemi"):  # spraying across accounts
        assert _sign_in(client, user, "not the password").status_code == 401  # type: ignore[attr-defined]
    caplog.set_level(logging.INFO)
    r = _sign_in(client, "n.rahimi", DEMO_PASSWORD)  # even the right password is not checked
    assert r.status_code == 429  # type: ignore[attr-defined]
    assert r.headers["retry-after"] == "60"  # type: ignore[attr-defined]
    assert "Too many sign-in attempts from this network address" in r.text  # type: ignore[attr-defined]
    assert "trialkit_session" not in r.headers.get("set-cookie", "")  # type: ignore[attr-defined]
    assert "sign-in refused" in _server_log(caplog)
    assert "n.rahimi" not in _server_log(caplog)
    client.cookies.set("trialkit_lang", "fa")
    r = _sign_in(client, "n.rahimi", DEMO_PASSWORD)
    assert r.status_code == 429  # type: ignore[attr-defined]
    assert "تلاش‌های ورود بیش از اندازه" in r.text  # type: ignore[attr-defined]
    seconds.now += 60  # the window has passed: the attempt is checked, and succeeds
    client.cookies.delete("trialkit_lang")
    r = _sign_in(client, "n.rahimi", DEMO_PASSWORD)
    assert r.status_code == 303  # type: ignore[attr-defined]
    # the refused attempts did not count toward n.rahimi's lockout; the lockout still works
    app = _app(web_db, Seconds(), login_attempts=100)
    client = TestClient(app, raise_server_exceptions=False)  # type: ignore[arg-type]
    for _ in range(5):
        assert _sign_in(client, "s.ahmadi", "wrong password").status_code == 401  # type: ignore[attr-defined]
    r = _sign_in(client, "s.ahmadi", DEMO_PASSWORD)
    assert r.status_code == 403  # type: ignore[attr-defined]
    assert "locked" in r.text  # type: ignore[attr-defined]


def test_requests_per_token_are_limited_on_the_json_api(
    web_db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    seconds = Seconds()
    app = _app(web_db, seconds, token_requests=3, token_window_seconds=60)
    client = TestClient(app, raise_server_exceptions=False)  # type: ignore[arg-type]
    _, token = token_for(web_db, "n.rahimi")
    _, other = token_for(web_db, "n.rahimi")
    auth = {"authorization": f"Bearer {token}"}
    path = f"/api/v1/studies/{UCM}/participants/UCM-TEH-001"
    for _ in range(3):
        assert client.get(path, headers=auth).status_code == 200
    caplog.set_level(logging.DEBUG)
    r = client.get(path, headers=auth)
    assert r.status_code == 429
    assert r.headers["retry-after"] == "60"
    error = r.json()["error"]
    assert error["code"] == "API.E003"
    assert error["message"] == (
        "too many requests with this token: at most 3 in 60 s; the next is accepted in 60 s"
    )
    assert "Retry-After" in error["hint"]
    assert set(r.json()) == {"error"}
    assert client.get(path, headers={"authorization": f"Bearer {other}"}).status_code == 200
    # an invalid token is refused as before, and not counted
    r = client.get(path, headers={"authorization": "Bearer tk_nonsense"})
    assert (r.status_code, r.json()["error"]["code"]) == (401, "AUTH.E033")
    logged = _server_log(caplog)
    assert "429" in logged
    assert token not in logged
    assert "UCM-TEH-001" not in logged
    seconds.now += 30
    assert client.get(path, headers=auth).headers.get("retry-after") == "30"
    seconds.now += 30
    assert client.get(path, headers=auth).status_code == 200


def test_the_openapi_document_declares_429_for_every_operation(app: object) -> None:
    doc = TestClient(app).get("/api/v1/openapi.json").json()  # type: ignore[arg-type]
    for path, operations in doc["paths"].items():
        for method, op in operations.items():
            assert "429" in op["responses"], (method, path)


def test_requests_per_redcap_token_are_limited_in_the_redcap_format(
    web_db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    seconds = Seconds()
    app = _app(web_db, seconds, token_requests=2, token_window_seconds=10)
    client = TestClient(app, raise_server_exceptions=False)  # type: ignore[arg-type]
    op = Context.operator("test", NOW)
    token = issue_token(web_db, op, "r", username="dm.karimi", study_code=UCM, redcap=True).token
    caplog.set_level(logging.DEBUG)
    # any letter case is the same token, and counts as one
    assert (
        client.post("/redcap/api/", data={"token": token, "content": "version"}).status_code == 200
    )
    body = {"token": token.lower(), "content": "record", "format": "json"}
    assert client.post("/redcap/api/", data=body).status_code == 200
    r = client.post("/redcap/api/", data=body)
    assert r.status_code == 429
    assert r.headers["retry-after"] == "10"
    assert re.fullmatch(r"API\.E003: too many requests with this token: .*", r.json()["error"])
    r = client.post("/redcap/api/", data={**body, "format": "csv"})
    assert r.status_code == 429
    assert r.text.startswith("ERROR: API.E003: too many requests")
    logged = _server_log(caplog)
    assert token not in logged
    assert token.lower() not in logged
    seconds.now += 10
    assert client.post("/redcap/api/", data=body).status_code == 200


def test_the_defaults_and_every_setting_are_documented() -> None:
    s = Settings(secret_key=SECRET)
    assert (s.login_attempts, s.login_window_seconds) == (60, 300)
    assert (s.token_requests, s.token_window_seconds) == (600, 60)
    web_md = (ROOT / "docs" / "web.md").read_text(encoding="utf-8")
    table = web_md.split("## Settings", 1)[1].split("\n## ", 1)[0]
    from trialkit.web import settings as module

    assert set(ENV) <= set(Settings.model_fields)
    for var in ENV.values():
        assert f"| `{var}` |" in table, f"docs/web.md, Settings: no row for {var}"
        assert f"``{var}``" in (module.__doc__ or ""), f"trialkit.web.settings: {var}"
    read = Settings.from_env(
        {
            "TRIALKIT_SECRET_KEY": SECRET,
            "TRIALKIT_LOGIN_ATTEMPTS": "5",
            "TRIALKIT_LOGIN_WINDOW_SECONDS": "120",
            "TRIALKIT_TOKEN_REQUESTS": "0",
            "TRIALKIT_TOKEN_WINDOW_SECONDS": "30",
        }
    )
    assert (read.login_attempts, read.login_window_seconds) == (5, 120)
    assert (read.token_requests, read.token_window_seconds) == (0, 30)
    from trialkit.web.settings import SettingsError

    with pytest.raises(SettingsError) as exc:
        Settings.from_env({"TRIALKIT_SECRET_KEY": SECRET, "TRIALKIT_TOKEN_REQUESTS": "-1"})
    assert "TRIALKIT_TOKEN_REQUESTS" in exc.value.message
