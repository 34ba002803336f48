"""Initial schema: studies, protocol versions, participants, records and the audit ledger.

Revision ID: 0001
Revises:
Create Date: 2026-11-22 04:44:59.988769
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_audit_head_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head")),
    )
    # The ledger's head starts at the genesis hash (see trialkit.store.tables.GENESIS_HASH).
    op.execute(
        sa.text("INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, :h)").bindparams(h="0" * 64)
    )
    op.create_table(
        "audit_log",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("at", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("entity", sa.String(length=64), nullable=False),
        sa.Column("entity_id", sa.String(length=64), nullable=False),
        sa.Column("path", sa.String(length=256), nullable=False),
        sa.Column("old", sa.Text(), nullable=True),
        sa.Column("new", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("protocol_version", sa.String(length=32), nullable=True),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index("ix_audit_log_entity", ["entity", "entity_id"], unique=False)

    op.create_table(
        "study",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_study")),
        sa.UniqueConstraint("code", name=op.f("uq_study_code")),
    )
    op.create_table(
        "protocol_version",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("study_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("version", sa.String(length=32), nullable=False),
        sa.Column("yaml", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("loaded_at", sa.DateTime(), nullable=False),
        sa.Column("loaded_by", sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(
            ["study_id"], ["study.id"], name=op.f("fk_protocol_version_study_id_study")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_protocol_version")),
        sa.UniqueConstraint(
            "study_id", "version", name=op.f("uq_protocol_version_study_id_version")
        ),
    )
    with op.batch_alter_table("protocol_version", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_protocol_version_study_id"), ["study_id"], unique=False
        )

    op.create_table(
        "site",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("study_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("next_seq", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["study_id"], ["study.id"], name=op.f("fk_site_study_id_study")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_site")),
        sa.UniqueConstraint("study_id", "code", name=op.f("uq_site_study_id_code")),
    )
    with op.batch_alter_table("site", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_site_study_id"), ["study_id"], unique=False)

    op.create_table(
        "participant",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("study_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("site_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column(
            "protocol_version_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        ),
        sa.Column("arm", sa.String(length=64), nullable=True),
        sa.Column("eligibility", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["protocol_version_id"],
            ["protocol_version.id"],
            name=op.f("fk_participant_protocol_version_id_protocol_version"),
        ),
        sa.ForeignKeyConstraint(["site_id"], ["site.id"], name=op.f("fk_participant_site_id_site")),
        sa.ForeignKeyConstraint(
            ["study_id"], ["study.id"], name=op.f("fk_participant_study_id_study")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_participant")),
        sa.UniqueConstraint("study_id", "code", name=op.f("uq_participant_study_id_code")),
    )
    with op.batch_alter_table("participant", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_participant_protocol_version_id"), ["protocol_version_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_participant_site_id"), ["site_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_participant_study_id"), ["study_id"], unique=False)

    op.create_table(
        "anchor",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "participant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("anchor_id", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("source", sa.String(length=128), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("superseded_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participant.id"],
            name=op.f("fk_anchor_participant_id_participant"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_anchor")),
    )
    with op.batch_alter_table("anchor", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_anchor_participant_id"), ["participant_id"], unique=False
        )

    op.create_table(
        "dose_record",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "participant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("dosing_event_id", sa.String(length=64), nullable=False),
        sa.Column("given_at", sa.DateTime(), nullable=False),
        sa.Column("computed", sa.Text(), nullable=False),
        sa.Column("given_amount", sa.String(length=64), nullable=False),
        sa.Column("given_unit", sa.String(length=32), nullable=False),
        sa.Column("product_lot", sa.String(length=128), nullable=False),
        sa.Column("vials", sa.Text(), nullable=False),
        sa.Column("deviations", sa.Text(), nullable=False),
        sa.Column(
            "protocol_version_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        ),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participant.id"],
            name=op.f("fk_dose_record_participant_id_participant"),
        ),
        sa.ForeignKeyConstraint(
            ["protocol_version_id"],
            ["protocol_version.id"],
            name=op.f("fk_dose_record_protocol_version_id_protocol_version"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dose_record")),
        sa.UniqueConstraint(
            "participant_id",
            "dosing_event_id",
            name=op.f("uq_dose_record_participant_id_dosing_event_id"),
        ),
    )
    with op.batch_alter_table("dose_record", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_dose_record_participant_id"), ["participant_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_dose_record_protocol_version_id"), ["protocol_version_id"], unique=False
        )

    op.create_table(
        "form_instance",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "participant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("visit_key", sa.String(length=64), nullable=False),
        sa.Column("form_id", sa.String(length=64), nullable=False),
        sa.Column("instance_no", sa.Integer(), nullable=False),
        sa.Column(
            "protocol_version_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        ),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("derived", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participant.id"],
            name=op.f("fk_form_instance_participant_id_participant"),
        ),
        sa.ForeignKeyConstraint(
            ["protocol_version_id"],
            ["protocol_version.id"],
            name=op.f("fk_form_instance_protocol_version_id_protocol_version"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_form_instance")),
        sa.UniqueConstraint(
            "participant_id",
            "visit_key",
            "form_id",
            "instance_no",
            name=op.f("uq_form_instance_participant_id_visit_key_form_id_instance_no"),
        ),
    )
    with op.batch_alter_table("form_instance", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_form_instance_participant_id"), ["participant_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_form_instance_protocol_version_id"),
            ["protocol_version_id"],
            unique=False,
        )

    op.create_table(
        "participant_event",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "participant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("step", sa.String(length=32), nullable=False),
        sa.Column("from_status", sa.String(length=32), nullable=False),
        sa.Column("to_status", sa.String(length=32), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("data", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participant.id"],
            name=op.f("fk_participant_event_participant_id_participant"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_participant_event")),
    )
    with op.batch_alter_table("participant_event", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_participant_event_participant_id"), ["participant_id"], unique=False
        )

    op.create_table(
        "visit_record",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "participant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("visit_key", sa.String(length=64), nullable=False),
        sa.Column("visit_id", sa.String(length=64), nullable=True),
        sa.Column("unscheduled_seq", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("on_date", sa.Date(), nullable=True),
        sa.Column("planned", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column(
            "protocol_version_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        ),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participant.id"],
            name=op.f("fk_visit_record_participant_id_participant"),
        ),
        sa.ForeignKeyConstraint(
            ["protocol_version_id"],
            ["protocol_version.id"],
            name=op.f("fk_visit_record_protocol_version_id_protocol_version"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visit_record")),
        sa.UniqueConstraint(
            "participant_id", "visit_key", name=op.f("uq_visit_record_participant_id_visit_key")
        ),
    )
    with op.batch_alter_table("visit_record", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_visit_record_participant_id"), ["participant_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_visit_record_protocol_version_id"), ["protocol_version_id"], unique=False
        )

    op.create_table(
        "data_query",
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
        sa.Column("check_id", sa.String(length=64), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("opened_by", sa.String(length=128), nullable=False),
        sa.Column("opened_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "status IN ('open', 'answered', 'closed')", name=op.f("ck_data_query_status")
        ),
        sa.ForeignKeyConstraint(
            ["form_instance_id"],
            ["form_instance.id"],
            name=op.f("fk_data_query_form_instance_id_form_instance"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_query")),
    )
    with op.batch_alter_table("data_query", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_data_query_form_instance_id"), ["form_instance_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("data_query", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_data_query_form_instance_id"))

    op.drop_table("data_query")
    with op.batch_alter_table("visit_record", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_visit_record_protocol_version_id"))
        batch_op.drop_index(batch_op.f("ix_visit_record_participant_id"))

    op.drop_table("visit_record")
    with op.batch_alter_table("participant_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_participant_event_participant_id"))

    op.drop_table("participant_event")
    with op.batch_alter_table("form_instance", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_form_instance_protocol_version_id"))
        batch_op.drop_index(batch_op.f("ix_form_instance_participant_id"))

    op.drop_table("form_instance")
    with op.batch_alter_table("dose_record", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dose_record_protocol_version_id"))
        batch_op.drop_index(batch_op.f("ix_dose_record_participant_id"))

    op.drop_table("dose_record")
    with op.batch_alter_table("anchor", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_anchor_participant_id"))

    op.drop_table("anchor")
    with op.batch_alter_table("participant", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_participant_study_id"))
        batch_op.drop_index(batch_op.f("ix_participant_site_id"))
        batch_op.drop_index(batch_op.f("ix_participant_protocol_version_id"))

    op.drop_table("participant")
    with op.batch_alter_table("site", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_site_study_id"))

    op.drop_table("site")
    with op.batch_alter_table("protocol_version", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_protocol_version_study_id"))

    op.drop_table("protocol_version")
    op.drop_table("study")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_log_entity")

    op.drop_table("audit_log")
    op.drop_table("audit_head")
