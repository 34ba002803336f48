"""The one write path for clinical data: the row and its audit entries, in one transaction.

Every service that changes clinical data calls :func:`write`; nothing else inserts or updates
those tables. It writes the row (insert, or an update optionally guarded by the row's
``version``) and appends one audit entry per changed field to the hash-chained ledger on the
same connection, inside the caller's :meth:`~trialkit.store.Database.write` transaction. There
are no ORM events: what is audited is exactly what passes through here.

Every table written here must be declared in :mod:`trialkit.store.audited` (its JSON columns
and the columns its entries do not record): ``audit verify`` replays the trail against exactly
those declarations. An undeclared table is refused (``STORE.E040``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from trialkit.errors import StorageError
from trialkit.services.context import Context
from trialkit.store import Change, Prepared, RowLead, RowNotWritten, append, canonical
from trialkit.store.audited import audited as declaration

__all__ = ["FieldChange", "StaleVersion", "write"]


@dataclass(frozen=True)
class FieldChange:
    """An audited change of one field or item: its path and its old and new JSON values."""

    path: str
    old: Any
    new: Any


class StaleVersion(Exception):
    """The guarded update found another version than expected; nothing was written."""


# Statements are built once per table (and guard) and executed with parameters on the driver's
# cursor (see trialkit.store.direct): the columns written are given by the parameter keys, so
# one statement serves every caller of a table.
_ROW_ID = "_trialkit_row_id"
_EXPECTED = "_trialkit_expected_version"
_INSERTS: dict[sa.Table, Prepared] = {}
_UPDATES: dict[tuple[sa.Table, bool], tuple[Prepared, Prepared]] = {}


def _insert(table: sa.Table) -> Prepared:
    stmt = _INSERTS.get(table)
    if stmt is None:
        stmt = _INSERTS.setdefault(table, Prepared(table.insert().returning(table.c.id)))
    return stmt


def _update(table: sa.Table, guarded: bool) -> tuple[Prepared, Prepared]:
    """The update alone, and with RETURNING for the ledger's one statement on PostgreSQL, which
    counts the rows it returns (see trialkit.store.ledger.RowLead)."""
    stmts = _UPDATES.get((table, guarded))
    if stmts is None:
        update = table.update().where(table.c.id == sa.bindparam(_ROW_ID))
        if guarded:
            update = update.where(table.c.version == sa.bindparam(_EXPECTED))
        stmts = _UPDATES.setdefault(
            (table, guarded), (Prepared(update), Prepared(update.returning(table.c.id)))
        )
    return stmts


def write(
    conn: sa.Connection,
    ctx: Context,
    *,
    table: sa.Table,
    values: Mapping[str, Any],
    row_id: int | None = None,
    entity: str | None = None,
    action: str | None = None,
    changes: Sequence[FieldChange] | None = None,
    json_columns: Sequence[str] = (),
    reason: str | None = None,
    protocol_version: str | None = None,
    expected_version: int | None = None,
) -> int:
    """Insert (``row_id`` None) or update a row and audit it; returns the row id.

    ``changes`` lists the audited changes; when omitted each written column is audited (its old
    value read first for an update). The table's declared JSON columns (and any named in
    ``json_columns``) are audited as their decoded JSON. With ``expected_version`` the update
    is ``WHERE id = ? AND version = ?`` and bumps ``version``; if no row matches
    :class:`StaleVersion` is raised and nothing is written.
    """
    spec = declaration(table)
    name = spec.entity
    if entity is not None and entity != name:
        raise StorageError(
            f"table {table.name} is audited as entity {name!r}, not {entity!r}",
            code="STORE.E044",
            hint="declare the entity once in trialkit.store.audited; pass no other",
        )
    row = dict(values)
    json_columns = (*spec.json_columns, *json_columns)

    def as_json(column: str, value: Any) -> Any:
        return canonical.loads(value) if column in json_columns and value is not None else value

    if row_id is None:
        new_id = _insert(table).execute(conn, row).scalar_one()
        audited = (
            list(changes)
            if changes is not None
            else [FieldChange(k, None, as_json(k, v)) for k, v in sorted(row.items())]
        )
        verb = action or "insert"
    else:
        new_id = row_id
        if changes is None:
            old = (
                conn.execute(sa.select(*[table.c[k] for k in row]).where(table.c.id == row_id))
                .one()
                ._mapping
            )
            audited = [
                FieldChange(k, as_json(k, old[k]), as_json(k, v))
                for k, v in sorted(row.items())
                if old[k] != v
            ]
        else:
            audited = list(changes)
        params = dict(row)
        params[_ROW_ID] = row_id
        if expected_version is not None:
            params["version"] = expected_version + 1
            params[_EXPECTED] = expected_version
        plain, returning = _update(table, expected_version is not None)
        lead = RowLead(plain, params, returning)
        verb = action or "update"
    entries = [
        Change(verb, name, str(new_id), c.path, c.old, c.new, reason, protocol_version)
        for c in audited
    ]
    if row_id is None:
        append(conn, actor=ctx.actor, at=ctx.as_of, changes=entries)
    else:
        # The update is written with its entries (one statement on PostgreSQL); if it finds
        # no row at the expected version, neither it nor any entry is written.
        try:
            append(conn, actor=ctx.actor, at=ctx.as_of, changes=entries, lead=lead)
        except RowNotWritten:
            raise StaleVersion(row_id) from None
    return int(new_id)
