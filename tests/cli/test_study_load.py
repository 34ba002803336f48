"""``trialkit study load`` and approvals, on SQLite and PostgreSQL: a study's first version
with or without its ethics approval; an amendment only with it, recorded in the same
transaction, so that no participant is registered under an unapproved version."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from typer.testing import CliRunner

from trialkit.cli import app
from trialkit.cli._operator import operator_name
from trialkit.errors import TrialkitError
from trialkit.protocol import shipped_studies
from trialkit.services import Context, add_site, register
from trialkit.services.amendments import versions
from trialkit.store import Database, verify
from trialkit.store.tables import audit_log, protocol_approval, protocol_version

UCM = "psoriasis-ucmsc"
PAE = "psoriasis-adipose-exosomes"
TEXT = dict(shipped_studies())[f"{UCM}.yaml"]
V2 = TEXT.replace('protocol_version: "1.0"', 'protocol_version: "2.0"', 1)
APPROVAL = ["--committee", "TUMS REC", "--reference", "IR.TUMS.REC.1404.9"]


def cli(*args: str) -> tuple[int, str, str]:
    """(exit code, output, error code) of one command, in process."""
    result = CliRunner().invoke(app, list(args), env={"TRIALKIT_TOKEN": None})
    if isinstance(result.exception, TrialkitError):
        return 1, str(result.exception), result.exception.code
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output, ""


def _counts(url: str) -> tuple[int, int, int]:
    """(protocol versions, approvals, audit entries) in the database at ``url``."""
    db = Database.from_url(url)
    try:
        with db.read() as conn:

            def count(table: sa.Table) -> int:
                return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())

            return count(protocol_version), count(protocol_approval), count(audit_log)
    finally:
        db.dispose()


def test_an_amendment_is_loaded_only_with_its_approval(database_url: str, tmp_path: Path) -> None:
    url = ["--url", database_url]
    assert cli("db", "upgrade", *url)[0] == 0
    code, out, _ = cli("study", "load", UCM, *url)  # the first version: approval optional
    assert code == 0, out
    assert "loaded psoriasis-ucmsc protocol version 1.0: no approval recorded" in out
    new = tmp_path / "v2.yaml"
    new.write_text(V2, encoding="utf-8")
    before = _counts(database_url)
    refusals = [
        ((), "AMEND.E018"),  # no approval at all
        (("--committee", "TUMS REC"), "AMEND.E011"),  # part of one: the rest is named
        (("--reference", "R-1", "--approved-on", "2025-03-01"), "AMEND.E010"),
        ((*APPROVAL, "--approved-on", "2025-13-01"), "AMEND.E012"),  # not a date
        ((*APPROVAL, "--approved-on", "2999-01-01"), "AMEND.E012"),  # in the future
        (("--committee", " ", "--reference", "R-1", "--approved-on", "2025-03-01"), "AMEND.E010"),
    ]
    for extra, error in refusals:
        code, out, err = cli("study", "load", str(new), *extra, *url)
        assert code == 1, (extra, out)
        assert err == error or f"error [{error}]" in out, (extra, out)
    code, out, err = cli("study", "load", str(new), *url)
    assert err == "AMEND.E018"
    assert "amendment (loaded: 1.0) and has no approval" in out
    assert "--committee NAME --reference REF --approved-on YYYY-MM-DD" in out
    assert "trialkit amend load" in out
    assert _counts(database_url) == before  # nothing written, not even an audit entry
    db = Database.from_url(database_url)
    operator = Context.operator("admin", datetime.now())
    try:
        add_site(db, operator, UCM, "TEH", "Tehran")
        assert register(db, operator, UCM, "TEH").protocol_version == "1.0"
    finally:
        db.dispose()

    code, out, _ = cli("study", "load", str(new), *APPROVAL, "--approved-on", "2025-03-01", *url)
    assert code == 0, out
    assert out.strip() == (
        "loaded psoriasis-ucmsc protocol version 2.0: approved by TUMS REC "
        "(IR.TUMS.REC.1404.9, 2025-03-01)"
    )
    again = cli("study", "load", str(new), *APPROVAL, "--approved-on", "2025-03-01", *url)
    assert again[0] == 0  # the same load again (a script run twice) writes nothing
    assert "is loaded already: approved by TUMS REC" in again[1]
    code, _, err = cli("study", "load", str(new), *APPROVAL, "--approved-on", "2025-02-01", *url)
    assert (code, err) == (1, "AMEND.E009")  # another approval for it
    code, _, err = cli("study", "load", UCM, *APPROVAL, "--approved-on", "2025-02-01", *url)
    assert (code, err) == (1, "AMEND.E008")  # 1.0 has none: `trialkit amend approve` records it
    # A new study's first version with its approval.
    code, out, _ = cli("study", "load", PAE, *APPROVAL, "--approved-on", "2025-01-15", *url)
    assert code == 0, out
    assert "loaded psoriasis-adipose-exosomes protocol version 1.0: approved by TUMS REC" in out

    db = Database.from_url(database_url)
    try:
        assert register(db, operator, UCM, "TEH").protocol_version == "2.0"
        listed = {v.version: v.approval for v in versions(db, operator, UCM)}
        assert listed["1.0"] is None
        approval = listed["2.0"]
        assert approval is not None
        assert (approval.committee, approval.reference, approval.recorded_by) == (
            "TUMS REC",
            "IR.TUMS.REC.1404.9",
            operator_name(),
        )
        (pae,) = versions(db, operator, PAE)
        assert pae.approval is not None
        assert pae.approval.reference == "IR.TUMS.REC.1404.9"
        with db.read() as conn:
            assert verify(conn).ok
            entries = conn.execute(
                sa.select(audit_log.c.entity, audit_log.c.action, audit_log.c.actor).where(
                    audit_log.c.entity.in_(["protocol_version", "protocol_approval"])
                )
            ).all()
    finally:
        db.dispose()
    assert sorted(set(entries)) == [
        ("protocol_approval", "approve", operator_name()),
        ("protocol_version", "load", operator_name()),
    ]


def test_the_help_names_the_approval() -> None:
    result = CliRunner().invoke(app, ["study", "load", "--help"])
    assert result.exit_code == 0
    for option in ("--committee", "--reference", "--approved-on"):
        assert option in result.output
