"""Monitors kept by a policy are of kind 'external' (they were 'rollout')

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

import loopml.store.types

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

monitors = sa.table(
    "monitors",
    sa.column("id", sa.Integer()),
    sa.column("kind", sa.String()),
    sa.column("spec", loopml.store.types.JSONType),
)


def upgrade() -> None:
    _rename("rollout", "external")


def downgrade() -> None:
    _rename("external", "rollout")


def _rename(old: str, new: str) -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.select(monitors.c.id, monitors.c.spec).where(monitors.c.kind == old))
    for monitor_id, spec in rows.all():
        bind.execute(
            monitors.update()
            .where(monitors.c.id == monitor_id)
            .values(kind=new, spec={**spec, "kind": new})
        )
