"""Engines for the two supported databases, configured the one way trialkit needs them.

SQLite (the embedded default): WAL journal, foreign keys on, a busy timeout, and every
transaction opened with ``BEGIN IMMEDIATE`` so that writers queue for the write lock at the
start instead of failing half-way with "database is locked". The driver's own implicit
``BEGIN`` is switched off (``isolation_level = None`` on the DBAPI connection) and SQLAlchemy's
``begin`` event emits ours, as the SQLAlchemy documentation describes for pysqlite.

PostgreSQL (production): ``postgresql+psycopg://``; the URL may carry
``options=-csearch_path=...`` and every connection honours it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine

from trialkit.errors import StorageError

__all__ = ["DATABASE_URL_ENV", "DEFAULT_SQLITE_FILE", "default_url", "make_engine"]

#: The environment variable that selects the database.
DATABASE_URL_ENV = "TRIALKIT_DATABASE_URL"
#: The SQLite file used when no URL is given and the variable is unset (current directory).
DEFAULT_SQLITE_FILE = "trialkit.sqlite3"

_BUSY_TIMEOUT_MS = 30_000


def default_url(explicit: str | None = None) -> str:
    """``explicit``, else ``$TRIALKIT_DATABASE_URL``, else ``sqlite:///./trialkit.sqlite3``."""
    if explicit:
        return explicit
    env = os.environ.get(DATABASE_URL_ENV)
    if env:
        return env
    return f"sqlite:///{Path.cwd() / DEFAULT_SQLITE_FILE}"


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Take transaction control away from the driver: we emit BEGIN ourselves.
    dbapi_connection.isolation_level = None
    cur = dbapi_connection.cursor()
    try:
        cur.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.execute("PRAGMA synchronous = NORMAL")
    finally:
        cur.close()


def _sqlite_begin(conn: sa.Connection) -> None:
    # Reads (Database.read) take no write lock; every other transaction is a writer; a
    # connection for one read statement (Database.read_one) begins nothing at all.
    options = conn.get_execution_options()
    if options.get("trialkit_one_statement"):
        return
    if options.get("trialkit_read_only"):
        conn.exec_driver_sql("BEGIN")
    else:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str | None = None, **kwargs: Any) -> Engine:
    """An engine for ``url`` (see :func:`default_url`), configured for trialkit."""
    target = default_url(url)
    try:
        parsed = sa.make_url(target)
    except sa.exc.ArgumentError as exc:
        raise StorageError(
            f"database URL {target!r} cannot be read",
            code="STORE.E001",
            hint="use sqlite:///path/to/file.sqlite3 or postgresql+psycopg://user@host/db",
        ) from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.database in (None, "", ":memory:"):
            raise StorageError(
                f"database URL {target!r} names no SQLite file",
                code="STORE.E002",
                hint="give a file path, e.g. sqlite:///trialkit.sqlite3 (an in-memory database "
                "is not shared between connections)",
            )
        engine = sa.create_engine(parsed, **kwargs)
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    if backend == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        kwargs.setdefault("pool_pre_ping", True)
        return sa.create_engine(parsed, **kwargs)
    raise StorageError(
        f"database {backend!r} is not supported (URL {parsed.render_as_string()!r})",
        code="STORE.E003",
        hint="trialkit runs on SQLite (sqlite:///file) or PostgreSQL (postgresql+psycopg://...)",
    )
