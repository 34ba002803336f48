"""Which tables the audit trail proves, declared once: the one place the replay reads.

Every table the services write through :func:`trialkit.services.records.write` is declared here
as an :class:`Audited` table: its audit ``entity`` (the ``entity`` of its entries), its JSON
columns, and the columns the trail does **not** record, each with the reason. Every other column
(except ``id``) is audited: :func:`trialkit.store.replay.replay` rebuilds it from the trail and
compares it with what is stored. A column added to a declared table is therefore audited unless
someone declares it otherwise here, and the replay of a whole demo trial (see the tests) fails
if a service writes it without recording it.

Tables that hold no clinical data and are never written through the one write path (the audit
log itself, web sessions) are listed in :data:`NOT_AUDITED` with the reason. A test holds that
every table of :data:`trialkit.store.tables.metadata` is in exactly one of the two, and that
every table passed to ``records.write`` anywhere in the package is declared audited.

Form data are audited item by item: ``form_instance.data`` is declared as an *items* column
(entries ``VS/heart_rate``, ``LESIONS[2]/plaque_area``, one per item of a group row) and
``form_instance.derived`` as a *keyed* column (entries ``derived/<name>``). The participant's
``protocol_version_id`` is recorded as the version's id when the participant is registered and
as the version text (path ``protocol_version``) when moved to an amendment: an *alias*.

A form instance's first entries record its identity (``participant_id``, ``visit_key``,
``form_id``, ``instance_no``) and ``created_at``; its ``updated_at`` and ``protocol_version_id``
*follow* its entries: every entry of the row sets them from the entry itself (its ``at``, and
the id of the protocol version it was made under in the participant's study). Both are hashed
fields of each entry, so the chain proves them and no entry repeats them.

Login bookkeeping is audited: every failed password already writes an entry (the attempt is a
security event), so ``failed_logins`` and ``locked_until`` are recorded whenever they change
(a failed attempt, the lockout, a successful login, a password reset or a reactivation that
clears them); a raw ``UPDATE`` that unlocks an account is reported like any other.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import sqlalchemy as sa

from trialkit.errors import StorageError
from trialkit.store import tables as t

__all__ = ["AUDITED", "NOT_AUDITED", "Audited", "audited", "declared"]

_COUNTER = "an optimistic-concurrency counter, not data: the entries' order is the history"
_SECRET = "a secret: the trail records that it was set or changed, never its value"
#: The entry fields a column can follow (see :attr:`Audited.follows`).
_SOURCES = ("at", "protocol_version")


@dataclass(frozen=True)
class Audited:
    """How one table's rows are recorded in the audit trail."""

    table: sa.Table
    #: JSON text columns; an entry holds either the decoded document or its text.
    json: tuple[str, ...] = ()
    #: Columns the trail does not record, each with the reason (shown in docs and reports).
    unaudited: Mapping[str, str] = field(default_factory=dict)
    #: A JSON column audited per item (``GROUP/item``, ``GROUP[n]/item``): form data.
    items: str | None = None
    #: JSON object columns audited per key, with the entry path's prefix: ``{"derived":
    #: "derived/"}``.
    keyed: Mapping[str, str] = field(default_factory=dict)
    #: Other entry paths that set a column: path -> column (see the module docstring).
    aliases: Mapping[str, str] = field(default_factory=dict)
    #: The value of a column before any entry sets it (default NULL), for columns a row is
    #: created with but whose first entry comes later.
    initial: Mapping[str, Any] = field(default_factory=dict)
    #: Columns every entry of a row sets from the entry itself: column -> ``"at"`` (the entry's
    #: time: the row's last change) or ``"protocol_version"`` (the id of the version the entry
    #: was made under, in the study of the row or of its participant).
    follows: Mapping[str, str] = field(default_factory=dict)
    #: The audit entity of the table's entries (``records.write`` uses the table name).
    entity: str = ""

    def __post_init__(self) -> None:
        if not self.entity:
            object.__setattr__(self, "entity", str(self.table.name))
        names = {c.name for c in self.table.c}
        named = (
            set(self.json)
            | set(self.unaudited)
            | set(self.keyed)
            | set(self.aliases.values())
            | set(self.initial)
            | set(self.follows)
            | ({self.items} if self.items else set())
        )
        unknown = sorted(named - names)
        if unknown:
            raise ValueError(f"table {self.table.name} has no column(s) {', '.join(unknown)}")
        odd = sorted(c for c, source in self.follows.items() if source not in _SOURCES)
        if odd:
            raise ValueError(
                f"table {self.table.name}: column(s) {', '.join(odd)} follow an entry field "
                f"other than {' or '.join(_SOURCES)}"
            )

    @cached_property
    def columns(self) -> tuple[str, ...]:
        """The audited plain and JSON columns (not the items or keyed ones), in table order."""
        skip = set(self.unaudited) | set(self.keyed) | {"id"}
        if self.items:
            skip.add(self.items)
        return tuple(c.name for c in self.table.c if c.name not in skip)

    @cached_property
    def json_columns(self) -> tuple[str, ...]:
        """Every JSON column of the table (audited as a whole, per item or per key)."""
        extra = [self.items] if self.items else []
        return tuple(dict.fromkeys([*self.json, *extra, *self.keyed]))


_DECLARED = (
    Audited(t.study),
    Audited(t.protocol_version),
    Audited(t.protocol_approval),
    Audited(t.site),
    Audited(
        t.participant,
        json=("eligibility",),
        unaudited={"version": _COUNTER},
        aliases={"protocol_version": "protocol_version_id"},
    ),
    Audited(t.participant_event, json=("data",)),
    Audited(t.anchor),
    Audited(t.visit_record, json=("planned",)),
    Audited(
        t.form_instance,
        items="data",
        keyed={"derived": "derived/"},
        initial={"status": "entered"},
        follows={"updated_at": "at", "protocol_version_id": "protocol_version"},
        unaudited={"version": _COUNTER},
    ),
    Audited(t.dose_record, json=("computed", "vials", "deviations")),
    Audited(t.dose_preparation, json=("computed", "deviations")),
    Audited(t.ae_grade, json=("inputs",), unaudited={"version": _COUNTER}),
    Audited(t.serious_report, unaudited={"version": _COUNTER}),
    Audited(t.data_query, unaudited={"version": _COUNTER}),
    Audited(t.query_event),
    Audited(
        t.app_user,
        unaudited={
            "password_hash": _SECRET,
            "version": _COUNTER,
        },
    ),
    Audited(
        t.api_token,
        unaudited={"token_hash": _SECRET},
    ),
    Audited(t.membership),
    Audited(
        t.allocation_state,
        initial={"allocated": 0},
        unaudited={"seed": _SECRET, "version": _COUNTER},
    ),
    Audited(t.allocation, json=("factors", "detail")),
    Audited(t.safety_pause, json=("trigger",)),
    Audited(t.safety_decision, json=("data",)),
    Audited(t.sdv_mark),
    Audited(t.signature),
    Audited(t.record_lock),
)

#: The audited tables by table name.
AUDITED: dict[str, Audited] = {str(a.table.name): a for a in _DECLARED}

#: Tables that are not clinical data and are never written through the one write path.
NOT_AUDITED: dict[str, str] = {
    "audit_log": "the audit trail itself (proved by its hash chain)",
    "audit_head": "the head of the audit trail (proved against the chain and the anchors)",
    "web_session": "web sign-in sessions (hashed cookies, timeouts); sign-in and sign-out are "
    "audited on the user",
    "web_preference": "a user's display language and calendar in the web workspace: no "
    "clinical data",
}


def declared(table: sa.Table) -> Audited | None:
    """The declaration of ``table``, or None when it is not audited."""
    return AUDITED.get(str(table.name))


def audited(table: sa.Table) -> Audited:
    """The declaration of ``table``; a :class:`StorageError` when it is not declared audited."""
    found = AUDITED.get(str(table.name))
    if found is None:
        raise StorageError(
            f"table {table.name} is not declared in trialkit.store.audited: the audit trail "
            "would not prove its rows",
            code="STORE.E040",
            hint="declare it (entity, JSON columns, unaudited columns) in AUDITED",
        )
    return found
