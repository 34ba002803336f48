"""Migration 0003 (pharmacist role, dose preparations, serious reports) up and down."""

from __future__ import annotations

import pytest
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


def test_downgrade_refuses_while_a_pharmacist_membership_exists(database_url: str) -> None:
    from datetime import datetime

    from trialkit.protocol import shipped_studies
    from trialkit.services import Context, Role, add_membership, create_user, load_study

    database = Database.from_url(database_url)
    try:
        upgrade(database.engine)
        ctx = Context.operator("ops", datetime(2025, 3, 3, 9))
        load_study(database, ctx, dict(shipped_studies())["psoriasis-ucmsc.yaml"])
        create_user(database, ctx, "pharm", "a passphrase long enough", display_name="P")
        add_membership(database, ctx, "pharm", "psoriasis-ucmsc", Role.PHARMACIST)
        with pytest.raises(RuntimeError, match="pharmacist role"):
            _downgrade(database, "0002")
        assert "dose_preparation" in sa.inspect(database.engine).get_table_names()
    finally:
        database.dispose()
