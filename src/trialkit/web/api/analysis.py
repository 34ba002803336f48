"""The study's analysis results: every endpoint of the protocol's outcomes, computed by
:func:`trialkit.analysis.analyse` on the analysis tables (:func:`trialkit.services.tidy_extract`),
exactly what the study report and ``trialkit analyse --db --json`` show.

The tables need the permission to analyse the study at every site (a study-wide membership of
a data manager, statistician or the safety board): a membership at some sites is refused
(``AUTH.E010``, 403), since an endpoint is a statement about the whole study. A reader who may
not see the allocation of a masked study gets every participant in the arm ``BLINDED``, so
every table is pooled (a blinded data review): no result by arm reaches them.

Numbers leave in full precision (``display=true``: rounded as the human tables show them); a
number that is not finite (a mixed model's standard error that cannot be estimated) leaves as
null, since JSON has no NaN.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, StringConstraints

from trialkit.analysis import EndpointResult, EndpointSpec, analyse
from trialkit.services.access import sees_allocation
from trialkit.services.context import naive
from trialkit.services.tidy import BLINDED, tidy_extract
from trialkit.web.api.auth import Auth
from trialkit.web.api.errors import READ_ERRORS, ApiError
from trialkit.web.api.params import LocalDateTime, StudyPath

__all__ = ["AnalysisOut", "EndpointOut", "router"]

router = APIRouter(tags=["analysis"], responses=READ_ERRORS)

Cell = str | int | float | None


class ListingOut(BaseModel):
    """A per-participant listing beside an endpoint's table (percent improvement)."""

    columns: list[str]
    rows: list[dict[str, Cell]]


class EndpointOut(BaseModel):
    """One endpoint's result: a small table (``columns``, ``rows`` keyed by column), the methods
    and conventions used, notes on what was excluded and why, model details per arm."""

    name: str
    type: str
    outcome: str | None
    outcome_kind: Literal["primary", "secondary", "other"] | None
    status: Literal["computed", "no data"]
    reason: str | None
    columns: list[str]
    rows: list[dict[str, Cell]]
    methods: dict[str, dict[str, str]]
    notes: list[str]
    details: dict[str, Any]
    listing: ListingOut | None


class AnalysisOut(BaseModel):
    """The analysis of ``study`` as it stands at ``as_of``, under its newest protocol version."""

    study: str
    protocol_version: str
    as_of: LocalDateTime
    blinded: bool
    arms: list[str]
    participants: int
    data_notes: list[str]
    endpoints: list[EndpointOut]


def _finite(value: Any) -> Any:
    """``value`` with every non-finite float replaced by None (JSON has no NaN)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def _out(r: EndpointResult, display: bool, outcome: tuple[str, str] | None) -> EndpointOut:
    data = _finite(r.to_dict(display=display))
    listing = data["listing"]
    return EndpointOut(
        name=data["name"],
        type=data["type"],
        outcome=None if outcome is None else outcome[0],
        outcome_kind=None if outcome is None else outcome[1],
        status=data["status"],
        reason=data["reason"],
        columns=data["columns"],
        rows=data["rows"],
        methods=data["methods"],
        notes=data["notes"],
        details=data["details"],
        listing=None if listing is None else ListingOut(**listing),
    )


@router.get(
    "/studies/{study}/analysis",
    response_model=AnalysisOut,
    summary="The results of the protocol's endpoints (study-wide; pooled for a blinded reader)",
)
def study_analysis(
    call: Auth,
    study: StudyPath,
    endpoint: Annotated[
        list[Annotated[str, StringConstraints(min_length=1, max_length=200)]] | None,
        Query(max_length=100, description="Only the endpoints of these names (repeatable)."),
    ] = None,
    display: Annotated[
        bool, Query(description="Round the numbers as the human tables show them.")
    ] = False,
) -> AnalysisOut:
    extract = tidy_extract(call.db, call.ctx, study)
    defined = extract.study
    specs: list[EndpointSpec] = []
    outcome_of: dict[int, tuple[str, str]] = {}
    for outcome in defined.outcomes:
        for spec in outcome.endpoints:
            outcome_of[len(specs)] = (outcome.id, outcome.kind)
            specs.append(spec)
    chosen = list(range(len(specs)))
    if endpoint:
        names = [s.name for s in specs]
        unknown = [n for n in endpoint if n not in names]
        if unknown:
            raise ApiError(
                404,
                f"study {study}: no endpoint named {unknown[0]!r}",
                code="API.E003",
                hint="endpoints: " + (", ".join(names) or "none defined"),
            )
        chosen = [i for i, s in enumerate(specs) if s.name in endpoint]
    arm_order = [a.id for a in defined.arms]
    results = analyse([specs[i] for i in chosen], extract.data, arm_order=arm_order)
    masked = defined.design.masking.level != "none"
    blinded = not sees_allocation(call.ctx.principal, study, masked, None)
    as_of: datetime = naive(call.ctx.as_of)
    return AnalysisOut(
        study=defined.id,
        protocol_version=defined.protocol_version,
        as_of=as_of,
        blinded=blinded,
        arms=[BLINDED] if blinded else arm_order,
        participants=len(extract.data.participants()),
        data_notes=list(extract.notes),
        endpoints=[
            _out(r, display, outcome_of.get(i)) for i, r in zip(chosen, results, strict=True)
        ],
    )
