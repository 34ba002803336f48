"""Trial operations: users, API tokens, memberships, allocation, data query history, source data
verification marks, signatures, record locks, safety pauses and safety decisions.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 05:27:15.558442
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "app_user",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=256), nullable=False),
        sa.Column("email", sa.String(length=256), nullable=True),
        sa.Column("password_hash", sa.Text(), nullable=True),
        sa.Column("is_admin", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_app_user")),
        sa.UniqueConstraint("username", name=op.f("uq_app_user_username")),
    )
    op.create_table(
        "allocation_state",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("study_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("method", sa.String(length=32), nullable=False),
        sa.Column("seed", sa.String(length=128), nullable=False),
        sa.Column("allocated", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["study_id"], ["study.id"], name=op.f("fk_allocation_state_study_id_study")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_allocation_state")),
        sa.UniqueConstraint("study_id", name=op.f("uq_allocation_state_study_id")),
    )
    with op.batch_alter_table("allocation_state", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_allocation_state_study_id"), ["study_id"], unique=False
        )

    op.create_table(
        "api_token",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["app_user.id"], name=op.f("fk_api_token_user_id_app_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_token")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_token_token_hash")),
    )
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_token_user_id"), ["user_id"], unique=False)

    op.create_table(
        "safety_pause",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("study_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("rule_id", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("target", sa.String(length=64), nullable=True),
        sa.Column("trigger", sa.Text(), nullable=False),
        sa.Column("fired_at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("lifted_by", sa.String(length=128), nullable=True),
        sa.Column("lifted_at", sa.DateTime(), nullable=True),
        sa.Column("lift_reason", sa.Text(), nullable=True),
        sa.CheckConstraint("status IN ('active', 'lifted')", name=op.f("ck_safety_pause_status")),
        sa.ForeignKeyConstraint(
            ["study_id"], ["study.id"], name=op.f("fk_safety_pause_study_id_study")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_safety_pause")),
    )
    with op.batch_alter_table("safety_pause", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_safety_pause_study_id"), ["study_id"], unique=False)

    op.create_table(
        "membership",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("study_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("site_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("unblinded", sa.Boolean(), nullable=False),
        sa.Column("granted_by", sa.String(length=128), nullable=False),
        sa.Column("granted_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_by", sa.String(length=128), nullable=True),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint(
            "role IN ('administrator', 'principal_investigator', 'investigator', 'coordinator', "
            "'data_manager', 'monitor', 'safety_board', 'statistician', 'read_only')",
            name=op.f("ck_membership_role"),
        ),
        sa.ForeignKeyConstraint(["site_id"], ["site.id"], name=op.f("fk_membership_site_id_site")),
        sa.ForeignKeyConstraint(
            ["study_id"], ["study.id"], name=op.f("fk_membership_study_id_study")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["app_user.id"], name=op.f("fk_membership_user_id_app_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_membership")),
    )
    with op.batch_alter_table("membership", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_membership_site_id"), ["site_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_membership_study_id"), ["study_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_membership_user_id"), ["user_id"], unique=False)

    op.create_table(
        "safety_decision",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("study_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("target", sa.String(length=64), nullable=True),
        sa.Column("pause_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("decided_by", sa.String(length=128), nullable=False),
        sa.Column("decided_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["pause_id"], ["safety_pause.id"], name=op.f("fk_safety_decision_pause_id_safety_pause")
        ),
        sa.ForeignKeyConstraint(
            ["study_id"], ["study.id"], name=op.f("fk_safety_decision_study_id_study")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_safety_decision")),
    )
    with op.batch_alter_table("safety_decision", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_safety_decision_pause_id"), ["pause_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_safety_decision_study_id"), ["study_id"], unique=False)

    op.create_table(
        "allocation",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("study_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "participant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("arm", sa.String(length=64), nullable=False),
        sa.Column("method", sa.String(length=32), nullable=False),
        sa.Column("stratum", sa.String(length=256), nullable=True),
        sa.Column("factors", sa.Text(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("allocated_by", sa.String(length=128), nullable=False),
        sa.Column("allocated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participant.id"],
            name=op.f("fk_allocation_participant_id_participant"),
        ),
        sa.ForeignKeyConstraint(
            ["study_id"], ["study.id"], name=op.f("fk_allocation_study_id_study")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_allocation")),
        sa.UniqueConstraint("participant_id", name=op.f("uq_allocation_participant_id")),
        sa.UniqueConstraint("study_id", "seq", name=op.f("uq_allocation_study_id_seq")),
    )
    with op.batch_alter_table("allocation", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_allocation_participant_id"), ["participant_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_allocation_study_id"), ["study_id"], unique=False)

    op.create_table(
        "record_lock",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("study_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column(
            "participant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column(
            "form_instance_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("locked_by", sa.String(length=128), nullable=False),
        sa.Column("locked_at", sa.DateTime(), nullable=False),
        sa.Column("unlocked_by", sa.String(length=128), nullable=True),
        sa.Column("unlocked_at", sa.DateTime(), nullable=True),
        sa.Column("unlock_reason", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "scope IN ('study', 'participant', 'form')", name=op.f("ck_record_lock_scope")
        ),
        sa.ForeignKeyConstraint(
            ["form_instance_id"],
            ["form_instance.id"],
            name=op.f("fk_record_lock_form_instance_id_form_instance"),
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participant.id"],
            name=op.f("fk_record_lock_participant_id_participant"),
        ),
        sa.ForeignKeyConstraint(
            ["study_id"], ["study.id"], name=op.f("fk_record_lock_study_id_study")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_record_lock")),
    )
    with op.batch_alter_table("record_lock", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_record_lock_form_instance_id"), ["form_instance_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_record_lock_participant_id"), ["participant_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_record_lock_study_id"), ["study_id"], unique=False)

    op.create_table(
        "sdv_mark",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "form_instance_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("item", sa.String(length=256), nullable=False),
        sa.Column("form_version", sa.Integer(), nullable=False),
        sa.Column("verified_by", sa.String(length=128), nullable=False),
        sa.Column("verified_at", sa.DateTime(), nullable=False),
        sa.Column("cleared_at", sa.DateTime(), nullable=True),
        sa.Column("cleared_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["form_instance_id"],
            ["form_instance.id"],
            name=op.f("fk_sdv_mark_form_instance_id_form_instance"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sdv_mark")),
    )
    with op.batch_alter_table("sdv_mark", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sdv_mark_form_instance_id"), ["form_instance_id"], unique=False
        )

    op.create_table(
        "signature",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "participant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("visit_key", sa.String(length=64), nullable=True),
        sa.Column(
            "form_instance_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("meaning", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("signed_by", sa.String(length=128), nullable=False),
        sa.Column("signer_name", sa.String(length=256), nullable=False),
        sa.Column("signed_at", sa.DateTime(), nullable=False),
        sa.Column("voided_at", sa.DateTime(), nullable=True),
        sa.Column("void_reason", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "scope IN ('form', 'visit', 'casebook')", name=op.f("ck_signature_scope")
        ),
        sa.ForeignKeyConstraint(
            ["form_instance_id"],
            ["form_instance.id"],
            name=op.f("fk_signature_form_instance_id_form_instance"),
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participant.id"],
            name=op.f("fk_signature_participant_id_participant"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signature")),
    )
    with op.batch_alter_table("signature", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_signature_form_instance_id"), ["form_instance_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_signature_participant_id"), ["participant_id"], unique=False
        )

    op.create_table(
        "query_event",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("query_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "action IN ('open', 'answer', 'reopen', 'close', 'comment')",
            name=op.f("ck_query_event_action"),
        ),
        sa.ForeignKeyConstraint(
            ["query_id"], ["data_query.id"], name=op.f("fk_query_event_query_id_data_query")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_query_event")),
    )
    with op.batch_alter_table("query_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_query_event_query_id"), ["query_id"], unique=False)

    with op.batch_alter_table("data_query", schema=None) as batch_op:
        batch_op.add_column(sa.Column("updated_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("version", sa.Integer(), server_default="1", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("data_query", schema=None) as batch_op:
        batch_op.drop_column("version")
        batch_op.drop_column("updated_at")

    with op.batch_alter_table("query_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_query_event_query_id"))

    op.drop_table("query_event")
    with op.batch_alter_table("signature", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_signature_participant_id"))
        batch_op.drop_index(batch_op.f("ix_signature_form_instance_id"))

    op.drop_table("signature")
    with op.batch_alter_table("sdv_mark", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sdv_mark_form_instance_id"))

    op.drop_table("sdv_mark")
    with op.batch_alter_table("record_lock", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_record_lock_study_id"))
        batch_op.drop_index(batch_op.f("ix_record_lock_participant_id"))
        batch_op.drop_index(batch_op.f("ix_record_lock_form_instance_id"))

    op.drop_table("record_lock")
    with op.batch_alter_table("allocation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_allocation_study_id"))
        batch_op.drop_index(batch_op.f("ix_allocation_participant_id"))

    op.drop_table("allocation")
    with op.batch_alter_table("safety_decision", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_safety_decision_study_id"))
        batch_op.drop_index(batch_op.f("ix_safety_decision_pause_id"))

    op.drop_table("safety_decision")
    with op.batch_alter_table("membership", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_membership_user_id"))
        batch_op.drop_index(batch_op.f("ix_membership_study_id"))
        batch_op.drop_index(batch_op.f("ix_membership_site_id"))

    op.drop_table("membership")
    with op.batch_alter_table("safety_pause", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_safety_pause_study_id"))

    op.drop_table("safety_pause")
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_token_user_id"))

    op.drop_table("api_token")
    with op.batch_alter_table("allocation_state", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_allocation_state_study_id"))

    op.drop_table("allocation_state")
    op.drop_table("app_user")
