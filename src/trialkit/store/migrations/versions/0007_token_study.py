"""API tokens limited to one study: ``api_token.study_id`` (NULL: the user's every study).

Revision ID: 0007
Revises: 0002
Create Date: 2026-12-01 15:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0005"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.add_column(sa.Column("study_id", _ID, nullable=True))
        batch_op.create_index(batch_op.f("ix_api_token_study_id"), ["study_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_api_token_study_id_study"), "study", ["study_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_api_token_study_id_study"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_api_token_study_id"))
        batch_op.drop_column("study_id")
