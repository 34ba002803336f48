"""Storage: SQLAlchemy tables, engines for SQLite and PostgreSQL, Alembic, the audit ledger."""

from trialkit.store import canonical
from trialkit.store.database import Database
from trialkit.store.direct import DirectResult, Prepared
from trialkit.store.engine import DATABASE_URL_ENV, DEFAULT_SQLITE_FILE, default_url, make_engine
from trialkit.store.ledger import Change, Problem, Verification, append, entry_hash, head, verify
from trialkit.store.migrate import (
    UpgradeResult,
    current_revision,
    head_revision,
    schema_diff,
    upgrade,
)
from trialkit.store.tables import GENESIS_HASH, metadata

__all__ = [
    "DATABASE_URL_ENV",
    "DEFAULT_SQLITE_FILE",
    "GENESIS_HASH",
    "Change",
    "Database",
    "DirectResult",
    "Prepared",
    "Problem",
    "UpgradeResult",
    "Verification",
    "append",
    "canonical",
    "current_revision",
    "default_url",
    "entry_hash",
    "head",
    "head_revision",
    "make_engine",
    "metadata",
    "schema_diff",
    "upgrade",
    "verify",
]
