"""A synthetic trial through the services: the same seed gives the same database, the audit
trail verifies, the team stays, and bad scenarios are refused with their codes."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from trialkit.errors import DefinitionError, NotFound
from trialkit.services import Context, list_users
from trialkit.simulate import TEAM, default_scenario, load_scenario, simulate
from trialkit.store import Database, upgrade
from trialkit.store.tables import metadata

UCM = "psoriasis-ucmsc"
#: Random by design and never compared: the argon2 hashes (salted).
_RANDOM = {("app_user", "password_hash")}


def _content(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in key order, as text (the backend's own types aside)."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    with db.read() as conn:
        for table in metadata.sorted_tables:
            cols = [c for c in table.columns if (table.name, c.name) not in _RANDOM]
            rows = conn.execute(sa.select(*cols).order_by(*table.primary_key.columns)).all()
            out[table.name] = [tuple(_text(v) for v in row) for row in rows]
    return out


def _text(value: Any) -> Any:
    if isinstance(value, dict | list):
        import json

        return json.dumps(value, sort_keys=True, default=str)
    return None if value is None else str(value)


def _run(url: str, seed: int) -> tuple[Database, Any]:
    db = Database.from_url(url)
    upgrade(db.engine)
    return db, simulate(db, UCM, participants=4, seed=seed)


@pytest.fixture(scope="module")
def first(tmp_path_factory: pytest.TempPathFactory) -> Any:
    path = tmp_path_factory.mktemp("sim") / "a.sqlite3"
    db, result = _run(f"sqlite:///{path}", 7)
    try:
        users = list_users(db, Context.operator("t", datetime(2030, 1, 1)))
        yield _content(db), result, {u.user.username for u in users}
    finally:
        db.dispose()


def test_same_seed_same_database(first: Any, database_url: str) -> None:
    content, result, _ = first
    db, again = _run(database_url, 7)
    try:
        assert again == result
        other = _content(db)
        assert other.keys() == content.keys()
        for name in content:
            assert other[name] == content[name], name
    finally:
        db.dispose()


def test_the_trial_ran_by_its_team_and_its_audit_trail_verifies(first: Any) -> None:
    _, result, users = first
    assert users == {p.username for p in TEAM}  # the synthetic team stays in the database
    assert result.audit_ok
    assert result.audit_entries > 500
    assert result.candidates == 4
    enrolled = sum(result.enrolled.values())
    assert result.candidates == result.screen_failed + result.not_enrolled + enrolled
    assert enrolled == result.completed + result.withdrawn + result.lost
    assert result.doses > 0
    assert result.visits > 0
    assert result.forms > result.visits


def test_a_scenario_for_another_study_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    text = Path(__file__).parents[2] / "src/trialkit/simulate/scenarios/psoriasis-ucmsc.yaml"
    path.write_text(text.read_text(encoding="utf-8"), encoding="utf-8")
    assert load_scenario(path, UCM) == default_scenario(UCM)
    with pytest.raises(DefinitionError) as info:
        load_scenario(path, "ibd-placental-exosomes")
    assert info.value.code == "SIM.E005"
    path.write_text("study: psoriasis-ucmsc\narrivals_per_week: -1\n", encoding="utf-8")
    with pytest.raises(DefinitionError) as bad:
        load_scenario(path, UCM)
    assert bad.value.code == "SIM.E002"
    assert "arrivals_per_week" in str(bad.value)
    with pytest.raises(NotFound) as none:
        default_scenario("no-such-study")
    assert none.value.code == "SIM.E003"


def test_the_cli_simulates_and_refuses_what_it_cannot(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from trialkit.cli import app

    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    ok = CliRunner().invoke(app, ["simulate", UCM, "--participants", "1", "--url", url])
    assert ok.exit_code == 0, ok.output
    assert f"{UCM}: 1 screened" in ok.output
    assert "verified" in ok.output
    for args, code in (
        (["no-such-study", "--participants", "1"], "SIM.E003"),
        ([UCM, "--participants", "0"], "SIM.E007"),
        ([UCM, "--participants", "1", "--scenario", str(tmp_path / "none.yaml")], "SIM.E004"),
    ):
        bad = CliRunner().invoke(app, ["simulate", *args, "--url", url])
        assert bad.exit_code == 1, bad.output
        assert code in bad.output
        assert "Traceback" not in bad.output
