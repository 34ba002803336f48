"""``trialkit study import FILE``: a registry record as a draft study YAML."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from trialkit.cli._console import console, err_console, fail
from trialkit.errors import TrialkitError
from trialkit.protocol import dump_study, save_study
from trialkit.registry import import_record

__all__ = ["import_study", "register_import"]


def import_study(
    file: Annotated[
        Path, typer.Argument(help="IRCT record page text export or ClinicalTrials.gov JSON.")
    ],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write the YAML here instead of printing it.")
    ] = None,
) -> None:
    """Import a registry record as a draft study; list what could not be mapped on stderr."""
    try:
        result = import_record(file)
        if out is None:
            console.print(dump_study(result.study), markup=False, end="")
        else:
            save_study(result.study, out)
            err_console.print(f"wrote {out} (study {result.study.id})", markup=False)
    except TrialkitError as exc:
        fail(exc)
    except OSError as exc:
        err_console.print(f"error [IMPORT.E005]: cannot write {out}: {exc.strerror}", markup=False)
        raise typer.Exit(1) from exc
    if result.unmapped:
        err_console.print(
            f"{len(result.unmapped)} thing(s) the importer could not map "
            f"({result.source_format.value}):",
            markup=False,
        )
        for entry in result.unmapped:
            err_console.print(f"  - {entry}", markup=False)


def register_import(study_app: typer.Typer) -> None:
    """Add the ``import`` command to the ``trialkit study`` group."""
    study_app.command(name="import")(import_study)
