"""MLflow's run lifecycle over loopml runs: create, get, update, search."""

from __future__ import annotations

import dataclasses
import re
import uuid
from datetime import datetime, timezone
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from loopml.api.mlflow import experiments
from loopml.api.mlflow.context import ActorDep, Mlflow, MlflowDep
from loopml.api.mlflow.entities import (
    PARENT_TAG,
    RUN_NAME_TAG,
    STATUSES,
    info_fields,
    run_fields,
    run_info,
    run_json,
)
from loopml.api.mlflow.wire import MlflowError, MlflowRoute, fast_json, from_millis
from loopml.auth.permissions import Permission, requires
from loopml.tracking import service
from loopml.tracking.entities import Run, RunStatus
from loopml.tracking.environment import Environment
from loopml.tracking.query import RunRows, search_run_rows
from loopml.tracking.resources import ResourceUsage

router = APIRouter(prefix="/api/2.0/mlflow/runs", route_class=MlflowRoute)

RunId = Annotated[str, Field(min_length=1, max_length=64)]


# Milliseconds since 1970 up to the end of year 9999: what a datetime can hold.
EpochMillis = Annotated[int, Field(ge=0, le=253_402_300_799_999)]


class KeyValue(BaseModel):
    key: str
    value: str | None = None


class CreateRun(BaseModel):
    experiment_id: str = experiments.DEFAULT_ID
    user_id: str | None = None  # the client's claim; the run's user is the authenticated actor
    start_time: EpochMillis | None = None
    run_name: str | None = None
    tags: list[KeyValue] = []


class UpdateRun(BaseModel):
    run_id: RunId | None = None
    run_uuid: RunId | None = None
    status: str | None = None
    end_time: EpochMillis | None = None
    run_name: str | None = None


class SearchRuns(BaseModel):
    experiment_ids: list[str] = []
    filter: str | None = None
    run_view_type: str | None = None
    max_results: int = Field(1000, ge=1, le=50_000)
    order_by: list[str] = []
    page_token: str | None = None


def run_for_mlflow(api: Mlflow, run_id: str) -> tuple[Run, str]:
    """The run (without its artifact list, which MLflow's run has not) and its MLflow
    experiment id."""
    found = service.get_runs(api.store, [run_id])
    run = found[0] if found else service.get_run(api.store, run_id)  # the latter raises
    return run, experiments.mlflow_id_of(api, run.experiment)


@router.post("/create")
@requires(Permission.OPERATE)
def create(body: CreateRun, request: Request, api: MlflowDep, actor: ActorDep):
    experiment = experiments.find_name(api, body.experiment_id)
    tags = {t.key: t.value or "" for t in body.tags}
    name = body.run_name or tags.get(RUN_NAME_TAG)
    if name:
        tags[RUN_NAME_TAG] = name
    client = request.client.host if request.client else "unknown"
    run_id, start = uuid.uuid4().hex, from_millis(body.start_time) or datetime.now(timezone.utc)
    name = name or f"run-{run_id[:8]}"
    if len(name) > 250:
        raise MlflowError("INVALID_PARAMETER_VALUE", "A run name has at most 250 characters.")
    parent = tags.get(PARENT_TAG)
    parent = parent if parent and re.fullmatch(r"[0-9a-f]{32}", parent) else None
    environment = Environment(tags.get("mlflow.source.git.commit"), None, client, "", "")
    service.create_run(
        api.store,
        project=api.project,
        experiment=experiment,
        name=name,
        tags=tags,
        parent_run_id=parent,
        environment=environment,
        actor=actor,
        run_id=run_id,
        start_time=start,
    )
    # Answered from what was written: reading the run back would double the request's cost.
    run = Run(
        id=run_id,
        experiment=experiment,
        name=name,
        status=RunStatus.RUNNING,
        start_time=start,
        end_time=None,
        parent_run_id=parent,
        user=actor,
        git_commit=environment.git_commit,
        git_dirty=None,
        host=client,
        pid=0,
        environment={},
        wall_seconds=None,
        cpu_seconds=None,
        peak_rss_bytes=None,
        error=None,
        tags=tags,
    )
    return fast_json({"run": run_json(run, body.experiment_id)})


@router.get("/get")
def get(
    api: MlflowDep,
    run_id: Annotated[str | None, Query(max_length=64)] = None,
    run_uuid: Annotated[str | None, Query(max_length=64)] = None,
):
    run, mlflow_experiment = run_for_mlflow(api, _run_id(run_id, run_uuid))
    return fast_json({"run": run_json(run, mlflow_experiment)})


@router.post("/update")
@requires(Permission.OPERATE)
def update(body: UpdateRun, api: MlflowDep):
    run_id = _run_id(body.run_id, body.run_uuid)
    run, mlflow_experiment = run_for_mlflow(api, run_id)
    if body.run_name:
        service.set_tags(api.store, run_id, {RUN_NAME_TAG: body.run_name})
        run = dataclasses.replace(run, tags={**run.tags, RUN_NAME_TAG: body.run_name})
    status = _status(body.status) if body.status else run.status
    if status is not RunStatus.RUNNING:
        end = from_millis(body.end_time) or datetime.now(timezone.utc)
        wall = max((end - run.start_time).total_seconds(), 0.0)
        usage = ResourceUsage(wall, run.cpu_seconds, run.peak_rss_bytes)
        service.end_run(api.store, run_id, status, usage, end_time=end)
        run = dataclasses.replace(run, status=status, end_time=end)
    return fast_json({"run_info": run_info(run, mlflow_experiment)})


@router.post("/search")
@requires(Permission.READ)
def search(body: SearchRuns, api: MlflowDep):
    if body.run_view_type == "DELETED_ONLY":  # loopml deletes no runs
        return fast_json({"runs": []})
    mlflow_ids = {number: mlflow_id for number, mlflow_id in experiments.ids_by_name(api).values()}
    wanted = set(body.experiment_ids)
    offset = _offset(body.page_token)
    page = search_run_rows(
        api.store,
        [number for number, mlflow_id in mlflow_ids.items() if mlflow_id in wanted],
        translate_filter(body.filter),
        [translate_filter(o) for o in body.order_by],
        body.max_results + 1,  # one more tells whether another page follows
        offset,
    )
    answer: dict[str, Any] = {
        "runs": [_found(page, run, mlflow_ids) for run in page.runs[: body.max_results]]
    }
    if len(page.runs) > body.max_results:
        answer["next_page_token"] = str(offset + body.max_results)
    return fast_json(answer)


def _found(page: RunRows, run, mlflow_ids: dict[int, str]) -> dict[str, Any]:
    """One run of a search page in MLflow's JSON, straight from its rows."""
    tags = dict(page.tags.get(run.id, ()))
    info = info_fields(
        run.id,
        tags.get(RUN_NAME_TAG, run.name),
        run.status,
        run.start_time,
        run.end_time,
        run.user,
        mlflow_ids[run.experiment_id],
    )
    return run_fields(
        info, run.name, tags, dict(page.params.get(run.id, ())), page.metrics.get(run.id, [])
    )


def _run_id(run_id: str | None, run_uuid: str | None) -> str:
    if not (run_id or run_uuid):
        raise MlflowError("INVALID_PARAMETER_VALUE", "The request names no run_id.")
    return run_id or run_uuid


def _status(name: str) -> RunStatus:
    if name not in STATUSES:
        raise MlflowError(
            "INVALID_PARAMETER_VALUE",
            f"Run status {name!r} is not one of {', '.join(STATUSES)}.",
        )
    return STATUSES[name]


def _offset(token: str | None) -> int:
    if not token:
        return 0
    if not token.isdigit():
        raise MlflowError("INVALID_PARAMETER_VALUE", f"Invalid page_token {token!r}.")
    return int(token)


# MLflow's filter words that loopml's filter language spells differently
_NAMES = re.compile(r"\b(?:attributes?\.|attr\.)?(run_name|user_id|run_id)\b", re.IGNORECASE)
_QUOTED_KEY = re.compile(r'\b(metrics?|params?|tags?)\."([^"]+)"')
_STATUS = re.compile(
    r"((?:attributes?\.)?status\s*(?:!?=|in|not\s+in)\s*\(?\s*)('[^']*'(?:\s*,\s*'[^']*')*)",
    re.IGNORECASE,
)
_TIME = re.compile(r"((?:attributes?\.)?(?:start_time|end_time)\s*(?:[<>]=?|!?=)\s*)(\d+)\b")
_RENAMED = {"run_name": "name", "user_id": "user", "run_id": "run_id"}


def translate_filter(text: str | None) -> str | None:
    """An MLflow filter or order-by clause in loopml's filter language: the same
    grammar, with MLflow's attribute names, upper-case statuses and epoch milliseconds."""
    if not text:
        return text
    text = _QUOTED_KEY.sub(lambda m: f"{m.group(1)}.`{m.group(2)}`", text)
    text = _NAMES.sub(lambda m: _RENAMED[m.group(1).lower()], text)
    text = _STATUS.sub(lambda m: m.group(1) + m.group(2).lower(), text)
    return _TIME.sub(lambda m: f"{m.group(1)}'{from_millis(int(m.group(2))).isoformat()}'", text)
