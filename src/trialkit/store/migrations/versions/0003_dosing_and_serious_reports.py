"""Blinded dosing, computed grades and the serious-event clock: the pharmacist role, dose
preparations, adverse-event grades and serious adverse event reports.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_ROLES = (
    "'administrator', 'principal_investigator', 'investigator', 'coordinator', "
    "'data_manager', 'monitor', 'safety_board', 'statistician', 'read_only'"
)


def _roles(with_pharmacist: bool) -> None:
    roles = _ROLES + (", 'pharmacist'" if with_pharmacist else "")
    with op.batch_alter_table("membership", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_membership_role"), type_="check")
        batch_op.create_check_constraint(op.f("ck_membership_role"), f"role IN ({roles})")


def upgrade() -> None:
    _roles(with_pharmacist=True)
    op.create_table(
        "dose_preparation",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("participant_id", _ID, nullable=False),
        sa.Column("dosing_event_id", sa.String(length=64), nullable=False),
        sa.Column("kit", sa.String(length=64), nullable=False),
        sa.Column("amount", sa.String(length=64), nullable=False),
        sa.Column("unit", sa.String(length=32), nullable=False),
        sa.Column("volume", sa.String(length=64), nullable=True),
        sa.Column("product_lot", sa.String(length=128), nullable=False),
        sa.Column("computed", sa.Text(), nullable=False),
        sa.Column("deviations", sa.Text(), nullable=False),
        sa.Column("protocol_version_id", _ID, nullable=False),
        sa.Column("prepared_by", sa.String(length=128), nullable=False),
        sa.Column("prepared_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participant.id"],
            name=op.f("fk_dose_preparation_participant_id_participant"),
        ),
        sa.ForeignKeyConstraint(
            ["protocol_version_id"],
            ["protocol_version.id"],
            name=op.f("fk_dose_preparation_protocol_version_id_protocol_version"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dose_preparation")),
        sa.UniqueConstraint(
            "participant_id",
            "dosing_event_id",
            name=op.f("uq_dose_preparation_participant_id_dosing_event_id"),
        ),
    )
    with op.batch_alter_table("dose_preparation", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_dose_preparation_participant_id"), ["participant_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_dose_preparation_protocol_version_id"),
            ["protocol_version_id"],
            unique=False,
        )
    op.create_table(
        "serious_report",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("study_id", _ID, nullable=False),
        sa.Column("participant_id", _ID, nullable=False),
        sa.Column("event_key", sa.String(length=128), nullable=False),
        sa.Column("term", sa.Text(), nullable=False),
        sa.Column("aware_at", sa.DateTime(), nullable=False),
        sa.Column("aware_source", sa.String(length=16), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("report_hours", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reported_at", sa.DateTime(), nullable=True),
        sa.Column("reported_by", sa.String(length=128), nullable=True),
        sa.Column("reference", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "status IN ('open', 'reported', 'withdrawn')", name=op.f("ck_serious_report_status")
        ),
        sa.CheckConstraint(
            "aware_source IN ('entered', 'recorded')",
            name=op.f("ck_serious_report_aware_source"),
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participant.id"],
            name=op.f("fk_serious_report_participant_id_participant"),
        ),
        sa.ForeignKeyConstraint(
            ["study_id"], ["study.id"], name=op.f("fk_serious_report_study_id_study")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_serious_report")),
        sa.UniqueConstraint("event_key", name=op.f("uq_serious_report_event_key")),
    )
    op.create_table(
        "ae_grade",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("study_id", _ID, nullable=False),
        sa.Column("participant_id", _ID, nullable=False),
        sa.Column("event_key", sa.String(length=128), nullable=False),
        sa.Column("visit_key", sa.String(length=64), nullable=False),
        sa.Column("term", sa.String(length=64), nullable=True),
        sa.Column("computed", sa.Integer(), nullable=True),
        sa.Column("computed_why", sa.Text(), nullable=True),
        sa.Column("inputs", sa.Text(), nullable=False),
        sa.Column("entered", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("effective", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participant.id"],
            name=op.f("fk_ae_grade_participant_id_participant"),
        ),
        sa.ForeignKeyConstraint(
            ["study_id"], ["study.id"], name=op.f("fk_ae_grade_study_id_study")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ae_grade")),
        sa.UniqueConstraint("event_key", name=op.f("uq_ae_grade_event_key")),
    )
    with op.batch_alter_table("ae_grade", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ae_grade_participant_id"), ["participant_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_ae_grade_study_id"), ["study_id"], unique=False)
    with op.batch_alter_table("serious_report", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_serious_report_due_at"), ["due_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_serious_report_participant_id"), ["participant_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_serious_report_study_id"), ["study_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ae_grade", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ae_grade_study_id"))
        batch_op.drop_index(batch_op.f("ix_ae_grade_participant_id"))
    op.drop_table("ae_grade")
    with op.batch_alter_table("serious_report", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_serious_report_study_id"))
        batch_op.drop_index(batch_op.f("ix_serious_report_participant_id"))
        batch_op.drop_index(batch_op.f("ix_serious_report_due_at"))
    op.drop_table("serious_report")
    with op.batch_alter_table("dose_preparation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dose_preparation_protocol_version_id"))
        batch_op.drop_index(batch_op.f("ix_dose_preparation_participant_id"))
    op.drop_table("dose_preparation")
    held = (
        op.get_bind()
        .execute(sa.text("SELECT COUNT(*) FROM membership WHERE role = 'pharmacist'"))
        .scalar_one()
    )
    if held:
        raise RuntimeError(
            f"cannot downgrade below 0003: {held} membership(s) give the pharmacist role; "
            "revoke and delete them first (their audit entries stay)"
        )
    _roles(with_pharmacist=False)
