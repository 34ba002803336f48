"""Migration 0005 creates the web session and preference tables and removes them again."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command

from trialkit.store import Database, upgrade
from trialkit.store.migrate import alembic_config


def test_upgrade_and_downgrade_of_the_web_tables(database_url: str) -> None:
    database = Database.from_url(database_url)
    try:
        upgrade(database.engine)
        names = set(sa.inspect(database.engine).get_table_names())
        assert {"web_session", "web_preference"} <= names
        with database.engine.begin() as conn:
            command.downgrade(alembic_config(conn), "0002")
        names = set(sa.inspect(database.engine).get_table_names())
        assert not {"web_session", "web_preference"} & names
        assert "app_user" in names
        upgrade(database.engine)
        assert {"web_session", "web_preference"} <= set(
            sa.inspect(database.engine).get_table_names()
        )
    finally:
        database.dispose()
