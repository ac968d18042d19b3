"""What the tracking API returns: frozen records of experiments, runs and metrics."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from functools import cached_property
from typing import Any


class RunStatus(str, Enum):
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"
    KILLED = "killed"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Experiment:
    id: int
    name: str
    project: str
    created_at: datetime
    run_count: int = 0
    last_run_at: datetime | None = None


@dataclass(frozen=True)
class MetricPoint:
    key: str
    value: float
    step: int
    timestamp: float


@dataclass(frozen=True)
class ArtifactInfo:
    path: str
    digest: str
    size: int


@dataclass(frozen=True)
class Run:
    id: str
    experiment: str
    name: str
    status: RunStatus
    start_time: datetime
    end_time: datetime | None
    parent_run_id: str | None
    user: str
    git_commit: str | None
    git_dirty: bool | None
    host: str
    pid: int
    environment: dict[str, Any]
    wall_seconds: float | None
    cpu_seconds: float | None
    peak_rss_bytes: int | None
    error: str | None
    params: dict[str, str] = field(default_factory=dict)
    # The newest point of each metric: the highest step, of its points the latest logged.
    latest_metrics: dict[str, MetricPoint] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    artifacts: tuple[ArtifactInfo, ...] = ()

    @cached_property
    def metrics(self) -> dict[str, float]:
        """Each metric's latest value (``latest_metrics`` has its step and time too)."""
        return {key: point.value for key, point in self.latest_metrics.items()}
