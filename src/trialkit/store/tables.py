"""The database tables (SQLAlchemy Core). Alembic migrations create exactly these.

Form data is generic: one ``form_instance`` row per form entered, its items as JSON text. JSON
columns are ``Text`` holding canonical JSON written by :mod:`trialkit.store.canonical`, so that
decimals stay exact strings and the audit hash covers exactly the stored text on both databases.
"""

from __future__ import annotations

import sqlalchemy as sa

__all__ = [
    "GENESIS_HASH",
    "ROLES",
    "ae_grade",
    "allocation",
    "allocation_state",
    "anchor",
    "api_token",
    "app_user",
    "audit_head",
    "audit_log",
    "data_query",
    "dose_preparation",
    "dose_record",
    "form_instance",
    "membership",
    "metadata",
    "participant",
    "participant_event",
    "protocol_approval",
    "protocol_version",
    "query_event",
    "record_lock",
    "safety_decision",
    "safety_pause",
    "sdv_mark",
    "serious_report",
    "signature",
    "site",
    "study",
    "visit_record",
    "web_preference",
    "web_session",
]

#: The roles a membership can give (see :mod:`trialkit.services.access`).
ROLES = (
    "administrator",
    "principal_investigator",
    "investigator",
    "coordinator",
    "data_manager",
    "monitor",
    "safety_board",
    "statistician",
    "read_only",
    "pharmacist",
)

#: The ``prev_hash`` of the first audit entry and the head of an empty log.
GENESIS_HASH = "0" * 64

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _id() -> sa.Column[int]:
    return sa.Column("id", _ID, primary_key=True, autoincrement=True)


def _fk(name: str, target: str, *, nullable: bool = False) -> sa.Column[int]:
    return sa.Column(name, _ID, sa.ForeignKey(target), nullable=nullable, index=True)


study = sa.Table(
    "study",
    metadata,
    _id(),
    sa.Column("code", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", sa.DateTime(), nullable=False),
)

protocol_version = sa.Table(
    "protocol_version",
    metadata,
    _id(),
    _fk("study_id", "study.id"),
    sa.Column("version", sa.String(32), nullable=False),
    sa.Column("yaml", sa.Text(), nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("loaded_at", sa.DateTime(), nullable=False),
    sa.Column("loaded_by", sa.String(128), nullable=False),
    sa.UniqueConstraint("study_id", "version"),
)

#: The approval of a protocol version (an amendment) by its ethics committee: recorded before the
#: version is applied to any participant (migration 0008).
protocol_approval = sa.Table(
    "protocol_approval",
    metadata,
    _id(),
    _fk("protocol_version_id", "protocol_version.id"),
    sa.Column("committee", sa.String(256), nullable=False),
    sa.Column("reference", sa.String(128), nullable=False),
    sa.Column("approved_on", sa.Date(), nullable=False),
    sa.Column("recorded_by", sa.String(128), nullable=False),
    sa.Column("recorded_at", sa.DateTime(), nullable=False),
    sa.UniqueConstraint("protocol_version_id"),
)

site = sa.Table(
    "site",
    metadata,
    _id(),
    _fk("study_id", "study.id"),
    sa.Column("code", sa.String(32), nullable=False),
    sa.Column("name", sa.String(256), nullable=False),
    sa.Column("next_seq", sa.Integer(), nullable=False),
    sa.UniqueConstraint("study_id", "code"),
)

participant = sa.Table(
    "participant",
    metadata,
    _id(),
    _fk("study_id", "study.id"),
    _fk("site_id", "site.id"),
    sa.Column("code", sa.String(64), nullable=False),
    sa.Column("status", sa.String(32), nullable=False),
    _fk("protocol_version_id", "protocol_version.id"),
    sa.Column("arm", sa.String(64), nullable=True),
    sa.Column("eligibility", sa.Text(), nullable=True),
    sa.Column("created_at", sa.DateTime(), nullable=False),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.UniqueConstraint("study_id", "code"),
)

participant_event = sa.Table(
    "participant_event",
    metadata,
    _id(),
    _fk("participant_id", "participant.id"),
    sa.Column("step", sa.String(32), nullable=False),
    sa.Column("from_status", sa.String(32), nullable=False),
    sa.Column("to_status", sa.String(32), nullable=False),
    sa.Column("at", sa.DateTime(), nullable=False),
    sa.Column("actor", sa.String(128), nullable=False),
    sa.Column("reason", sa.Text(), nullable=True),
    sa.Column("data", sa.Text(), nullable=False),
)

anchor = sa.Table(
    "anchor",
    metadata,
    _id(),
    _fk("participant_id", "participant.id"),
    sa.Column("anchor_id", sa.String(64), nullable=False),
    sa.Column("at", sa.DateTime(), nullable=False),
    sa.Column("source", sa.String(128), nullable=False),
    sa.Column("recorded_at", sa.DateTime(), nullable=False),
    sa.Column("superseded_at", sa.DateTime(), nullable=True),
)

visit_record = sa.Table(
    "visit_record",
    metadata,
    _id(),
    _fk("participant_id", "participant.id"),
    sa.Column("visit_key", sa.String(64), nullable=False),
    sa.Column("visit_id", sa.String(64), nullable=True),
    sa.Column("unscheduled_seq", sa.Integer(), nullable=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("on_date", sa.Date(), nullable=True),
    sa.Column("planned", sa.Text(), nullable=False),
    sa.Column("reason", sa.Text(), nullable=True),
    _fk("protocol_version_id", "protocol_version.id"),
    sa.Column("recorded_at", sa.DateTime(), nullable=False),
    sa.UniqueConstraint("participant_id", "visit_key"),
)

form_instance = sa.Table(
    "form_instance",
    metadata,
    _id(),
    _fk("participant_id", "participant.id"),
    sa.Column("visit_key", sa.String(64), nullable=False),
    sa.Column("form_id", sa.String(64), nullable=False),
    sa.Column("instance_no", sa.Integer(), nullable=False),
    _fk("protocol_version_id", "protocol_version.id"),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("data", sa.Text(), nullable=False),
    sa.Column("derived", sa.Text(), nullable=False),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.Column("created_at", sa.DateTime(), nullable=False),
    sa.Column("updated_at", sa.DateTime(), nullable=False),
    sa.UniqueConstraint("participant_id", "visit_key", "form_id", "instance_no"),
)

dose_record = sa.Table(
    "dose_record",
    metadata,
    _id(),
    _fk("participant_id", "participant.id"),
    sa.Column("dosing_event_id", sa.String(64), nullable=False),
    sa.Column("given_at", sa.DateTime(), nullable=False),
    sa.Column("computed", sa.Text(), nullable=False),
    sa.Column("given_amount", sa.String(64), nullable=False),
    sa.Column("given_unit", sa.String(32), nullable=False),
    sa.Column("product_lot", sa.String(128), nullable=False),
    sa.Column("vials", sa.Text(), nullable=False),
    sa.Column("deviations", sa.Text(), nullable=False),
    _fk("protocol_version_id", "protocol_version.id"),
    sa.Column("recorded_at", sa.DateTime(), nullable=False),
    sa.UniqueConstraint("participant_id", "dosing_event_id"),
)

#: A dose prepared by an unblinded role (the pharmacist) for one dosing event: the amount and
#: its computation stay here, out of the blinded roles' sight; the administration
#: (``dose_record``) names the kit.
dose_preparation = sa.Table(
    "dose_preparation",
    metadata,
    _id(),
    _fk("participant_id", "participant.id"),
    sa.Column("dosing_event_id", sa.String(64), nullable=False),
    sa.Column("kit", sa.String(64), nullable=False),
    sa.Column("amount", sa.String(64), nullable=False),
    sa.Column("unit", sa.String(32), nullable=False),
    sa.Column("volume", sa.String(64), nullable=True),
    sa.Column("product_lot", sa.String(128), nullable=False),
    sa.Column("computed", sa.Text(), nullable=False),
    sa.Column("deviations", sa.Text(), nullable=False),
    _fk("protocol_version_id", "protocol_version.id"),
    sa.Column("prepared_by", sa.String(128), nullable=False),
    sa.Column("prepared_at", sa.DateTime(), nullable=False),
    sa.UniqueConstraint("participant_id", "dosing_event_id"),
)

data_query = sa.Table(
    "data_query",
    metadata,
    _id(),
    _fk("form_instance_id", "form_instance.id"),
    sa.Column("item", sa.String(256), nullable=False),
    sa.Column("check_id", sa.String(64), nullable=True),
    sa.Column("text", sa.Text(), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("opened_by", sa.String(128), nullable=False),
    sa.Column("opened_at", sa.DateTime(), nullable=False),
    sa.Column("updated_at", sa.DateTime(), nullable=True),
    sa.Column("version", sa.Integer(), nullable=False, server_default="1"),
    sa.CheckConstraint("status IN ('open', 'answered', 'closed')", name="status"),
)

query_event = sa.Table(
    "query_event",
    metadata,
    _id(),
    _fk("query_id", "data_query.id"),
    sa.Column("action", sa.String(16), nullable=False),
    sa.Column("text", sa.Text(), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("actor", sa.String(128), nullable=False),
    sa.Column("at", sa.DateTime(), nullable=False),
    sa.CheckConstraint("action IN ('open', 'answer', 'reopen', 'close', 'comment')", name="action"),
)

app_user = sa.Table(
    "app_user",
    metadata,
    _id(),
    sa.Column("username", sa.String(64), nullable=False, unique=True),
    sa.Column("display_name", sa.String(256), nullable=False),
    sa.Column("email", sa.String(256), nullable=True),
    sa.Column("password_hash", sa.Text(), nullable=True),
    sa.Column("is_admin", sa.Boolean(), nullable=False),
    sa.Column("active", sa.Boolean(), nullable=False),
    sa.Column("failed_logins", sa.Integer(), nullable=False),
    sa.Column("locked_until", sa.DateTime(), nullable=True),
    sa.Column("created_at", sa.DateTime(), nullable=False),
    sa.Column("version", sa.Integer(), nullable=False),
)

api_token = sa.Table(
    "api_token",
    metadata,
    _id(),
    _fk("user_id", "app_user.id"),
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("prefix", sa.String(16), nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", sa.DateTime(), nullable=False),
    sa.Column("expires_at", sa.DateTime(), nullable=True),
    sa.Column("revoked_at", sa.DateTime(), nullable=True),
    _fk("study_id", "study.id", nullable=True),  # a token limited to one study (0007)
)

membership = sa.Table(
    "membership",
    metadata,
    _id(),
    _fk("user_id", "app_user.id"),
    _fk("study_id", "study.id"),
    _fk("site_id", "site.id", nullable=True),
    sa.Column("role", sa.String(32), nullable=False),
    sa.Column("unblinded", sa.Boolean(), nullable=False),
    sa.Column("granted_by", sa.String(128), nullable=False),
    sa.Column("granted_at", sa.DateTime(), nullable=False),
    sa.Column("revoked_by", sa.String(128), nullable=True),
    sa.Column("revoked_at", sa.DateTime(), nullable=True),
    sa.CheckConstraint(
        "role IN (" + ", ".join(f"'{r}'" for r in ROLES) + ")",
        name="role",
    ),
)

allocation_state = sa.Table(
    "allocation_state",
    metadata,
    _id(),
    _fk("study_id", "study.id"),
    sa.Column("method", sa.String(32), nullable=False),
    sa.Column("seed", sa.String(128), nullable=False),
    sa.Column("allocated", sa.Integer(), nullable=False),
    sa.Column("created_by", sa.String(128), nullable=False),
    sa.Column("created_at", sa.DateTime(), nullable=False),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.UniqueConstraint("study_id"),
)

allocation = sa.Table(
    "allocation",
    metadata,
    _id(),
    _fk("study_id", "study.id"),
    _fk("participant_id", "participant.id"),
    sa.Column("seq", sa.Integer(), nullable=False),
    sa.Column("arm", sa.String(64), nullable=False),
    sa.Column("method", sa.String(32), nullable=False),
    sa.Column("stratum", sa.String(256), nullable=True),
    sa.Column("factors", sa.Text(), nullable=False),
    sa.Column("detail", sa.Text(), nullable=False),
    sa.Column("allocated_by", sa.String(128), nullable=False),
    sa.Column("allocated_at", sa.DateTime(), nullable=False),
    sa.UniqueConstraint("study_id", "seq"),
    sa.UniqueConstraint("participant_id"),
)

safety_pause = sa.Table(
    "safety_pause",
    metadata,
    _id(),
    _fk("study_id", "study.id"),
    sa.Column("rule_id", sa.String(64), nullable=False),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("scope", sa.String(16), nullable=False),
    sa.Column("target", sa.String(64), nullable=True),
    sa.Column("trigger", sa.Text(), nullable=False),
    sa.Column("fired_at", sa.DateTime(), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("lifted_by", sa.String(128), nullable=True),
    sa.Column("lifted_at", sa.DateTime(), nullable=True),
    sa.Column("lift_reason", sa.Text(), nullable=True),
    sa.CheckConstraint("status IN ('active', 'lifted')", name="status"),
)

safety_decision = sa.Table(
    "safety_decision",
    metadata,
    _id(),
    _fk("study_id", "study.id"),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("target", sa.String(64), nullable=True),
    _fk("pause_id", "safety_pause.id", nullable=True),
    sa.Column("text", sa.Text(), nullable=False),
    sa.Column("data", sa.Text(), nullable=False),
    sa.Column("decided_by", sa.String(128), nullable=False),
    sa.Column("decided_at", sa.DateTime(), nullable=False),
)

#: The grades of one adverse-event row: computed from the measured values, entered (an
#: override, with its reason) and effective (what the stopping rules count).
ae_grade = sa.Table(
    "ae_grade",
    metadata,
    _id(),
    _fk("study_id", "study.id"),
    _fk("participant_id", "participant.id"),
    sa.Column("event_key", sa.String(128), nullable=False, unique=True),
    sa.Column("visit_key", sa.String(64), nullable=False),
    sa.Column("term", sa.String(64), nullable=True),
    sa.Column("computed", sa.Integer(), nullable=True),
    sa.Column("computed_why", sa.Text(), nullable=True),
    sa.Column("inputs", sa.Text(), nullable=False),
    sa.Column("entered", sa.Integer(), nullable=True),
    sa.Column("reason", sa.Text(), nullable=True),
    sa.Column("effective", sa.Integer(), nullable=True),
    sa.Column("updated_at", sa.DateTime(), nullable=False),
    sa.Column("version", sa.Integer(), nullable=False),
)

#: The reporting clock of one serious adverse event (one row of an adverse-event form): due
#: ``serious_report_hours`` after the site became aware of it; ``reported_at`` when reported.
serious_report = sa.Table(
    "serious_report",
    metadata,
    _id(),
    _fk("study_id", "study.id"),
    _fk("participant_id", "participant.id"),
    sa.Column("event_key", sa.String(128), nullable=False, unique=True),
    sa.Column("term", sa.Text(), nullable=False),
    sa.Column("aware_at", sa.DateTime(), nullable=False),
    sa.Column("aware_source", sa.String(16), nullable=False),
    sa.Column("due_at", sa.DateTime(), nullable=False, index=True),
    sa.Column("report_hours", sa.Integer(), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("reported_at", sa.DateTime(), nullable=True),
    sa.Column("reported_by", sa.String(128), nullable=True),
    sa.Column("reference", sa.Text(), nullable=True),
    sa.Column("created_at", sa.DateTime(), nullable=False),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.CheckConstraint("status IN ('open', 'reported', 'withdrawn')", name="status"),
    sa.CheckConstraint("aware_source IN ('entered', 'recorded')", name="aware_source"),
)

sdv_mark = sa.Table(
    "sdv_mark",
    metadata,
    _id(),
    _fk("form_instance_id", "form_instance.id"),
    sa.Column("item", sa.String(256), nullable=False),
    sa.Column("form_version", sa.Integer(), nullable=False),
    sa.Column("verified_by", sa.String(128), nullable=False),
    sa.Column("verified_at", sa.DateTime(), nullable=False),
    sa.Column("cleared_at", sa.DateTime(), nullable=True),
    sa.Column("cleared_reason", sa.Text(), nullable=True),
)

signature = sa.Table(
    "signature",
    metadata,
    _id(),
    _fk("participant_id", "participant.id"),
    sa.Column("scope", sa.String(16), nullable=False),
    sa.Column("visit_key", sa.String(64), nullable=True),
    _fk("form_instance_id", "form_instance.id", nullable=True),
    sa.Column("meaning", sa.Text(), nullable=False),
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("signed_by", sa.String(128), nullable=False),
    sa.Column("signer_name", sa.String(256), nullable=False),
    sa.Column("signed_at", sa.DateTime(), nullable=False),
    sa.Column("voided_at", sa.DateTime(), nullable=True),
    sa.Column("void_reason", sa.Text(), nullable=True),
    sa.CheckConstraint("scope IN ('form', 'visit', 'casebook')", name="scope"),
)

record_lock = sa.Table(
    "record_lock",
    metadata,
    _id(),
    _fk("study_id", "study.id"),
    sa.Column("scope", sa.String(16), nullable=False),
    _fk("participant_id", "participant.id", nullable=True),
    _fk("form_instance_id", "form_instance.id", nullable=True),
    sa.Column("reason", sa.Text(), nullable=False),
    sa.Column("locked_by", sa.String(128), nullable=False),
    sa.Column("locked_at", sa.DateTime(), nullable=False),
    sa.Column("unlocked_by", sa.String(128), nullable=True),
    sa.Column("unlocked_at", sa.DateTime(), nullable=True),
    sa.Column("unlock_reason", sa.Text(), nullable=True),
    sa.CheckConstraint("scope IN ('study', 'participant', 'form')", name="scope"),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("seq", _ID, primary_key=True, autoincrement=False),
    sa.Column("at", sa.String(32), nullable=False),
    sa.Column("actor", sa.String(128), nullable=False),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("entity", sa.String(64), nullable=False),
    sa.Column("entity_id", sa.String(64), nullable=False),
    sa.Column("path", sa.String(256), nullable=False),
    sa.Column("old", sa.Text(), nullable=True),
    sa.Column("new", sa.Text(), nullable=True),
    sa.Column("reason", sa.Text(), nullable=True),
    sa.Column("protocol_version", sa.String(32), nullable=True),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Index("ix_audit_log_entity", "entity", "entity_id"),
)

audit_head = sa.Table(
    "audit_head",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
    sa.Column("seq", _ID, nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.CheckConstraint("id = 1", name="single_row"),
)


# Web sessions and preferences (trialkit.services.web_sessions): not clinical data, so written
# outside the audit ledger; signing in and out is audited on the user.
web_session = sa.Table(
    "web_session",
    metadata,
    _id(),
    _fk("user_id", "app_user.id"),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("language", sa.String(8), nullable=False),
    sa.Column("created_at", sa.DateTime(), nullable=False),
    sa.Column("last_seen_at", sa.DateTime(), nullable=False),
    sa.Column("expires_at", sa.DateTime(), nullable=False),
    sa.Column("revoked_at", sa.DateTime(), nullable=True),
    sa.Column("revoked_reason", sa.String(64), nullable=True),
)

web_preference = sa.Table(
    "web_preference",
    metadata,
    sa.Column("user_id", _ID, sa.ForeignKey("app_user.id"), primary_key=True, autoincrement=False),
    sa.Column("language", sa.String(8), nullable=False),
    sa.Column("updated_at", sa.DateTime(), nullable=False),
)
