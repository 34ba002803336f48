"""The demo database on SQLite and on PostgreSQL, for API tests that run on both.

A test module that does ``from tests.web.api.databases import web_db`` replaces the web tests'
SQLite-only ``web_db`` with this module-scoped one, parametrised over both databases: every
test of the module (and the ``app`` and ``bearer`` fixtures built on it) runs once on a copy
of the SQLite demo file and once on a copy of the demo on the test PostgreSQL (the web tests'
``postgres_demo``; skipped with the reason when ``TRIALKIT_TEST_DATABASE_URL`` is not set).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pytest
from tests.web.conftest import copy_demo

from trialkit.store import Database

__all__ = ["web_db"]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def web_db(
    request: pytest.FixtureRequest,
    demo_file: Path,
    tmp_path_factory: pytest.TempPathFactory,
    postgres_demo: Callable[[], AbstractContextManager[Database]],
) -> Iterator[Database]:
    if request.param == "sqlite":
        db = copy_demo(demo_file, tmp_path_factory.mktemp("web"))
        try:
            yield db
        finally:
            db.dispose()
        return
    with postgres_demo() as db:
        yield db
