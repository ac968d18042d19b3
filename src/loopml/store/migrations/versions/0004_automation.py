"""Policy actions of the closed loop

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 03:03:25.824097
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import loopml.store.types

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "policy_actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("policy", sa.String(length=100), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("segment", sa.String(length=500), nullable=False),
        sa.Column("trigger", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=30), nullable=False),
        sa.Column("started_at", loopml.store.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", loopml.store.types.UTCDateTime(), nullable=False),
        sa.Column("finished_at", loopml.store.types.UTCDateTime(), nullable=True),
        sa.Column("champion_version", sa.Integer(), nullable=True),
        sa.Column("challenger_version", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column(
            "details",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_actions")),
    )
    with op.batch_alter_table("policy_actions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_policy_actions_model_segment_time", ["model", "segment", "started_at"], unique=False
        )
        batch_op.create_index(
            "uq_policy_actions_in_flight",
            ["model", "segment"],
            unique=True,
            sqlite_where=sa.text("state IN ('retraining', 'awaiting_approval', 'watching')"),
            postgresql_where=sa.text("state IN ('retraining', 'awaiting_approval', 'watching')"),
        )


def downgrade() -> None:
    with op.batch_alter_table("policy_actions", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_policy_actions_in_flight",
            sqlite_where=sa.text("state IN ('retraining', 'awaiting_approval', 'watching')"),
            postgresql_where=sa.text("state IN ('retraining', 'awaiting_approval', 'watching')"),
        )
        batch_op.drop_index("ix_policy_actions_model_segment_time")

    op.drop_table("policy_actions")
