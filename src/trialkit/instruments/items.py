"""Item definitions: what a case report form asks for one input of an instrument."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = ["DataType", "ItemDef", "OptionDef"]

DataType = Literal["integer", "decimal", "text", "date", "boolean", "code"]

_SNAKE = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")


class ItemDef(BaseModel):
    """One input of an instrument, plain enough to generate a form item from.

    ``name`` is stable snake_case (protocols reference it); ``label`` is a short neutral label
    (never questionnaire wording); ``minimum``/``maximum`` bound numeric items inclusively;
    ``codes`` maps a stored code to its short label (for ``code`` items, and for ordinal
    ``integer`` items whose every allowed value is listed); ``unit`` is UCUM-like.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    label: str
    data_type: DataType
    minimum: Decimal | None = None
    maximum: Decimal | None = None
    unit: str | None = None
    codes: dict[str, str] = Field(default_factory=dict)
    required: bool = True
    #: When the item is needed only under a condition (a segment reached, a scale's
    #: missing-item rule): the condition in words. ``required`` stays what a form asks for.
    required_when: str | None = None
    description: str | None = None

    @field_validator("name")
    @classmethod
    def _snake_case(cls, value: str) -> str:
        if not _SNAKE.match(value):
            raise ValueError(f"item name {value!r} is not snake_case")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> ItemDef:
        if self.minimum is not None and self.maximum is not None and self.minimum > self.maximum:
            raise ValueError(f"item {self.name}: minimum {self.minimum} > maximum {self.maximum}")
        if self.data_type == "code" and not self.codes:
            raise ValueError(f"item {self.name}: a code item needs a code list")
        return self

    def range_text(self) -> str:
        """The allowed values in words, for messages and listings."""
        if self.minimum is not None and self.maximum is not None:
            return f"{self.minimum}..{self.maximum}"
        if self.codes:
            return ", ".join(self.codes)
        if self.minimum is not None:
            return f">= {self.minimum}"
        if self.maximum is not None:
            return f"<= {self.maximum}"
        return "any"

    def required_text(self) -> str:
        """Whether the score needs the item, in words: yes, no, or "if <condition>"."""
        if self.required_when:
            return f"if {self.required_when}"
        return "yes" if self.required else "no"


class OptionDef(BaseModel):
    """A documented scoring convention an instrument lets the caller choose."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    data_type: Literal["integer", "decimal", "boolean", "text"]
    default: Decimal | int | bool | str | None
    description: str
    choices: tuple[str, ...] = ()
