"""What MLflow's client logs to a run: metrics, params, tags, batches, inputs, outputs."""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from typing_extensions import NotRequired, TypedDict

from loopml.api.mlflow.context import MlflowDep
from loopml.api.mlflow.entities import INPUTS_TAG, OUTPUTS_TAG, merged, metric_json
from loopml.api.mlflow.runs import KeyValue, RunId, _run_id
from loopml.api.mlflow.wire import MlflowError, MlflowRoute, fast_json, not_implemented
from loopml.auth.permissions import Permission, requires
from loopml.tracking import service
from loopml.tracking.values import check_key

router = APIRouter(prefix="/api/2.0/mlflow", route_class=MlflowRoute)

MAX_BATCH = 1000  # MLflow's own limit on metrics per log-batch


Int64 = Annotated[int, Field(ge=-(2**63), lt=2**63)]  # the store's BIGINT columns


class Metric(BaseModel):
    key: str
    value: float
    timestamp: Int64 = 0
    step: Int64 = 0
    model_id: str | None = None  # MLflow 3 copies a run's metrics onto its logged models


class BatchMetric(TypedDict):
    """A metric of a batch: the fields of ``Metric``, checked alike, as a plain dict (a
    batch brings a thousand of them, and a model object each costs more than its check)."""

    key: str
    value: float
    timestamp: NotRequired[Int64]
    step: NotRequired[Int64]
    model_id: NotRequired[str | None]


class LogMetric(Metric):
    run_id: RunId | None = None
    run_uuid: RunId | None = None


class LogParam(BaseModel):
    run_id: RunId | None = None
    run_uuid: RunId | None = None
    key: str
    value: str


class SetTag(LogParam):
    value: str = ""


class LogBatch(BaseModel):
    run_id: RunId
    metrics: list[BatchMetric] = Field([], max_length=MAX_BATCH)
    params: list[KeyValue] = Field([], max_length=100)
    tags: list[KeyValue] = Field([], max_length=100)


class LogInputs(BaseModel):
    run_id: RunId
    datasets: list[dict[str, Any]] = []
    models: list[dict[str, Any]] = []


class LogOutputs(BaseModel):
    run_id: RunId
    models: list[dict[str, Any]] = []


def _points(metrics: list[BatchMetric]) -> list[tuple[str, float, int, float]]:
    """The run's own points; copies sent for a logged model are not new history."""
    return [
        (_metric_key(m["key"]), m["value"], m.get("step", 0), m.get("timestamp", 0) / 1000)
        for m in metrics
        if not m.get("model_id")
    ]


@lru_cache(maxsize=4096)
def _metric_key(key: str) -> str:
    """``check_key`` once per name: a run logs the same names batch after batch. Only
    names that pass are remembered (a refused one raises, and raises again next time)."""
    return check_key(key, "Metric")


@router.post("/runs/log-metric")
@requires(Permission.OPERATE)
def log_metric(body: LogMetric, api: MlflowDep):
    run_id = _run_id(body.run_id, body.run_uuid)
    point = body.model_dump(include={"key", "value", "step", "timestamp", "model_id"})
    service.log_batch(api.store, run_id, points=_points([point]))
    return fast_json({})


@router.post("/runs/log-parameter")
@requires(Permission.OPERATE)
def log_param(body: LogParam, api: MlflowDep):
    service.log_params(api.store, _run_id(body.run_id, body.run_uuid), {body.key: body.value})
    return fast_json({})


@router.post("/runs/set-tag")
@requires(Permission.OPERATE)
def set_tag(body: SetTag, api: MlflowDep):
    service.set_tags(api.store, _run_id(body.run_id, body.run_uuid), {body.key: body.value})
    return fast_json({})


@router.post("/runs/delete-tag")
@requires(Permission.OPERATE)
def delete_tag() -> None:
    raise not_implemented("tag deletion", "set_tag with a new value (loopml keeps tags)")


@router.post("/runs/log-batch")
@requires(Permission.OPERATE)
def log_batch(body: LogBatch, api: MlflowDep):
    service.log_batch(
        api.store,
        body.run_id,
        params={p.key: p.value or "" for p in body.params},
        tags={t.key: t.value or "" for t in body.tags},
        points=_points(body.metrics),
    )
    return fast_json({})


@router.post("/runs/log-inputs")
@requires(Permission.OPERATE)
def log_inputs(body: LogInputs, api: MlflowDep):
    """Datasets arrive as descriptions (name, digest, source, schema), not as data, so
    they are kept as the run's description of its inputs rather than dataset versions."""
    run = service.get_run(api.store, body.run_id)
    if body.datasets:
        inputs = merged(run.tags.get(INPUTS_TAG), body.datasets, _dataset_key)
        service.set_tags(api.store, body.run_id, {INPUTS_TAG: inputs})
    return fast_json({})


@router.post("/runs/outputs")
@requires(Permission.OPERATE)
def log_outputs(body: LogOutputs, api: MlflowDep):
    run = service.get_run(api.store, body.run_id)
    outputs = merged(run.tags.get(OUTPUTS_TAG), body.models, lambda m: m.get("model_id"))
    service.set_tags(api.store, body.run_id, {OUTPUTS_TAG: outputs})
    return fast_json({})


def _dataset_key(entry: dict[str, Any]) -> tuple:
    dataset = entry.get("dataset") or {}
    if not isinstance(dataset, dict) or not dataset.get("name"):
        raise MlflowError("INVALID_PARAMETER_VALUE", "Each dataset input needs a dataset name.")
    return dataset.get("name"), dataset.get("digest")


@router.get("/metrics/get-history")
def metric_history(
    api: MlflowDep,
    metric_key: Annotated[str, Query(min_length=1)],
    run_id: Annotated[str | None, Query(max_length=64)] = None,
    run_uuid: Annotated[str | None, Query(max_length=64)] = None,
    max_results: Annotated[int | None, Query(ge=1)] = None,
    page_token: str | None = None,
):
    points = service.get_metric_history(api.store, _run_id(run_id, run_uuid), metric_key)
    start = int(page_token) if page_token and page_token.isdigit() else 0
    end = start + max_results if max_results else len(points)
    answer: dict[str, Any] = {"metrics": [metric_json(p) for p in points[start:end]]}
    if end < len(points):
        answer["next_page_token"] = str(end)
    return fast_json(answer)
