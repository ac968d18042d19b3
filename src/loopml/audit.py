"""Audit events: who did what, when, why, to what — for every change of state.

Services call ``record`` inside the same transaction as the change it
describes, so an event exists exactly when its change does. A number that could
not be computed (NaN) is recorded as null, alike on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, or_, select
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
            segment=segment_of(before, after),
        )
    )


def segment_of(before: dict[str, Any] | None, after: dict[str, Any] | None) -> str | None:
    """The segment an event is about: its payload's ``"segment"`` (after the change, else
    before it), when that is text."""
    for payload in (after, before):
        value = (payload or {}).get("segment")
        if isinstance(value, str):
            return value
    return None


def record_many(session: Session, events: list[dict[str, Any]]) -> None:
    """Many events (``record``'s keywords each) in one batched statement: a pass over
    thousands of segments audits each of its changes without a round trip per event."""
    if not events:
        return
    time = utcnow()
    rows = [{"time": time, "reason": None, "before": None, "after": None, **e} for e in events]
    for row in rows:
        row["segment"] = segment_of(row["before"], row["after"])
        row["before"], row["after"] = finite_json(row["before"]), finite_json(row["after"])
    session.execute(insert(AuditEventRow), rows)


def list_events(
    store: Store,
    *,
    entity_type: str | None = None,
    entity_id: str | None = None,
    action: str | None = None,
    actions: Sequence[str] | None = None,
    segment: str | None = None,
    actor: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[AuditEvent]:
    """Events, newest first, optionally narrowed to one entity, action, actor or time
    span (``since <= time <= until``); ``limit`` and ``offset`` page through them.

    ``actions`` keeps any of several actions (``"policy.*"`` is a prefix); ``segment``
    the events about one segment (``""``: those about none, or the unsegmented model)."""
    query = select(AuditEventRow).order_by(AuditEventRow.time.desc(), AuditEventRow.id.desc())
    for column, value in (
        (AuditEventRow.entity_type, entity_type),
        (AuditEventRow.entity_id, entity_id),
        (AuditEventRow.action, action),
        (AuditEventRow.actor, actor),
    ):
        if value is not None:
            query = query.where(column == value)
    if actions is not None:
        query = query.where(_any_action(actions))
    if segment is not None:
        column = AuditEventRow.segment
        query = query.where(
            or_(column == "", column.is_(None)) if segment == "" else column == segment
        )
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


def _any_action(actions: Sequence[str]):
    exact = [a for a in actions if not a.endswith("*")]
    prefixes = [a[:-1] for a in actions if a.endswith("*")]
    return or_(
        AuditEventRow.action.in_(exact),
        *(AuditEventRow.action.startswith(p, autoescape=True) for p in prefixes),
    )


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
