"""Monitors, their results as a time series, and the alerts they open."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from loopml.store.tables.base import Base
from loopml.store.types import JSONType, UTCDateTime, utcnow

ACTIVE = "state != 'resolved'"


class MonitorRow(Base):
    __tablename__ = "monitors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    model: Mapped[str] = mapped_column(String(200), index=True)
    kind: Mapped[str] = mapped_column(String(50))
    spec: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class MonitorResultRow(Base):
    __tablename__ = "monitor_results"
    __table_args__ = (Index("ix_monitor_results_series", "monitor_id", "segment", "time"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    monitor_id: Mapped[int] = mapped_column(ForeignKey("monitors.id", ondelete="CASCADE"))
    time: Mapped[datetime] = mapped_column(UTCDateTime)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime)
    window_end: Mapped[datetime] = mapped_column(UTCDateTime)
    segment: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[str] = mapped_column(String(30))  # ok, alert, no_data, data_problem, error
    value: Mapped[float | None] = mapped_column(Float, nullable=True)
    rows: Mapped[int] = mapped_column(Integer, default=0)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)


class AlertRow(Base):
    __tablename__ = "alerts"
    __table_args__ = (
        # At most one open or acknowledged alert per monitor and segment.
        Index(
            "uq_alerts_active",
            "monitor_id",
            "segment",
            unique=True,
            sqlite_where=text(ACTIVE),
            postgresql_where=text(ACTIVE),
        ),
        Index("ix_alerts_state", "state", "opened_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    monitor_id: Mapped[int] = mapped_column(ForeignKey("monitors.id", ondelete="CASCADE"))
    segment: Mapped[str] = mapped_column(String(500), default="")
    state: Mapped[str] = mapped_column(String(20))  # open, acknowledged, resolved
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    value: Mapped[float | None] = mapped_column(Float, nullable=True)
    threshold: Mapped[float | None] = mapped_column(Float, nullable=True)
    message: Mapped[str] = mapped_column(Text)
    acknowledged_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    resolved_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # An episode: a person's verdict on a resolved alert, "real_change" or "false_alarm".
    resolution: Mapped[str | None] = mapped_column(String(20), nullable=True)
    snoozed_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
