"""The approval of a protocol version (an amendment): committee, reference, date, who recorded
it and when (``protocol_approval``, audited).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 21:15:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "protocol_approval",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("protocol_version_id", _ID, nullable=False),
        sa.Column("committee", sa.String(length=256), nullable=False),
        sa.Column("reference", sa.String(length=128), nullable=False),
        sa.Column("approved_on", sa.Date(), nullable=False),
        sa.Column("recorded_by", sa.String(length=128), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["protocol_version_id"],
            ["protocol_version.id"],
            name=op.f("fk_protocol_approval_protocol_version_id_protocol_version"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_protocol_approval")),
        sa.UniqueConstraint(
            "protocol_version_id", name=op.f("uq_protocol_approval_protocol_version_id")
        ),
    )
    with op.batch_alter_table("protocol_approval", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_protocol_approval_protocol_version_id"),
            ["protocol_version_id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("protocol_approval", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_protocol_approval_protocol_version_id"))
    op.drop_table("protocol_approval")
