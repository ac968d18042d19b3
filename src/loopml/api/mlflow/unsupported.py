"""Every other MLflow endpoint: ``NOT_IMPLEMENTED``, naming what to use in loopml instead."""

from __future__ import annotations

from fastapi import APIRouter, Request

from loopml.api.mlflow.wire import MlflowRoute, not_implemented
from loopml.auth.permissions import Permission, requires

router = APIRouter(route_class=MlflowRoute)

# The first words of the endpoint's path -> what loopml offers instead.
INSTEAD = {
    "experiments/delete": "nothing: loopml keeps experiments; start a new one by name",
    "experiments/restore": "nothing: loopml never deletes experiments",
    "experiments/update": "a new experiment name (loopml experiments are named, not renamed)",
    "experiments/set-experiment-tag": "run tags (set_tag) or the project file",
    "runs/delete": "nothing: loopml keeps every run; filter them with search_runs",
    "runs/restore": "nothing: loopml never deletes runs",
    "registered-models/rename": "a new model name with loopml.log_model",
    "registered-models/update": "loopml models describe (descriptions) and gates",
    "registered-models/delete": "aliases: move `champion` away with `loopml promote`",
    "model-versions/transition-stage": "aliases: mlflow.set_registered_model_alias or `loopml promote`",
    "model-versions/update": "version descriptions given at registration",
    "model-versions/delete": "aliases: versions stay for lineage and audit",
    "traces": "loopml's prediction log (`loopml predict`, the monitoring pages)",
}


def _instead(path: str) -> str:
    for prefix, instead in INSTEAD.items():
        if path.startswith(prefix):
            return instead
    return "the loopml API described in docs/migrating-from-mlflow.md"


@router.api_route(
    "/api/2.0/mlflow/{path:path}",
    methods=["GET", "POST", "PATCH", "DELETE", "PUT"],
    include_in_schema=False,  # one catch-all, not an operation of the API
)
@requires(Permission.READ)
def unsupported(path: str, request: Request) -> None:
    raise not_implemented(f"{request.method} {path}", _instead(path))
