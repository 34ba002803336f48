"""``trialkit query|sdv|sign|lock`` on a real SQLite database, as real users with their roles."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from typer.testing import CliRunner

from trialkit.cli import app
from trialkit.protocol import shipped_studies
from trialkit.services import (
    Context,
    add_membership,
    add_site,
    create_user,
    issue_token,
    load_study,
    register,
    save_form,
)
from trialkit.store import Database, upgrade

UCM = "psoriasis-ucmsc"
PASSWORD = "a passphrase long enough"
VITALS = {"systolic_bp": "120", "diastolic_bp": "80", "heart_rate": "72", "temperature": "36.6"}
TEAM = {
    "mon": "monitor",
    "nurse": "coordinator",
    "pi": "principal_investigator",
    "dm": "data_manager",
}


TOKENS: dict[str, str] = {}


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A database with the UCM study, one participant with VITALS entered, and an API token per
    user (a token is checked without the password hash's cost; signing still checks it)."""
    path = tmp_path_factory.mktemp("cli") / "oversight.sqlite3"
    db = Database.from_url(f"sqlite:///{path}")
    try:
        upgrade(db.engine)
        ctx = Context.operator("admin", datetime(2025, 3, 3, 9))
        load_study(db, ctx, dict(shipped_studies())[f"{UCM}.yaml"], source=UCM)
        add_site(db, ctx, UCM, "TEH", "Tehran")
        for name, role in TEAM.items():
            create_user(db, ctx, name, PASSWORD, display_name=name.upper())
            add_membership(db, ctx, name, UCM, role)
            TOKENS[name] = issue_token(db, ctx, "cli tests", username=name).token
        code = register(db, ctx, UCM, "TEH").code
        save_form(db, ctx, UCM, code, visit="SCR", form_id="VITALS", values=VITALS)
    finally:
        db.dispose()
    return f"sqlite:///{path}"


def _cli(url: str, user: str, *args: str) -> tuple[int, str]:
    env = {"TRIALKIT_PASSWORD": None, "TRIALKIT_TOKEN": TOKENS[user]}
    env["TRIALKIT_SIGN_PASSWORD"] = PASSWORD
    result = CliRunner().invoke(app, [*args, "--url", url], env=env)
    return result.exit_code, result.output


P = "UCM-TEH-001"
FORM = ["--visit", "SCR", "--form", "VITALS"]


def test_a_query_from_open_to_close(url: str) -> None:
    code, out = _cli(
        url,
        "mon",
        "query",
        "open",
        UCM,
        P,
        *FORM,
        "--item",
        "VS/weight",
        "--text",
        "weight missing?",
    )
    assert code == 0, out
    assert "query 1 opened on VS/weight" in out
    code, out = _cli(url, "mon", "query", "answer", UCM, "1", "--text", "x")
    assert code == 1
    assert "AUTH.E010" in out
    assert _cli(url, "nurse", "query", "answer", UCM, "1", "--text", "not weighed")[0] == 0
    code, out = _cli(url, "mon", "query", "close", UCM, "1", "--text", "accepted")
    assert code == 0
    assert "it is closed" in out
    code, out = _cli(url, "mon", "query", "show", UCM, "1", "--json")
    events = json.loads(out)["events"]
    assert [e["action"] for e in events] == ["open", "answer", "close"]
    code, out = _cli(url, "dm", "query", "list", UCM, "--status", "closed")
    assert code == 0
    assert "1 queries" in out
    assert "closed 1" in out


def test_sdv_sign_and_lock(url: str) -> None:
    code, out = _cli(url, "mon", "sdv", "verify", UCM, P, *FORM, "--item", "VS/heart_rate")
    assert code == 0
    assert "verified VS/heart_rate" in out
    code, out = _cli(url, "mon", "sdv", "status", UCM, P, *FORM)
    assert "VS/heart_rate: verified by mon" in out
    code, out = _cli(url, "dm", "sdv", "progress", UCM, "--json")
    assert json.loads(out)["monitors"] == [{"monitor": "mon", "forms": 1, "items_verified": 1}]
    meaning = "I confirm that I reviewed these data and they are accurate"
    code, out = _cli(url, "nurse", "sign", "form", UCM, P, *FORM, "--meaning", meaning)
    assert code == 1
    assert "AUTH.E010" in out
    code, out = _cli(url, "pi", "sign", "casebook", UCM, P, "--meaning", meaning)
    assert code == 0, out
    assert "content hash" in out
    code, out = _cli(url, "pi", "sign", "list", UCM, P)
    assert "casebook: valid" in out
    code, out = _cli(
        url,
        "dm",
        "lock",
        "add",
        UCM,
        "--scope",
        "participant",
        "--participant",
        P,
        "--reason",
        "interim",
    )
    assert code == 0
    assert "locked by dm" in out
    assert "interim" in _cli(url, "dm", "lock", "list", UCM)[1]
    code, out = _cli(
        url, "mon", "query", "open", UCM, P, *FORM, "--item", "VS/weight", "--text", "again"
    )
    assert code == 1
    assert "LOCK.E002" in out
    code, out = _cli(
        url,
        "dm",
        "lock",
        "remove",
        UCM,
        "--scope",
        "participant",
        "--participant",
        P,
        "--reason",
        "done",
    )
    assert code == 0
    assert "unlocked by dm" in out


def test_sdv_progress_as_a_table(url: str) -> None:
    _cli(url, "mon", "sdv", "verify", UCM, P, *FORM, "--item", "VS/temperature")
    code, out = _cli(url, "dm", "sdv", "progress", UCM)
    assert code == 0, out
    assert "source data verification" in out
    lines = {line.split("│")[1].strip(): line for line in out.splitlines() if "│" in line}
    assert "total" in lines
    assert "TEH" in out  # the site's row
    assert "VITALS" in out  # the form's row
    assert "mon:" in out  # the monitor's line: items verified on how many forms


def test_a_signature_with_no_terminal_and_no_password_is_refused_with_the_fix(url: str) -> None:
    env = {
        "TRIALKIT_PASSWORD": None,
        "TRIALKIT_SIGN_PASSWORD": None,
        "TRIALKIT_TOKEN": TOKENS["pi"],
    }
    meaning = "I confirm that I reviewed these data and they are accurate"
    result = CliRunner().invoke(
        app, ["sign", "form", UCM, P, *FORM, "--meaning", meaning, "--url", url], env=env
    )
    assert result.exit_code == 1
    assert "CLI.E040" in result.output
    assert "no terminal to ask the signer's password" in result.output
    assert "TRIALKIT_SIGN_PASSWORD" in result.output
