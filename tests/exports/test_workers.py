"""The worker processes of the csv, xpt and stata exports (``trialkit.exports.base.Worker``,
taken when ``TRIALKIT_EXPORT_WORKERS=1``):
the files are byte for byte those written in the export's own process (SQLite and
PostgreSQL; the SAS/Stata headers' creation times aside), and a failure in the worker, of the
worker, or in the read surfaces as the export's error and leaves no file behind that looks
whole (no long.csv, wide.csv, dictionary.csv or dataset; no ``.part`` file)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.exports.conftest import PAE
from tests.exports.test_fast_path import _files, seeded  # noqa: F401 (fixture)

from trialkit.exports import ExportError, csv_export, export, readstat
from trialkit.exports.base import Worker
from trialkit.services import Context
from trialkit.services.extract import Extract
from trialkit.store import Database

FORMATS = ["csv", "xpt", "stata"]


@pytest.fixture(autouse=True)
def _workers(monkeypatch: pytest.MonkeyPatch) -> None:
    """The workers asked for (they are off by default)."""
    monkeypatch.setenv("TRIALKIT_EXPORT_WORKERS", "1")


def _left(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_worker_writes_what_the_export_process_writes(
    db: Database,
    ctx: Context,
    seeded: tuple[str, ...],  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fmt: str,
) -> None:
    calls: list[str] = []
    started = Worker.__init__

    def counted(self: Worker, target: str, *args: Any) -> None:
        calls.append(target)
        started(self, target, *args)

    monkeypatch.setattr(Worker, "__init__", counted)
    far = export(db, ctx, PAE, fmt, tmp_path / "worker")
    assert len(calls) == 1  # the export took the worker
    monkeypatch.setattr(csv_export, "WORKER", False)
    monkeypatch.setattr(readstat, "WORKER", False)
    near = export(db, ctx, PAE, fmt, tmp_path / "here")
    assert len(calls) == 1  # and this one did not
    monkeypatch.setattr(csv_export, "WORKER", True)
    monkeypatch.setattr(readstat, "WORKER", True)
    monkeypatch.setenv("TRIALKIT_EXPORT_WORKERS", "0")
    export(db, ctx, PAE, fmt, tmp_path / "default")
    monkeypatch.delenv("TRIALKIT_EXPORT_WORKERS")
    export(db, ctx, PAE, fmt, tmp_path / "default")
    assert len(calls) == 1  # not asked for: none
    assert (far.values, far.participants, far.notes) == (near.values, near.participants, near.notes)
    assert [p.name for p in far.files] == [p.name for p in near.files]
    assert _files(tmp_path / "worker") == _files(tmp_path / "here")
    assert not [n for n in _left(tmp_path / "worker") if n.endswith(".part")]


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_error_in_the_worker_is_the_exports_error(
    db: Database,
    ctx: Context,
    seeded: tuple[str, ...],  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fmt: str,
) -> None:
    sent = Worker.call_marshal

    def wrong(self: Worker, method: str, *args: Any) -> None:  # a method the worker lacks
        sent(self, method + "_unknown" if method in ("rows", "records") else method, *args)

    monkeypatch.setattr(Worker, "call_marshal", wrong)
    with pytest.raises(AttributeError, match="_unknown"):
        export(db, ctx, PAE, fmt, tmp_path / "out")
    assert _left(tmp_path / "out") == []


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_worker_that_dies_fails_the_export(
    db: Database,
    ctx: Context,
    seeded: tuple[str, ...],  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fmt: str,
) -> None:
    sent = Worker.call_marshal

    def killed(self: Worker, method: str, *args: Any) -> None:
        self._process.kill()
        self._process.wait()
        sent(self, method, *args)

    monkeypatch.setattr(Worker, "call_marshal", killed)
    with pytest.raises(ExportError) as failed:
        export(db, ctx, PAE, fmt, tmp_path / "out")
    assert failed.value.code == "EXPORT.E006"
    assert _left(tmp_path / "out") == []


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_error_in_the_read_ends_the_worker_and_leaves_no_file(
    db: Database,
    ctx: Context,
    seeded: tuple[str, ...],  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fmt: str,
) -> None:
    read = Extract.records
    workers: list[Worker] = []
    started = Worker.__init__

    def kept(self: Worker, target: str, *args: Any) -> None:
        workers.append(self)
        started(self, target, *args)

    def broken(self: Extract) -> Iterator[Any]:
        for n, rec in enumerate(read(self)):
            if n == 3:
                raise RuntimeError("the database went away")
            yield rec

    monkeypatch.setattr(Worker, "__init__", kept)
    monkeypatch.setattr(Extract, "records", broken)
    with pytest.raises(RuntimeError, match="went away"):
        export(db, ctx, PAE, fmt, tmp_path / "out")
    assert _left(tmp_path / "out") == []
    assert [w._process.poll() for w in workers] == [0]  # the worker ended, writing nothing
