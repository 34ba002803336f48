"""The CLI acts on participants as a real user (password or API token), never as a free name."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from typer.testing import CliRunner

from trialkit.cli import app
from trialkit.errors import TrialkitError
from trialkit.protocol import shipped_studies
from trialkit.services import (
    Context,
    Role,
    add_membership,
    add_site,
    consent,
    create_user,
    load_study,
    register,
    save_form,
    screen,
)
from trialkit.simulate.eligible import eligible_values
from trialkit.store import Database, upgrade

UCM = "psoriasis-ucmsc"
MASKED = "masked-psoriasis-ucmsc"
PASSWORD = "a passphrase long enough"
# The screening visit's forms, each entered at SCR: eligible under the UCM criteria (age 18 to
# 65; PASI above 7 or body surface area above 10 %), so the real evaluator lets them be enrolled.
SCREENING = eligible_values(UCM)
CONFIRM = ("--investigator-confirmation", "checked by the PI")


def cli(*args: str, env: dict[str, str | None] | None = None) -> tuple[int, str, str]:
    """(exit code, output, error code) of one command, in process."""
    base: dict[str, str | None] = {"TRIALKIT_TOKEN": None, "TRIALKIT_PASSWORD": None}
    result = CliRunner().invoke(app, list(args), env={**base, **(env or {})})
    if isinstance(result.exception, TrialkitError):
        return 1, result.output, result.exception.code
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output, ""


def _masked_text() -> str:
    text = dict(shipped_studies())["psoriasis-ucmsc.yaml"]
    text = text.replace("id: psoriasis-ucmsc", f"id: {MASKED}", 1)
    return text.replace(
        "masking: {level: none, placebo: false, description: Open label}",
        "masking: {level: double, masked_roles: [participant, investigator], placebo: false}",
        1,
    )


@pytest.fixture
def team(database_url: str) -> tuple[Database, dict[str, str]]:
    """A database with UCM and its masked copy, a coordinator in each (blinded in the masked
    one), and one consented, screened participant per study."""
    db = Database.from_url(database_url)
    upgrade(db.engine)
    ops = Context.operator("ops@cli", datetime.now() - timedelta(minutes=1))
    participants = {}
    for study, text in ((UCM, dict(shipped_studies())["psoriasis-ucmsc.yaml"]),
                        (MASKED, _masked_text())):  # fmt: skip
        load_study(db, ops, text, source=f"{study}.yaml")
        add_site(db, ops, study, "TEH", "Tehran")
        p = register(db, ops, study, "TEH").code
        consent(db, ops, study, p, on=date(2025, 3, 3), form_version="2", obtained_by="x")
        for form_id, values in SCREENING.items():
            save_form(db, ops, study, p, visit="SCR", form_id=form_id, values=values)
        verdict = screen(db, ops, study, p).eligibility
        assert verdict["eligible"] is True, verdict
        participants[study] = p
    create_user(db, ops, "s.karimi", PASSWORD, display_name="S. Karimi")
    add_membership(db, ops, "s.karimi", UCM, Role.COORDINATOR, site_code="TEH")
    add_membership(db, ops, "s.karimi", MASKED, Role.COORDINATOR, site_code="TEH")
    try:
        yield db, participants
    finally:
        db.dispose()


def test_allocate_needs_a_user(team: tuple[Database, dict[str, str]], database_url: str) -> None:
    _, ps = team
    code, _, err = cli("allocate", UCM, ps[UCM], *CONFIRM, "--url", database_url)
    assert (code, err) == (1, "CLI.E020")


def test_allocate_as_a_user_with_a_password_is_attributed_to_them(
    team: tuple[Database, dict[str, str]], database_url: str
) -> None:
    _, ps = team
    code, out, _ = cli(
        "allocate", UCM, ps[UCM], *CONFIRM, "--user", "s.karimi", "--url", database_url,
        env={"TRIALKIT_PASSWORD": PASSWORD},
    )  # fmt: skip
    assert code == 0
    assert f"{ps[UCM]}: enrolled, arm UCMSC (by s.karimi)" in out


def test_a_blinded_user_does_not_see_the_arm(
    team: tuple[Database, dict[str, str]], database_url: str
) -> None:
    _, ps = team
    code, out, _ = cli(
        "allocate", MASKED, ps[MASKED], *CONFIRM, "--user", "s.karimi", "--url", database_url,
        env={"TRIALKIT_PASSWORD": PASSWORD},
    )  # fmt: skip
    assert code == 0
    assert "UCMSC" not in out
    assert "arm not shown" in out


def test_wrong_password_then_lockout(
    team: tuple[Database, dict[str, str]], database_url: str
) -> None:
    _, ps = team
    args = ("allocate", UCM, ps[UCM], *CONFIRM, "--user", "s.karimi", "--url", database_url)
    wrong = {"TRIALKIT_PASSWORD": "not the password at all"}
    for _ in range(5):
        assert cli(*args, env=wrong)[2] == "AUTH.E020"
    assert cli(*args, env={"TRIALKIT_PASSWORD": PASSWORD})[2] == "AUTH.E022"
    users = cli("user", "list", "--url", database_url)[1]
    assert "locked until" in users


def test_no_terminal_and_no_password_variable_is_refused(
    team: tuple[Database, dict[str, str]], database_url: str
) -> None:
    _, ps = team
    args = ("allocate", UCM, ps[UCM], "--user", "s.karimi", "--url", database_url)
    result = CliRunner().invoke(app, list(args), env={"TRIALKIT_PASSWORD": None})
    assert isinstance(result.exception, TrialkitError)
    assert result.exception.code == "CLI.E021"


def test_tokens_are_created_listed_used_and_revoked(
    team: tuple[Database, dict[str, str]], database_url: str
) -> None:
    _, ps = team
    url = ("--url", database_url)
    code, out, _ = cli("token", "create", "s.karimi", "--name", "laptop", *url)
    assert code == 0
    token = out.strip().splitlines()[0]
    assert token.startswith("tk_")
    listed = cli("token", "list", *url)[1]
    assert "laptop" in listed
    assert token[:10] in listed
    assert token not in listed  # only its first characters
    code, out, _ = cli("allocate", UCM, ps[UCM], *CONFIRM, *url, env={"TRIALKIT_TOKEN": token})
    assert (code, "(by s.karimi)" in out) == (0, True)
    assert cli("token", "revoke", "1", *url)[0] == 0
    assert "revoked" in cli("token", "list", "s.karimi", *url)[1]
    code, _, err = cli(
        "allocate", MASKED, ps[MASKED], *CONFIRM, *url, env={"TRIALKIT_TOKEN": token}
    )
    assert (code, err) == (1, "AUTH.E034")
    bad = cli("allocate", UCM, ps[UCM], *url, env={"TRIALKIT_TOKEN": "tk_nonsense"})
    assert bad[2] == "AUTH.E033"


def test_an_expired_token_is_refused(
    team: tuple[Database, dict[str, str]], database_url: str
) -> None:
    _, ps = team
    url = ("--url", database_url)
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    token = cli("token", "create", "s.karimi", "--expires", tomorrow, *url)[1].split()[0]
    with time_machine.travel(datetime.now() + timedelta(days=2), tick=False):
        code, _, err = cli("allocate", UCM, ps[UCM], *CONFIRM, *url, env={"TRIALKIT_TOKEN": token})
    assert (code, err) == (1, "AUTH.E035")
    assert cli("token", "create", "s.karimi", "--expires", "2020-01-01", *url)[2] == "AUTH.E036"
    assert cli("token", "create", "s.karimi", "--expires", "soon", *url)[2] == "CLI.E014"


def test_a_token_limited_to_one_study_reaches_only_that_study(
    team: tuple[Database, dict[str, str]], database_url: str
) -> None:
    _, ps = team
    url = ("--url", database_url)
    token = cli("token", "create", "s.karimi", "--study", MASKED, *url)[1].split()[0]
    env = {"TRIALKIT_TOKEN": token}
    code, _, err = cli("allocate", UCM, ps[UCM], *CONFIRM, *url, env=env)
    assert (code, err) == (1, "AUTH.E010")
    assert cli("allocate", MASKED, ps[MASKED], *CONFIRM, *url, env=env)[0] == 0
    assert MASKED in cli("token", "list", *url)[1]
    assert cli("token", "create", "s.karimi", "--study", "nope", *url)[2] == "STUDY.E003"
    assert cli("token", "create", "nobody", *url)[2] == "AUTH.E002"


def test_a_redcap_token_is_issued_for_one_study(
    team: tuple[Database, dict[str, str]], database_url: str
) -> None:
    url = ("--url", database_url)
    code, out, _ = cli("token", "create", "s.karimi", "--study", UCM, "--redcap", *url)
    token = out.strip().splitlines()[0]
    assert code == 0
    assert re.fullmatch(r"[0-9A-F]{32}", token)
    assert token[:4] in cli("token", "list", *url)[1]
    assert cli("token", "create", "s.karimi", "--redcap", *url)[2] == "AUTH.E037"


def test_allocate_on_an_unknown_study_says_so(
    team: tuple[Database, dict[str, str]], database_url: str
) -> None:
    code, _, err = cli(
        "allocate", "no-such-study", "X-1", "--user", "s.karimi", "--url", database_url,
        env={"TRIALKIT_PASSWORD": PASSWORD},
    )  # fmt: skip
    assert (code, err) == (1, "STUDY.E003")


def test_user_list_shows_memberships(
    team: tuple[Database, dict[str, str]], database_url: str
) -> None:
    code, out, _ = cli("user", "list", "--url", database_url)
    assert code == 0
    assert "s.karimi" in out
    assert "coordinator at site TEH" in out
    assert "active" in out


def test_a_refused_login_prints_one_line(
    team: tuple[Database, dict[str, str]], database_url: str, tmp_path: Path
) -> None:
    _, ps = team
    out = subprocess.run(
        [sys.executable, "-m", "trialkit", "allocate", UCM, ps[UCM], "--user", "s.karimi",
         "--url", database_url],
        capture_output=True, text=True, check=False,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": ":".join(sys.path),
             "TRIALKIT_PASSWORD": "wrong password here", "HOME": str(tmp_path)},
    )  # fmt: skip
    assert out.returncode == 1
    assert out.stderr.strip() == "error [AUTH.E020]: unknown user or wrong password"
    assert "Traceback" not in out.stderr


def test_analyse_db_acts_as_a_user(
    team: tuple[Database, dict[str, str]], database_url: str
) -> None:
    url = ("--db", "--url", database_url)
    code, out, _ = cli("analyse", UCM, *url)  # analyse prints its own errors
    assert (code, "error [CLI.E020]" in out) == (1, True)
    env: dict[str, str | None] = {"TRIALKIT_PASSWORD": PASSWORD}
    code, out, _ = cli("analyse", UCM, *url, "--user", "s.karimi", env=env)
    assert (code, "error [AUTH.E010]" in out) == (1, True)  # one site's coordinator: no analysis
