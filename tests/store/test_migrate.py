"""`upgrade` creates the schema on an empty database and the tables in code match it."""

from __future__ import annotations

import sqlalchemy as sa
from typer import Typer
from typer.testing import CliRunner

from trialkit.cli import db as db_cli
from trialkit.store import (
    GENESIS_HASH,
    Database,
    current_revision,
    head,
    head_revision,
    schema_diff,
    upgrade,
)


def test_upgrade_creates_the_schema_and_is_idempotent(database_url: str) -> None:
    database = Database.from_url(database_url)
    try:
        assert current_revision(database.engine) is None
        first = upgrade(database.engine)
        assert (first.before, first.after) == (None, head_revision())
        names = set(sa.inspect(database.engine).get_table_names())
        assert {"study", "participant", "form_instance", "audit_log", "audit_head"} <= names
        again = upgrade(database.engine)
        assert again.before == again.after == head_revision()
        with database.read() as conn:
            assert head(conn) == (0, GENESIS_HASH)
    finally:
        database.dispose()


def test_models_match_the_migration(database_url: str) -> None:
    database = Database.from_url(database_url)
    try:
        upgrade(database.engine)
        assert schema_diff(database.engine) == []
    finally:
        database.dispose()


def test_db_upgrade_command(database_url: str) -> None:
    app = Typer()
    db_cli.register(app)
    runner = CliRunner()
    out = runner.invoke(app, ["db", "upgrade", "--url", database_url])
    assert out.exit_code == 0, out.output
    assert "created the schema at revision" in out.output
    out = runner.invoke(app, ["db", "upgrade", "--url", database_url])
    assert out.exit_code == 0, out.output
    assert "already at schema revision" in out.output


def test_every_downgrade_runs_and_upgrade_again_rebuilds(database_url: str) -> None:
    """Upgrade to head, downgrade step by step to base, upgrade again: each migration's
    downgrade runs (on SQLite and PostgreSQL) and leaves nothing behind."""
    from alembic import command
    from alembic.script import ScriptDirectory

    from trialkit.store.migrate import alembic_config

    database = Database.from_url(database_url)
    try:
        upgrade(database.engine)
        revisions = [
            s.revision for s in ScriptDirectory.from_config(alembic_config()).walk_revisions()
        ]  # newest first
        for newer, older in zip(revisions, [*revisions[1:], None], strict=True):
            assert current_revision(database.engine) == newer
            with database.engine.begin() as conn:
                command.downgrade(alembic_config(conn), "-1")
            assert current_revision(database.engine) == older
        left = set(sa.inspect(database.engine).get_table_names()) - {"alembic_version"}
        assert left == set(), left
        again = upgrade(database.engine)
        assert (again.before, again.after) == (None, head_revision())
        assert schema_diff(database.engine) == []
        with database.read() as conn:
            assert head(conn) == (0, GENESIS_HASH)
    finally:
        database.dispose()
