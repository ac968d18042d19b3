"""Audit events: who did what, when, why, to what — for every change of state.

Services call ``record`` inside the same transaction as the change it
describes, so an event exists exactly when its change does. A number that could
not be computed (NaN) is recorded as null, alike on SQLite and PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from loopml.store import Store, utcnow
from loopml.store.tables import AuditEventRow
from loopml.store.types import finite_json


@dataclass(frozen=True)
class AuditEvent:
    id: int
    time: datetime
    actor: str
    action: str
    entity_type: str
    entity_id: str
    reason: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    entity_type: str,
    entity_id: str,
    reason: str | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    session.add(
        AuditEventRow(
            time=utcnow(),
            actor=actor,
            action=action,
            entity_type=entity_type,
            entity_id=entity_id,
            reason=reason,
            before=finite_json(before),
            after=finite_json(after),
        )
    )


def list_events(
    store: Store,
    *,
    entity_type: str | None = None,
    entity_id: str | None = None,
    action: str | None = None,
    actor: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[AuditEvent]:
    """Events, newest first, optionally narrowed to one entity, action, actor or time
    span (``since <= time <= until``); ``limit`` and ``offset`` page through them."""
    query = select(AuditEventRow).order_by(AuditEventRow.time.desc(), AuditEventRow.id.desc())
    for column, value in (
        (AuditEventRow.entity_type, entity_type),
        (AuditEventRow.entity_id, entity_id),
        (AuditEventRow.action, action),
        (AuditEventRow.actor, actor),
    ):
        if value is not None:
            query = query.where(column == value)
    if since is not None:
        query = query.where(AuditEventRow.time >= since)
    if until is not None:
        query = query.where(AuditEventRow.time <= until)
    if limit is not None:
        query = query.limit(limit)
    if offset:
        query = query.offset(offset)
    with store.read() as session:
        return [_to_domain(row) for row in session.scalars(query)]


def _to_domain(row: AuditEventRow) -> AuditEvent:
    return AuditEvent(
        id=row.id,
        time=row.time,
        actor=row.actor,
        action=row.action,
        entity_type=row.entity_type,
        entity_id=row.entity_id,
        reason=row.reason,
        before=row.before,
        after=row.after,
    )
