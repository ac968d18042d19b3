"""Who did what, when, why, to what: one row per change of state."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from loopml.store.tables.base import Base
from loopml.store.types import JSONType, UTCDateTime, utcnow


class AuditEventRow(Base):
    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_entity_time", "entity_type", "entity_id", "time"),
        Index("ix_audit_time", "time"),
        Index("ix_audit_entity_segment_time", "entity_type", "entity_id", "segment", "time"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    time: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(100))
    entity_type: Mapped[str] = mapped_column(String(50))
    entity_id: Mapped[str] = mapped_column(String(250))
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    # The segment the change is about (its payload's "segment"), kept as a column so one
    # segment's history is read through an index, not by parsing the whole model's.
    segment: Mapped[str | None] = mapped_column(String(500), nullable=True)
