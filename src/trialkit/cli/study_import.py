"""``trialkit study import FILE``: a registry record as a draft study YAML."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from trialkit.cli._console import console, err_console
from trialkit.errors import TrialkitError
from trialkit.protocol import dump_study, save_study
from trialkit.registry import ImportResult, import_records, slug
from trialkit.registry.result import FORMAT_NAMES

__all__ = ["import_study", "register_import"]


def _report(result: ImportResult, many: bool) -> None:
    if not result.unmapped:
        return
    who = f"{result.record_id}: " if many else ""
    err_console.print(
        f"{who}{len(result.unmapped)} thing(s) the importer could not map "
        f"({result.source_format.value}):",
        markup=False,
    )
    for entry in result.unmapped:
        err_console.print(f"  - {entry}", markup=False)


def _write(results: list[ImportResult], out: Path, many: bool) -> list[Path]:
    if not many and not out.is_dir():
        save_study(results[0].study, out)
        return [out]
    if out.exists() and not out.is_dir():
        raise IsADirectoryError(f"{out} is a file; the record file holds several records")
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for r in results:
        path = out / f"{r.study.id}.yaml"
        if path in written:  # two records with one acronym: name the file by registry id
            path = out / f"{slug(r.record_id or r.study.id)}.yaml"
        save_study(r.study, path)
        written.append(path)
    return written


def import_study(
    file: Annotated[
        Path,
        typer.Argument(
            help="Registry record: ClinicalTrials.gov JSON (API v2 study or search response, "
            "classic v1) or legacy XML, WHO ICTRP XML or JSON, IRCT XML or record page text."
        ),
    ],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="Write the YAML here instead of printing it; for a file of several records, "
            "a folder that gets one <study id>.yaml per record.",
        ),
    ] = None,
    record_id: Annotated[
        str | None,
        typer.Option(
            "--id",
            help="Import only the record with this registry id (NCT…, IRCT…) from a file of "
            "several records.",
        ),
    ] = None,
) -> None:
    """Import a registry record as a draft study; list what could not be mapped on stderr."""
    try:
        batch = import_records(file, record_id=record_id)
        if not batch.results:
            raise batch.refused[0].error
        many = len(batch.results) + len(batch.refused) > 1
        if out is None:
            text = "---\n".join(dump_study(r.study) for r in batch.results)
            console.print(text, markup=False, end="")
        else:
            for path in _write(batch.results, out, many):
                err_console.print(f"wrote {path}", markup=False)
    except TrialkitError as exc:
        # record text may hold square brackets ("[i]"), so the message is printed as is
        err_console.print(f"error [{exc.code}]: {exc}", markup=False, highlight=False)
        raise typer.Exit(1) from exc
    except OSError as exc:
        reason = exc.strerror or str(exc)
        err_console.print(f"error [IMPORT.E005]: cannot write {out}: {reason}", markup=False)
        raise typer.Exit(1) from exc
    for result in batch.results:
        _report(result, many)
    if many:
        err_console.print(
            f"{len(batch.results)} draft(s) from {len(batch.results) + len(batch.refused)} "
            f"record(s) of a {FORMAT_NAMES[batch.source_format]}",
            markup=False,
        )
    for refused in batch.refused:
        err_console.print(
            f"error [{refused.error.code}]: {refused.record_id}: {refused.error}", markup=False
        )
    if batch.refused:
        raise typer.Exit(1)


def register_import(study_app: typer.Typer) -> None:
    """Add the ``import`` command to the ``trialkit study`` group."""
    study_app.command(name="import")(import_study)
