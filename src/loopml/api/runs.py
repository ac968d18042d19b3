"""Experiments and runs over REST: read what tracking recorded."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from loopml.api.deps import SettingsDep, StoreDep
from loopml.redaction import redact_mapping, redact_text
from loopml.tracking import service
from loopml.tracking.query import search_runs

router = APIRouter(prefix="/api/v1", tags=["runs"])


class ExperimentRead(BaseModel):
    id: int
    name: str
    project: str
    created_at: datetime
    run_count: int
    last_run_at: datetime | None


class RunRead(BaseModel):
    id: str
    experiment: str
    name: str
    status: str
    start_time: datetime
    end_time: datetime | None
    parent_run_id: str | None
    user: str
    git_commit: str | None
    git_dirty: bool | None
    host: str
    wall_seconds: float | None
    cpu_seconds: float | None
    peak_rss_bytes: int | None
    error: str | None
    environment: dict[str, Any]
    params: dict[str, str]
    metrics: dict[str, float | None]
    tags: dict[str, str]


class MetricPointRead(BaseModel):
    step: int
    value: float | None
    timestamp: float


def _finite(value: float) -> float | None:
    """JSON has no NaN: a NaN metric is sent as null."""
    return None if math.isnan(value) else value


def _redacted(record: dict[str, Any]) -> dict[str, Any]:
    """A row of the runs table with secret-looking params and tags hidden."""
    return redact_mapping(redact_mapping(record, prefix="params."), prefix="tags.")


@router.get("/experiments", response_model=list[ExperimentRead])
def list_experiments(store: StoreDep, settings: SettingsDep):
    return [vars(e) for e in service.list_experiments(store, settings.project)]


@router.get("/runs", summary="Search runs with the filter language of loopml.search_runs")
def list_runs(
    store: StoreDep,
    settings: SettingsDep,
    experiment: Annotated[list[str] | None, Query()] = None,
    filter: str | None = None,
    order_by: Annotated[list[str] | None, Query()] = None,
    max_results: Annotated[int, Query(ge=1, le=50_000)] = 100,
) -> list[dict[str, Any]]:
    frame = search_runs(store, settings.project, experiment, filter, order_by, max_results)
    frame = frame.astype(object).where(frame.notna(), None)
    return [_redacted(record) for record in frame.to_dict(orient="records")]


@router.get("/runs/{run_id}", response_model=RunRead)
def get_run(run_id: str, store: StoreDep):
    run = service.get_run(store, run_id)
    fields = {**vars(run), "status": run.status.value}
    fields["metrics"] = {k: _finite(v) for k, v in run.metrics.items()}
    fields["params"], fields["tags"] = redact_mapping(run.params), redact_mapping(run.tags)
    fields["error"] = redact_text(run.error)
    return fields


@router.get("/runs/{run_id}/metrics/{key}", response_model=list[MetricPointRead])
def metric_history(run_id: str, key: str, store: StoreDep):
    return [
        {"step": p.step, "value": _finite(p.value), "timestamp": p.timestamp}
        for p in service.get_metric_history(store, run_id, key)
    ]
