"""Migration 0008 (the approvals of protocol versions) goes up and down on both databases."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command

from trialkit.store import Database, upgrade
from trialkit.store.migrate import alembic_config, current_revision


def _tables(db: Database) -> set[str]:
    return set(sa.inspect(db.engine).get_table_names())


def test_protocol_approval_goes_up_and_down(database_url: str) -> None:
    db = Database.from_url(database_url)
    try:
        upgrade(db.engine, "0007")
        assert "protocol_approval" not in _tables(db)
        upgrade(db.engine, "0008")
        assert "protocol_approval" in _tables(db)
        fks = sa.inspect(db.engine).get_foreign_keys("protocol_approval")
        assert [fk["referred_table"] for fk in fks] == ["protocol_version"]
        uniques = sa.inspect(db.engine).get_unique_constraints("protocol_approval")
        assert [u["column_names"] for u in uniques] == [["protocol_version_id"]]
        with db.engine.begin() as conn:
            command.downgrade(alembic_config(conn), "0007")
        assert current_revision(db.engine) == "0007"
        assert "protocol_approval" not in _tables(db)
        upgrade(db.engine)
        assert "protocol_approval" in _tables(db)
    finally:
        db.dispose()
