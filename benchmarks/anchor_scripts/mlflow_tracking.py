"""MLflow's side of benchmarks/tracking.py, run in the MLflow anchor environment.

Usage: python mlflow_tracking.py WORKDIR SIZES_JSON. Every scenario gets a fresh
SQLite file in WORKDIR. Prints one JSON object with the figures on its last line.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")

import mlflow
from mlflow.entities import Metric, Param
from mlflow.tracking import MlflowClient


def fresh(workdir: Path, name: str) -> MlflowClient:
    """Point MLflow at a new SQLite store (created and migrated here, not timed)."""
    folder = workdir / name
    folder.mkdir(parents=True)
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    client = MlflowClient(uri)
    experiment_id = client.create_experiment(
        "bench", artifact_location=(folder / "artifacts").as_uri()
    )
    mlflow.set_experiment(experiment_id=experiment_id)
    return client


def single_log_metric(workdir: Path, calls: int) -> float:
    fresh(workdir, "single")
    with mlflow.start_run():
        started = time.perf_counter()
        for step in range(calls):
            mlflow.log_metric("loss", step * 0.5, step=step)
        elapsed = time.perf_counter() - started
    return calls / elapsed


def batched_points(workdir: Path, keys: int, steps: int) -> float:
    client = fresh(workdir, "batched")
    with mlflow.start_run() as run:
        started = time.perf_counter()
        for step in range(steps):
            now = int(time.time() * 1000)
            metrics = [Metric(f"m{k}", k * 0.5 + step, now, step) for k in range(keys)]
            client.log_batch(run.info.run_id, metrics=metrics)
        elapsed = time.perf_counter() - started
    return keys * steps / elapsed


def runs_per_second(workdir: Path, runs: int) -> float:
    fresh(workdir, "runs")
    started = time.perf_counter()
    for index in range(runs):
        with mlflow.start_run():
            mlflow.log_param("alpha", index % 10)
            mlflow.log_param("model", "ridge")
            mlflow.log_metric("mae", 1.0 / (index + 1))
            mlflow.log_metric("r2", 0.5)
    return runs / (time.perf_counter() - started)


def search(workdir: Path, runs: int, repeats: int, query: dict) -> dict:
    """Build ``runs`` runs through MlflowClient (create, one log_batch, terminate), then time
    the same search loopml answers: filter, order by a metric, top ``max_results``."""
    client = fresh(workdir, "search")
    experiment_id = mlflow.get_experiment_by_name("bench").experiment_id
    rng = random.Random(7)
    started = time.perf_counter()
    for index in range(runs):
        run = client.create_run(experiment_id)
        now = int(time.time() * 1000)
        client.log_batch(
            run.info.run_id,
            metrics=[Metric("mae", rng.random(), now, 0), Metric("r2", rng.random(), now, 0)],
            params=[Param("alpha", str(index % 10)), Param("model", rng.choice(MODELS))],
        )
        client.set_terminated(run.info.run_id)
    build_seconds = time.perf_counter() - started
    timings, found = [], 0
    for _ in range(repeats + 1):  # the first call warms caches and is not counted
        started = time.perf_counter()
        frame = mlflow.search_runs(
            experiment_ids=[experiment_id],
            filter_string=query["filter"],
            order_by=query["order_by"],
            max_results=query["max_results"],
        )
        timings.append(time.perf_counter() - started)
        found = len(frame)
    return {
        "seconds": statistics.median(timings[1:]),
        "found": found,
        "build_seconds": build_seconds,
    }


MODELS = ("ridge", "lasso", "tree", "forest")


def main() -> None:
    workdir, sizes = Path(sys.argv[1]), json.loads(sys.argv[2])
    result = {"version": mlflow.__version__}
    result["single_per_s"] = single_log_metric(workdir, sizes["mlflow_single_calls"])
    result["batched_per_s"] = batched_points(
        workdir, sizes["batch_keys"], sizes["mlflow_batch_steps"]
    )
    result["runs_per_s"] = runs_per_second(workdir, sizes["mlflow_runs"])
    result["search"] = search(
        workdir, sizes["search_runs"], sizes["search_repeats"], sizes["query"]
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
