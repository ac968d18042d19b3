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


def timed(work, count: int, repeats: int) -> dict:
    """``work()`` ``repeats`` times: the median wall seconds per item, and of those the
    median seconds the client spent waiting for its answers (wall time less the client's
    own CPU time: what the server costs it, network and serialisation on its side included)."""
    walls, waits = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        work()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        walls.append(wall / count)
        waits.append(max(wall - cpu, 0.0) / count)
    return {"wall": statistics.median(walls), "wait": statistics.median(waits)}


def log_metric_calls(calls: int) -> None:
    with mlflow.start_run():
        for step in range(calls):
            mlflow.log_metric("loss", step * 0.5, step=step)


def log_batch_points(client: MlflowClient, batches: int, keys: int) -> None:
    with mlflow.start_run() as run:
        for step in range(batches):
            now = int(time.time() * 1000)
            metrics = [Metric(f"m{k}", k * 0.5 + step, now, step) for k in range(keys)]
            client.log_batch(run.info.run_id, metrics=metrics)


def start_and_end_runs(runs: int) -> None:
    for index in range(runs):
        with mlflow.start_run(run_name=f"r{index}"):
            pass


def search(client: MlflowClient, runs: int, repeats: int) -> dict:
    """search_runs over the experiment "search", filled with ``runs`` runs beforehand."""
    experiment = client.get_experiment_by_name("search").experiment_id
    found = {}

    def everything() -> None:
        found["all"] = len(mlflow.search_runs(experiment_ids=[experiment], max_results=runs))

    def filtered() -> None:
        found["filtered"] = len(
            mlflow.search_runs(
                experiment_ids=[experiment],
                filter_string="metrics.score > 0.5 and tags.group = '3'",
            )
        )

    return {
        "search": timed(everything, 1, repeats),
        "filtered": timed(filtered, 1, repeats),
        "found": found["all"],
        "filtered_found": found["filtered"],
    }


def log_and_register(count: int) -> dict:
    """After one call not timed (both servers load code on their first registration)."""
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    model = Ridge().fit(X, y)

    def one() -> None:
        with mlflow.start_run():
            mlflow.sklearn.log_model(
                model, name="model", registered_model_name="bench-ridge",
                pip_requirements=["scikit-learn"],
            )  # fmt: skip

    one()
    return timed(one, 1, count)


def main() -> None:
    sizes = json.loads(sys.argv[1])
    repeats = sizes["repeats"]
    client = MlflowClient()
    mlflow.set_experiment("bench")
    calls, batches, keys, runs = (sizes[k] for k in ("metric_calls", "batches", "keys", "runs"))
    figures = {
        "log_metric": timed(lambda: log_metric_calls(calls), calls, repeats),
        "log_batch": timed(
            lambda: log_batch_points(client, batches, keys), batches * keys, repeats
        ),
        "runs": timed(lambda: start_and_end_runs(runs), runs, repeats),
        "log_model": log_and_register(sizes["models"]),
    }
    figures.update(search(client, sizes["search_runs"], repeats))
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
