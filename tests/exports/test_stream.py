"""The form rows and the visit dates read straight from the driver's cursor
(``trialkit.store.stream``): the records and the dates are those read through Core, on SQLite
and PostgreSQL, in batches smaller than the study; the direct read is taken where it applies
and not where it does not (an export as of a past day, an observed connection); a driver
error is SQLAlchemy's."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
import sqlalchemy as sa
from tests.exports.conftest import CORRECTED, PAE
from tests.exports.test_fast_path import seeded  # noqa: F401 (fixture)

from trialkit.services import Context
from trialkit.services import extract as extract_module
from trialkit.services.extract import open_extract
from trialkit.store import Database, stream


def _records(db: Database, ctx: Context, as_of: datetime | None = None) -> list[Any]:
    with open_extract(db, ctx, PAE, as_of=as_of) as extract:
        return [(r.person, *r[1:8], r.layout.cells, r.texts) for r in extract.records()]


@pytest.mark.parametrize("as_of", [None, CORRECTED.replace(hour=0)])
def test_the_direct_read_gives_the_records_of_cores(
    db: Database,
    ctx: Context,
    seeded: tuple[str, ...],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    as_of: datetime | None,
) -> None:
    taken: list[bool] = []
    direct = stream.stream

    def watched(*args: Any) -> Any:
        found = direct(*args)
        if "form_instance.data" in str(args[1]):  # the records' read (not the visit dates')
            taken.append(found is not None)
        return found

    monkeypatch.setattr(extract_module, "_BATCH", 7)  # several batches
    monkeypatch.setattr(extract_module, "stream", watched)
    fast = _records(db, ctx, as_of)
    assert taken == ([] if as_of is not None else [True])  # as of a day: Core (the trail)
    monkeypatch.setattr(extract_module, "stream", lambda *args: None)
    assert fast == _records(db, ctx, as_of)
    assert len(fast) > 7


def test_an_observed_connection_is_read_through_core(
    db: Database,
    ctx: Context,
    seeded: tuple[str, ...],  # noqa: F811
) -> None:
    seen: list[str] = []

    def listen(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        seen.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", listen)
    try:
        with open_extract(db, ctx, PAE) as extract:
            q = sa.select(sa.literal(1))
            assert stream.stream(extract.connection, q, 10) is None
            assert list(extract.records())
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", listen)
    assert any("form_instance" in s for s in seen)  # the listener saw the records' read


def test_a_driver_error_is_sqlalchemys(
    db: Database,
    ctx: Context,
    seeded: tuple[str, ...],  # noqa: F811
) -> None:
    with open_extract(db, ctx, PAE) as extract:
        bad = sa.select(sa.column("no_such_column")).select_from(sa.table("participant"))
        rows = stream.stream(extract.connection, bad, 10)
        assert rows is not None
        with pytest.raises(sa.exc.DBAPIError):
            list(rows)


@pytest.mark.parametrize("as_of", [None, CORRECTED.replace(hour=0)])
def test_the_visit_dates_read_directly_are_cores(
    db: Database,
    ctx: Context,
    seeded: tuple[str, ...],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    as_of: datetime | None,
) -> None:
    with open_extract(db, ctx, PAE, as_of=as_of) as extract:
        direct = extract.visit_dates
        monkeypatch.setattr(extract_module, "stream", lambda *args: None)
        extract._snap._dates = None  # read again, through Core
        assert extract.visit_dates == direct
        assert direct
        assert all(len(on) == 10 for on in direct.values())
