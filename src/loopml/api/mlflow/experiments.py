"""MLflow experiments over loopml experiments.

MLflow numbers experiments and starts with "0", named "Default"; loopml names
them within a project and starts with "default". So "0" is loopml's default
experiment (created on first use) and every other experiment is known to
MLflow by its loopml row id.
"""

from __future__ import annotations

import weakref
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from loopml.api.mlflow.context import ActorDep, Mlflow, MlflowDep
from loopml.api.mlflow.wire import AlreadyExists, MlflowRoute, millis, not_implemented
from loopml.auth.permissions import Permission, requires
from loopml.errors import NotFound
from loopml.store import Store
from loopml.tracking import service
from loopml.tracking.entities import Experiment
from loopml.tracking.fluent import DEFAULT_EXPERIMENT

router = APIRouter(prefix="/api/2.0/mlflow/experiments", route_class=MlflowRoute)

DEFAULT_ID = "0"
DEFAULT_NAME = "Default"


def experiment_id(experiment: Experiment) -> str:
    return mlflow_id(experiment.name, experiment.id)


def mlflow_id(name: str, loopml_id: int) -> str:
    return DEFAULT_ID if name == DEFAULT_EXPERIMENT else str(loopml_id)


# Experiments are never renamed or deleted, so their ids are remembered per store;
# a name or id not seen yet sends one query again.
_known: weakref.WeakKeyDictionary[Store, dict[str, tuple[int, str]]] = weakref.WeakKeyDictionary()


def ids_by_name(api: Mlflow, *, fresh: bool = False) -> dict[str, tuple[int, str]]:
    """loopml experiment name -> (loopml id, MLflow id), the default experiment among them."""
    known = _known.get(api.store)
    if known is None or fresh:
        service.get_or_create_experiment(
            api.store, api.project, DEFAULT_EXPERIMENT, actor=api.settings.actor
        )
        names = service.experiment_names(api.store, api.project)
        known = {name: (number, mlflow_id(name, number)) for name, number in names.items()}
        _known[api.store] = known
    return known


def mlflow_id_of(api: Mlflow, name: str) -> str:
    """The MLflow id of loopml experiment ``name``."""
    known = ids_by_name(api)
    return (known if name in known else ids_by_name(api, fresh=True))[name][1]


def find_name(api: Mlflow, mlflow_experiment: str) -> str:
    """The loopml name of MLflow experiment id ``mlflow_experiment``."""
    for fresh in (False, True):
        for name, (_number, known) in ids_by_name(api, fresh=fresh).items():
            if known == mlflow_experiment:
                return name
    raise NotFound(
        f"No experiment with id {mlflow_experiment}.", hint="`loopml experiments list` shows them."
    )


def mlflow_name(name: str) -> str:
    return DEFAULT_NAME if name == DEFAULT_EXPERIMENT else name


def loopml_name(name: str) -> str:
    return DEFAULT_EXPERIMENT if name == DEFAULT_NAME else name


def artifact_location(mlflow_id: str) -> str:
    """Where MLflow's client sends a run's files: the artifact proxy of this server."""
    return f"mlflow-artifacts:/{mlflow_id}"


def all_experiments(api: Mlflow) -> list[Experiment]:
    """The project's experiments, the default one always among them (MLflow's "0")."""
    service.get_or_create_experiment(
        api.store, api.project, DEFAULT_EXPERIMENT, actor=api.settings.actor
    )
    return service.list_experiments(api.store, api.project)


def find(api: Mlflow, *, mlflow_id: str | None = None, name: str | None = None) -> Experiment:
    for experiment in all_experiments(api):
        if experiment_id(experiment) == mlflow_id or (
            name is not None and experiment.name == loopml_name(name)
        ):
            return experiment
    what = f"id {mlflow_id}" if mlflow_id is not None else f"name {name!r}"
    raise NotFound(f"No experiment with {what}.", hint="`loopml experiments list` shows them.")


def to_mlflow(experiment: Experiment) -> dict[str, Any]:
    mlflow_id = experiment_id(experiment)
    return {
        "experiment_id": mlflow_id,
        "name": mlflow_name(experiment.name),
        "artifact_location": artifact_location(mlflow_id),
        "lifecycle_stage": "active",
        "creation_time": millis(experiment.created_at),
        "last_update_time": millis(experiment.last_run_at or experiment.created_at),
        "tags": [],
    }


class CreateExperiment(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    artifact_location: str | None = None
    tags: list[dict[str, Any]] = []


class SearchExperiments(BaseModel):
    max_results: int | None = Field(None, ge=1, le=50_000)
    filter: str | None = None
    order_by: list[str] = []
    page_token: str | None = None
    view_type: str | None = None


@router.post("/create")
@requires(Permission.OPERATE)
def create(body: CreateExperiment, api: MlflowDep, actor: ActorDep) -> dict[str, Any]:
    try:
        find(api, name=body.name)
    except NotFound:
        pass
    else:
        raise AlreadyExists(f"Experiment {body.name!r} already exists.")
    service.get_or_create_experiment(api.store, api.project, loopml_name(body.name), actor=actor)
    return {"experiment_id": experiment_id(find(api, name=body.name))}


@router.get("/get")
def get(api: MlflowDep, experiment_id: Annotated[str, Query(min_length=1)]) -> dict[str, Any]:
    return {"experiment": to_mlflow(find(api, mlflow_id=experiment_id))}


@router.get("/get-by-name")
def get_by_name(
    api: MlflowDep, experiment_name: Annotated[str, Query(min_length=1)]
) -> dict[str, Any]:
    return {"experiment": to_mlflow(find(api, name=experiment_name))}


@router.post("/search")
@requires(Permission.READ)
def search(body: SearchExperiments, api: MlflowDep) -> dict[str, Any]:
    if body.filter:
        raise not_implemented(
            "experiment filters",
            "search_experiments() without a filter, or `loopml experiments list`",
        )
    found = [to_mlflow(e) for e in all_experiments(api)]
    return {"experiments": found[: body.max_results] if body.max_results else found}


@router.get("/search")
def search_get(
    api: MlflowDep, max_results: Annotated[int | None, Query(ge=1, le=50_000)] = None
) -> dict[str, Any]:
    return search(SearchExperiments(max_results=max_results), api)
