"""Every role × site × page cell of docs/access.md, over HTTP, for every route of the app.

The expectations are the table "Pages by role" in docs/access.md (one row per route, one column
per role): this module reads it, checks that it has a row for every route of the FastAPI router
(a new route without a row fails with a message saying to add it), and sends each route's
request as a signed-out client, a user without a role, and a user holding each role at site TEH
of the UC-MSC study, at a participant of TEH (own site), of ISF (another site) and one that
does not exist. Allowed, denied and "not found, exactly like a participant that does not exist"
are told apart by the status and the stable code; no answer to a TEH user names a participant
of ISF. Every POST route is also refused without its CSRF token.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from starlette.routing import Mount, Route
from starlette.testclient import TestClient
from tests.web.conftest import NOW, SECRET, Clock, csrf_of

from trialkit.services import Context, Role, add_membership, create_user
from trialkit.services.matrix import status_matrix
from trialkit.store import Database
from trialkit.web import Settings, create_app
from trialkit.web.demo_mode import DEMO_PASSWORD
from trialkit.web.oversight import MEANINGS

DOC = Path(__file__).resolve().parents[2] / "docs" / "access.md"
HEADING = "## Pages by role (the web application)"
UCM = "psoriasis-ucmsc"
OWN, OTHER, MISSING = "UCM-TEH-001", "UCM-ISF-001", "UCM-ISF-999"
#: A sample value for each path parameter a route may have ({code} is the participant probed).
PARAMS = {
    "study": UCM,
    "visit": "V_W4",
    "step": "withdraw",
    "form": "VITALS",
    "event": "W4",
    "report_id": "1",
    "pause_id": "1",
    "arm": "G100",
    "query_id": "1",
    "action": "comment",
    "version": "1.0",
}
#: A sample form for each route that needs one to reach its access check (else empty).
BODIES: dict[str, dict[str, str]] = {
    "POST /login": {"username": "t.sign-in", "password": DEMO_PASSWORD},
    "POST /language": {"language": "en"},
    "POST /studies/{study}/participants": {"site": "TEH"},
    "POST /studies/{study}/participants/{code}/consent": {
        "on": "2025-06-01",
        "form_version": "1.0",
        "obtained_by": "dr.amini",
    },
    "POST /studies/{study}/participants/{code}/visits/{visit}/done": {"on": "2025-06-02"},
    "POST /studies/{study}/participants/{code}/visits/{visit}/missed": {"reason": "travelling"},
    "POST /studies/{study}/participants/{code}/{step}": {"reason": "access matrix test"},
    "POST /studies/{study}/participants/{code}/doses/{event}/record": {
        "given_on": "2025-06-02",
        "given_time": "10:00",
        "product_lot": "LOT-1",
    },
    "POST /studies/{study}/participants/{code}/doses/{event}/prepare": {
        "kit": "KIT-1",
        "amount": "1",
        "unit": "mL",
        "product_lot": "LOT-1",
    },
    "POST /studies/{study}/participants/{code}/visits/unscheduled/new": {
        "on": "2025-06-02",
        "reason": "access matrix test",
    },
    "POST /studies/{study}/participants/{code}/forms/{visit}/{form}/not-required": {
        "not_required_reason": "access matrix test",
    },
    "POST /studies/{study}/participants/{code}/forms/{visit}/{form}/queries": {
        "item": "VS/heart_rate",
        "text": "access matrix test",
    },
    "POST /studies/{study}/participants/{code}/forms/{visit}/{form}/verify": {"whole": "1"},
    "POST /studies/{study}/participants/{code}/signatures": {
        "scope": "casebook",
        "meaning": MEANINGS[0],
        "password": DEMO_PASSWORD,
    },
    "POST /studies/{study}/locks": {
        "scope": "participant",
        "participant": "UCM-TEH-001",
        "reason": "access matrix test",
    },
    "POST /studies/{study}/queries/{query_id}/correct": {"reason": "access matrix test"},
}
#: Routes sent after all others, in this order: signing in again (as ``t.sign-in``, a user
#: without a role) replaces the client's session, and signing out ends it.
LAST = ("POST /login", "POST /logout")
SIGNED_OUT, NO_ROLE, OTHER_SITE = "signed out", "no role", "another site"
ALLOWED, DENIED, SIGN_IN, NOT_FOUND, NOT_APPLICABLE = "✓", "✗", "sign in", "not found", "–"


@dataclass(frozen=True)
class Row:
    route: str  # "GET /studies/{study}"
    expect: dict[str, str]  # column -> cell


def read_table() -> tuple[list[str], list[Row]]:
    """The columns and rows of the table under HEADING in docs/access.md."""
    text = DOC.read_text(encoding="utf-8")
    assert HEADING in text, f"docs/access.md has no section {HEADING!r}"
    section = text.split(HEADING, 1)[1].splitlines()
    start = next(i for i, ln in enumerate(section) if ln.startswith("|"))
    lines = []
    for ln in section[start:]:
        if not ln.startswith("|"):
            break
        lines.append(ln)
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    rows = []
    for line in lines[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        assert len(cells) == len(header), f"docs/access.md: row with the wrong width: {line}"
        rows.append(Row(cells[0].strip("`"), dict(zip(header[1:], cells[1:], strict=True))))
    return header[1:], rows


COLUMNS, ROWS = read_table()
ROLES = [r.value for r in Role]


def app_routes(app: Any) -> list[str]:
    """``METHOD path`` of every route of the application (static files aside), walking the
    included routers (FastAPI keeps them as branches of the application's route list)."""

    def walk(routes: list[Any], prefix: str) -> Iterator[str]:
        for route in routes:
            if isinstance(route, Route):
                methods = sorted((route.methods or set()) - {"HEAD"})
                yield from (f"{m} {prefix}{route.path}" for m in methods)
            elif hasattr(route, "original_router"):  # an included router
                context = getattr(route, "include_context", None)
                yield from walk(route.original_router.routes, prefix + (context.prefix or ""))
            elif not isinstance(route, Mount):
                raise AssertionError(f"a route of an unknown kind: {route!r}")

    return [r for r in walk(app.api.routes, "") if not r.split(" ", 1)[1].startswith(TOKEN_ONLY)]


#: Paths whose callers present an API token, never a session: the pages' matrix does not apply
#: (their roles and sites are tested by their own suites: tests/web/redcap/, tests/web/api/).
TOKEN_ONLY = ("/redcap/api/", "/api/v1/")


def test_the_table_has_a_column_per_role_and_a_row_per_route(app: Any) -> None:
    assert [SIGNED_OUT, NO_ROLE, *ROLES, OTHER_SITE] == COLUMNS, (
        "docs/access.md's table needs one column per role of trialkit.services.Role, in its "
        f"order, between {NO_ROLE!r} and {OTHER_SITE!r}"
    )
    routes = app_routes(app)
    documented = [r.route for r in ROWS]
    missing = [r for r in routes if r not in documented]
    assert not missing, (
        f"routes without a row in docs/access.md ({HEADING}): {missing}; add one line per "
        "route saying which roles may use it (and a sample form in BODIES of "
        "tests/web/test_access_matrix.py if it needs one to reach its access check)"
    )
    stale = [r for r in documented if r not in routes]
    assert not stale, f"rows of docs/access.md for routes the application no longer has: {stale}"
    assert len(set(documented)) == len(documented), "a route has two rows"
    symbols = {ALLOWED, DENIED, SIGN_IN}
    for row in ROWS:
        for column, cell in row.expect.items():
            allowed = {NOT_FOUND, NOT_APPLICABLE} if column == OTHER_SITE else symbols
            assert cell in allowed, f"{row.route}, {column}: {cell!r} is not one of {allowed}"
        assert (row.expect[OTHER_SITE] == NOT_FOUND) == ("{code}" in row.route), row.route


# -- the HTTP run -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def team(web_db: Database) -> dict[str, str]:
    """One user per role with a membership at TEH in the UC-MSC study, and one with none."""
    operator = Context.operator("test.access", NOW)
    users = {NO_ROLE: "t.no-role"}
    for name in ("t.no-role", "t.sign-in"):
        create_user(web_db, operator, name, DEMO_PASSWORD, display_name="No role")
    for role in Role:
        name = f"t.{role.value.replace('_', '-')}"
        create_user(web_db, operator, name, DEMO_PASSWORD, display_name=role.value)
        add_membership(web_db, operator, name, UCM, role, site_code="TEH")
        users[role.value] = name
    return users


@pytest.fixture(scope="module")
def other_site_codes(web_db: Database) -> list[str]:
    operator = Context.operator("test.access", NOW)
    rows = status_matrix(web_db, operator, UCM, NOW.date()).rows
    codes = [r.participant for r in rows if r.site == "ISF"]
    assert OTHER in codes
    return codes


@pytest.fixture(scope="module")
def matrix_app(web_db: Database, team: dict[str, str]) -> Any:
    return create_app(Settings(secret_key=SECRET), db=web_db, clock=Clock(NOW))


def _client(app: Any, username: str | None) -> TestClient:
    client = TestClient(app, raise_server_exceptions=False)
    token = csrf_of(client)
    if username is not None:
        r = client.post(
            "/login",
            data={"username": username, "password": DEMO_PASSWORD, "csrftoken": token},
            follow_redirects=False,
        )
        assert r.status_code == 303, r.text
    return client


def _send(client: TestClient, route: str, code: str) -> Any:
    method, template = route.split(" ", 1)
    names = re.findall(r"{(\w+)}", template)
    unknown = [n for n in names if n != "code" and n not in PARAMS]
    assert not unknown, f"{route}: add a sample value for {unknown} to PARAMS"
    path = template.format(**PARAMS, code=code)
    if method == "GET":
        return client.get(path, follow_redirects=False)
    body = {**BODIES.get(route, {}), "csrftoken": csrf_of(client)}
    return client.request(method, path, data=body, follow_redirects=False)


def _verdict(route: str, r: Any) -> str:
    """What an answer says: allowed, denied, sign in, not found, or a problem to report."""
    location = r.headers.get("location", "")
    if route == "POST /logout":  # signing out, signed in or not, ends at the sign-in page
        return ALLOWED if r.status_code == 303 and location == "/login" else f"{r.status_code}"
    if r.status_code == 303 and location.startswith("/login") and "ended=" not in location:
        return SIGN_IN
    if r.status_code == 401 and "WEB.E001" in r.text:
        return SIGN_IN
    if r.status_code == 403 and "AUTH.E010" in r.text:
        return DENIED
    if r.status_code == 404 and ("SAFETY.E031" in r.text or "FORM.E012" in r.text):
        # past the access check, refused for what was sent: the sample participant has no
        # serious-event report, or the sample form is not entered (yet) for a query or SDV
        # (a role that may not do either is denied before the look-up)
        return ALLOWED
    if r.status_code == 404:
        return NOT_FOUND
    if "WEB.E422" in r.text:
        return "incomplete sample request (add a form to BODIES)"
    if r.status_code >= 500 or r.status_code in (401, 403):
        return f"unexpected {r.status_code}"
    return ALLOWED


def _ordered() -> list[Row]:
    return sorted(ROWS, key=lambda row: LAST.index(row.route) + 1 if row.route in LAST else 0)


def _no_other_site(r: Any, codes: list[str]) -> bool:
    return not any(c in r.text for c in codes)


@pytest.mark.parametrize("column", [SIGNED_OUT, NO_ROLE, *ROLES])
def test_every_route_for_each_role_at_own_and_another_site(
    matrix_app: Any, team: dict[str, str], other_site_codes: list[str], column: str
) -> None:
    client = _client(matrix_app, None if column == SIGNED_OUT else team[column])
    wrong: list[str] = []
    for row in _ordered():
        expected = row.expect[column]
        r = _send(client, row.route, OWN)
        got = _verdict(row.route, r)
        if got != expected:
            wrong.append(f"{row.route}: expected {expected}, got {got} ({r.status_code})")
        if not _no_other_site(r, other_site_codes):
            wrong.append(f"{row.route}: the answer names a participant of another site")
        if row.expect[OTHER_SITE] == NOT_FOUND and column != SIGNED_OUT:
            other = _send(client, row.route, OTHER)
            missing = _send(client, row.route, MISSING)
            if column == NO_ROLE:
                same = other.status_code == missing.status_code == 403
            else:
                same = other.status_code == missing.status_code == 404
            if not same or other.text.replace(OTHER, "X") != missing.text.replace(MISSING, "X"):
                wrong.append(
                    f"{row.route}: a participant of another site is not answered like one "
                    f"that does not exist ({other.status_code} vs {missing.status_code})"
                )
    assert not wrong, f"{column}:\n" + "\n".join(wrong)


def test_every_post_route_refuses_a_missing_or_forged_csrf_token(
    matrix_app: Any, team: dict[str, str]
) -> None:
    client = _client(matrix_app, team[Role.COORDINATOR.value])
    posts = [row.route for row in _ordered() if row.route.startswith(("POST", "PUT", "DELETE"))]
    assert posts
    for route in posts:
        method, template = route.split(" ", 1)
        path = template.format(**PARAMS, code=OWN)
        for token in ("forged", None):
            body = {**BODIES.get(route, {}), **({"csrftoken": token} if token else {})}
            r = client.request(method, path, data=body, follow_redirects=False)
            assert r.status_code == 403, (route, token)
            assert "WEB.E020" in r.text, route
    assert client.get("/api/session").status_code == 200  # nothing happened: still signed in
