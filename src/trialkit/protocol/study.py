"""The study: one YAML document holding everything a protocol states."""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field

from trialkit.protocol._base import Code, Model, Name
from trialkit.protocol.design import Arm, Design
from trialkit.protocol.eligibility import Criterion
from trialkit.protocol.forms import CodeList, Form, Item
from trialkit.protocol.identity import Identity
from trialkit.protocol.outcomes import Outcome
from trialkit.protocol.safety import Safety
from trialkit.protocol.timeline import Timeline

__all__ = ["SCHEMA_VERSION", "Assumption", "ReferenceRange", "Study"]

#: The version of the study-definition format this code reads and writes.
SCHEMA_VERSION = 1


class ReferenceRange(Model):
    """A laboratory normal range used by ``uln()``/``lln()`` and CTCAE grading."""

    item: Name
    unit: str
    lower: Decimal | None = None
    upper: Decimal | None = None
    sex: str | None = Field(default=None, pattern="^(female|male)$")
    source: str | None = None


class Assumption(Model):
    """Something the registry does not state that this definition had to decide, said openly."""

    topic: str
    text: str


class Study(Model):
    """A study definition (one protocol version): complete and computable once `study check`
    reports no error; a draft imported from a registry may still have gaps."""

    schema_version: int = SCHEMA_VERSION
    id: Code = Field(description="Short stable id, e.g. psoriasis-adipose-exosomes.")
    protocol_version: str = Field(default="1.0", description="Amendments are new versions.")
    identity: Identity
    design: Design
    arms: list[Arm] = Field(
        default_factory=list,
        description="Empty only in a draft or an observational study; `study check` reports an "
        "interventional study without arms (STUDY.E002).",
    )
    timeline: Timeline
    forms: list[Form] = Field(min_length=1)
    codelists: list[CodeList] = Field(default_factory=list)
    screening_form: Code = Field(description="The form whose items the criteria read.")
    participant_id_pattern: str = Field(
        default="{site}-{seq:03d}", description="How participant ids are made."
    )
    eligibility: list[Criterion] = Field(default_factory=list)
    outcomes: list[Outcome] = Field(default_factory=list)
    safety: Safety = Field(default_factory=Safety)
    reference_ranges: list[ReferenceRange] = Field(default_factory=list)
    assumptions: list[Assumption] = Field(default_factory=list)

    # -- look-ups -------------------------------------------------------------------------------
    @property
    def registry_ids(self) -> list[str]:
        return [r.id for r in self.identity.registrations]

    def form(self, form_id: str) -> Form | None:
        return next((f for f in self.forms if f.id == form_id), None)

    def items(self) -> dict[str, Item]:
        """Every item defined on a form, by name (the first definition wins)."""
        out: dict[str, Item] = {}
        for form in self.forms:
            for item in form.items():
                out.setdefault(item.name, item)
        return out

    def codelist(self, codelist_id: str) -> CodeList | None:
        return next((c for c in self.codelists if c.id == codelist_id), None)

    def arm(self, arm_id: str) -> Arm | None:
        return next((a for a in self.arms if a.id == arm_id), None)
