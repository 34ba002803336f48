"""Outcomes: the registry's words plus computable endpoint definitions."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from trialkit.protocol._base import Code, Model
from trialkit.protocol.endpoints import EndpointSpec

__all__ = ["Outcome"]


class Outcome(Model):
    id: Code
    kind: Literal["primary", "secondary", "other"]
    description: str = Field(description="Verbatim registry text.")
    timepoint: str | None = None
    method: str | None = None
    endpoints: list[EndpointSpec] = Field(default_factory=list)
