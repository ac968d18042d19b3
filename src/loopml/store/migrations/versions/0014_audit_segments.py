"""Audit events name their segment in a column of their own, indexed with the entity

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

# The payload's "segment" when it is text, from "after", else "before" (what audit.record keeps).
BACKFILL = {
    "sqlite": """UPDATE audit_events SET segment = COALESCE(
        CASE WHEN json_type("after", '$.segment') = 'text' THEN json_extract("after", '$.segment') END,
        CASE WHEN json_type("before", '$.segment') = 'text' THEN json_extract("before", '$.segment') END)""",
    "postgresql": """UPDATE audit_events SET segment = COALESCE(
        CASE WHEN jsonb_typeof("after" -> 'segment') = 'string' THEN "after" ->> 'segment' END,
        CASE WHEN jsonb_typeof("before" -> 'segment') = 'string' THEN "before" ->> 'segment' END)""",
}


def upgrade() -> None:
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("segment", sa.String(length=500), nullable=True))
        batch_op.create_index(
            "ix_audit_entity_segment_time", ["entity_type", "entity_id", "segment", "time"]
        )
    statement = BACKFILL.get(op.get_bind().dialect.name)
    if statement:
        op.execute(statement)


def downgrade() -> None:
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_entity_segment_time")
        batch_op.drop_column("segment")
