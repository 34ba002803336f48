"""``trialkit audit``: prove the audit trail and the data, and anchor its head outside.

Both commands are administration of the database by its local operator (whoever holds the
database credentials), as ``trialkit db``: they read, and ``anchor`` writes only its file.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import sqlalchemy as sa
import typer

from trialkit.cli._console import console, err_console
from trialkit.errors import StorageError
from trialkit.store import (
    Database,
    HeadAnchor,
    anchor_line,
    current_revision,
    default_url,
    entry_at,
    head,
    parse_anchors,
    verify_all,
)

__all__ = ["register"]

audit_app = typer.Typer(
    help="Prove the audit trail and the data; anchor its head.", no_args_is_help=True
)

_URL = typer.Option(
    "--url", help="Database URL; default $TRIALKIT_DATABASE_URL or ./trialkit.sqlite3."
)


@contextmanager
def _reading(url: str | None) -> Iterator[sa.Connection]:
    """One consistent read of the database at ``url``, with its errors translated."""
    db = Database.from_url(default_url(url))
    where = db.engine.url.render_as_string(hide_password=True)
    try:
        if current_revision(db.engine) is None:
            raise StorageError(
                f"{where} has no trialkit schema",
                code="STORE.E030",
                hint="run `trialkit db upgrade` first, or give the right --url",
            )
        try:
            with db.read() as conn:
                yield conn
        except sa.exc.DBAPIError as exc:
            raise StorageError(
                f"cannot read the audit trail of {where}: {exc.orig}", code="STORE.E031"
            ) from exc
    finally:
        db.dispose()


def _anchors(path: Path | None) -> list[HeadAnchor]:
    if path is None:
        return []
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise StorageError(
            f"anchor file {path} cannot be read: {exc.strerror}",
            code="STORE.E042",
            hint="give the file `trialkit audit anchor --out` writes",
        ) from exc
    return parse_anchors(text, str(path))


@audit_app.command("verify")
def verify_command(
    url: Annotated[str | None, _URL] = None,
    anchors: Annotated[
        Path | None,
        typer.Option(
            "--anchors",
            help="Anchor file (from `audit anchor --out`): every head in it must still be on "
            "the chain.",
        ),
    ] = None,
) -> None:
    """Prove the trail and the data: the hash chain, the anchored heads, and every audited
    table replayed from the trail. Exit 1 on any problem."""
    known = _anchors(anchors)
    with _reading(url) as conn:
        result = verify_all(conn, anchors=known)
    if result.ok:
        console.print(
            f"audit trail intact: {result.entries} entries; head {result.head_seq} "
            f"sha256:{result.head_hash}",
            markup=False,
        )
        console.print(
            "every audited table matches the trail"
            + (f"; {result.anchors} anchored head(s) on the chain" if anchors else ""),
            markup=False,
        )
        if anchors is None:
            console.print(
                "Anchor the head outside the database: `trialkit audit anchor`.", markup=False
            )
        return
    p = result.problem
    if p is not None:
        err_console.print(
            f"audit trail BROKEN at entry {p.seq}: {p.kind}: {p.detail}", markup=False
        )
    for a in result.anchor_problems:
        err_console.print(f"anchor BROKEN at entry {a.seq}: {a.kind}: {a.detail}", markup=False)
    for d in result.differences:
        err_console.print(f"data differ from the trail: {d.detail}", markup=False)
    hidden = result.differences_total - len(result.differences)
    if hidden:
        err_console.print(f"… and {hidden} more difference(s)", markup=False)
    if p is None and not result.anchor_problems:
        err_console.print(
            f"audit trail intact ({result.entries} entries), but {result.differences_total} "
            "stored value(s) differ from it: the data were changed outside trialkit",
            markup=False,
        )
    raise typer.Exit(1)


def _append(path: Path, line: str) -> None:
    """Append ``line`` to ``path`` and make it durable; the file is never rewritten."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, (line + "\n").encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        raise StorageError(
            f"anchor file {path} cannot be written: {exc.strerror}",
            code="STORE.E043",
            hint="give a file you may append to (or omit --out and keep the printed line)",
        ) from exc


@audit_app.command("anchor")
def anchor_command(
    url: Annotated[str | None, _URL] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Append the anchor to this file (one line per anchor, never rewritten); "
            "it is printed in any case.",
        ),
    ] = None,
) -> None:
    """Write the current head (sequence, hash, time) for a place the database administrator
    cannot change; refused if the file's last anchor is no longer on the chain."""
    earlier = _anchors(out) if out is not None and out.exists() else []
    with _reading(url) as conn:
        seq, hash_ = head(conn)
        last = earlier[-1] if earlier else None
        if last is not None:
            found = entry_at(conn, last.seq) if last.seq else None
            if last.seq > seq or (last.seq and found != last.hash):
                now = "is missing" if found is None else f"holds sha256:{found}"
                err_console.print(
                    f"anchor BROKEN at entry {last.seq}: the head anchored at {last.at} (line "
                    f"{last.line} of {out}) was sha256:{last.hash}; that entry now {now}. "
                    "Nothing was anchored: run `trialkit audit verify --anchors` and report it.",
                    markup=False,
                )
                raise typer.Exit(1)
    stamp = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    line = anchor_line(HeadAnchor(seq, hash_, stamp))
    if out is not None:
        _append(out, line)
    console.print(line, markup=False)


def register(app: typer.Typer) -> None:
    app.add_typer(audit_app, name="audit")
