"""Every role × site × operation cell of docs/api.md "Security", over HTTP, for both APIs.

The expectations are the tables "Operations by role" (``/api/v1``) and "REDCap content by role"
(``/redcap/api/``) of docs/api.md: this module reads them, checks that they have a row for every
operation of the OpenAPI document and every ``content`` the REDCap endpoint serves (a new one
without a row fails, saying to add it), and sends each request with a token of a user holding
each role at site TEH of the demo's psoriasis-ucmsc study (amended to a masked design), at
every site, and unblinded; and of a user with no role. Each answer is told apart as allowed,
denied or "not found, exactly like a participant that does not exist" by its status and stable
code; no answer to a TEH user names a participant of another site, and no answer to a blinded
user carries an arm. One fixture database per backend (SQLite; PostgreSQL when
``TRIALKIT_TEST_DATABASE_URL`` is set), built once per module.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient
from tests.web.conftest import NOW, SECRET, TODAY, Clock, copy_demo

from trialkit.protocol import shipped_studies
from trialkit.services import (
    Context,
    Role,
    add_membership,
    create_user,
    issue_token,
    list_queries,
    load_study,
    open_query,
)
from trialkit.services.access import UNBLINDED_ROLES
from trialkit.services.matrix import status_matrix
from trialkit.store import Database
from trialkit.web import Settings, create_app
from trialkit.web.demo_mode import DEMO_PASSWORD
from trialkit.web.oversight import MEANINGS
from trialkit.web.redcap import CONTENTS

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"
API_HEADING = "### Operations by role"
REDCAP_HEADING = "### REDCap content by role"
UCM = "psoriasis-ucmsc"
PREFIX = "/api/v1"
REDCAP = "/redcap/api/"
OWN, OTHER, MISSING = "UCM-TEH-001", "UCM-ISF-003", "UCM-ISF-999"
MISSING_QUERY = 99_999
#: The arms of the masked study: no answer to a blinded user may carry one.
ARMS = ("UCMSC",)
#: Answers that describe the protocol (which lists its arms), not a participant's allocation.
PROTOCOL_ROUTES = {"GET /studies/{study}/definition"}
NO_ROLE, OTHER_SITE = "no role", "another site"
ALLOWED, DENIED, EVERY_SITE, NOT_FOUND, NOT_APPLICABLE = "✓", "✗", "every site", "not found", "–"
#: Allowed only to a reader who sees allocations; refused to a blinded reader (AUDIT.E010).
UNBLINDED = "unblinded"
#: Both: a reader of every site who sees allocations.
EVERY_SITE_UNBLINDED = "every site, unblinded"

#: A sample value for each path parameter ({code} and {query_id} are the probed subjects).
PARAMS = {
    "study": UCM,
    "visit": "V_W4",
    "form": "VITALS",
    "pause_id": "1",
    "event": "W0",
    "report_id": "1",
    "arm": "UCMSC",
    "format": "csv",
}
#: Sample values of body properties by name, used to build each request body from its schema.
SAMPLES: dict[str, Any] = {
    "site": "TEH",
    "on": TODAY.isoformat(),
    "form_version": "1.0",
    "obtained_by": "dr.amini",
    "reason": "access matrix test",
    "text": "access matrix test",
    "expected_version": 1,
    "visit": "V_W4",
    "form": "VITALS",
    "item": "VS/heart_rate",
    "meaning": MEANINGS[0],
    "password": DEMO_PASSWORD,
    "scope": None,  # per route below
    "values": {"systolic_bp": "118", "diastolic_bp": "76", "heart_rate": "72"},
    "given_at": f"{TODAY.isoformat()}T10:00:00",
    "reported_at": f"{TODAY.isoformat()}T10:00:00",
}
#: Query parameters an operation needs to reach its access check.
QUERY: dict[str, dict[str, str]] = {
    "GET /studies/{study}/participants/{code}/adverse-events/grade": {
        "visit": "V_W4",
        "term": "Headache",
    },
}
#: Whole bodies where the generated one would not reach the access check.
BODIES: dict[str, dict[str, Any]] = {
    "POST /studies/{study}/participants/{code}/signatures": {
        "scope": "casebook",
        "meaning": MEANINGS[0],
        "password": DEMO_PASSWORD,
    },
    "POST /studies/{study}/locks": {"scope": "participant", "reason": "access matrix test"},
    "POST /studies/{study}/participants/{code}/doses/{event}/preparation": {
        "kit": "K-1",
        "amount": "140000000",
        "unit": "cells",
        "product_lot": "LOT-1",
    },
    "POST /studies/{study}/locks/unlock": {"scope": "participant", "reason": "access matrix test"},
    "POST /studies/{study}/participants/{code}/adverse-events": {
        "visit": "V_W4",
        "values": {"ae_term": "Headache", "ae_grade": "1"},
    },
}


# -- the tables --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    key: str  # "GET /studies/{study}" or "record export"
    expect: dict[str, str]


def read_table(heading: str) -> tuple[list[str], list[Row]]:
    text = DOC.read_text(encoding="utf-8")
    assert heading in text, f"docs/api.md has no section {heading!r}"
    section = text.split(heading, 1)[1].splitlines()
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
        assert len(cells) == len(header), f"docs/api.md: row with the wrong width: {line}"
        key = cells[0].replace("`", "").strip()
        rows.append(Row(key, dict(zip(header[1:], cells[1:], strict=True))))
    return header[1:], rows


API_COLUMNS, API_ROWS = read_table(API_HEADING)
REDCAP_COLUMNS, REDCAP_ROWS = read_table(REDCAP_HEADING)
ROLES = [r.value for r in Role]


def redcap_keys() -> list[str]:
    """One row per served ``content``; ``record`` has an export row and an import row."""
    out = []
    for content in CONTENTS:
        out.extend([f"{content} export", f"{content} import"] if content == "record" else [content])
    return out


def openapi_operations(app: Any) -> dict[str, dict[str, Any]]:
    """``METHOD /path`` (below /api/v1) -> the operation, from the served OpenAPI document."""
    doc = TestClient(app).get(PREFIX + "/openapi.json").json()
    ops = {}
    for path, methods in doc["paths"].items():
        assert path.startswith(PREFIX + "/"), path
        for method, op in methods.items():
            ops[f"{method.upper()} {path[len(PREFIX) :]}"] = {**op, "_doc": doc}
    return ops


@pytest.fixture(scope="module")
def plain_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    db = Database.from_url(f"sqlite:///{tmp_path_factory.mktemp('doc') / 'empty.sqlite3'}")
    yield create_app(Settings(secret_key=SECRET), db=db)
    db.dispose()


def test_the_tables_have_a_column_per_role_and_a_row_per_operation(plain_app: Any) -> None:
    for columns in (API_COLUMNS, REDCAP_COLUMNS):
        assert [NO_ROLE, *ROLES, OTHER_SITE] == columns, (
            "docs/api.md's tables need one column per role of trialkit.services.Role, in its "
            f"order, between {NO_ROLE!r} and {OTHER_SITE!r}"
        )
    operations = openapi_operations(plain_app)
    documented = [r.key for r in API_ROWS]
    missing = [op for op in operations if op not in documented]
    assert not missing, (
        f"operations of /api/v1 without a row in docs/api.md ({API_HEADING}): {missing}; add one "
        "line per operation saying which roles may use it (and a sample body in BODIES of "
        "tests/web/test_api_access_matrix.py if the generated one does not reach the check)"
    )
    stale = [r for r in documented if r not in operations]
    assert not stale, f"rows of docs/api.md for operations the API no longer has: {stale}"
    assert len(set(documented)) == len(documented), "an operation has two rows"
    assert [r.key for r in REDCAP_ROWS] == redcap_keys(), (
        f"docs/api.md ({REDCAP_HEADING}) needs one row per content of trialkit.web.redcap."
        f"CONTENTS, in its order: {redcap_keys()}"
    )
    symbols = {ALLOWED, DENIED, EVERY_SITE, UNBLINDED, EVERY_SITE_UNBLINDED}
    for row in [*API_ROWS, *REDCAP_ROWS]:
        for column, cell in row.expect.items():
            allowed = {NOT_FOUND, NOT_APPLICABLE} if column == OTHER_SITE else symbols
            assert cell in allowed, f"{row.key}, {column}: {cell!r} is not one of {allowed}"
    for row in API_ROWS:
        names = subject_of(row.key, operations[row.key])
        assert (row.expect[OTHER_SITE] == NOT_FOUND) == bool(names), row.key


def subject_of(key: str, op: dict[str, Any]) -> list[str]:
    """What an operation names that another site's user must not reach: ``code`` or
    ``query_id`` in the path, or ``participant`` in the body."""
    names = [n for n in ("code", "query_id") if "{" + n + "}" in key]
    if "participant" in _body_schema(op).get("properties", {}):
        names.append("participant")
    return names


def _resolve(schema: dict[str, Any], doc: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        schema = doc["components"]["schemas"][name]
    return schema


def _body_schema(op: dict[str, Any]) -> dict[str, Any]:
    content = (op.get("requestBody") or {}).get("content", {}).get("application/json")
    return _resolve(content["schema"], op["_doc"]) if content else {}


def sample_body(key: str, op: dict[str, Any], participant: str) -> dict[str, Any] | None:
    """A body that reaches the access check: BODIES, else built from the schema's required
    properties with SAMPLES; the probed participant where the body names one."""
    schema = _body_schema(op)
    if not schema:
        return None
    body = dict(BODIES.get(key, {}))
    if key not in BODIES:
        for name in schema.get("required", []):
            prop = _resolve(schema["properties"][name], op["_doc"])
            if SAMPLES.get(name) is not None:
                body[name] = SAMPLES[name]
            elif "enum" in prop:
                body[name] = prop["enum"][0]
            elif "const" in prop:
                body[name] = prop["const"]
            elif prop.get("type") == "integer":
                body[name] = max(1, int(prop.get("minimum", 1)))
            else:
                body[name] = "access matrix test"
    if "participant" in schema.get("properties", {}):
        body["participant"] = participant
    return body


# -- the database, the team and their tokens -------------------------------------------------


@dataclass(frozen=True)
class Member:
    username: str
    role: str | None  # None: no role in the study
    site: str | None  # "TEH" or None (every site)
    unblinded: bool

    @property
    def sees_arms(self) -> bool:
        return self.unblinded or (self.role is not None and Role(self.role) in UNBLINDED_ROLES)


@dataclass
class World:
    db: Database
    app: Any
    members: list[Member]
    bearer: dict[str, str]  # username -> tk_ token
    redcap: dict[str, str]  # username -> REDCap token
    other_codes: list[str]  # participants of the study not at TEH
    own_query: int
    other_query: int


def _team() -> list[Member]:
    team = [Member("x.no-role", None, "TEH", False)]
    for role in Role:
        slug = role.value.replace("_", "-")
        team.append(Member(f"x.{slug}.teh", role.value, "TEH", False))
        team.append(Member(f"x.{slug}.all", role.value, None, False))
        team.append(Member(f"x.{slug}.unblinded", role.value, "TEH", True))
    return team


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(
    request: pytest.FixtureRequest,
    demo_file: Path,
    tmp_path_factory: pytest.TempPathFactory,
    postgres_demo: Callable[[], AbstractContextManager[Database]],
) -> Iterator[World]:
    with ExitStack() as stack:
        if request.param == "sqlite":
            db = copy_demo(demo_file, tmp_path_factory.mktemp("api-matrix"))
            stack.callback(db.dispose)
        else:
            db = stack.enter_context(postgres_demo())
        yield _world(db)


def _world(db: Database) -> World:
    op = Context.operator("test.api-access", NOW)
    # the study amended to a masked design: blinded readers must see no arm
    text = dict(shipped_studies())["psoriasis-ucmsc.yaml"]
    text = text.replace('protocol_version: "1.0"', 'protocol_version: "1.1"', 1).replace(
        "masking: {level: none, placebo: false, description: Open label}",
        "masking: {level: double, masked_roles: [participant, investigator], placebo: false}",
        1,
    )
    load_study(db, op, text)
    members = _team()
    bearer, redcap = {}, {}
    for m in members:
        create_user(db, op, m.username, DEMO_PASSWORD, display_name=m.username)
        if m.role is not None:
            add_membership(db, op, m.username, UCM, m.role, site_code=m.site, unblinded=m.unblinded)
        bearer[m.username] = issue_token(db, op, "matrix", username=m.username).token
        redcap[m.username] = issue_token(
            db, op, "matrix", username=m.username, study_code=UCM, redcap=True
        ).token
    rows = status_matrix(db, op, UCM, TODAY).rows
    other_codes = [r.participant for r in rows if r.site != "TEH"]
    assert OTHER in other_codes
    assert OWN not in other_codes
    own_query = next(q.id for q in list_queries(db, op, UCM, status=None) if q.site == "TEH")
    other_query = open_query(
        db, op, UCM, "UCM-ISF-002", visit="V_W0", form_id="VITALS", item="VS/heart_rate",
        text="a query at another site",
    ).id  # fmt: skip
    app = create_app(Settings(secret_key=SECRET), db=db, clock=Clock(NOW))
    return World(db, app, members, bearer, redcap, other_codes, own_query, other_query)


# -- sending and judging -----------------------------------------------------------------------


def _client(app: Any) -> TestClient:
    return TestClient(app, raise_server_exceptions=False)


def _code(r: Any) -> str:
    try:
        return str(r.json()["error"]["code"])
    except (ValueError, KeyError, TypeError):
        return ""


def api_verdict(r: Any) -> str:
    """What an /api/v1 answer says: allowed, denied, not found, or a problem to report."""
    code = _code(r)
    if r.status_code == 403 and code in ("AUTH.E010", "AUTH.E011", "AUDIT.E010"):
        return DENIED
    if r.status_code == 404 and code in ("PART.E003", "QUERY.E002", "STUDY.E003"):
        return NOT_FOUND
    if r.status_code == 422 and code == "WEB.E422":
        return f"incomplete sample request (add a body to BODIES): {r.text[:300]}"
    if r.status_code >= 500 or r.status_code in (401, 403, 429):
        return f"unexpected {r.status_code} {r.text[:300]}"
    return ALLOWED  # past the access check (it may be refused for the state or what was sent)


def expected(cell: str, member: Member) -> str:
    if cell == EVERY_SITE:
        return ALLOWED if member.site is None else DENIED
    if cell == UNBLINDED:
        return ALLOWED if member.sees_arms else DENIED
    if cell == EVERY_SITE_UNBLINDED:
        return ALLOWED if member.sees_arms and member.site is None else DENIED
    return cell


def send_api(client: Any, token: str, key: str, op: dict[str, Any], subject: dict[str, Any]) -> Any:
    method, template = key.split(" ", 1)
    params = {**PARAMS, "code": subject["code"], "query_id": subject["query_id"]}
    path = PREFIX + template.format(**params)
    body = sample_body(key, op, subject["code"])
    headers = {"authorization": f"Bearer {token}"}
    return client.request(method, path, json=body, headers=headers, params=QUERY.get(key))


def _leaks(text: str, member: Member, world: World, key: str) -> list[str]:
    wrong = []
    if member.site == "TEH":
        named = [c for c in world.other_codes if c in text]
        if named:
            wrong.append(f"{key}: the answer names participants of another site {named}")
    if not member.sees_arms and key not in PROTOCOL_ROUTES:
        shown = [a for a in ARMS if re.search(rf"\b{a}\b", text)]
        if shown:
            wrong.append(f"{key}: the answer to a blinded user carries the arm {shown}")
    return wrong


def _same(a: Any, b: Any, a_name: str, b_name: str) -> bool:
    return a.status_code == b.status_code and a.text.replace(a_name, "X") == b.text.replace(
        b_name, "X"
    )


def members_of(world: World, role: str) -> list[Member]:
    slug = role.replace("_", "-")
    return [m for m in world.members if m.username.startswith(f"x.{slug}.")]


@pytest.mark.parametrize("column", [NO_ROLE, *ROLES])
def test_every_operation_for_each_role_at_one_site_every_site_and_unblinded(
    world: World, column: str
) -> None:
    operations = openapi_operations(world.app)
    client = _client(world.app)
    members = (
        [m for m in world.members if m.role is None]
        if column == NO_ROLE
        else members_of(world, column)
    )
    wrong: list[str] = []
    own = {"code": OWN, "query_id": world.own_query}
    for member in members:
        token = world.bearer[member.username]
        who = f"{member.username}"
        for row in API_ROWS:
            op = operations[row.key]
            if member.unblinded and not row.key.startswith("GET"):
                continue  # the unblinded variant reads only: its writes are the blinded one's
            r = send_api(client, token, row.key, op, own)
            want, got = expected(row.expect[column], member), api_verdict(r)
            if got != want:
                wrong.append(f"{who} {row.key}: expected {want}, got {got} ({r.status_code})")
            wrong += [f"{who} {w}" for w in _leaks(r.text, member, world, row.key)]
            if member.unblinded and row.key == "GET /studies/{study}/participants/{code}":
                assert r.json()["arm"] in ARMS, f"{who}: an unblinded reader sees the arm"
            if member.site != "TEH" or row.expect[OTHER_SITE] != NOT_FOUND:
                continue
            names = subject_of(row.key, op)
            other = {"code": OTHER, "query_id": world.other_query}
            missing = {"code": MISSING, "query_id": MISSING_QUERY}
            if "query_id" not in names:
                other["query_id"] = missing["query_id"] = world.own_query
            a = send_api(client, token, row.key, op, other)
            b = send_api(client, token, row.key, op, missing)
            want_status = 403 if member.role is None else 404
            a_text, b_text = a.text.replace(OTHER, "X"), b.text.replace(MISSING, "X")
            if "query_id" in names:
                a_text = a_text.replace(f" {world.other_query}", " N")
                b_text = b_text.replace(f" {MISSING_QUERY}", " N")
            if not (a.status_code == b.status_code == want_status and a_text == b_text):
                wrong.append(
                    f"{who} {row.key}: another site's subject is not answered like one that "
                    f"does not exist ({a.status_code} {a.text[:200]} vs {b.status_code} "
                    f"{b.text[:200]})"
                )
            echo = a.text.replace(OTHER, "")  # the answer may repeat the code that was asked
            wrong += [f"{who} {w}" for w in _leaks(echo, member, world, row.key)]
    assert not wrong, f"{column}:\n" + "\n".join(wrong)


# -- the REDCap endpoint -----------------------------------------------------------------------


def redcap_request(key: str, token: str, record: str) -> dict[str, str]:
    content = key.split(" ", 1)[0]
    data = {"token": token, "content": content, "format": "json"}
    if key == "record export":
        data["records"] = record
    elif key == "record import":
        row = {"record_id": record, "redcap_event_name": "v_w4_arm_1", "heart_rate": "71"}
        data.update(action="import", data=json.dumps([row]), returnContent="count")
    elif key == "log":
        data["record"] = record
    return data


def redcap_verdict(r: Any) -> str:
    if r.status_code == 403 and "AUTH.E010" in r.text:
        return DENIED
    if r.status_code == 200:
        return ALLOWED
    if r.status_code == 400 and "AUTH." not in r.text:
        return ALLOWED  # past the access check, refused for what was sent
    return f"unexpected {r.status_code} {r.text[:300]}"


@pytest.mark.parametrize("column", [NO_ROLE, *ROLES])
def test_every_redcap_content_for_each_role(world: World, column: str) -> None:
    client = _client(world.app)
    members = (
        [m for m in world.members if m.role is None]
        if column == NO_ROLE
        else members_of(world, column)
    )
    wrong: list[str] = []
    for member in members:
        token = world.redcap[member.username]
        who = member.username
        for row in REDCAP_ROWS:
            if member.unblinded and row.key == "record import":
                continue
            r = client.post(REDCAP, data=redcap_request(row.key, token, OWN))
            want, got = expected(row.expect[column], member), redcap_verdict(r)
            if got != want:
                wrong.append(f"{who} {row.key}: expected {want}, got {got}")
            wrong += [f"{who} {w}" for w in _leaks(r.text, member, world, row.key)]
            if row.key == "record export" and got == ALLOWED:
                # a whole export too: nothing of another site, no arm for the blinded
                whole = client.post(REDCAP, data={"token": token, "content": "record"})
                wrong += [f"{who} {w}" for w in _leaks(whole.text, member, world, "export")]
            if member.site != "TEH" or row.expect[OTHER_SITE] != NOT_FOUND:
                continue
            a = client.post(REDCAP, data=redcap_request(row.key, token, OTHER))
            b = client.post(REDCAP, data=redcap_request(row.key, token, MISSING))
            if not _same(a, b, OTHER, MISSING):
                wrong.append(
                    f"{who} {row.key}: a record of another site is not answered like one that "
                    f"does not exist ({a.status_code} {a.text[:200]} vs {b.status_code} "
                    f"{b.text[:200]})"
                )
    assert not wrong, f"{column}:\n" + "\n".join(wrong)


def test_a_platform_administrator_verifies_the_audit_trail_with_an_unlimited_token(
    world: World,
) -> None:
    op = Context.operator("test.api-access", NOW)
    create_user(world.db, op, "x.platform", DEMO_PASSWORD, display_name="Platform", is_admin=True)
    client = _client(world.app)
    for study, status in ((None, 200), (UCM, 403)):
        token = issue_token(world.db, op, "m", username="x.platform", study_code=study).token
        r = client.get(PREFIX + "/audit/verification", headers={"authorization": f"Bearer {token}"})
        assert r.status_code == status, r.text
        if status == 403:
            assert _code(r) == "AUTH.E011"
        else:
            assert r.json()["ok"] is True


def test_the_holes_the_matrix_found_stay_closed(world: World) -> None:
    """Each found by the matrix, fixed where it was (docs/api.md, Security)."""
    client = _client(world.app)

    def get(user: str, path: str) -> Any:
        return client.get(PREFIX + path, headers={"authorization": f"Bearer {world.bearer[user]}"})

    # 1. a study amended to a masked design hides the arm of participants enrolled under its
    #    open-label version, on the participant, its history and its doses, as in the lists
    base = f"/studies/{UCM}/participants/{OWN}"
    assert get("x.coordinator.teh", base).json()["arm"] is None
    assert get("x.safety-board.teh", base).json()["arm"] == "UCMSC"
    assert get("x.coordinator.unblinded", base).json()["arm"] == "UCMSC"
    assert get("x.coordinator.teh", base + "/doses").json()["blind"] is True
    assert "UCMSC" not in get("x.administrator.teh", base + "/history").text
    # 2. a REDCap import checks the role before it reads the rows, and a record at another
    #    site is refused exactly like one that does not exist
    data = {"content": "record", "action": "import", "format": "json", "data": "not json"}
    r = client.post(REDCAP, data={**data, "token": world.redcap["x.data-manager.teh"]})
    assert r.status_code == 403
    assert r.json()["error"].startswith("AUTH.E010: ")
    answers = [
        client.post(REDCAP, data=redcap_request("record import", world.redcap[u], code))
        for u, code in (("x.coordinator.teh", OTHER), ("x.coordinator.teh", MISSING))
    ]
    assert [a.status_code for a in answers] == [400, 400]
    assert "(PART.E003)" in answers[0].text
    assert answers[0].text.replace(OTHER, "X") == answers[1].text.replace(MISSING, "X")
    # 3. the query services check the role before the text: an empty one tells a stranger
    #    nothing
    from trialkit.errors import AccessDenied
    from trialkit.services import answer_query, authenticate, comment

    reader = authenticate(world.db, "x.read-only.teh", DEMO_PASSWORD, NOW)
    for act in (
        lambda: comment(world.db, reader, UCM, world.own_query, text=" "),
        lambda: answer_query(world.db, reader, UCM, world.own_query, text="", expected_version=1),
        lambda: open_query(
            world.db,
            reader,
            UCM,
            OWN,
            visit="V_W0",
            form_id="VITALS",
            item="VS/heart_rate",
            text="",
        ),
    ):
        with pytest.raises(AccessDenied) as refused:
            act()
        assert refused.value.code == "AUTH.E010"
