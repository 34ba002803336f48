"""Fixtures for service tests: a migrated database with the shipped studies loaded."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest

from trialkit.protocol import shipped_studies
from trialkit.services import Context, add_site, load_study
from trialkit.store import Database, upgrade

T0 = datetime(2025, 3, 3, 9, 0)


@pytest.fixture
def ctx() -> Context:
    return Context("dr.amini", T0)


@pytest.fixture
def db(database_url: str, ctx: Context) -> Iterator[Database]:
    database = Database.from_url(database_url)
    upgrade(database.engine)
    for name, text in shipped_studies():
        loaded = load_study(database, ctx, text, source=name)
        add_site(database, ctx, loaded.study, "TEH", "Tehran")
    try:
        yield database
    finally:
        database.dispose()
