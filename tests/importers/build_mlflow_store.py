"""Builds a real MLflow store with MLflow's own client, then dumps it for comparison.

Usage (MLflow's Python): build_mlflow_store.py TRACKING_URI ARTIFACT_ROOT build|add|dump
``build`` writes two experiments of runs on scikit-learn's wine data (nested runs,
params, metric histories, tags, artifacts, a skops model registered with an
alias, a pickled one registered too); ``add`` one more run; ``dump`` prints every
value of every run as JSON on its last line.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

import mlflow
from mlflow.tracking import MlflowClient
from sklearn.datasets import load_wine
from sklearn.linear_model import LogisticRegression

URI, ROOT, ACTION = sys.argv[1], sys.argv[2], sys.argv[3]
mlflow.set_tracking_uri(URI)
client = MlflowClient()


def experiment(name: str) -> str:
    found = client.get_experiment_by_name(name)
    if found:
        return found.experiment_id
    return client.create_experiment(name, artifact_location=Path(ROOT, name).as_uri())


def build() -> None:
    X, y = load_wine(return_X_y=True, as_frame=True)
    mlflow.set_experiment(experiment_id=experiment("wine"))
    with mlflow.start_run(run_name="sweep"):
        mlflow.set_tag("team", "quality")
        for c in (0.1, 1.0):
            with mlflow.start_run(run_name=f"c={c}", nested=True):
                model = LogisticRegression(C=c, max_iter=2000).fit(X, y)
                mlflow.log_params({"C": c, "max_iter": 2000})
                for step in range(4):
                    mlflow.log_metric("loss", 1 / (step + 1) + c, step=step)
                mlflow.log_metric("accuracy", model.score(X, y))
                # Two points of one step: the later timestamp is the latest, though logged first.
                mlflow.log_metric("val", 0.9 + c, step=3, timestamp=1_700_000_000_500)
                mlflow.log_metric("val", 0.1 + c, step=3, timestamp=1_700_000_000_000)
                with tempfile.TemporaryDirectory() as folder:
                    Path(folder, "report.txt").write_text(f"C={c}\n")
                    mlflow.log_artifact(str(Path(folder, "report.txt")), "reports")
                mlflow.sklearn.log_model(
                    model,
                    name="model",
                    registered_model_name="wine",
                    pip_requirements=["scikit-learn"],
                )
    client.set_registered_model_alias("wine", "champion", "2")
    mlflow.set_experiment(experiment_id=experiment("other"))
    with mlflow.start_run(run_name="pickled"):
        model = LogisticRegression(max_iter=2000).fit(X, y)
        mlflow.log_param("format", "cloudpickle")
        mlflow.sklearn.log_model(
            model,
            name="model",
            serialization_format="cloudpickle",
            registered_model_name="wine-pickled",
            pip_requirements=["scikit-learn"],
        )


def add() -> None:
    mlflow.set_experiment(experiment_id=experiment("wine"))
    with mlflow.start_run(run_name="later"):
        mlflow.log_metric("accuracy", 0.5)


def dump() -> dict:
    ids = [e.experiment_id for e in client.search_experiments()]
    runs = {}
    for run in client.search_runs(ids, max_results=1000):
        info = run.info
        runs[info.run_id] = {
            "experiment": client.get_experiment(info.experiment_id).name,
            "name": info.run_name,
            "status": info.status,
            "start_time": info.start_time,
            "end_time": info.end_time,
            "user": info.user_id,
            "params": run.data.params,
            "tags": run.data.tags,
            "latest": run.data.metrics,
            "metrics": {
                k: [
                    [m.step, m.value, m.timestamp]
                    for m in client.get_metric_history(info.run_id, k)
                ]
                for k in run.data.metrics
            },
            "artifacts": sorted(a.path for a in client.list_artifacts(info.run_id, "reports")),
        }
    versions = {
        f"{v.name}/{v.version}": v.run_id
        for m in client.search_registered_models()
        for v in client.search_model_versions(f"name = '{m.name}'")
    }
    return {
        "runs": runs,
        "versions": versions,
        "champion": client.get_registered_model("wine").aliases,
    }


if __name__ == "__main__":
    result = {"build": build, "add": add, "dump": dump}[ACTION]()
    print(json.dumps(result or {}))
