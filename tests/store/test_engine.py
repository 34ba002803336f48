"""The SQLite engine runs WAL with foreign keys and writes under BEGIN IMMEDIATE."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa

from trialkit.errors import StorageError
from trialkit.store import DATABASE_URL_ENV, Database, default_url, make_engine, upgrade


def test_sqlite_pragmas(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()


def test_sqlite_write_transaction_holds_the_write_lock(tmp_path: Path) -> None:
    path = tmp_path / "lock.sqlite3"
    database = Database.from_url(f"sqlite:///{path}")
    upgrade(database.engine)
    try:
        with database.write():
            # Another connection cannot start writing while ours is open: BEGIN IMMEDIATE.
            other = sqlite3.connect(path, timeout=0, isolation_level=None)
            try:
                with pytest.raises(sqlite3.OperationalError, match="locked"):
                    other.execute("BEGIN IMMEDIATE")
                # ...but it can still read (WAL).
                assert other.execute("SELECT seq FROM audit_head").fetchone() == (0,)
            finally:
                other.close()
        with database.read() as conn:
            assert conn.execute(sa.text("SELECT 1")).scalar() == 1
    finally:
        database.dispose()


def test_default_url(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(DATABASE_URL_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    assert default_url() == f"sqlite:///{tmp_path / 'trialkit.sqlite3'}"
    monkeypatch.setenv(DATABASE_URL_ENV, "postgresql+psycopg://u@h/d")
    assert default_url() == "postgresql+psycopg://u@h/d"
    assert default_url("sqlite:///given.sqlite3") == "sqlite:///given.sqlite3"


@pytest.mark.parametrize(
    ("url", "code"),
    [("nonsense", "STORE.E001"), ("sqlite://", "STORE.E002"), ("mysql://u@h/d", "STORE.E003")],
)
def test_bad_urls_are_refused_plainly(url: str, code: str) -> None:
    with pytest.raises(StorageError) as err:
        make_engine(url)
    assert err.value.code == code
