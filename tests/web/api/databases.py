"""The demo database on SQLite and on PostgreSQL, for API tests that run on both.

A test module that does ``from tests.web.api.databases import web_db`` replaces the web tests'
SQLite-only ``web_db`` with this module-scoped one, parametrised over both databases: every
test of the module (and the ``app`` and ``bearer`` fixtures built on it) runs once on a copy
of the SQLite demo file and once on the demo seeded into a private schema of the test
PostgreSQL (``TRIALKIT_TEST_DATABASE_URL``; skipped with that reason when it is not set).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.conftest import POSTGRES_ENV
from tests.web.conftest import TODAY, copy_demo

from trialkit.store import Database
from trialkit.web.demo_mode import ensure_demo_database

__all__ = ["web_db"]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def web_db(
    request: pytest.FixtureRequest, demo_file: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Database]:
    if request.param == "sqlite":
        db = copy_demo(demo_file, tmp_path_factory.mktemp("web"))
        try:
            yield db
        finally:
            db.dispose()
        return
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        pytest.skip(f"{POSTGRES_ENV} is not set: no PostgreSQL server to test against")
    import sqlalchemy as sa

    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    db = Database.from_url(f"{base}{sep}options=-csearch_path%3D{schema}")
    try:
        assert ensure_demo_database(db, TODAY)
        yield db
    finally:
        db.dispose()
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
