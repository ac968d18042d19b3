"""MLflow's artifact proxy (``/api/2.0/mlflow-artifacts``) over loopml's run artifacts.

MLflow's client addresses a run's files as ``<experiment>/<run id>/artifacts/<path>``
and a logged model's as ``<experiment>/models/<model id>/artifacts/<path>``. Both
land in loopml's content-addressed store and are recorded as artifacts of the
run (a model's under ``mlflow-models/<model id>/``), so ``loopml.load_artifact`` and
``loopml runs`` see exactly what MLflow uploaded.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from loopml.api.mlflow.context import Mlflow, MlflowDep
from loopml.api.mlflow.logged_models import MODELS_FOLDER, get_logged_model
from loopml.api.mlflow.wire import MlflowError, MlflowRoute, fast_json, not_implemented
from loopml.auth.permissions import Permission, requires
from loopml.tracking import service

router = APIRouter(prefix="/api/2.0/mlflow-artifacts", route_class=MlflowRoute)
tracking_router = APIRouter(prefix="/api/2.0/mlflow/artifacts", route_class=MlflowRoute)


def locate(api: Mlflow, path: str) -> tuple[str, str]:
    """(run id, artifact path in the run) of an MLflow artifact path."""
    parts = [p for p in path.strip("/").split("/") if p]
    if any(p in (".", "..") for p in parts) or "\\" in path:
        raise MlflowError("INVALID_PARAMETER_VALUE", f"Invalid artifact path {path!r}.")
    if len(parts) >= 4 and parts[1] == "models" and parts[3] == "artifacts":
        model = get_logged_model(api, parts[2])
        return model.run_id, model.artifact_prefix + "/".join(parts[4:])
    if len(parts) >= 3 and parts[2] == "artifacts":
        return parts[1], "/".join(parts[3:])
    raise MlflowError(
        "INVALID_PARAMETER_VALUE",
        f"Artifact path {path!r} names no run: expected <experiment>/<run id>/artifacts/<file>.",
    )


def list_files(api: Mlflow, run_id: str, folder: str) -> list[dict[str, Any]]:
    """The files and folders directly inside ``folder`` of a run, paths relative to it."""
    prefix = f"{folder.rstrip('/')}/" if folder.strip("/") else ""
    entries: dict[str, dict[str, Any]] = {}
    for artifact in service.get_run(api.store, run_id).artifacts:
        if not artifact.path.startswith(prefix) or (
            not prefix and artifact.path.startswith(f"{MODELS_FOLDER}/")
        ):  # a run's own files, without its logged models (MLflow lists those apart)
            continue
        head, slash, _rest = artifact.path[len(prefix) :].partition("/")
        if slash:
            entries.setdefault(head, {"path": head, "is_dir": True})
        else:
            entries[head] = {"path": head, "is_dir": False, "file_size": artifact.size}
    return [entries[name] for name in sorted(entries)]


@router.put("/artifacts/{path:path}")
@requires(Permission.OPERATE)
async def upload(path: str, request: Request, api: MlflowDep):
    data = await request.body()
    await run_in_threadpool(_store, api, path, data)  # the store's calls block
    return fast_json({})


def _store(api: Mlflow, path: str, data: bytes) -> None:
    run_id, artifact_path = locate(api, path)
    if not artifact_path:
        raise MlflowError("INVALID_PARAMETER_VALUE", "An upload needs a file name.")
    stored = api.artifacts.put_bytes(data)
    service.record_artifact(api.store, run_id, artifact_path, stored.digest, stored.size)


@router.get("/artifacts/{path:path}")
def download(path: str, api: MlflowDep) -> Response:
    run_id, artifact_path = locate(api, path)
    info = service.artifact_digest(api.store, run_id, artifact_path)
    return Response(api.artifacts.get_bytes(info.digest), media_type="application/octet-stream")


@router.get("/artifacts")
def list_artifacts(api: MlflowDep, path: Annotated[str, Query()] = ""):
    if not path.strip("/"):
        return fast_json({"files": []})
    run_id, folder = locate(api, path)
    return fast_json({"files": list_files(api, run_id, folder)})


@router.delete("/artifacts/{path:path}")
@requires(Permission.OPERATE)
def delete(path: str) -> None:
    raise not_implemented("artifact deletion", "new artifact paths (loopml keeps every artifact)")


@tracking_router.get("/list")
def list_run_artifacts(
    api: MlflowDep,
    run_id: Annotated[str | None, Query(max_length=64)] = None,
    run_uuid: Annotated[str | None, Query(max_length=64)] = None,
    path: str = "",
):
    from loopml.api.mlflow.runs import _run_id, run_for_mlflow

    run, mlflow_experiment = run_for_mlflow(api, _run_id(run_id, run_uuid))
    root = f"mlflow-artifacts:/{mlflow_experiment}/{run.id}/artifacts"
    base = path.strip("/")
    files = [
        {**f, "path": f"{base}/{f['path']}" if base else f["path"]}
        for f in list_files(api, run.id, base)
    ]
    return fast_json({"root_uri": root, "files": files})
