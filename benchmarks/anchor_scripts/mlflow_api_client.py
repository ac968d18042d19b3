"""One MLflow client workload, run unchanged against ``mlflow server`` and ``loopml serve``.

Usage: python mlflow_api_client.py SIZES_JSON (MLFLOW_TRACKING_URI names the server).
Prints one JSON object with the figures on its last line.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")

import mlflow
from mlflow.entities import Metric
from mlflow.tracking import MlflowClient
from sklearn.datasets import load_diabetes
from sklearn.linear_model import Ridge


def log_metric_calls(calls: int) -> float:
    with mlflow.start_run():
        started = time.perf_counter()
        for step in range(calls):
            mlflow.log_metric("loss", step * 0.5, step=step)
        return calls / (time.perf_counter() - started)


def log_batch_points(client: MlflowClient, batches: int, keys: int) -> float:
    with mlflow.start_run() as run:
        started = time.perf_counter()
        for step in range(batches):
            now = int(time.time() * 1000)
            metrics = [Metric(f"m{k}", k * 0.5 + step, now, step) for k in range(keys)]
            client.log_batch(run.info.run_id, metrics=metrics)
        return batches * keys / (time.perf_counter() - started)


def runs_per_second(runs: int) -> float:
    started = time.perf_counter()
    for index in range(runs):
        with mlflow.start_run(run_name=f"r{index}"):
            pass
    return runs / (time.perf_counter() - started)


def search(client: MlflowClient, runs: int, repeats: int = 3) -> dict:
    """Time search_runs over the experiment "search", filled with ``runs`` runs beforehand."""
    experiment = client.get_experiment_by_name("search").experiment_id
    times, found = [], 0
    for _ in range(repeats):
        started = time.perf_counter()
        frame = mlflow.search_runs(experiment_ids=[experiment], max_results=runs)
        times.append(time.perf_counter() - started)
        found = len(frame)
    filtered = time.perf_counter()
    subset = mlflow.search_runs(
        experiment_ids=[experiment], filter_string="metrics.score > 0.5 and tags.group = '3'"
    )
    return {
        "search_seconds": statistics.median(times),
        "found": found,
        "filtered_seconds": time.perf_counter() - filtered,
        "filtered_found": len(subset),
    }


def log_and_register(count: int) -> float:
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    model = Ridge().fit(X, y)
    started = time.perf_counter()
    for _ in range(count):
        with mlflow.start_run():
            mlflow.sklearn.log_model(
                model, name="model", registered_model_name="bench-ridge",
                pip_requirements=["scikit-learn"],
            )  # fmt: skip
    return (time.perf_counter() - started) / count


def main() -> None:
    sizes = json.loads(sys.argv[1])
    client = MlflowClient()
    mlflow.set_experiment("bench")
    figures = {
        "log_metric_per_s": log_metric_calls(sizes["metric_calls"]),
        "log_batch_points_per_s": log_batch_points(client, sizes["batches"], sizes["keys"]),
        "runs_per_s": runs_per_second(sizes["runs"]),
        "log_model_seconds": log_and_register(sizes["models"]),
    }
    figures.update(search(client, sizes["search_runs"]))
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
