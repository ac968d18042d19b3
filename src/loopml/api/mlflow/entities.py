"""loopml runs in MLflow's JSON: ``{"info": …, "data": …, "inputs": …, "outputs": …}``.

What MLflow keeps that loopml has no column for (the datasets of ``log_input``,
logged models) travels as run tags under ``loopml.mlflow.``: ordinary loopml
data, shown by ``loopml runs``, and left out of the tags MLflow's client sees.
"""

from __future__ import annotations

import json
import math
from datetime import datetime
from typing import Any

from loopml.api.mlflow.experiments import artifact_location
from loopml.api.mlflow.wire import key_values, millis
from loopml.tracking.entities import MetricPoint, Run, RunStatus

INPUTS_TAG = "loopml.mlflow.inputs"
OUTPUTS_TAG = "loopml.mlflow.outputs"
MODEL_TAG = "loopml.mlflow.model."  # + model id: one logged model's description
RUN_NAME_TAG = "mlflow.runName"
PARENT_TAG = "mlflow.parentRunId"
HIDDEN = (INPUTS_TAG, OUTPUTS_TAG, MODEL_TAG)

STATUSES = {status.value.upper(): status for status in RunStatus}


def number(value: float | None) -> float | str:
    """MLflow's JSON (protobuf's) spells the floats JSON lacks as strings; the store
    keeps NaN as NULL."""
    if value is None or math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def metric_json(point: MetricPoint) -> dict[str, Any]:
    return metric_fields(point.key, point.value, point.step, point.timestamp)


def metric_fields(key: str, value: float | None, step: int, timestamp: float) -> dict[str, Any]:
    return {"key": key, "value": number(value), "timestamp": round(timestamp * 1000), "step": step}


def run_artifact_uri(mlflow_experiment: str, run_id: str) -> str:
    return f"{artifact_location(mlflow_experiment)}/{run_id}/artifacts"


def run_info(run: Run, mlflow_experiment: str) -> dict[str, Any]:
    name = run.tags.get(RUN_NAME_TAG, run.name)
    return info_fields(
        run.id, name, run.status.value, run.start_time, run.end_time, run.user, mlflow_experiment
    )


def info_fields(
    run_id: str,
    name: str,
    status: str,
    start_time: datetime,
    end_time: datetime | None,
    user: str,
    mlflow_experiment: str,
) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "run_uuid": run_id,
        "run_name": name,
        "experiment_id": mlflow_experiment,
        "user_id": user,
        "status": status.upper(),
        "start_time": millis(start_time),
        "end_time": millis(end_time),
        "artifact_uri": run_artifact_uri(mlflow_experiment, run_id),
        "lifecycle_stage": "active",
    }


def run_json(run: Run, mlflow_experiment: str) -> dict[str, Any]:
    """The run as MLflow's server answers it: each metric's latest point with its own step
    and time."""
    metrics = [(p.key, p.value, p.step, p.timestamp) for p in run.latest_metrics.values()]
    return run_fields(run_info(run, mlflow_experiment), run.name, run.tags, run.params, metrics)


def run_fields(
    info: dict[str, Any],
    name: str,
    tags: dict[str, str],
    params: dict[str, str],
    metrics: list[tuple],
) -> dict[str, Any]:
    """A run's JSON from its info and what it logged (metrics as (key, value, step,
    timestamp)). As protobuf's JSON does, no key for an empty list, and none for empty
    inputs or outputs: the client parses every message it is sent, and a page of 10,000
    runs would carry 20,000 empty ones."""
    shown = {k: v for k, v in tags.items() if not k.startswith(HIDDEN)}
    shown.setdefault(RUN_NAME_TAG, name)
    data: dict[str, Any] = {"tags": key_values(shown)}
    if metrics:
        data["metrics"] = [metric_fields(*point) for point in metrics]
    if params:
        data["params"] = key_values(params)
    answer = {"info": info, "data": data}
    if INPUTS_TAG in tags:
        answer["inputs"] = {"dataset_inputs": json.loads(tags[INPUTS_TAG])}
    if OUTPUTS_TAG in tags:
        answer["outputs"] = {"model_outputs": json.loads(tags[OUTPUTS_TAG])}
    return answer


def merged(existing: str | None, new: list[dict[str, Any]], key) -> str:
    """A JSON list tag with ``new`` entries added, each entry once by ``key``."""
    entries = {key(e): e for e in json.loads(existing or "[]")}
    entries.update((key(e), e) for e in new)
    return json.dumps(list(entries.values()), sort_keys=True)
