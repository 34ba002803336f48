"""Studies the caller belongs to, their definitions (the protocol as loaded, any version) and
their sites."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from trialkit.errors import NotFound
from trialkit.protocol import Study
from trialkit.services import Permission, list_sites
from trialkit.services.access import visible_sites
from trialkit.services.matrix import my_studies
from trialkit.services.studies import definition
from trialkit.web.api.auth import Auth
from trialkit.web.api.errors import READ_ERRORS
from trialkit.web.api.paging import Cursor, Limit, Page, paginate
from trialkit.web.api.params import StudyPath

__all__ = ["RoleOut", "SiteOut", "StudyOut", "router"]

router = APIRouter(tags=["studies"], responses=READ_ERRORS)


class RoleOut(BaseModel):
    role: str
    site: str | None
    unblinded: bool


class StudyOut(BaseModel):
    code: str
    title: str
    acronym: str | None
    roles: list[RoleOut]
    participants: int


class SiteOut(BaseModel):
    code: str
    name: str
    participants: int


def _studies(call: Auth) -> list[StudyOut]:
    return [
        StudyOut(
            code=c.code,
            title=c.title,
            acronym=c.acronym,
            roles=[RoleOut(role=r, site=s, unblinded=u) for r, s, u in c.roles],
            participants=c.participants,
        )
        for c in my_studies(call.db, call.ctx)
    ]


@router.get("/studies", response_model=Page[StudyOut], summary="The caller's studies")
def studies(call: Auth, limit: Limit = 100, cursor: Cursor = None) -> Page[StudyOut]:
    items, after = paginate(_studies(call), lambda s: s.code, limit, cursor)
    return Page[StudyOut](items=items, next_cursor=after)


@router.get("/studies/{study}", response_model=StudyOut, summary="One study")
def study(call: Auth, study: StudyPath) -> StudyOut:
    visible_sites(call.ctx.principal, Permission.READ, study)  # a non-member: 403
    for s in _studies(call):
        if s.code == study:
            return s
    raise NotFound(f"there is no study {study!r} among yours", code="STUDY.E003")


@router.get(
    "/studies/{study}/definition",
    response_model=Study,
    summary="The study's definition (a protocol version; the newest by default)",
)
def study_definition(
    call: Auth,
    study: StudyPath,
    version: Annotated[str | None, Query(min_length=1, max_length=32)] = None,
) -> Study:
    return definition(call.db, call.ctx, study, version)


@router.get("/studies/{study}/sites", response_model=Page[SiteOut], summary="The study's sites")
def sites(call: Auth, study: StudyPath, limit: Limit = 100, cursor: Cursor = None) -> Page[SiteOut]:
    rows = [
        SiteOut(code=s.code, name=s.name, participants=s.participants)
        for s in list_sites(call.db, call.ctx, study)
    ]
    items, after = paginate(rows, lambda s: s.code, limit, cursor)
    return Page[SiteOut](items=items, next_cursor=after)
