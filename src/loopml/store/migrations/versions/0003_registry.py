"""Registry: models, versions, aliases, alias moves, approvals

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 03:03:21.209135
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import loopml.store.types

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "models",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column(
            "gate",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("created_at", loopml.store.types.UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_models")),
        sa.UniqueConstraint("name", name=op.f("uq_models_name")),
    )
    op.create_table(
        "alias_moves",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("segment_key", sa.String(length=500), nullable=False),
        sa.Column("alias", sa.String(length=100), nullable=False),
        sa.Column("from_version", sa.Integer(), nullable=True),
        sa.Column("to_version", sa.Integer(), nullable=True),
        sa.Column("time", loopml.store.types.UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.ForeignKeyConstraint(
            ["model_id"], ["models.id"], name=op.f("fk_alias_moves_model_id_models")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alias_moves")),
    )
    with op.batch_alter_table("alias_moves", schema=None) as batch_op:
        batch_op.create_index(
            "ix_alias_moves_lookup", ["model_id", "segment_key", "alias", "time"], unique=False
        )

    op.create_table(
        "model_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("segment_key", sa.String(length=500), nullable=False),
        sa.Column(
            "segment",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("run_id", sa.String(length=32), nullable=True),
        sa.Column("flavor", sa.String(length=50), nullable=False),
        sa.Column("artifact_digest", sa.String(length=64), nullable=False),
        sa.Column("artifact_size", sa.Integer(), nullable=False),
        sa.Column(
            "signature",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "metrics",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "rules",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "validation",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_at", loopml.store.types.UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["model_id"], ["models.id"], name=op.f("fk_model_versions_model_id_models")
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_model_versions_run_id_runs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_versions")),
        sa.UniqueConstraint("model_id", "version", name=op.f("uq_model_versions_model_id")),
    )
    with op.batch_alter_table("model_versions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_model_versions_model_segment", ["model_id", "segment_key", "version"], unique=False
        )

    op.create_table(
        "aliases",
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("segment_key", sa.String(length=500), nullable=False),
        sa.Column("alias", sa.String(length=100), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("updated_at", loopml.store.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["model_id"], ["models.id"], name=op.f("fk_aliases_model_id_models")
        ),
        sa.ForeignKeyConstraint(
            ["version_id"], ["model_versions.id"], name=op.f("fk_aliases_version_id_model_versions")
        ),
        sa.PrimaryKeyConstraint("model_id", "segment_key", "alias", name=op.f("pk_aliases")),
    )
    op.create_table(
        "approvals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("segment_key", sa.String(length=500), nullable=False),
        sa.Column("alias", sa.String(length=100), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("requested_at", loopml.store.types.UTCDateTime(), nullable=False),
        sa.Column("requested_by", sa.String(length=200), nullable=False),
        sa.Column("request_reason", sa.Text(), nullable=True),
        sa.Column(
            "gate_report",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("decided_at", loopml.store.types.UTCDateTime(), nullable=True),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["model_id"], ["models.id"], name=op.f("fk_approvals_model_id_models")
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["model_versions.id"],
            name=op.f("fk_approvals_version_id_model_versions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approvals")),
    )
    with op.batch_alter_table("approvals", schema=None) as batch_op:
        batch_op.create_index("ix_approvals_state", ["state"], unique=False)

    op.create_table(
        "model_version_datasets",
        sa.Column("model_version_id", sa.Integer(), nullable=False),
        sa.Column("dataset_version_id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["model_version_id"],
            ["model_versions.id"],
            name=op.f("fk_model_version_datasets_model_version_id_model_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "model_version_id", "dataset_version_id", name=op.f("pk_model_version_datasets")
        ),
    )


def downgrade() -> None:
    op.drop_table("model_version_datasets")
    with op.batch_alter_table("approvals", schema=None) as batch_op:
        batch_op.drop_index("ix_approvals_state")

    op.drop_table("approvals")
    op.drop_table("aliases")
    with op.batch_alter_table("model_versions", schema=None) as batch_op:
        batch_op.drop_index("ix_model_versions_model_segment")

    op.drop_table("model_versions")
    with op.batch_alter_table("alias_moves", schema=None) as batch_op:
        batch_op.drop_index("ix_alias_moves_lookup")

    op.drop_table("alias_moves")
    op.drop_table("models")
