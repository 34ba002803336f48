"""Studies in the database: protocol versions loaded from their YAML, and sites.

An amendment is a new protocol version of the same study (a new ``protocol_version`` in the
YAML). Loading the same version again with the same text does nothing; with other text it is
refused, so a version's meaning never changes under data already captured with it.

Each stored version is parsed once (by content hash) and served with its :class:`Ports` (the
eligibility evaluator, the edit-check evaluator and the scorer), built once beside it by the
bound factory: :func:`trialkit.services.standard.standard_ports`, unless a test binds a
stand-in with :func:`bind_ports`. Every use case reaches the pure core through
``ProtocolRef.ports``, so none can leave a check or a score out.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from trialkit.checks import check_full
from trialkit.errors import ConflictError, DefinitionError, NotFound
from trialkit.instruments.from_study import expand_study
from trialkit.protocol import Severity, Study, load_study_text
from trialkit.services.access import Permission, require, require_admin, visible_sites
from trialkit.services.context import Context
from trialkit.services.ports import Ports, PortsFactory
from trialkit.services.records import write
from trialkit.services.standard import standard_ports
from trialkit.store import Database
from trialkit.store.tables import protocol_version, site, study

__all__ = [
    "LoadedVersion",
    "ProtocolRef",
    "add_site",
    "bind_ports",
    "checked_study",
    "definition",
    "load_study",
    "protocol",
    "protocol_by_id",
    "store_version",
]


@dataclass(frozen=True)
class LoadedVersion:
    study: str
    version: str
    sha256: str
    created: bool


@dataclass(frozen=True)
class ProtocolRef:
    """A stored protocol version and its parsed study definition."""

    id: int
    study_id: int
    version: str
    study: Study
    sha256: str

    @property
    def ports(self) -> Ports:
        """The evaluators this version is served with (built once per version)."""
        return _ports(self.sha256, self.study)


#: Parsed protocol versions by content hash: a stored version's text never changes.
_BY_SHA: dict[str, Study] = {}
#: Their ports, by the same hash, built by ``_FACTORY`` on first use.
_PORTS: dict[str, Ports] = {}
_FACTORY: list[PortsFactory] = [standard_ports]


def _ports(sha256: str, parsed: Study) -> Ports:
    found = _PORTS.get(sha256)
    if found is None:
        found = _PORTS.setdefault(sha256, _FACTORY[0](parsed))
    return found


@contextmanager
def bind_ports(factory: PortsFactory) -> Iterator[None]:
    """Serve every protocol version with ``factory``'s ports inside the block (for a test that
    needs a stand-in evaluator); the standard ports are bound again after it."""
    previous = _FACTORY[0]
    _FACTORY[0] = factory
    _PORTS.clear()
    try:
        yield
    finally:
        _FACTORY[0] = previous
        _PORTS.clear()


def _parse(sha256: str, text: str) -> Study:
    """The stored version parsed once, instrument item groups written out (so forms validate
    every instrument item)."""
    parsed = _BY_SHA.get(sha256)
    if parsed is None:
        source = f"protocol version sha256:{sha256[:12]}"
        parsed = _BY_SHA.setdefault(sha256, expand_study(load_study_text(text, source=source)))
    return parsed


def checked_study(text: str, *, source: str = "<yaml>") -> Study:
    """``text`` parsed and checked as ``trialkit study check`` checks it; a study with errors
    is refused with every finding (``STUDY.E001``)."""
    parsed = load_study_text(text, source=source)
    errors = [d for d in check_full(parsed) if d.severity is Severity.ERROR]
    if errors:
        raise DefinitionError(
            f"study {parsed.id} has {len(errors)} error(s) and cannot be loaded: "
            + "; ".join(str(d) for d in errors),
            code="STUDY.E001",
            hint="run `trialkit study check` on it and fix each finding",
            file=source,
        )
    return parsed


def load_study(db: Database, ctx: Context, text: str, *, source: str = "<yaml>") -> LoadedVersion:
    """Store a study definition as a protocol version (a new study, or an amendment)."""
    parsed = checked_study(text, source=source)
    with db.write() as conn:
        return store_version(conn, ctx, parsed, text)


def store_version(conn: sa.Connection, ctx: Context, parsed: Study, text: str) -> LoadedVersion:
    """Store ``parsed`` (checked, read from ``text``) as a protocol version inside the caller's
    transaction (see :func:`load_study`, which checks it first)."""
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    study_id = conn.execute(sa.select(study.c.id).where(study.c.code == parsed.id)).scalar()
    if study_id is None:
        require_admin(ctx.principal, f"load the new study {parsed.id}")
    else:
        require(ctx.principal, Permission.MANAGE_STUDY, parsed.id, None)
    if study_id is None:
        study_id = write(
            conn, ctx, table=study, values={"code": parsed.id, "created_at": ctx.as_of}
        )
    existing = conn.execute(
        sa.select(protocol_version.c.sha256).where(
            protocol_version.c.study_id == study_id,
            protocol_version.c.version == parsed.protocol_version,
        )
    ).scalar()
    if existing is not None:
        if existing != digest:
            raise ConflictError(
                f"study {parsed.id} protocol version {parsed.protocol_version} is already "
                "loaded with different content",
                code="STUDY.E002",
                hint="an amendment needs a new protocol_version in the YAML",
            )
        return LoadedVersion(parsed.id, parsed.protocol_version, digest, False)
    write(
        conn,
        ctx,
        table=protocol_version,
        action="load",
        values={
            "study_id": study_id,
            "version": parsed.protocol_version,
            "yaml": text,
            "sha256": digest,
            "loaded_at": ctx.as_of,
            "loaded_by": ctx.actor,
        },
        protocol_version=parsed.protocol_version,
    )
    return LoadedVersion(parsed.id, parsed.protocol_version, digest, True)


def _ref(row: Any) -> ProtocolRef:
    return ProtocolRef(row.id, row.study_id, row.version, _parse(row.sha256, row.yaml), row.sha256)


_COLS = (
    protocol_version.c.id,
    protocol_version.c.study_id,
    protocol_version.c.version,
    protocol_version.c.sha256,
    protocol_version.c.yaml,
)


def protocol(conn: sa.Connection, study_code: str, version: str | None = None) -> ProtocolRef:
    """A study's protocol version (``None``: the newest loaded)."""
    q = sa.select(*_COLS).join(study, study.c.id == protocol_version.c.study_id)
    q = q.where(study.c.code == study_code)
    if version is not None:
        q = q.where(protocol_version.c.version == version)
    row = conn.execute(q.order_by(protocol_version.c.id.desc()).limit(1)).first()
    if row is None:
        known = conn.execute(sa.select(study.c.code).order_by(study.c.code)).scalars().all()
        what = f"study {study_code!r}" + (f" protocol version {version!r}" if version else "")
        raise NotFound(
            f"{what} is not loaded",
            code="STUDY.E003",
            hint="load it first; loaded studies: " + (", ".join(known) or "none"),
        )
    return _ref(row)


def definition(db: Database, ctx: Context, study_code: str, version: str | None = None) -> Study:
    """The study's definition (``version``; ``None``: the newest loaded), for a member who may
    read its records at some site (the protocol itself holds no allocation)."""
    visible_sites(ctx.principal, Permission.READ, study_code)
    with db.read() as conn:
        return protocol(conn, study_code, version).study


def protocol_by_id(conn: sa.Connection, protocol_version_id: int) -> ProtocolRef:
    """A protocol version by id; its YAML is read and parsed only once per content hash."""
    head = conn.execute(
        sa.select(
            protocol_version.c.id,
            protocol_version.c.study_id,
            protocol_version.c.version,
            protocol_version.c.sha256,
        ).where(protocol_version.c.id == protocol_version_id)
    ).one()
    parsed = _BY_SHA.get(head.sha256)
    if parsed is None:
        text = conn.execute(
            sa.select(protocol_version.c.yaml).where(protocol_version.c.id == protocol_version_id)
        ).scalar_one()
        parsed = _parse(head.sha256, text)
    return ProtocolRef(head.id, head.study_id, head.version, parsed, head.sha256)


def add_site(db: Database, ctx: Context, study_code: str, code: str, name: str) -> int:
    """Add a site (centre) to a study; ``code`` appears in participant ids."""
    if not code.isalnum():
        raise DefinitionError(
            f"site code {code!r} must be letters and digits only (it is part of participant ids)",
            code="STUDY.E004",
        )
    require(ctx.principal, Permission.MANAGE_STUDY, study_code, None)
    with db.write() as conn:
        ref = protocol(conn, study_code)
        taken = conn.execute(
            sa.select(site.c.id).where(site.c.study_id == ref.study_id, site.c.code == code)
        ).scalar()
        if taken is not None:
            raise ConflictError(
                f"study {study_code}: site {code!r} exists already", code="STUDY.E005"
            )
        return write(
            conn,
            ctx,
            table=site,
            values={"study_id": ref.study_id, "code": code, "name": name, "next_seq": 1},
        )
