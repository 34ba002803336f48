"""The typed JSON API at ``/api/v1`` (docs/api.md), one module per resource.

:func:`create_api` builds it as its own ASGI application, sharing the pages' database, clock
and settings; :func:`trialkit.web.create_app` sends every path under ``/api/v1`` to it before
the CSRF layer of the pages (the API reads no cookie and sets none: bearer tokens only). Its
OpenAPI document is ``/api/v1/openapi.json``: every operation declares its response model and
its error responses (the envelope of :mod:`trialkit.web.api.errors`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from fastapi import FastAPI

from trialkit import __version__
from trialkit.store import Database
from trialkit.web.api import (
    adverse_events,
    amendments,
    analysis,
    audit,
    cohorts,
    doses,
    errors,
    exports,
    forms,
    locks,
    participants,
    queries,
    safety,
    sdv,
    signatures,
    studies,
    trail,
    visits,
)
from trialkit.web.settings import Settings

__all__ = ["PREFIX", "create_api", "is_api_path"]

PREFIX = "/api/v1"


def is_api_path(path: str) -> bool:
    """Whether ``path`` belongs to the API (``/api/v1`` or below; not ``/api/v10``)."""
    return path == PREFIX or path.startswith(PREFIX + "/")


def create_api(settings: Settings, db: Database, clock: Callable[[], datetime]) -> FastAPI:
    api = FastAPI(
        title="trialkit API",
        version=__version__,
        summary="The typed JSON API of trialkit: bearer tokens, one error envelope.",
        docs_url=None,
        redoc_url=None,
        openapi_url=PREFIX + "/openapi.json",
    )
    api.state.settings = settings
    api.state.db = db
    api.state.clock = clock
    errors.install(api)
    for module in (
        studies,
        participants,
        forms,
        doses,
        adverse_events,
        queries,
        sdv,
        signatures,
        locks,
        safety,
        exports,
        audit,
        # the services of the pages beyond the first API (docs/api.md)
        visits,
        analysis,
        cohorts,
        trail,
        amendments,
    ):
        api.include_router(module.router, prefix=PREFIX)
    return api
