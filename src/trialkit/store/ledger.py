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
* ``reordered``: an entry points at a predecessor that comes after it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from trialkit.errors import StorageError
from trialkit.store import canonical
from trialkit.store.direct import Prepared
from trialkit.store.tables import GENESIS_HASH, audit_head, audit_log

__all__ = ["Change", "Problem", "Verification", "append", "entry_hash", "head", "verify"]

#: ``Connection.info`` key under which :meth:`Database.write` leaves the head it read with the
#: ledger lock, for :func:`append` (removed when the transaction ends).
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


def entry_hash(fields: dict[str, Any]) -> str:
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


def append(conn: sa.Connection, *, actor: str, at: datetime, changes: Sequence[Change]) -> int:
    """Append ``changes`` in order, chain them and move the head; returns the last ``seq``.

    Must run inside a :meth:`~trialkit.store.database.Database.write` transaction, which holds
    the ledger lock and has already read the head (else the head is read here). The head moves
    only if it still is the one the new entries chain on; otherwise nothing is kept.
    """
    known = conn.info.get(HEAD_KEY)
    seq, prev = known if known is not None else head(conn)
    if not changes:
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
    # The head moves first, guarded by the head the entries chain on, then the entries follow
    # in one statement; both belong to the caller's transaction.
    moved = _MOVE_HEAD.execute(
        conn, {"old_seq": start[0], "old_hash": start[1], "new_seq": seq, "new_hash": prev}
    )
    if moved.rowcount != 1:
        raise StorageError(
            f"the audit ledger head moved from entry {start[0]} while entries were appended",
            code="STORE.E022",
            hint="retry the change; nothing of it was kept",
        )
    _INSERT.executemany(conn, rows)
    if known is not None:
        conn.info[HEAD_KEY] = (seq, prev)
    return seq


@dataclass(frozen=True)
class Problem:
    seq: int
    kind: str  # edited | deleted | inserted | reordered
    detail: str


@dataclass(frozen=True)
class Verification:
    entries: int
    head_seq: int
    head_hash: str
    problem: Problem | None

    @property
    def ok(self) -> bool:
        return self.problem is None


def verify(conn: sa.Connection) -> Verification:
    """Walk the whole log by ``seq`` and report the first problem found, if any."""
    head_seq, head_hash = head(conn)
    rows = [dict(r._mapping) for r in conn.execute(sa.select(audit_log).order_by(audit_log.c.seq))]
    position = {str(r["hash"]): i for i, r in enumerate(rows)}

    def result(problem: Problem | None) -> Verification:
        return Verification(len(rows), head_seq, head_hash, problem)

    prev_hash = GENESIS_HASH
    expected = 1
    for i, row in enumerate(rows):
        seq = int(row["seq"])
        if seq > expected:
            missing = f"{expected}" if seq == expected + 1 else f"{expected}..{seq - 1}"
            return result(Problem(expected, "deleted", f"entries {missing} are missing"))
        link = str(row["prev_hash"])
        if link != prev_hash:
            at = position.get(link)
            if at is None and link != GENESIS_HASH:
                detail = f"entry {seq} follows an entry that no longer exists"
                return result(Problem(seq, "deleted", detail))
            if at is not None and at > i:
                detail = f"entry {seq} should come after entry {rows[at]['seq']}"
                return result(Problem(seq, "reordered", detail))
            before = "the start" if at is None else f"entry {rows[at]['seq']}"
            detail = f"entry {seq - 1} was put between {before} and entry {seq}"
            return result(Problem(seq - 1, "inserted", detail))
        if entry_hash(row) != row["hash"]:
            detail = f"entry {seq} ({row['entity']} {row['path']}) differs from what was recorded"
            return result(Problem(seq, "edited", detail))
        prev_hash = str(row["hash"])
        expected = seq + 1
    last = expected - 1
    if last < head_seq:
        detail = f"the log ends at entry {last} but the head records entry {head_seq}"
        return result(Problem(last + 1, "deleted", detail))
    if last > head_seq:
        detail = f"entries {head_seq + 1}..{last} lie beyond the recorded head {head_seq}"
        return result(Problem(head_seq + 1, "inserted", detail))
    if prev_hash != head_hash:
        detail = f"entry {last} does not match the hash recorded in the head"
        return result(Problem(last, "edited", detail))
    return result(None)
