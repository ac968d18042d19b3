"""``INSERT … ON CONFLICT`` for both databases, for Core writes on hot paths."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, Table


def upsert(
    connection: Connection,
    table: Table,
    rows: Sequence[dict],
    *,
    keys: Sequence[str],
    update: Sequence[str] = (),
) -> None:
    """Insert ``rows``; on a clash on ``keys`` overwrite ``update`` (or keep the old row)."""
    if not rows:
        return
    if connection.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    statement = insert(table)
    if update:
        statement = statement.on_conflict_do_update(
            index_elements=list(keys),
            set_={column: statement.excluded[column] for column in update},
        )
    else:
        statement = statement.on_conflict_do_nothing(index_elements=list(keys))
    connection.execute(statement, list(rows))
