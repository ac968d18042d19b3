"""What the registry returns: frozen records of models, versions, alias moves and approvals."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from loopml.models.signature import Signature


@dataclass(frozen=True)
class ModelVersion:
    id: int
    name: str
    version: int
    segment: dict[str, Any] | None
    segment_key: str
    run_id: str | None
    flavor: str
    artifact_digest: str
    signature: Signature | None
    metrics: dict[str, Any]
    dataset_version_ids: tuple[str, ...]
    created_at: datetime
    created_by: str
    aliases: tuple[str, ...] = ()
    rules: dict[str, Any] | None = None
    validation: dict[str, Any] | None = None
    description: str | None = None
    archived_at: datetime | None = None  # retired for good: never serves or is promoted again
    archived_by: str | None = None
    reference_digest: str | None = None  # drift reference of the rows it was trained on
    onnx_digest: str | None = None  # its verified ONNX export, when served through onnxruntime

    @property
    def runtime(self) -> str:
        """What scores the version when served: ``onnx`` (onnxruntime) or ``native``."""
        return runtime_of(self.onnx_digest)

    @property
    def archived(self) -> bool:
        return self.archived_at is not None


def runtime_of(onnx_digest: str | None) -> str:
    """A version with a verified ONNX export to serve is scored by onnxruntime."""
    return "onnx" if onnx_digest else "native"


@dataclass(frozen=True)
class Model:
    name: str
    description: str | None
    gate: dict[str, Any] | None
    created_at: datetime
    version_count: int = 0
    segment_count: int = 0
    aliases: dict[str, int] = field(default_factory=dict)  # unsegmented aliases


@dataclass(frozen=True)
class AliasMove:
    id: int
    name: str
    segment_key: str
    alias: str
    from_version: int | None
    to_version: int | None
    time: datetime
    actor: str
    reason: str | None
    kind: str


@dataclass(frozen=True)
class Approval:
    id: int
    name: str
    version: int
    segment_key: str
    alias: str
    state: str
    requested_at: datetime
    requested_by: str
    request_reason: str | None
    gate_report: dict[str, Any] | None
    decided_at: datetime | None
    decided_by: str | None
    decision_reason: str | None
    champion_version: int | None = None  # what the gate compared against at request time
