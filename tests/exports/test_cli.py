"""``trialkit export`` as a user: files written, the summary line, errors on one line."""

from __future__ import annotations

from pathlib import Path

from tests.exports.conftest import PAE
from tests.services.conftest import PASSWORD, People
from typer.testing import CliRunner

from trialkit.cli import app
from trialkit.services import Role


def _cli(*args: str) -> tuple[int, str]:
    env = {"TRIALKIT_PASSWORD": PASSWORD, "TRIALKIT_TOKEN": None}
    result = CliRunner().invoke(app, ["export", *args], env=env)
    return result.exit_code, result.output


def test_export_as_a_user(
    database_url: str, filled: tuple[str, str], person: People, tmp_path: Path
) -> None:
    person("stat", PAE, Role.STATISTICIAN)
    person("coord", PAE, Role.COORDINATOR)
    base = [PAE, "--url", database_url, "--user"]
    status, out = _cli(*base, "stat", "--format", "csv", "--out", str(tmp_path / "csv"))
    assert status == 0, out
    assert out.startswith("csv: 2 participants, ")
    assert (tmp_path / "csv" / "wide.csv").is_file()
    status, out = _cli(
        *base, "stat", "--format", "xpt", "--out", str(tmp_path / "x"), "--as-of", "2025-07-31"
    )
    assert status == 0, out
    assert (tmp_path / "x" / "pasi.xpt").is_file()
    status, out = _cli(
        *base, "stat", "--format", "ctgov-results", "--out", str(tmp_path / "r"),
        "--as-of", "2025-07-31",
    )  # fmt: skip
    assert status == 0, out
    assert "results as of 2025-07-31: the data as they stood at the end of that day" in out
    status, out = _cli(*base, "coord", "--format", "csv", "--out", str(tmp_path / "c"))
    assert status == 1
    assert "error [AUTH." in out
    assert "Traceback" not in out
    status, out = _cli(*base, "stat", "--format", "sas", "--out", str(tmp_path / "s"))
    assert (status, "error [EXPORT.E002]" in out, "csv, stata, xpt, odm, fhir, ipd" in out) == (
        1,
        True,
        True,
    )
    status, out = _cli(*base, "stat", "--format", "csv", "--out", str(tmp_path), "--as-of", "July")
    assert (status, "error [EXPORT.E004]" in out) == (1, True)
