"""MLflow 3's logged models, kept with the run that logged them.

In loopml a model that is not (yet) registered is files of a run, so a logged
model is the run's artifacts under ``mlflow-models/<model id>/`` plus a tag
``loopml.mlflow.model.<model id>`` holding what MLflow knows of it (name,
status, params, tags). Registering it (``model-versions/create``) turns those
files into a loopml model version.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from loopml.api.mlflow.context import Mlflow, MlflowDep
from loopml.api.mlflow.entities import MODEL_TAG
from loopml.api.mlflow.experiments import artifact_location, mlflow_id_of
from loopml.api.mlflow.runs import KeyValue
from loopml.api.mlflow.wire import MlflowError, MlflowRoute, fast_json, key_values, not_implemented
from loopml.auth.permissions import Permission, requires
from loopml.errors import NotFound
from loopml.registry.entities import ModelVersion
from loopml.tracking import service

router = APIRouter(prefix="/api/2.0/mlflow/logged-models", route_class=MlflowRoute)

MODELS_FOLDER = "mlflow-models"  # among a run's artifacts; MLflow lists runs without it


@dataclass(frozen=True)
class LoggedModel:
    id: str
    run_id: str
    fields: dict[str, Any]  # name, experiment_id, status, model_type, times, params, tags

    @property
    def artifact_prefix(self) -> str:
        """Where the model's files are among the run's artifacts."""
        return f"{MODELS_FOLDER}/{self.id}/"

    @property
    def artifact_uri(self) -> str:
        return f"{artifact_location(self.fields['experiment_id'])}/models/{self.id}/artifacts"

    def to_mlflow(self) -> dict[str, Any]:
        f = self.fields
        return {
            "info": {
                "model_id": self.id,
                "experiment_id": f["experiment_id"],
                "name": f["name"],
                "creation_timestamp_ms": f["created"],
                "last_updated_timestamp_ms": f["updated"],
                "artifact_uri": self.artifact_uri,
                "status": f["status"],
                "model_type": f.get("model_type") or "",
                "source_run_id": self.run_id,
                "tags": key_values(f.get("tags", {})),
            },
            "data": {"params": key_values(f.get("params", {})), "metrics": []},
        }


def get_logged_model(api: Mlflow, model_id: str) -> LoggedModel:
    found = service.find_tag(api.store, MODEL_TAG + model_id)
    if found is None:
        raise NotFound(f"No logged model with id {model_id!r}.")
    run_id, value = found
    return LoggedModel(model_id, run_id, json.loads(value))


def record_registration(api: Mlflow, model: LoggedModel, version: ModelVersion) -> None:
    registered = [*model.fields.get("registrations", []), [version.name, version.version]]
    _save(api, model, registrations=registered)


def find_registration(api: Mlflow, version: ModelVersion) -> LoggedModel | None:
    """The logged model a version was registered from, if it came through MLflow."""
    if version.run_id is None:
        return None
    wanted = [version.name, version.version]
    for key, value in service.get_run(api.store, version.run_id).tags.items():
        if key.startswith(MODEL_TAG):
            fields = json.loads(value)
            if wanted in fields.get("registrations", []):
                return LoggedModel(key.removeprefix(MODEL_TAG), version.run_id, fields)
    return None


def _save(api: Mlflow, model: LoggedModel, **changes: Any) -> LoggedModel:
    fields = {**model.fields, **changes, "updated": int(time.time() * 1000)}
    service.set_tags(api.store, model.run_id, {MODEL_TAG + model.id: json.dumps(fields)})
    return LoggedModel(model.id, model.run_id, fields)


class CreateLoggedModel(BaseModel):
    experiment_id: str
    name: str | None = None
    model_type: str | None = None
    source_run_id: str | None = None
    params: list[KeyValue] = []
    tags: list[KeyValue] = []


class Finalize(BaseModel):
    status: str = Field(pattern="^LOGGED_MODEL_(READY|UPLOAD_FAILED|PENDING)$")


class Tags(BaseModel):
    tags: list[KeyValue] = []


class Params(BaseModel):
    params: list[KeyValue] = []


@router.post("")
@requires(Permission.OPERATE)
def create(body: CreateLoggedModel, api: MlflowDep):
    if not body.source_run_id:
        raise not_implemented(
            "logged models outside a run",
            "mlflow.start_run() around log_model (or loopml.log_model)",
        )
    run = service.get_run(api.store, body.source_run_id)
    if mlflow_id_of(api, run.experiment) != body.experiment_id:
        raise MlflowError(
            "INVALID_PARAMETER_VALUE",
            f"Run {run.id} belongs to another experiment than {body.experiment_id}.",
        )
    now = int(time.time() * 1000)
    model = LoggedModel(f"m-{uuid.uuid4().hex}", run.id, {})
    model = _save(
        api,
        model,
        experiment_id=body.experiment_id,
        name=body.name or "model",
        model_type=body.model_type,
        status="LOGGED_MODEL_PENDING",
        created=now,
        params={p.key: p.value or "" for p in body.params},
        tags={t.key: t.value or "" for t in body.tags},
    )
    return fast_json({"model": model.to_mlflow()})


@router.get("/{model_id}")
def get(model_id: str, api: MlflowDep):
    return fast_json({"model": get_logged_model(api, model_id).to_mlflow()})


@router.patch("/{model_id}")
@requires(Permission.OPERATE)
def finalize(model_id: str, body: Finalize, api: MlflowDep):
    model = _save(api, get_logged_model(api, model_id), status=body.status)
    return fast_json({"model": model.to_mlflow()})


@router.patch("/{model_id}/tags")
@requires(Permission.OPERATE)
def set_tags(model_id: str, body: Tags, api: MlflowDep):
    _add(api, model_id, "tags", body.tags)
    return fast_json({})


@router.post("/{model_id}/params")
@requires(Permission.OPERATE)
def log_params(model_id: str, body: Params, api: MlflowDep):
    _add(api, model_id, "params", body.params)
    return fast_json({})


def _add(api: Mlflow, model_id: str, field: str, entries: list[KeyValue]) -> None:
    model = get_logged_model(api, model_id)
    merged = {**model.fields.get(field, {}), **{e.key: e.value or "" for e in entries}}
    _save(api, model, **{field: merged})
