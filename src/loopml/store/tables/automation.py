"""What policies did: one row per action on a model segment."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from loopml.store.tables.base import Base
from loopml.store.types import JSONType, UTCDateTime


class PolicyActionRow(Base):
    __tablename__ = "policy_actions"
    __table_args__ = (
        Index("ix_policy_actions_model_segment_time", "model", "segment", "started_at"),
        # Never two actions in flight on one segment: the database refuses the second.
        # The states are loopml.automation.states.ACTIVE (a test keeps the two equal).
        Index(
            "uq_policy_actions_in_flight",
            "model",
            "segment",
            unique=True,
            sqlite_where=text("state IN ('retraining', 'awaiting_approval', 'watching')"),
            postgresql_where=text("state IN ('retraining', 'awaiting_approval', 'watching')"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    policy: Mapped[str] = mapped_column(String(100))
    model: Mapped[str] = mapped_column(String(200))
    segment: Mapped[str] = mapped_column(String(500))
    trigger: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(30))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    champion_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    challenger_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
