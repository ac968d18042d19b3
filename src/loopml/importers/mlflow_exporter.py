"""Reads an MLflow store with MLflow's own client; run by MLflow's Python, never imported.

Usage: python mlflow_exporter.py TRACKING_URI STAGING_DIR [REGISTRY_URI]

Prints one JSON document per line: a count, then experiments, runs (with every
metric's full history and their artifacts downloaded under STAGING_DIR),
registered models and their versions (files downloaded too). MLflow's client
knows every schema version of its SQL stores and the mlruns/ layout, so loopml
reads them all through it and never depends on MLflow itself.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")

import mlflow
from mlflow.entities import ViewType
from mlflow.tracking import MlflowClient


def emit(kind: str, **fields) -> None:
    print(json.dumps({"kind": kind, **fields}, default=str), flush=True)


def pages(call, **kwargs):
    token = None
    while True:
        page = call(page_token=token, **kwargs)
        yield from page
        token = page.token
        if not token:
            return


def download(uri: str, target: Path) -> list[list[str]]:
    """Every file under ``uri``, as (artifact path, local file) pairs."""
    try:
        if not mlflow.artifacts.list_artifacts(artifact_uri=uri):
            return []  # a run that logged no files
        target.mkdir(parents=True, exist_ok=True)
        local = Path(mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=str(target)))
    except Exception as error:  # a folder that was moved or deleted: say so, copy the rest
        emit("warning", message=f"artifacts of {uri} could not be read: {error}")
        return []
    if local.is_file():
        return [[local.name, str(local)]]
    return sorted(
        [p.relative_to(local).as_posix(), str(p)] for p in local.rglob("*") if p.is_file()
    )


def export_run(client: MlflowClient, run, staging: Path) -> None:
    info, data = run.info, run.data
    history = {
        key: [[m.step, m.value, m.timestamp] for m in client.get_metric_history(info.run_id, key)]
        for key in data.metrics
    }
    artifacts = download(info.artifact_uri, staging / info.run_id) if info.artifact_uri else []
    emit(
        "run",
        run_id=info.run_id,
        experiment_id=info.experiment_id,
        name=info.run_name,
        status=info.status,
        start_time=info.start_time,
        end_time=info.end_time,
        user=info.user_id,
        params=data.params,
        tags=data.tags,
        metrics=history,
        artifacts=artifacts,
        inputs=[
            {"name": d.dataset.name, "digest": d.dataset.digest, "source": d.dataset.source}
            for d in (run.inputs.dataset_inputs if run.inputs else [])
        ],
    )


def export_registry(client: MlflowClient, staging: Path) -> None:
    for model in pages(client.search_registered_models):
        emit(
            "model",
            name=model.name,
            description=model.description or "",
            aliases=dict(model.aliases or {}),
        )
        versions = pages(client.search_model_versions, filter_string=f"name = '{model.name}'")
        for version in sorted(versions, key=lambda v: int(v.version)):  # loopml numbers alike
            uri = client.get_model_version_download_uri(model.name, version.version)
            files = download(uri, staging / "versions" / model.name / str(version.version))
            emit(
                "version",
                name=model.name,
                version=int(version.version),
                run_id=version.run_id,
                source=version.source,
                description=version.description or "",
                files=files,
                model_id=getattr(version, "model_id", None),
            )


def main() -> None:
    tracking_uri, staging = sys.argv[1], Path(sys.argv[2])
    registry_uri = sys.argv[3] if len(sys.argv) > 3 else tracking_uri
    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=registry_uri)
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(registry_uri)
    experiments = list(pages(client.search_experiments, view_type=ViewType.ACTIVE_ONLY))
    ids = [e.experiment_id for e in experiments]
    runs = list(pages(client.search_runs, experiment_ids=ids, max_results=1000)) if ids else []
    emit("count", experiments=len(experiments), runs=len(runs))
    for experiment in experiments:
        emit(
            "experiment",
            id=experiment.experiment_id,
            name=experiment.name,
            tags=experiment.tags,
            created=experiment.creation_time,
        )
    # parents before children, so every run's parent is already known when it arrives
    runs.sort(key=lambda r: ("mlflow.parentRunId" in r.data.tags, r.info.start_time or 0))
    for run in runs:
        export_run(client, run, staging)
    export_registry(client, staging)
    emit("done")


if __name__ == "__main__":
    main()
