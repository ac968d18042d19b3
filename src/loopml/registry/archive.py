"""Archiving: a version retired for good, for example one that learned from a leaky column.

An archived version keeps its artifact, metrics and lineage (questions about
past predictions still have answers), but loses every alias at once, so
serving stops routing to it, and no promotion may point an alias at it again.
"""

from __future__ import annotations

from sqlalchemy import select

from loopml import audit
from loopml.errors import Conflict, InvalidInput
from loopml.registry import service
from loopml.registry.entities import ModelVersion
from loopml.store import Store, utcnow
from loopml.store.tables import AliasRow


def archive_version(
    store: Store, name: str, version: int, *, actor: str, reason: str
) -> tuple[ModelVersion, list[str]]:
    """Retire ``version`` of ``name``: its aliases go (each move recorded), and it never
    serves or is promoted again. ``reason`` is required: it is what the audit keeps.
    Returns the archived version and the aliases it lost."""
    if not reason or not reason.strip():
        raise InvalidInput(
            "Archiving a version needs a reason.",
            hint="Say why it must never serve again, e.g. --reason 'learned from a row index'.",
        )
    with store.write() as session:
        model = service._lock_model(session, name)
        row = service._version_row(session, model, name, version=version)
        if row.archived_at is not None:
            raise Conflict(
                f"Version {version} of {name!r} was archived already, by {row.archived_by}.",
                hint="Nothing to do; `loopml audit` shows why.",
            )
        aliases = session.scalars(select(AliasRow).where(AliasRow.version_id == row.id)).all()
        for alias in aliases:
            session.delete(alias)
            service._record_move(
                session,
                model,
                name,
                alias.segment_key,
                alias.alias,
                version,
                None,
                actor,
                reason,
                "archive",
            )
        row.archived_at, row.archived_by = utcnow(), actor
        audit.record(
            session,
            actor=actor,
            action="version.archive",
            entity_type="model",
            entity_id=name,
            reason=reason,
            after={"version": version, "aliases_removed": [a.alias for a in aliases]},
        )
        session.flush()
        return service._load_version(session, row, name), [a.alias for a in aliases]
