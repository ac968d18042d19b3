"""The audit log over REST: who did what, when, why, to what; filtered and paged."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from loopml import audit
from loopml.api.deps import StoreDep

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


class AuditEventRead(BaseModel):
    id: int
    time: datetime
    actor: str
    action: str
    entity_type: str
    entity_id: str
    reason: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class AuditPage(BaseModel):
    events: list[AuditEventRead]
    limit: int
    offset: int
    next_offset: int | None  # None: this is the last page


@router.get("", summary="Audit events, newest first", response_model=AuditPage)
def query(
    store: StoreDep,
    entity_type: str | None = None,
    entity_id: str | None = None,
    action: str | None = None,
    actor: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
):
    # One more than asked: whether a next page exists, without a count query.
    events = audit.list_events(
        store,
        entity_type=entity_type,
        entity_id=entity_id,
        action=action,
        actor=actor,
        since=since,
        until=until,
        limit=limit + 1,
        offset=offset,
    )
    more = len(events) > limit
    return {
        "events": [vars(e) for e in events[:limit]],
        "limit": limit,
        "offset": offset,
        "next_offset": offset + limit if more else None,
    }
