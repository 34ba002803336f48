"""Replay the audit trail and compare it with every audited table: the trail proves the data.

The hash chain (:func:`trialkit.store.ledger.verify`) proves that the trail is the one that was
written. It does not prove the tables: an ``UPDATE form_instance SET data = ...`` without an
entry leaves the chain intact. :func:`verify_all` therefore replays the trail while the chain
is walked (one pass, streaming) and then reads every table declared in
:mod:`trialkit.store.audited`, row by row, comparing each audited field with the value its
entries produce. It reports:

* a field whose stored value is not the one its last entry recorded (an unaudited change);
* an entry whose ``old`` value is not the value the trail had produced before it (the field
  was changed without an entry, and a later audited change overwrote it);
* a row that no entry created (inserted without the write path), and entries whose row is gone
  (deleted without the write path).

Memory: the replay keeps, per audited row, the canonical text of each audited field as the
trail last set it (the size of the audited data, not of the log, whose history it folds).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from trialkit.store import canonical
from trialkit.store.audited import AUDITED, Audited
from trialkit.store.ledger import (
    BATCH,
    FIELDS,
    MAX_DIFFERENCES,
    Difference,
    HeadAnchor,
    Verification,
    verify,
)
from trialkit.store.tables import protocol_version

__all__ = ["Replay", "verify_all"]

_NULL = "null"
_ENTITY, _ENTITY_ID, _PATH, _SEQ, _NEW, _OLD, _AT, _PV = (
    FIELDS.index(f)
    for f in ("entity", "entity_id", "path", "seq", "new", "old", "at", "protocol_version")
)


def _flatten(data: Any) -> Iterator[tuple[str, Any]]:
    """The item paths of form data (``GROUP/item``, ``GROUP[n]/item``) and their entries."""
    if not isinstance(data, dict):
        return
    for group_id, content in data.items():
        if isinstance(content, list):
            for i, row in enumerate(content):
                if isinstance(row, dict):
                    for name, entry in row.items():
                        yield f"{group_id}[{i + 1}]/{name}", entry
        elif isinstance(content, dict):
            for name, entry in content.items():
                yield f"{group_id}/{name}", entry


def _json_text(text: str | None) -> str:
    """An entry value of a JSON column as the column's text (the entry holds either)."""
    if text is None:
        return _NULL
    try:
        value = canonical.loads(text)
    except ValueError:
        return text  # an entry that is not JSON (edited): the chain reports it; it differs here
    return value if isinstance(value, str) else text


# The statement that reads each audited table, built once.
_SELECTS: dict[str, sa.Select[Any]] = {}


@dataclass
class _Field:
    text: str  # canonical JSON of the value the trail gives
    seq: int


class Replay:
    """The state of every audited row as the trail produces it, folded entry by entry."""

    def __init__(self, conn: sa.Connection) -> None:
        self.by_entity: dict[str, Audited] = {a.entity: a for a in AUDITED.values()}
        self.columns = {a.entity: frozenset(a.columns) for a in AUDITED.values()}
        self.rows: dict[str, dict[str, dict[str, _Field]]] = {e: {} for e in self.by_entity}
        self.found: list[Difference] = []
        self.total = 0
        self._stamps: tuple[str, str] = ("", "")  # the last entry time read, and its JSON
        # The participant's protocol version is recorded as text on amendment: its id is
        # looked up per study (the versions are few, and replayed themselves).
        self.versions: dict[tuple[str, str], int] = {
            (str(r.study_id), str(r.version)): int(r.id)
            for r in conn.execute(
                sa.select(
                    protocol_version.c.id, protocol_version.c.study_id, protocol_version.c.version
                )
            )
        }

    def report(self, difference: Difference) -> None:
        self.total += 1
        if len(self.found) < MAX_DIFFERENCES:
            self.found.append(difference)

    def observe(self, entry: sa.Row[Any]) -> None:
        spec = self.by_entity.get(entry[_ENTITY])
        if spec is None:
            return
        state = self.rows[spec.entity].setdefault(str(entry[_ENTITY_ID]), {})
        self._fold(spec, entry, state)
        if spec.follows:
            self._follow(spec, entry, state)

    def _fold(self, spec: Audited, entry: sa.Row[Any], state: dict[str, _Field]) -> None:
        path = str(entry[_PATH])
        seq = int(entry[_SEQ])
        row_id = str(entry[_ENTITY_ID])
        new_text, old_text = entry[_NEW], entry[_OLD]
        alias = spec.aliases.get(path)
        if alias is not None:
            state[alias] = _Field(self._alias(spec, state, path, new_text), seq)
            return
        if path in self.columns[spec.entity]:
            json = path in spec.json
            new = _json_text(new_text) if json else (new_text or _NULL)
            old = _json_text(old_text) if json else (old_text or _NULL)
            had = state.get(path)
            before = had.text if had is not None else canonical.dumps(spec.initial.get(path))
            self._old(spec, row_id, path, before, had, old, seq)
            state[path] = _Field(new, seq)
            return
        if not self._keyed(spec, path) and not (spec.items and "/" in path):
            return  # an unaudited column, or a change recorded in words (a secret set)
        had = state.get(path)
        before = had.text if had is not None else _NULL
        self._old(spec, row_id, path, before, had, old_text or _NULL, seq)
        if new_text is None:
            state.pop(path, None)
        else:
            state[path] = _Field(str(new_text), seq)

    def _follow(self, spec: Audited, entry: sa.Row[Any], state: dict[str, _Field]) -> None:
        """The columns that every entry of the row sets from the entry's own time or version."""
        seq = int(entry[_SEQ])
        for column, source in spec.follows.items():
            if source == "at":
                state[column] = _Field(self._time(str(entry[_AT])), seq)
            elif entry[_PV] is not None:
                study = self._study(state)
                found = None if study is None else self.versions.get((study, str(entry[_PV])))
                text = (
                    canonical.dumps(found)
                    if found is not None
                    else canonical.dumps(f"protocol version {entry[_PV]} (not of the row's study)")
                )
                state[column] = _Field(text, seq)

    def _time(self, at: str) -> str:
        """An entry's time (ISO text, microseconds) as the canonical JSON of a stored datetime."""
        last, text = self._stamps
        if at != last:
            try:
                text = canonical.dumps(datetime.fromisoformat(at))
            except ValueError:
                text = canonical.dumps(at)  # an edited entry: the chain reports it
            self._stamps = (at, text)
        return text

    def _study(self, state: Mapping[str, _Field]) -> str | None:
        """The study id (canonical JSON) of a row: its own, or its participant's."""
        own = state.get("study_id")
        if own is not None:
            return own.text
        participant = state.get("participant_id")
        if participant is None:
            return None
        found = self.rows["participant"].get(participant.text, {}).get("study_id")
        return None if found is None else found.text

    def _keyed(self, spec: Audited, path: str) -> bool:
        return any(path.startswith(prefix) for prefix in spec.keyed.values())

    def _old(
        self,
        spec: Audited,
        row_id: str,
        path: str,
        before: str,
        had: _Field | None,
        old: str,
        seq: int,
    ) -> None:
        if old == before or (had is None and old == _NULL):
            return  # a row's first entry for a field records no old value
        since = f"entry {had.seq}" if had is not None else "the row's creation"
        self.report(
            Difference(
                str(spec.table.name),
                row_id,
                path,
                old,
                before,
                seq,
                f"entry {seq} records the old value {_short(old)}, but the trail gave "
                f"{_short(before)} (since {since}): it was changed without an audit entry",
            )
        )

    def _alias(self, spec: Audited, state: Mapping[str, _Field], path: str, new: Any) -> str:
        version = _loads(new)
        study = state.get("study_id")
        found = None if study is None else self.versions.get((study.text, str(version)), None)
        if found is None:
            return canonical.dumps(f"{path} {version} (no such version of the row's study)")
        return canonical.dumps(found)

    def compare(self, conn: sa.Connection) -> None:
        """Read every audited table and report each row that differs from its replay."""
        for spec in AUDITED.values():
            self._compare_table(conn, spec)
        for entity, rows in self.rows.items():
            table = str(self.by_entity[entity].table.name)
            for row_id, state in sorted(rows.items(), key=lambda kv: _order(kv[0])):
                last = max((f.seq for f in state.values()), default=None)
                self.report(
                    Difference(
                        table,
                        row_id,
                        "*",
                        None,
                        "the row",
                        last,
                        f"{table} row {row_id} is gone, but no audit entry removed it",
                    )
                )
            rows.clear()

    def _compare_table(self, conn: sa.Connection, spec: Audited) -> None:
        table = spec.table
        name = str(table.name)
        stmt = _SELECTS.get(name)
        if stmt is None:
            wanted = ["id", *spec.columns, *([spec.items] if spec.items else []), *spec.keyed]
            stmt = sa.select(*[table.c[c] for c in wanted]).order_by(table.c.id)
            _SELECTS[name] = stmt
        rows = self.rows[spec.entity]
        result = conn.execution_options(yield_per=BATCH).execute(stmt)
        try:
            for row in result.mappings():
                row_id = str(row["id"])
                state = rows.pop(row_id, None)
                if state is None:
                    self.report(
                        Difference(
                            name,
                            row_id,
                            "*",
                            "the row",
                            None,
                            None,
                            f"{name} row {row_id} has no audit entry: it was not written "
                            "through the audited write path",
                        )
                    )
                    continue
                self._compare_row(spec, row_id, row, state)
        finally:
            result.close()

    def _compare_row(
        self, spec: Audited, row_id: str, row: sa.RowMapping, state: dict[str, _Field]
    ) -> None:
        name = str(spec.table.name)
        for column in spec.columns:
            value = row[column]
            stored = (
                _NULL
                if value is None
                else (str(value) if column in spec.json else canonical.dumps(value))
            )
            had = state.get(column)
            replayed = had.text if had is not None else canonical.dumps(spec.initial.get(column))
            if stored != replayed:
                self._differs(name, row_id, column, stored, replayed, had)
        stored_items: dict[str, str] = {}
        if spec.items:
            stored_items.update(
                (p, canonical.dumps(v)) for p, v in _flatten(_loads(row[spec.items]))
            )
        for column, prefix in spec.keyed.items():
            doc = _loads(row[column])
            if isinstance(doc, dict):
                stored_items.update((prefix + str(k), canonical.dumps(v)) for k, v in doc.items())
        if not stored_items and not spec.items and not spec.keyed:
            return
        replayed_items = {
            p: f
            for p, f in state.items()
            if p not in self.columns[spec.entity] and (self._keyed(spec, p) or "/" in p)
        }
        for path in sorted(stored_items.keys() | replayed_items.keys()):
            field = replayed_items.get(path)
            stored_text = stored_items.get(path)
            replayed_text = None if field is None else field.text
            if stored_text != replayed_text:
                self._differs(name, row_id, path, stored_text, replayed_text, field)

    def _differs(
        self,
        table: str,
        row_id: str,
        field: str,
        stored: str | None,
        replayed: str | None,
        had: _Field | None,
    ) -> None:
        source = f"entry {had.seq}" if had is not None else "no entry"
        self.report(
            Difference(
                table,
                row_id,
                field,
                stored,
                replayed,
                None if had is None else had.seq,
                f"{table} row {row_id} {field}: stored {_short(stored)}, the trail gives "
                f"{_short(replayed)} ({source}): changed without an audit entry",
            )
        )


def _loads(text: Any) -> Any:
    try:
        return canonical.loads(text)
    except (ValueError, TypeError):
        return None  # not JSON: every item of it then differs from the trail


def _order(row_id: str) -> tuple[int, str]:
    return (int(row_id), "") if row_id.isdigit() else (0, row_id)


def _short(text: str | None, limit: int = 160) -> str:
    if text is None:
        return "nothing"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def verify_all(conn: sa.Connection, *, anchors: Sequence[HeadAnchor] = ()) -> Verification:
    """The chain, the anchors and the replay of every audited table, in one snapshot.

    Run it inside :meth:`~trialkit.store.Database.read`. The log is streamed once; the
    tables are then read once each.
    """
    state = Replay(conn)
    chain = verify(conn, anchors=anchors, observe=state.observe)
    state.compare(conn)
    return replace(
        chain, replayed=True, differences=tuple(state.found), differences_total=state.total
    )
