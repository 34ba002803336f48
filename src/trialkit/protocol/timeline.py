"""The protocol's timeline: anchors, dosing events and visits with explicit windows.

Offsets count from an anchor (the consent date, the first dose, the last dose). Study days follow
the CDISC convention: the day of the origin anchor is day 1, the day before it day -1 (no day 0).
A visit's window is ``lower``..``upper`` days around its target, both inclusive.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from trialkit.protocol._base import Code, Model, Name

__all__ = [
    "Administration",
    "Anchor",
    "DosingEvent",
    "Offset",
    "Timeline",
    "Unscheduled",
    "Visit",
    "Window",
]


class Anchor(Model):
    """A date every other time is counted from; set by an event in the participant's record."""

    id: Code
    name: str
    set_by: str = Field(description="What sets it: consent, dosing event id, last dosing event ...")


class Offset(Model):
    days: int = 0
    hours: int = Field(default=0, ge=0, le=23)


class Window(Model):
    """Days before (``lower``, ≤ 0) and after (``upper``, ≥ 0) the target day, inclusive."""

    lower: int = 0
    upper: int = 0


class DosingEvent(Model):
    id: Code
    label: str
    anchor: Code
    offset: Offset = Field(default_factory=Offset)
    window_hours: Window = Field(
        default_factory=Window, description="Allowed deviation of the administration, in hours."
    )
    amount_factor: int = Field(default=1, ge=1, description="How many doses of the rule (vials).")


class Visit(Model):
    id: Code
    name: str
    anchor: Code
    offset: Offset = Field(default_factory=Offset)
    window: Window = Field(default_factory=Window)
    forms: list[Code] = Field(default_factory=list)
    dosing: list[Code] = Field(
        default_factory=list, description="Dosing events given at this visit."
    )


class Unscheduled(Model):
    allowed: bool = True
    forms: list[Code] = Field(default_factory=list)


class Administration(Model):
    """The protocol's administration form, which recording a dose fills (nothing entered twice).

    Each field names the item of ``form`` that receives that fact of the administration; an
    item left out is not filled. The form is saved at the visit that gives the dosing event,
    through the same validated, audited save as any form; a repeating item group gets one row
    per dosing event. In a masked study ``amount`` and ``basis`` are never filled (the form is
    read by blinded roles; the amount stays with the unblinded preparation record).
    """

    form: Code
    given_at: Name = Field(description="Date and time item: when the dose was given.")
    product_lot: Name | None = None
    kit: Name | None = Field(default=None, description="Kit or vial number.")
    volume: Name | None = Field(default=None, description="Volume given, in the rule's unit.")
    amount: Name | None = Field(default=None, description="Amount given, in the rule's unit.")
    basis: Name | None = Field(default=None, description="The basis value the dose used.")
    given_by: Name | None = Field(default=None, description="Who gave it (the user name).")


class Timeline(Model):
    anchors: list[Anchor] = Field(min_length=1)
    origin: Code = Field(description="The anchor whose day is study day 1.")
    dosing: list[DosingEvent] = Field(default_factory=list)
    visits: list[Visit] = Field(min_length=1)
    unscheduled: Unscheduled = Field(default_factory=Unscheduled)
    administration: Administration | None = Field(
        default=None, description="The form a recorded dose fills (see `Administration`)."
    )

    @model_validator(mode="after")
    def _origin_known(self) -> Timeline:
        if self.origin not in {a.id for a in self.anchors}:
            raise ValueError(f"origin {self.origin!r} is not one of the anchors")
        return self
