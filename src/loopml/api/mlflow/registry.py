"""MLflow's model registry over loopml's: registered models, versions, aliases.

A version created through MLflow is a real loopml version (converted safely,
with its run as lineage); an alias set through MLflow is a gate-checked
promotion, exactly as ``loopml promote`` makes it.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from loopml.api.mlflow.context import ActorDep, Mlflow, MlflowDep
from loopml.api.mlflow.logged_models import (
    LoggedModel,
    find_registration,
    get_logged_model,
    record_registration,
)
from loopml.api.mlflow.runs import KeyValue
from loopml.api.mlflow.wire import (
    AlreadyExists,
    MlflowError,
    MlflowRoute,
    fast_json,
    millis,
    not_implemented,
)
from loopml.auth.permissions import Permission, requires
from loopml.errors import NotFound
from loopml.importers import mlflow_model
from loopml.registry import promotion, service
from loopml.registry.entities import Approval, Model, ModelVersion
from loopml.tracking import service as tracking

router = APIRouter(prefix="/api/2.0/mlflow", route_class=MlflowRoute)

Name = Annotated[str, Query(min_length=1, max_length=200)]


def version_json(api: Mlflow, version: ModelVersion) -> dict[str, Any]:
    logged = find_registration(api, version)
    return {
        "name": version.name,
        "version": str(version.version),
        "creation_timestamp": millis(version.created_at),
        "last_updated_timestamp": millis(version.created_at),
        "current_stage": "None",
        "description": version.description or "",
        "user_id": version.created_by,
        "source": logged.artifact_uri if logged else f"models:/{version.name}/{version.version}",
        "run_id": version.run_id or "",
        "status": "READY",
        "aliases": list(version.aliases),
        "tags": [],
        **({"model_id": logged.id} if logged else {}),
    }


def model_json(api: Mlflow, model: Model) -> dict[str, Any]:
    latest = service.list_versions(api.store, model.name, limit=1)
    return {
        "name": model.name,
        "creation_timestamp": millis(model.created_at),
        "last_updated_timestamp": millis(latest[0].created_at if latest else model.created_at),
        "description": model.description or "",
        "latest_versions": [version_json(api, v) for v in latest],
        "aliases": [{"alias": a, "version": str(v)} for a, v in sorted(model.aliases.items())],
        "tags": [],
    }


class CreateModel(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    description: str | None = None
    tags: list[KeyValue] = []


class CreateVersion(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    source: str = ""
    run_id: str | None = None
    model_id: str | None = None
    description: str | None = None
    tags: list[KeyValue] = []


class SetAlias(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    alias: str = Field(min_length=1, max_length=100)
    version: str = Field(pattern=r"^\d{1,9}$")


class DeleteAlias(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    alias: str = Field(min_length=1, max_length=100)


@router.post("/registered-models/create")
@requires(Permission.OPERATE)
def create_model(body: CreateModel, api: MlflowDep, actor: ActorDep):
    try:
        service.get_model(api.store, body.name)
    except NotFound:
        service.create_model(api.store, body.name, description=body.description, actor=actor)
    else:
        raise AlreadyExists(f"Registered model {body.name!r} already exists.")
    return fast_json({"registered_model": model_json(api, service.get_model(api.store, body.name))})


@router.get("/registered-models/get")
def get_model(api: MlflowDep, name: Name):
    return fast_json({"registered_model": model_json(api, service.get_model(api.store, name))})


@router.get("/registered-models/search")
def search_models(api: MlflowDep, filter: str | None = None, max_results: int = 100):
    if filter:
        raise not_implemented("registered-model filters", "`loopml models list`")
    models = service.list_models(api.store)[:max_results]
    return fast_json({"registered_models": [model_json(api, m) for m in models]})


@router.post("/model-versions/create")
@requires(Permission.OPERATE)
def create_version(body: CreateVersion, api: MlflowDep, actor: ActorDep):
    logged = _logged_model(api, body)
    run = tracking.get_run(api.store, logged.run_id)
    files = {a.path: a.digest for a in run.artifacts if a.path.startswith(logged.artifact_prefix)}

    def read(name: str) -> bytes:
        digest = files.get(logged.artifact_prefix + name)
        if digest is None:
            raise mlflow_model.NotConvertible(f"it has no file {name!r}", f"run {run.id}")
        return api.artifacts.get_bytes(digest)

    package = mlflow_model.to_package(read, f"run {run.id} under {logged.artifact_prefix}")
    stored = api.artifacts.put_bytes(package.to_bytes())
    version = service.register(
        api.store,
        name=body.name,
        flavor=package.flavor,
        artifact_digest=stored.digest,
        artifact_size=stored.size,
        signature=package.signature,
        segment=None,
        run_id=run.id,
        metrics=run.metrics,
        description=body.description,
        actor=actor,
    )
    record_registration(api, logged, version)
    return fast_json({"model_version": version_json(api, version)})


def _logged_model(api: Mlflow, body: CreateVersion) -> LoggedModel:
    model_id = body.model_id or (
        body.source.removeprefix("models:/") if body.source.startswith("models:/m-") else None
    )
    if model_id is None and "/models/m-" in body.source:
        model_id = body.source.split("/models/", 1)[1].split("/", 1)[0]
    if model_id is None:
        raise not_implemented(
            f"model versions from {body.source!r}",
            "mlflow.<flavor>.log_model(..., registered_model_name=...) or loopml.log_model",
        )
    return get_logged_model(api, model_id)


@router.get("/model-versions/get")
def get_version(api: MlflowDep, name: Name, version: Annotated[int, Query(ge=1)]):
    found = service.resolve(api.store, name, version=version)
    return fast_json({"model_version": version_json(api, found)})


@router.get("/model-versions/get-download-uri")
def download_uri(api: MlflowDep, name: Name, version: Annotated[int, Query(ge=1)]):
    found = service.resolve(api.store, name, version=version)
    logged = find_registration(api, found)
    if logged is None:
        raise not_implemented(
            f"MLflow files for version {version} of {name!r}, which loopml registered itself",
            f"loopml.load_model('models:/{name}/{version}')",
        )
    return fast_json({"artifact_uri": logged.artifact_uri})


@router.post("/registered-models/alias")
@requires(Permission.OPERATE)
def set_alias(body: SetAlias, api: MlflowDep, actor: ActorDep):
    outcome = promotion.promote(
        api.store,
        body.name,
        int(body.version),
        alias=body.alias,
        actor=actor,
        reason="set through MLflow's set_registered_model_alias",
    )
    if isinstance(outcome, Approval):
        raise MlflowError(
            "INVALID_STATE",
            f"The gate of {body.name!r} asks a person to approve; approval {outcome.id} is open "
            f"and {body.alias!r} has not moved.",
            hint=f"Approve it with `loopml approvals approve {outcome.id}`.",
        )
    return fast_json({})


@router.delete("/registered-models/alias")
@requires(Permission.OPERATE)
def delete_alias(body: DeleteAlias, api: MlflowDep, actor: ActorDep):
    service.delete_alias(
        api.store, body.name, body.alias, actor=actor, reason="deleted through MLflow's API"
    )
    return fast_json({})


@router.get("/registered-models/alias")
def get_by_alias(api: MlflowDep, name: Name, alias: Annotated[str, Query(min_length=1)]):
    found = service.resolve(api.store, name, alias=alias)
    return fast_json({"model_version": version_json(api, found)})
