"""A migrated trialkit database for each storage test (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from trialkit.store import Database, upgrade


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database.from_url(database_url)
    upgrade(database.engine)
    try:
        yield database
    finally:
        database.dispose()
