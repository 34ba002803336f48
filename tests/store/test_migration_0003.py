"""Migration 0003 (pharmacist role, dose preparations, serious reports) up and down."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command

from trialkit.store import Database, schema_diff, upgrade
from trialkit.store.migrate import alembic_config


def _downgrade(database: Database, revision: str) -> None:
    with database.engine.begin() as conn:
        command.downgrade(alembic_config(conn), revision)


def test_upgrade_and_downgrade_0003(database_url: str) -> None:
    database = Database.from_url(database_url)
    try:
        upgrade(database.engine)
        assert schema_diff(database.engine) == []
        names = set(sa.inspect(database.engine).get_table_names())
        assert {"dose_preparation", "serious_report"} <= names
        _downgrade(database, "0002")
        names = set(sa.inspect(database.engine).get_table_names())
        assert not {"dose_preparation", "serious_report"} & names
        checks = sa.inspect(database.engine).get_check_constraints("membership")
        assert not any("pharmacist" in (c.get("sqltext") or "") for c in checks)
        upgrade(database.engine)
        assert schema_diff(database.engine) == []
        checks = sa.inspect(database.engine).get_check_constraints("membership")
        assert any("pharmacist" in (c.get("sqltext") or "") for c in checks)
    finally:
        database.dispose()
