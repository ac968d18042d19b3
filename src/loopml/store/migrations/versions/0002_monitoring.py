"""Monitoring: monitors, monitor results, alerts.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 02:30:20.761180
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import loopml.store.types

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "monitors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=50), nullable=False),
        sa.Column(
            "spec",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", loopml.store.types.UTCDateTime(), nullable=False),
        sa.Column("last_run_at", loopml.store.types.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitors")),
        sa.UniqueConstraint("name", name=op.f("uq_monitors_name")),
    )
    with op.batch_alter_table("monitors", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_monitors_model"), ["model"], unique=False)

    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("monitor_id", sa.Integer(), nullable=False),
        sa.Column("segment", sa.String(length=500), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("opened_at", loopml.store.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", loopml.store.types.UTCDateTime(), nullable=False),
        sa.Column("resolved_at", loopml.store.types.UTCDateTime(), nullable=True),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("threshold", sa.Float(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("acknowledged_by", sa.String(length=200), nullable=True),
        sa.Column("resolved_by", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["monitor_id"],
            ["monitors.id"],
            name=op.f("fk_alerts_monitor_id_monitors"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
    )
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.create_index("ix_alerts_state", ["state", "opened_at"], unique=False)
        batch_op.create_index(
            "uq_alerts_active",
            ["monitor_id", "segment"],
            unique=True,
            sqlite_where=sa.text("state != 'resolved'"),
            postgresql_where=sa.text("state != 'resolved'"),
        )

    op.create_table(
        "monitor_results",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("monitor_id", sa.Integer(), nullable=False),
        sa.Column("time", loopml.store.types.UTCDateTime(), nullable=False),
        sa.Column("window_start", loopml.store.types.UTCDateTime(), nullable=False),
        sa.Column("window_end", loopml.store.types.UTCDateTime(), nullable=False),
        sa.Column("segment", sa.String(length=500), nullable=False),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column(
            "details",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.ForeignKeyConstraint(
            ["monitor_id"],
            ["monitors.id"],
            name=op.f("fk_monitor_results_monitor_id_monitors"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitor_results")),
    )
    with op.batch_alter_table("monitor_results", schema=None) as batch_op:
        batch_op.create_index(
            "ix_monitor_results_series", ["monitor_id", "segment", "time"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("monitor_results", schema=None) as batch_op:
        batch_op.drop_index("ix_monitor_results_series")

    op.drop_table("monitor_results")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_alerts_active",
            sqlite_where=sa.text("state != 'resolved'"),
            postgresql_where=sa.text("state != 'resolved'"),
        )
        batch_op.drop_index("ix_alerts_state")

    op.drop_table("alerts")
    with op.batch_alter_table("monitors", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_monitors_model"))

    op.drop_table("monitors")
