"""Monitors over REST: the monitors, their results, and a run on demand."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from loopml.api.alerts import AlertRead
from loopml.api.deps import ContextDep, PrincipalDep, StoreDep
from loopml.auth.permissions import Permission, requires
from loopml.monitoring import fluent, service
from loopml.redaction import redact_mapping

router = APIRouter(prefix="/api/v1/monitors", tags=["monitors"])


class MonitorRead(BaseModel):
    name: str
    model: str
    kind: str
    window_seconds: float
    schedule_seconds: float
    per_segment: bool
    created_at: datetime
    last_run_at: datetime | None
    spec: dict[str, Any] = Field(description="The whole spec, as loopml.MonitorSpec takes it.")


class ResultRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    time: datetime
    window_start: datetime
    window_end: datetime
    segment: str
    status: str = Field(description="ok, alert, no_data, data_problem or error.")
    value: float | None
    rows: int
    details: dict[str, Any] | None


class OutcomeRead(BaseModel):
    segment: str
    status: str
    value: float | None
    rows: int
    message: str


class AlertChangeRead(BaseModel):
    event: str = Field(description="opened or resolved.")
    alert: AlertRead


class RunRead(BaseModel):
    monitor: str
    outcomes: list[OutcomeRead]
    changes: list[AlertChangeRead]


@router.get("", summary="Monitors, by name", response_model=list[MonitorRead])
def list_monitors(store: StoreDep, model: str | None = None):
    return [_monitor(m) for m in service.list_monitors(store, model=model)]


@router.get(
    "/{name}/results",
    summary="A monitor's results, newest first",
    response_model=list[ResultRead],
)
def results(
    name: str,
    store: StoreDep,
    segment: str | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
):
    return service.monitor_results(store, name, segment=segment, limit=limit)


@router.post("/{name}/run", summary="Run a monitor now, due or not", response_model=RunRead)
@requires(Permission.OPERATE)
def run_now(name: str, context: ContextDep, principal: PrincipalDep):
    monitor = service.get_monitor(context.store, name)  # a 404 naming the monitors
    principal.ensure_may_touch(monitor.spec.model, "monitors")
    report = fluent.run_monitors(names=[name], force=True, context=context)
    return {
        "monitor": name,
        "outcomes": [vars(o) for o in report.outcomes.get(name, [])],
        "changes": [{"event": c.event, "alert": vars(c.alert)} for c in report.changes],
    }


def _monitor(monitor) -> dict[str, Any]:
    spec = monitor.spec
    return {
        "name": spec.name,
        "model": spec.model,
        "kind": spec.kind,
        "window_seconds": spec.window.total_seconds(),
        "schedule_seconds": spec.schedule.total_seconds(),
        "per_segment": spec.per_segment,
        "created_at": monitor.created_at,
        "last_run_at": monitor.last_run_at,
        "spec": redact_mapping(spec.model_dump(mode="json")),  # a webhook URL holds its secret
    }
