"""``trialkit amend`` on a real SQLite database, as real users with their roles: a version
checked, loaded with its approval, applied to one participant and then to all; a version loaded
without approval is refused until approved; only the study's administrator."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

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
)
from trialkit.services.participants import get
from trialkit.store import Database, upgrade

UCM = "psoriasis-ucmsc"
PASSWORD = "a passphrase long enough"
TEXT = dict(shipped_studies())[f"{UCM}.yaml"]
V2 = TEXT.replace('protocol_version: "1.0"', 'protocol_version: "2.0"', 1).replace(
    "expression: age between 18 and 65", "expression: age between 18 and 70", 1
)
TOKENS: dict[str, str] = {}
APPROVAL = ["--committee", "TUMS REC", "--reference", "IR.TUMS.REC.1404.7", "--approved-on"]


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("cli") / "amend.sqlite3"
    db = Database.from_url(f"sqlite:///{path}")
    try:
        upgrade(db.engine)
        ctx = Context.operator("admin", datetime(2025, 3, 3, 9))
        load_study(db, ctx, TEXT, source=UCM)
        add_site(db, ctx, UCM, "TEH", "Tehran")
        for name, role in (("chief", "administrator"), ("nurse", "coordinator")):
            create_user(db, ctx, name, PASSWORD, display_name=name.upper())
            add_membership(db, ctx, name, UCM, role)
            TOKENS[name] = issue_token(db, ctx, "cli tests", username=name).token
        for _ in range(3):
            register(db, ctx, UCM, "TEH")
    finally:
        db.dispose()
    return f"sqlite:///{path}"


def _cli(url: str, user: str, *args: str) -> tuple[int, str]:
    env = {"TRIALKIT_PASSWORD": None, "TRIALKIT_TOKEN": TOKENS[user]}
    result = CliRunner().invoke(app, [*args, "--url", url], env=env)
    return result.exit_code, result.output


def _version(url: str, code: str) -> str:
    db = Database.from_url(url)
    try:
        return get(db, Context.operator("admin", datetime(2025, 3, 4)), UCM, code).protocol_version
    finally:
        db.dispose()


def test_check_load_and_apply(url: str, tmp_path: Path) -> None:
    new = tmp_path / "v2.yaml"
    new.write_text(V2, encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text(V2.replace("and 70", "and", 1), encoding="utf-8")
    code, out = _cli(url, "chief", "amend", "check", UCM, str(new))
    assert code == 0, out
    assert "changed criteria I2" in out
    assert "'age between 18 and 65' -> 'age between 18 and 70'" in out
    code, out = _cli(url, "chief", "amend", "load", UCM, str(bad), *APPROVAL, "2025-03-01")
    assert code == 1
    assert "AMEND.E006" in out
    code, out = _cli(url, "nurse", "amend", "load", UCM, str(new), *APPROVAL, "2025-03-01")
    assert code == 1
    assert "AUTH.E010" in out
    code, out = _cli(url, "chief", "amend", "load", UCM, str(new), *APPROVAL, "2025-03-01")
    assert code == 0, out
    assert "version 2.0 loaded with its approval (IR.TUMS.REC.1404.7)" in out
    code, out = _cli(url, "chief", "amend", "apply", UCM, "2.0", "--reason", "re-consented")
    assert code == 1
    assert "AMEND.E017" in out  # neither participants nor --all
    first = "UCM-TEH-001"
    code, out = _cli(url, "chief", "amend", "apply", UCM, "2.0", first, "--reason", "re-consented")
    assert code == 0, out
    assert _version(url, first) == "2.0"
    code, out = _cli(
        url, "chief", "amend", "apply", UCM, "2.0", "--all", "--reason", "amendment 2", "--json"
    )
    assert code == 0, out
    report = json.loads(out)
    assert report["moved"] == ["UCM-TEH-002", "UCM-TEH-003"]
    assert report["not_moved"] == []
    code, out = _cli(url, "chief", "amend", "apply", UCM, "2.0", first, "--reason", "again")
    assert code == 1
    assert "AMEND.E014" in out
    code, out = _cli(url, "chief", "amend", "versions", UCM, "--json")
    assert code == 0, out
    listed = json.loads(out)
    assert [(v["version"], v["participants"]) for v in listed] == [("2.0", 3), ("1.0", 0)]
    assert listed[0]["approval"]["reference"] == "IR.TUMS.REC.1404.7"
    assert listed[1]["approval"] is None


def test_a_version_loaded_without_approval_waits_for_it(url: str) -> None:
    db = Database.from_url(url)
    try:
        load_study(
            db,
            Context.operator("admin", datetime(2025, 3, 4)),
            V2.replace('protocol_version: "2.0"', 'protocol_version: "2.1"', 1),
        )
    finally:
        db.dispose()
    code, out = _cli(url, "chief", "amend", "apply", UCM, "2.1", "--all", "--reason", "r")
    assert code == 1
    assert "AMEND.E013" in out
    code, out = _cli(url, "chief", "amend", "approve", UCM, "2.1", *APPROVAL, "not-a-date")
    assert code == 1
    assert "AMEND.E012" in out
    code, out = _cli(url, "chief", "amend", "approve", UCM, "2.1", *APPROVAL, "2025-03-02")
    assert code == 0, out
    assert "version 2.1 approved by TUMS REC" in out
    code, out = _cli(url, "chief", "amend", "versions", UCM)
    assert code == 0, out
    assert "2.1 (current)" in out
