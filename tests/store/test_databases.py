"""The storage plumbing itself: both real databases answer, each test in its own namespace."""

from __future__ import annotations

import sqlalchemy as sa


def test_database_is_real_and_isolated(database_url: str) -> None:
    engine = sa.create_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE probe (id INTEGER PRIMARY KEY, v TEXT)"))
            conn.execute(sa.text("INSERT INTO probe (id, v) VALUES (1, 'x')"))
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT v FROM probe")).scalar_one() == "x"
    finally:
        engine.dispose()
