"""A trialkit database: an engine plus the two kinds of transaction the services use.

``write()`` is the only way to change data. It opens one transaction and takes the ledger's
write lock first: on SQLite the whole transaction is ``BEGIN IMMEDIATE``; on PostgreSQL the one
``audit_head`` row is locked ``FOR UPDATE``. Clinical writes are therefore serialised in the
same order on both databases (no deadlocks, a gap-free audit sequence). The lock statement
also reads the ledger head, which :func:`trialkit.store.ledger.append` then uses instead of
reading it again (its head update is guarded by that head, so a stale one can never chain).
``read()`` takes no write lock and sees one snapshot of the database for its whole transaction
(the consistent-read mode every service uses): on PostgreSQL it runs ``REPEATABLE READ, READ
ONLY`` (a read-only transaction at that level never fails to serialise and never waits); on
SQLite a deferred transaction in WAL mode reads one snapshot from its first statement on.
Without it, a multi-statement read on PostgreSQL (READ COMMITTED by default) could see a write
committed between two of its statements: ``audit verify`` would read a head older than the log
and report an intact chain as broken, a report could count rows of two different moments.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from trialkit.errors import StorageError
from trialkit.store.direct import Prepared
from trialkit.store.engine import make_engine
from trialkit.store.ledger import HEAD_KEY
from trialkit.store.tables import audit_head

__all__ = ["Database"]

_READ_ONLY = "trialkit_read_only"

# Built once and run on the driver's cursor (see trialkit.store.direct).
_LOCK = Prepared(
    sa.select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == 1).with_for_update()
)


class Database:
    """The engine and transactions of one trialkit database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def from_url(cls, url: str | None = None, **kwargs: Any) -> Database:
        return cls(make_engine(url, **kwargs))

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def dispose(self) -> None:
        self.engine.dispose()

    @contextmanager
    def write(self) -> Iterator[sa.Connection]:
        """One write transaction holding the ledger lock; commits on success, else rolls back."""
        try:
            with self.engine.begin() as conn:
                locked = _LOCK.execute(conn).first()
                if locked is None:
                    raise StorageError(
                        "the database has no audit ledger head: it was not created by trialkit",
                        code="STORE.E020",
                        hint="run `trialkit db upgrade` on it first",
                    )
                seq, hash_ = locked
                conn.info[HEAD_KEY] = (int(seq), str(hash_))
                try:
                    yield conn
                finally:
                    conn.info.pop(HEAD_KEY, None)
        except sa.exc.OperationalError as exc:
            raise StorageError(
                f"the database refused the write: {exc.orig}",
                code="STORE.E021",
                hint="retry; if it persists check the database server and disk",
            ) from exc

    @contextmanager
    def read(self) -> Iterator[sa.Connection]:
        """A read-only transaction that sees one snapshot throughout; takes no write lock."""
        with self.engine.connect() as conn:
            if self.engine.dialect.name == "postgresql":
                conn = conn.execution_options(
                    isolation_level="REPEATABLE READ", postgresql_readonly=True
                )
            conn = conn.execution_options(**{_READ_ONLY: True})
            with conn.begin():
                yield conn
