"""Storage: SQLAlchemy tables, engines for SQLite and PostgreSQL, Alembic, the audit ledger."""

from trialkit.store import canonical
from trialkit.store.audited import AUDITED, NOT_AUDITED, Audited
from trialkit.store.database import Database
from trialkit.store.direct import DirectResult, Prepared
from trialkit.store.engine import DATABASE_URL_ENV, DEFAULT_SQLITE_FILE, default_url, make_engine
from trialkit.store.ledger import (
    Change,
    Difference,
    HeadAnchor,
    Problem,
    RowLead,
    RowNotWritten,
    Verification,
    anchor_line,
    append,
    entry_at,
    entry_hash,
    head,
    parse_anchors,
    verify,
)
from trialkit.store.migrate import (
    UpgradeResult,
    current_revision,
    head_revision,
    schema_diff,
    upgrade,
)
from trialkit.store.replay import verify_all
from trialkit.store.tables import GENESIS_HASH, metadata

__all__ = [
    "AUDITED",
    "DATABASE_URL_ENV",
    "DEFAULT_SQLITE_FILE",
    "GENESIS_HASH",
    "NOT_AUDITED",
    "Audited",
    "Change",
    "Database",
    "Difference",
    "DirectResult",
    "HeadAnchor",
    "Prepared",
    "Problem",
    "RowLead",
    "RowNotWritten",
    "UpgradeResult",
    "Verification",
    "anchor_line",
    "append",
    "canonical",
    "current_revision",
    "default_url",
    "entry_at",
    "entry_hash",
    "head",
    "head_revision",
    "make_engine",
    "metadata",
    "parse_anchors",
    "schema_diff",
    "upgrade",
    "verify",
    "verify_all",
]
