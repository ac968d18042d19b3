"""loopml runs in MLflow's JSON: ``{"info": …, "data": …, "inputs": …, "outputs": …}``.

What MLflow keeps that loopml has no column for (the datasets of ``log_input``,
logged models) travels as run tags under ``loopml.mlflow.``: ordinary loopml
data, shown by ``loopml runs``, and left out of the tags MLflow's client sees.
"""

from __future__ import annotations

import json
import math
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


def number(value: float) -> float | str:
    """MLflow's JSON (protobuf's) spells the floats JSON lacks as strings."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def metric_json(point: MetricPoint) -> dict[str, Any]:
    return {
        "key": point.key,
        "value": number(point.value),
        "timestamp": round(point.timestamp * 1000),
        "step": point.step,
    }


def run_artifact_uri(mlflow_experiment: str, run_id: str) -> str:
    return f"{artifact_location(mlflow_experiment)}/{run_id}/artifacts"


def run_info(run: Run, mlflow_experiment: str) -> dict[str, Any]:
    return {
        "run_id": run.id,
        "run_uuid": run.id,
        "run_name": run.tags.get(RUN_NAME_TAG, run.name),
        "experiment_id": mlflow_experiment,
        "user_id": run.user,
        "status": run.status.value.upper(),
        "start_time": millis(run.start_time),
        "end_time": millis(run.end_time),
        "artifact_uri": run_artifact_uri(mlflow_experiment, run.id),
        "lifecycle_stage": "active",
    }


def run_json(run: Run, mlflow_experiment: str) -> dict[str, Any]:
    """The run as MLflow's server answers it: each metric's latest point with its own step
    and time, and (as protobuf's JSON does) no key for an empty list."""
    tags = {k: v for k, v in run.tags.items() if not k.startswith(HIDDEN)}
    tags.setdefault(RUN_NAME_TAG, run.name)
    data: dict[str, Any] = {"tags": key_values(tags)}
    if run.latest_metrics:
        data["metrics"] = [metric_json(p) for p in run.latest_metrics.values()]
    if run.params:
        data["params"] = key_values(run.params)
    answer = {"info": run_info(run, mlflow_experiment), "data": data, "inputs": {}, "outputs": {}}
    if INPUTS_TAG in run.tags:
        answer["inputs"]["dataset_inputs"] = json.loads(run.tags[INPUTS_TAG])
    if OUTPUTS_TAG in run.tags:
        answer["outputs"]["model_outputs"] = json.loads(run.tags[OUTPUTS_TAG])
    return answer


def merged(existing: str | None, new: list[dict[str, Any]], key) -> str:
    """A JSON list tag with ``new`` entries added, each entry once by ``key``."""
    entries = {key(e): e for e in json.loads(existing or "[]")}
    entries.update((key(e), e) for e in new)
    return json.dumps(list(entries.values()), sort_keys=True)
