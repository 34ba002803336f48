"""Create or migrate a database to the current schema with Alembic, programmatically."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from trialkit.errors import StorageError
from trialkit.store.tables import metadata

__all__ = [
    "UpgradeResult",
    "alembic_config",
    "current_revision",
    "head_revision",
    "schema_diff",
    "upgrade",
]

_SCRIPTS = Path(__file__).with_name("migrations")


def alembic_config(connection: sa.Connection | None = None) -> Config:
    """An Alembic configuration for the packaged migrations, bound to ``connection``."""
    cfg = Config()
    cfg.set_main_option("script_location", str(_SCRIPTS))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    """The newest migration shipped with this version of trialkit."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or ``None`` for a database never upgraded."""
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    except sa.exc.OperationalError as exc:
        raise StorageError(
            f"cannot reach the database at {engine.url.render_as_string()!r}: {exc.orig}",
            code="STORE.E011",
            hint="check that the server is running and the URL (user, host, database) is right",
        ) from exc


@dataclass(frozen=True)
class UpgradeResult:
    before: str | None
    after: str


def upgrade(engine: Engine, revision: str = "head") -> UpgradeResult:
    """Bring the database to ``revision`` (default: the newest), in one transaction."""
    before = current_revision(engine)
    try:
        with engine.begin() as conn:
            command.upgrade(alembic_config(conn), revision)
    except sa.exc.OperationalError as exc:
        raise StorageError(
            f"cannot migrate the database at {engine.url.render_as_string()!r}: {exc.orig}",
            code="STORE.E010",
            hint="check that the server is running and the URL (user, host, database) is right",
        ) from exc
    after = current_revision(engine)
    assert after is not None
    return UpgradeResult(before, after)


def schema_diff(engine: Engine) -> list[object]:
    """Differences between the tables in code and the database (empty when they match)."""
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff: list[object] = compare_metadata(ctx, metadata)
        return diff
