"""The audit ledger: an append-only, hash-chained log of every change to clinical data.

Each entry's ``hash`` is the SHA-256 of the canonical JSON of its fields and ``prev_hash`` (the
previous entry's hash; the genesis hash for the first). The newest ``seq`` and ``hash`` are kept
again in the one-row ``audit_head`` table, updated in the same transaction, so that deleting
the newest entries is detected too. Entries are only ever appended by :func:`append`, which
callers reach through the one write path (:func:`trialkit.services.records.write`).

:func:`verify` walks the log by ``seq`` and reports the first entry that is wrong and how:

* ``edited``: the entry's content no longer matches its hash;
* ``deleted``: a ``seq`` is missing, an entry points at a predecessor that is gone, or the
  log ends before the head;
* ``inserted``: an entry points at an earlier predecessor than the one before it (something was
  put in between), or entries exist beyond the head;
* ``reordered``: an entry points at a predecessor that comes after it;
* ``rewritten``: an anchored head (see :func:`anchor_line`) is no longer on the chain: the entry
  at its ``seq`` has another hash, or is gone.

The chain alone proves the trail, not the tables: :mod:`trialkit.store.replay` replays the trail
and compares it with every audited table.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from trialkit.errors import StorageError
from trialkit.store import canonical
from trialkit.store.direct import PENDING, Prepared, run_sql, send_pending
from trialkit.store.tables import GENESIS_HASH, audit_head, audit_log

__all__ = [
    "Change",
    "Difference",
    "HeadAnchor",
    "Problem",
    "RowLead",
    "RowNotWritten",
    "Verification",
    "anchor_line",
    "append",
    "entry_at",
    "entry_hash",
    "head",
    "parse_anchors",
    "stream",
    "verify",
]

#: ``Connection.info`` key under which :meth:`Database.write` leaves the head it read with the
#: ledger lock, for :func:`append` (removed when the transaction ends). On PostgreSQL the lock
#: is sent with the transaction's first statement, and the head is there from then on.
HEAD_KEY = "trialkit.ledger_head"

# Built once and run with parameters on the driver's cursor (see trialkit.store.direct).
_READ_HEAD = Prepared(sa.select(audit_head.c.seq, audit_head.c.hash))
_INSERT = Prepared(audit_log.insert())
_MOVE_HEAD = Prepared(
    audit_head.update()
    .where(
        audit_head.c.id == 1,
        audit_head.c.seq == sa.bindparam("old_seq"),
        audit_head.c.hash == sa.bindparam("old_hash"),
    )
    .values(seq=sa.bindparam("new_seq"), hash=sa.bindparam("new_hash"))
)

# what an entry's hash covers, in this order; an audit_log row is these and the hash
_HASHED = (
    "seq",
    "at",
    "actor",
    "action",
    "entity",
    "entity_id",
    "path",
    "old",
    "new",
    "reason",
    "protocol_version",
    "prev_hash",
)
_COLUMNS = (*_HASHED, "hash")

# PostgreSQL: the head's move and the entries' insert in one statement, one round trip (data-
# modifying CTEs run in the statement's one snapshot, in the caller's transaction, after the
# ledger lock). The head moves only if it is still the one read (and, with a row update in
# front, only if that update wrote its row); the entries are inserted only if the head moved;
# the statement reports the three counts, so that a failed guard raises exactly as the
# separate statements do. The entries travel as one JSON array of objects, read back into
# audit_log rows by json_populate_recordset (a JSON string is exactly its text, a number the
# seq): one parameter encoded by json's C encoder, where an array per column cost the driver
# more than the round trip it saves; the text is the same for any number of entries, so the
# driver prepares it once.
_entries_json = json.JSONEncoder(
    ensure_ascii=False, separators=(",", ":"), check_circular=False, allow_nan=False
).encode
_FUSED_HEAD = (
    "trialkit_head AS (UPDATE audit_head SET seq = %(trialkit_new_seq)s, "
    "hash = %(trialkit_new_hash)s WHERE audit_head.id = 1 "
    "AND audit_head.seq = %(trialkit_old_seq)s AND audit_head.hash = %(trialkit_old_hash)s"
    "{guard} RETURNING audit_head.seq), "
    f"trialkit_entries AS (INSERT INTO audit_log ({', '.join(_COLUMNS)}) "
    f"SELECT {', '.join(_COLUMNS)} FROM json_populate_recordset(NULL::audit_log, "
    "CAST(%(trialkit_entries)s AS JSON)) WHERE EXISTS (SELECT 1 FROM trialkit_head) RETURNING 1) "
    "SELECT {row}, (SELECT count(*) FROM trialkit_head), (SELECT count(*) FROM trialkit_entries)"
)
_FUSED = "WITH " + _FUSED_HEAD.format(guard="", row="1")
_FUSED_WITH_ROW = "WITH trialkit_row AS ({row_sql}), " + _FUSED_HEAD.replace(
    "{guard}", " AND EXISTS (SELECT 1 FROM trialkit_row)"
).replace("{row}", "(SELECT count(*) FROM trialkit_row)")


@dataclass(frozen=True)
class RowLead:
    """An update of one row that :func:`append` writes together with the entries recording it.

    ``statement`` is an ``UPDATE`` that must write exactly one row (a guarded update writes
    none when the row's version moved): if it writes another number of rows,
    :class:`RowNotWritten` is raised and neither the head nor the entries are written.
    ``returning`` is the same update with ``RETURNING`` (any column): given, on PostgreSQL the
    update, the head's move and the entries are one statement, which counts its rows.
    """

    statement: Prepared
    params: Mapping[str, Any]
    returning: Prepared | None = None


class RowNotWritten(Exception):
    """The :class:`RowLead` update wrote no row (or several): no entry was appended."""


@dataclass(frozen=True)
class Change:
    """One audited change: ``path`` names the field or item, ``old``/``new`` are JSON values."""

    action: str
    entity: str
    entity_id: str
    path: str
    old: Any
    new: Any
    reason: str | None = None
    protocol_version: str | None = None


# The hashed fields are text, integers or NULL as stored (``old``/``new`` are already canonical
# JSON text). Their canonical JSON (sorted keys, no spaces, UTF-8 kept) is written here from a
# template, each text escaped by the json module's own string encoder: the same text as
# canonical.dumps gives (a test holds them equal), in a fraction of the time. Any other type
# goes through canonical.dumps.
_KEYS = tuple(sorted(_HASHED))
_TEMPLATE = "{" + ",".join(f'"{k}":%s' for k in _KEYS) + "}"
_escape = json.encoder.encode_basestring  # the encoder json uses with ensure_ascii=False
_sha256 = hashlib.sha256


def _field(value: Any) -> str:
    kind = type(value)
    if kind is str:
        return _escape(value)
    if kind is int:
        return int.__repr__(value)
    if value is None:
        return "null"
    return canonical.dumps(value)


def entry_hash(fields: Mapping[Any, Any]) -> str:
    """The hash of an entry from its stored fields (``old``/``new`` as stored JSON text)."""
    values = map(fields.__getitem__, _KEYS)
    payload = _TEMPLATE % tuple([_escape(v) if type(v) is str else _field(v) for v in values])
    return _sha256(payload.encode("utf-8")).hexdigest()


def _stamp(at: datetime) -> str:
    return at.isoformat(timespec="microseconds")


def head(conn: sa.Connection) -> tuple[int, str]:
    """The (seq, hash) of the newest entry as recorded in ``audit_head``."""
    found = _READ_HEAD.execute(conn).first()
    if found is None:
        raise StorageError(
            "the database has no audit ledger head: it was not created by trialkit",
            code="STORE.E020",
            hint="run `trialkit db upgrade` on it first",
        )
    seq, hash_ = found
    return int(seq), str(hash_)


def append(
    conn: sa.Connection,
    *,
    actor: str,
    at: datetime,
    changes: Sequence[Change],
    lead: RowLead | None = None,
) -> int:
    """Append ``changes`` in order, chain them and move the head; returns the last ``seq``.

    Must run inside a :meth:`~trialkit.store.database.Database.write` transaction, which holds
    the ledger lock and has already read the head (else the head is read here). The head moves
    only if it still is the one the new entries chain on; otherwise nothing is kept. ``lead``
    is the update of the row the changes record, written first (see :class:`RowLead`).
    """
    info = conn.info
    if conn.dialect.name == "postgresql" and PENDING in info:
        send_pending(conn)  # the write's BEGIN and lock, which read the head
    known = info.get(HEAD_KEY)
    seq, prev = known if known is not None else head(conn)
    if not changes:
        if lead is not None and lead.statement.execute(conn, lead.params).rowcount != 1:
            raise RowNotWritten()
        return seq
    start = (seq, prev)
    stamp = _stamp(at)
    dumps = canonical.dumps
    # What entry_hash computes, written out for the fields at hand (the template's keys are
    # sorted: action, actor, at, entity, entity_id, new, old, path, prev_hash,
    # protocol_version, reason, seq); verify() recomputes every hash with entry_hash.
    common = _field(actor), _field(stamp)
    rows: list[dict[str, Any]] = []
    for ch in changes:
        seq += 1
        old = None if ch.old is None else dumps(ch.old)
        new = None if ch.new is None else dumps(ch.new)
        payload = _TEMPLATE % (
            _field(ch.action),
            *common,
            _field(ch.entity),
            _field(ch.entity_id),
            _field(new),
            _field(old),
            _field(ch.path),
            _escape(prev),
            _field(ch.protocol_version),
            _field(ch.reason),
            seq,
        )
        rows.append(
            {
                "seq": seq,
                "at": stamp,
                "actor": actor,
                "action": ch.action,
                "entity": ch.entity,
                "entity_id": ch.entity_id,
                "path": ch.path,
                "old": old,
                "new": new,
                "reason": ch.reason,
                "protocol_version": ch.protocol_version,
                "prev_hash": prev,
                "hash": _sha256(payload.encode("utf-8")).hexdigest(),
            }
        )
        prev = rows[-1]["hash"]
    moves = {"old_seq": start[0], "old_hash": start[1], "new_seq": seq, "new_hash": prev}
    if not _fused(conn, lead, moves, rows):
        if lead is not None and lead.statement.execute(conn, lead.params).rowcount != 1:
            raise RowNotWritten()
        # The head moves first, guarded by the head the entries chain on, then the entries
        # follow in one statement; both belong to the caller's transaction.
        if _MOVE_HEAD.execute(conn, moves).rowcount != 1:
            raise _head_moved(start[0])
        _INSERT.executemany(conn, rows)
    if known is not None:
        conn.info[HEAD_KEY] = (seq, prev)
    return seq


def _head_moved(seq: int) -> StorageError:
    return StorageError(
        f"the audit ledger head moved from entry {seq} while entries were appended",
        code="STORE.E022",
        hint="retry the change; nothing of it was kept",
    )


def _fused(
    conn: sa.Connection,
    lead: RowLead | None,
    moves: Mapping[str, Any],
    rows: Sequence[Mapping[str, Any]],
) -> bool:
    """On PostgreSQL (direct path), the lead update, the head's move and the entries as one
    statement; False (nothing done) where the separate statements must run instead."""
    if conn.dialect.name != "postgresql" or conn.dialect.paramstyle != "pyformat":
        return False
    if lead is None:
        if _MOVE_HEAD.named_sql(conn, moves) is None:
            return False  # observed or not the direct path: the separate statements, via Core
        sql, params = _FUSED, {}
    else:
        if lead.returning is None:
            return False
        compiled = lead.returning.named_sql(conn, lead.params)
        if compiled is None:
            return False
        row_sql, row_params = compiled
        sql, params = _FUSED_WITH_ROW.replace("{row_sql}", row_sql), dict(row_params)
    for key, value in moves.items():
        params[f"trialkit_{key}"] = value
    params["trialkit_entries"] = _entries_json(rows)
    found = run_sql(conn, sql, params).rows
    written, moved, entries = (int(v) for v in found[0])
    if written != 1:
        raise RowNotWritten()
    if moved != 1:
        raise _head_moved(int(moves["old_seq"]))
    if entries != len(rows):  # pragma: no cover - the statement inserts all or none
        raise StorageError(
            f"the audit ledger stored {entries} of {len(rows)} entries",
            code="STORE.E022",
            hint="retry the change; nothing of it was kept",
        )
    return True


@dataclass(frozen=True)
class Problem:
    seq: int
    kind: str  # edited | deleted | inserted | reordered | rewritten
    detail: str


@dataclass(frozen=True)
class Difference:
    """A row whose stored state differs from the state its audit entries produce.

    ``field`` is a column or an item path (``*`` for the whole row); ``stored`` and
    ``replayed`` are canonical JSON texts (None: no such row or item); ``seq`` is the entry
    that set the replayed value (or that recorded the inconsistent old value), if any.
    """

    table: str
    row_id: str
    field: str
    stored: str | None
    replayed: str | None
    seq: int | None
    detail: str


@dataclass(frozen=True)
class HeadAnchor:
    """A head of the audit trail written outside the database: (seq, hash) at a time."""

    seq: int
    hash: str
    at: str
    line: int = 0  # the line of the anchor file it was read from (0: not from a file)


@dataclass(frozen=True)
class Verification:
    entries: int
    head_seq: int
    head_hash: str
    problem: Problem | None
    #: Anchors checked against the chain, and the ones the chain no longer holds.
    anchors: int = 0
    anchor_problems: tuple[Problem, ...] = ()
    #: Whether the tables were replayed from the trail, and the rows found differing (the
    #: first :data:`MAX_DIFFERENCES`; ``differences_total`` counts them all).
    replayed: bool = False
    differences: tuple[Difference, ...] = ()
    differences_total: int = 0

    @property
    def ok(self) -> bool:
        return self.problem is None and not self.anchor_problems and not self.differences_total


#: How many differences a verification keeps to report (all are counted).
MAX_DIFFERENCES = 1000

#: Rows fetched at a time while the log is walked: verify never holds the whole log.
BATCH = 2000

_HASH_AT = sa.select(audit_log.c.seq).where(audit_log.c.hash == sa.bindparam("h"))
# The hashed fields first, in the hash template's (sorted) order, then the stored hash: a row's
# first twelve values are the template's arguments as they come.
_STREAM = sa.select(*[audit_log.c[k] for k in _KEYS], audit_log.c.hash).order_by(audit_log.c.seq)
_N = len(_KEYS)
#: The fields of a row of :func:`stream`, in order.
FIELDS = (*_KEYS, "hash")


def stream(conn: sa.Connection) -> Iterator[sa.Row[Any]]:
    """Every entry of the log in ``seq`` order, fetched :data:`BATCH` rows at a time.

    Each row has the entry's fields as attributes (``row.seq``, ``row.entity``, ...).
    """
    result: sa.CursorResult[Any] = conn.execution_options(yield_per=BATCH).execute(_STREAM)
    try:
        yield from result
    finally:
        result.close()


def _row_hash(row: sa.Row[Any]) -> str:
    payload = _TEMPLATE % tuple([_escape(v) if type(v) is str else _field(v) for v in row[:_N]])
    return _sha256(payload.encode("utf-8")).hexdigest()


def _seq_of(conn: sa.Connection, hash_: str) -> int | None:
    found = conn.execute(_HASH_AT.order_by(audit_log.c.seq).limit(1), {"h": hash_}).scalar()
    return None if found is None else int(found)


def verify(
    conn: sa.Connection,
    *,
    anchors: Sequence[HeadAnchor] = (),
    observe: Callable[[sa.Row[Any]], None] | None = None,
) -> Verification:
    """Walk the whole log by ``seq``; report the first problem of the chain, if any.

    Streams the log (never holds it): each entry is checked against its predecessor and its
    hash, then handed to ``observe`` (the table replay uses it) whether or not the chain is
    intact. Every anchor in ``anchors`` must still be on the chain: the entry at its ``seq``
    has its hash. Run it inside :meth:`Database.read`, which sees one snapshot throughout.
    """
    head_seq, head_hash = head(conn)
    by_seq: dict[int, list[HeadAnchor]] = {}
    for a in anchors:
        by_seq.setdefault(a.seq, []).append(a)
    anchor_problems: list[Problem] = []
    problem: Problem | None = None
    prev_hash = GENESIS_HASH
    expected = 1
    count = 0
    for row in stream(conn):
        count += 1
        if observe is not None:
            observe(row)
        seq = int(row.seq)
        hash_ = str(row.hash)
        for a in by_seq.pop(seq, ()):
            if a.hash != hash_:
                anchor_problems.append(_rewritten(a, f"holds sha256:{hash_}"))
        if problem is not None:
            continue
        problem = _check_link(conn, row, seq, expected, prev_hash)
        if problem is None and _row_hash(row) != hash_:
            detail = f"entry {seq} ({row.entity} {row.path}) differs from what was recorded"
            problem = Problem(seq, "edited", detail)
        prev_hash = hash_
        expected = seq + 1
    for seq in sorted(by_seq):
        for a in by_seq[seq]:
            if seq == 0 and a.hash == GENESIS_HASH:
                continue  # the head of an empty trail: every chain extends it
            anchor_problems.append(_rewritten(a, f"is missing (the log has {count} entries)"))
    if problem is None:
        problem = _check_head(expected - 1, head_seq, prev_hash, head_hash)
    return Verification(count, head_seq, head_hash, problem, len(anchors), tuple(anchor_problems))


def _rewritten(a: HeadAnchor, found: str) -> Problem:
    where = f"line {a.line}" if a.line else "the anchor"
    return Problem(
        a.seq,
        "rewritten",
        f"the head anchored at {a.at} ({where}) was entry {a.seq} sha256:{a.hash}; "
        f"that entry now {found}: the trail up to entry {a.seq} was rewritten",
    )


def _check_link(
    conn: sa.Connection, row: sa.Row[Any], seq: int, expected: int, prev_hash: str
) -> Problem | None:
    if seq > expected:
        missing = f"{expected}" if seq == expected + 1 else f"{expected}..{seq - 1}"
        return Problem(expected, "deleted", f"entries {missing} are missing")
    link = str(row.prev_hash)
    if link == prev_hash:
        return None
    at = None if link == GENESIS_HASH else _seq_of(conn, link)
    if at is None and link != GENESIS_HASH:
        return Problem(seq, "deleted", f"entry {seq} follows an entry that no longer exists")
    if at is not None and at > seq:
        return Problem(seq, "reordered", f"entry {seq} should come after entry {at}")
    before = "the start" if at is None else f"entry {at}"
    return Problem(seq - 1, "inserted", f"entry {seq - 1} was put between {before} and entry {seq}")


def _check_head(last: int, head_seq: int, last_hash: str, head_hash: str) -> Problem | None:
    if last < head_seq:
        detail = f"the log ends at entry {last} but the head records entry {head_seq}"
        return Problem(last + 1, "deleted", detail)
    if last > head_seq:
        detail = f"entries {head_seq + 1}..{last} lie beyond the recorded head {head_seq}"
        return Problem(head_seq + 1, "inserted", detail)
    if last_hash != head_hash:
        detail = f"entry {last} does not match the hash recorded in the head"
        return Problem(last, "edited", detail)
    return None


# -- anchors: the head written outside the database ------------------------------------------


def anchor_line(anchor: HeadAnchor) -> str:
    """The anchor as one line of an anchor file (JSON; no newline)."""
    return canonical.dumps(
        {"anchor": "trialkit-audit-head", "at": anchor.at, "hash": anchor.hash, "seq": anchor.seq}
    )


def parse_anchors(text: str, source: str) -> list[HeadAnchor]:
    """The anchors of an anchor file's text; a :class:`StorageError` naming a bad line."""
    out: list[HeadAnchor] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            value = json.loads(line)
            if not isinstance(value, dict) or value.get("anchor") != "trialkit-audit-head":
                raise ValueError("not a trialkit audit anchor")
            seq, hash_, at = value["seq"], value["hash"], value["at"]
            if type(seq) is not int or seq < 0:
                raise ValueError(f"seq {seq!r} is not an entry number")
            if not isinstance(hash_, str) or len(hash_) != 64:
                raise ValueError(f"hash {hash_!r} is not a SHA-256 in hex")
            int(hash_, 16)
            if not isinstance(at, str):
                raise ValueError(f"at {at!r} is not a time")
        except (ValueError, KeyError, TypeError) as exc:
            raise StorageError(
                f"anchor file {source}, line {number}: {line.strip()[:80]!r} cannot be read "
                f"({exc})",
                code="STORE.E041",
                hint="each line is one anchor written by `trialkit audit anchor`; restore the "
                "line from the copy you sent out, or remove the line if it is not an anchor",
            ) from exc
        out.append(HeadAnchor(seq, hash_, at, number))
    return out


def entry_at(conn: sa.Connection, seq: int) -> str | None:
    """The stored hash of entry ``seq``, or None when there is none."""
    found = conn.execute(sa.select(audit_log.c.hash).where(audit_log.c.seq == seq)).scalar()
    return None if found is None else str(found)
