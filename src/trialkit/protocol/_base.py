"""The base of every study-definition model: strict about unknown keys, documented fields."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

__all__ = ["Code", "Model", "Name"]


class Model(BaseModel):
    """A study-definition model: unknown keys are errors (a typo must not be silently dropped)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


#: A stable identifier for a visit, form, arm, criterion, dosing event... (``W04``, ``PASI``).
Code = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$")]
#: An item name: lower snake case, used by expressions and exports (``head_erythema``).
Name = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]

CODE_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$")
