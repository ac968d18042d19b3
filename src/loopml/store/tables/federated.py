"""Federations: organisations training one model family together, and their members.

The same tables serve both ends: a coordinator's store holds the federation with
every member it invited; a participant's store holds the federation it joined
with one member, itself, and the local dataset it trains on.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from loopml.store.tables.base import Base
from loopml.store.types import JSONType, UTCDateTime


class FederationRow(Base):
    __tablename__ = "federations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    role: Mapped[str] = mapped_column(String(20))  # coordinator | participant
    model_family: Mapped[str] = mapped_column(String(50))
    strategy: Mapped[str] = mapped_column(String(20))
    features: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    target: Mapped[str] = mapped_column(String(200))
    min_participants: Mapped[int] = mapped_column(Integer)
    rounds: Mapped[int] = mapped_column(Integer)
    options: Mapped[dict[str, Any]] = mapped_column(JSONType)
    state: Mapped[str] = mapped_column(String(20))  # open | trained | failed
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(200))


class FederationMemberRow(Base):
    __tablename__ = "federation_members"
    __table_args__ = (UniqueConstraint("federation_id", "name", name="uq_federation_members_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    federation_id: Mapped[int] = mapped_column(ForeignKey("federations.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(20))  # invited | joined | refused
    home: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    dataset: Mapped[str | None] = mapped_column(String(250), nullable=True)
    fingerprint: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
