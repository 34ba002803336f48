"""The administration commands on real databases: study, sites, users, memberships, allocation."""

from __future__ import annotations

import subprocess
import sys
from datetime import date, datetime

import pytest
from typer.testing import CliRunner

from trialkit.cli import app
from trialkit.errors import TrialkitError
from trialkit.services import (
    authenticate,
    consent,
    get_participant,
    register,
    save_form,
    screen,
)
from trialkit.store import Database, verify

UCM = "psoriasis-ucmsc"
PASSWORD = "a passphrase long enough"


def cli(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    """(exit code, output, error code) of one command, in process."""
    env = {"TRIALKIT_PASSWORD": PASSWORD, "TRIALKIT_TOKEN": None}
    result = CliRunner().invoke(app, list(args), input=stdin, env=env)
    if isinstance(result.exception, TrialkitError):
        return 1, result.output, result.exception.code
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output, ""


def test_a_study_team_is_set_up_from_the_command_line(database_url: str) -> None:
    url = ["--url", database_url]
    assert cli("db", "upgrade", *url)[0] == 0
    code, out, _ = cli("study", "load", UCM, *url)
    assert (code, out.strip()) == (
        0,
        "loaded psoriasis-ucmsc protocol version 1.0: no approval recorded (record it with "
        "`trialkit amend approve`)",
    )
    assert "is loaded already" in cli("study", "load", UCM, *url)[1]
    assert cli("site", "add", UCM, "TEH", "Tehran", *url)[0] == 0
    assert cli("site", "add", UCM, "ISF", "Isfahan", *url)[0] == 0
    code, out, _ = cli(
        "user", "create", "s.karimi", "--name", "Dr S. Karimi", "--password-stdin", *url,
        stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert (code, out.strip()) == (0, "created user s.karimi (Dr S. Karimi)")
    code, out, _ = cli("member", "add", "s.karimi", UCM, "coordinator", "--site", "TEH", *url)
    assert code == 0
    assert "s.karimi is now coordinator at site TEH of psoriasis-ucmsc" in out
    members = cli("member", "list", UCM, *url)[1]
    assert "s.karimi" in members
    assert "coordinator" in members
    assert "@cli" in members  # granted by the operator: the login that ran the command
    sites = cli("site", "list", UCM, *url)[1]
    assert "Isfahan" in sites
    assert "Tehran" in sites

    db = Database.from_url(database_url)
    try:
        nurse = authenticate(db, "s.karimi", PASSWORD, datetime.now())  # granted just now
        participant = register(db, nurse, UCM, "TEH").code
        consent(db, nurse, UCM, participant, on=date(2025, 3, 3), form_version="2", obtained_by="x")
        values = {"screening_date": "2025-03-03", "age": "44", "sex": "female", "weight": "70"}
        save_form(db, nurse, UCM, participant, visit="SCR", form_id="SCREEN", values=values)
        screen(db, nurse, UCM, participant)  # neither PASI nor BSA entered: undecided
        as_nurse = ("--user", "s.karimi")
        code, _, err = cli("allocate", UCM, participant, *as_nurse, *url)
        assert (code, err) == (1, "STATE.E003")
        with_bsa = {**values, "bsa_percent": "12"}
        save_form(
            db,
            nurse,
            UCM,
            participant,
            visit="SCR",
            form_id="SCREEN",
            values=with_bsa,
            expected_version=1,
            reason="BSA measured",
        )
        screen(db, nurse, UCM, participant)  # BSA 12 % above 10 %: eligible
        code, out, _ = cli("allocate", UCM, participant, *as_nurse, *url)
        assert code == 0
        assert f"{participant}: enrolled, arm UCMSC" in out
        assert get_participant(db, nurse, UCM, participant).arm == "UCMSC"
        with db.read() as conn:
            assert verify(conn).ok
    finally:
        db.dispose()
    code, _, _ = cli("member", "revoke", "1", "--reason", "left the team", *url)
    assert code == 0
    assert "s.karimi" not in cli("member", "list", UCM, *url)[1]
    assert cli("user", "deactivate", "s.karimi", "--reason", "left", *url)[0] == 0


@pytest.mark.parametrize(
    ("args", "stdin", "error"),
    [
        (("member", "add", "nobody", UCM, "coordinator"), None, "AUTH.E002"),
        (("member", "add", "x", UCM, "nurse"), None, "AUTH.E041"),
        (("user", "create", "x.y", "--name", "X", "--password-stdin"), "short\n", "AUTH.E001"),
        (("user", "create", "x.y", "--name", "X", "--password-stdin"), "\n", "CLI.E012"),
        (("site", "add", UCM, "T-1", "Bad"), None, "STUDY.E004"),
        (("study", "load", "no-such-study"), None, "DEF.E006"),
        (("allocate", UCM, "UCM-TEH-999"), None, "CLI.E020"),
    ],
)
def test_mistakes_are_refused_with_a_code(
    database_url: str, args: tuple[str, ...], stdin: str | None, error: str
) -> None:
    url = ["--url", database_url]
    cli("db", "upgrade", *url)
    cli("study", "load", UCM, *url)
    code, _, err = cli(*args, *url, stdin=stdin)
    assert (code, err) == (1, error)


def test_a_database_without_the_schema_is_named(tmp_path: object) -> None:
    url = f"sqlite:///{tmp_path}/empty.sqlite3"
    code, _, err = cli("site", "list", UCM, "--url", url)
    assert (code, err) == (1, "STORE.E030")


def test_refusals_print_one_line_without_a_traceback(tmp_path: object) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "trialkit", "site", "list", UCM, "--url", f"sqlite:///{tmp_path}/x"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 1
    assert out.stderr.startswith("error [STORE.E030]")
    assert "Traceback" not in out.stderr
