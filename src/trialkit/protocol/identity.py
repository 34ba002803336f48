"""Who and what a study is: registrations, titles, conditions, sponsors, centres, ethics."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum

from pydantic import Field

from trialkit.protocol._base import Model

__all__ = [
    "Condition",
    "Contact",
    "ContactRole",
    "EthicsApproval",
    "Identity",
    "PostalContact",
    "Recruitment",
    "RecruitmentCentre",
    "Registration",
    "RegistryDate",
    "SharingPlan",
    "SharingStatus",
    "Sponsor",
]


class RegistryDate(Model):
    """A date as the registry gives it: Gregorian, and the Solar Hijri text where IRCT gives it."""

    gregorian: date | None = None
    solar_hijri: str | None = Field(
        default=None, pattern=r"^\d{4}/\d{2}/\d{2}$", description="As written, e.g. 1399/07/14."
    )


class Registration(Model):
    registry: str = Field(description="Registry name: IRCT, ClinicalTrials.gov, ...")
    id: str
    registered: RegistryDate | None = None
    last_update: RegistryDate | None = None
    timing: str | None = Field(
        default=None, description="e.g. prospective, registered while recruiting"
    )
    update_count: int | None = None


class Condition(Model):
    name: str
    icd10: str | None = Field(default=None, pattern=r"^[A-Z][0-9]{2}(\.[0-9A-Z]{1,4})?$")
    icd10_description: str | None = None


class PostalContact(Model):
    """Where an organisation or person is reached, as registries give it."""

    address: str | None = None
    city: str | None = None
    province: str | None = None
    postal_code: str | None = None
    country: str | None = None
    phone: str | None = None
    fax: str | None = None
    email: str | None = None


class Sponsor(PostalContact):
    name: str
    responsible_person: str | None = None
    web: str | None = None
    funding_source: str | None = Field(default=None, description="Title of the funding source.")
    same_as_sponsor: bool | None = None
    funding_share_percent: Decimal | None = Field(default=None, ge=0, le=100)
    sector: str | None = Field(default=None, description="public or private")
    origin: str | None = Field(default=None, description="domestic or foreign")
    organisation_type: str | None = None


class RecruitmentCentre(PostalContact):
    name: str
    responsible_person: str | None = None
    web: str | None = None


class EthicsApproval(Model):
    committee: str
    reference: str | None = None
    approved: RegistryDate | None = None
    address: str | None = None
    city: str | None = None
    province: str | None = None
    postal_code: str | None = None


class ContactRole(StrEnum):
    REGISTRANT = "registrant"
    GENERAL = "general"
    SCIENTIFIC = "scientific"
    UPDATING = "updating"
    CENTRAL = "central"


class Contact(PostalContact):
    role: ContactRole
    name: str | None = None
    organisation: str | None = None
    position: str | None = None
    degree: str | None = None
    specialty: str | None = None


class SharingStatus(StrEnum):
    YES = "yes"
    NO = "no"
    UNDECIDED = "undecided"
    NOT_APPLICABLE = "not_applicable"


class SharingPlan(Model):
    """The individual participant data (IPD) sharing plan, item by item as registries ask it."""

    ipd: SharingStatus | None = None
    justification: str | None = None
    study_protocol: SharingStatus | None = None
    statistical_analysis_plan: SharingStatus | None = None
    informed_consent_form: SharingStatus | None = None
    clinical_study_report: SharingStatus | None = None
    analytic_code: SharingStatus | None = None
    data_dictionary: SharingStatus | None = None
    details: str | None = None
    when_available: str | None = None
    to_whom: str | None = None
    criteria_for_use: str | None = None
    where_obtainable: str | None = None
    process: str | None = None


class Recruitment(Model):
    status: str | None = None
    expected_start: RegistryDate | None = None
    expected_end: RegistryDate | None = None
    actual_start: RegistryDate | None = None
    actual_end: RegistryDate | None = None
    completion: RegistryDate | None = None


class Identity(Model):
    """The registry-facing identity of a study."""

    registrations: list[Registration] = Field(min_length=1)
    scientific_title: str
    public_title: str | None = None
    acronym: str | None = None
    brief_summary: str | None = None
    aim: str | None = None
    phase: str = Field(description="As the registry states it: 1, 1-2, 2, N/A ...")
    study_type: str = "interventional"
    purpose: str | None = None
    conditions: list[Condition] = Field(default_factory=list)
    sponsors: list[Sponsor] = Field(default_factory=list)
    centres: list[RecruitmentCentre] = Field(default_factory=list)
    ethics: list[EthicsApproval] = Field(default_factory=list)
    contacts: list[Contact] = Field(default_factory=list)
    recruitment: Recruitment | None = None
    sharing: SharingPlan | None = None
