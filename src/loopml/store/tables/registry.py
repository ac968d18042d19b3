"""Registered models, their versions per segment, aliases, alias history and approvals."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from loopml.store.tables.base import Base
from loopml.store.types import JSONType, UTCDateTime


class ModelRow(Base):
    __tablename__ = "models"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    gate: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(200))


class ModelVersionRow(Base):
    __tablename__ = "model_versions"
    __table_args__ = (
        UniqueConstraint("model_id", "version"),
        Index("ix_model_versions_model_segment", "model_id", "segment_key", "version"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id"))
    version: Mapped[int] = mapped_column(Integer)
    segment_key: Mapped[str] = mapped_column(String(500))
    segment: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    run_id: Mapped[str | None] = mapped_column(ForeignKey("runs.id"), nullable=True)
    flavor: Mapped[str] = mapped_column(String(50))
    artifact_digest: Mapped[str] = mapped_column(String(64))
    artifact_size: Mapped[int] = mapped_column(Integer)
    signature: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    rules: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    validation: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(200))
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    archived_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # the drift reference (summaries) of the rows this version was trained on, an artifact
    reference_digest: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # set when the version is served through onnxruntime: its parity-verified ONNX export
    onnx_digest: Mapped[str | None] = mapped_column(String(64), nullable=True)


class ModelVersionDatasetRow(Base):
    """Which dataset versions trained a model version (lineage)."""

    __tablename__ = "model_version_datasets"

    model_version_id: Mapped[int] = mapped_column(
        ForeignKey("model_versions.id", ondelete="CASCADE"), primary_key=True
    )
    dataset_version_id: Mapped[str] = mapped_column(String(32), primary_key=True)


class AliasRow(Base):
    """Where an alias of a model segment points now."""

    __tablename__ = "aliases"

    model_id: Mapped[int] = mapped_column(ForeignKey("models.id"), primary_key=True)
    segment_key: Mapped[str] = mapped_column(String(500), primary_key=True)
    alias: Mapped[str] = mapped_column(String(100), primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AliasMoveRow(Base):
    """Every move of an alias, in order: the history behind "champion at time T"
    and the cheap change counter serving replicas poll (its max id)."""

    __tablename__ = "alias_moves"
    __table_args__ = (Index("ix_alias_moves_lookup", "model_id", "segment_key", "alias", "time"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id"))
    segment_key: Mapped[str] = mapped_column(String(500))
    alias: Mapped[str] = mapped_column(String(100))
    from_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    to_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    time: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    kind: Mapped[str] = mapped_column(String(30))


class ApprovalRow(Base):
    __tablename__ = "approvals"
    __table_args__ = (Index("ix_approvals_state", "state"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id"))
    version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id"))
    segment_key: Mapped[str] = mapped_column(String(500))
    alias: Mapped[str] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(20))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    requested_by: Mapped[str] = mapped_column(String(200))
    request_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    gate_report: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    # The champion the gate compared against when the request was made.
    champion_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    decision_reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class VersionReportRow(Base):
    """A computed report of a version (explanation, fairness, evaluation), newest last."""

    __tablename__ = "version_reports"
    __table_args__ = (Index("ix_version_reports_version_kind", "version_id", "kind", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(50))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(200))
