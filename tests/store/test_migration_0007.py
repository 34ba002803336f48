"""Migration 0007 (API tokens limited to one study) goes up and down on both databases."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command

from trialkit.store import Database, upgrade
from trialkit.store.migrate import alembic_config, current_revision


def _columns(db: Database) -> set[str]:
    return {c["name"] for c in sa.inspect(db.engine).get_columns("api_token")}


def test_token_study_goes_up_and_down(database_url: str) -> None:
    db = Database.from_url(database_url)
    try:
        upgrade(db.engine, "0002")
        assert "study_id" not in _columns(db)
        upgrade(db.engine, "0007")
        assert "study_id" in _columns(db)
        fks = sa.inspect(db.engine).get_foreign_keys("api_token")
        assert any(fk["referred_table"] == "study" for fk in fks)
        with db.engine.begin() as conn:
            command.downgrade(alembic_config(conn), "0002")
        assert current_revision(db.engine) == "0002"
        assert "study_id" not in _columns(db)
        upgrade(db.engine)
        assert "study_id" in _columns(db)
    finally:
        db.dispose()
