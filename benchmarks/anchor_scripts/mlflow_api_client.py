"""One MLflow client workload, run unchanged against ``mlflow server`` and ``loopml serve``.

Usage: python mlflow_api_client.py SIZES_JSON SERVERS_JSON ({"mlflow": url, "loopml": url},
optionally "replay": the url of replay_proxy.py in front of loopml, which only the searches
use, once warmed: the client's own time when its answer costs nothing, their bound).
Both servers are up at once and each repetition of a workload goes to one, then the
other (in turns, which goes first), so a load that comes and goes on a shared machine
weighs on both alike. Prints one JSON object with the figures per server on its last line.
"""

from __future__ import annotations

import functools
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


def use(url: str) -> MlflowClient:
    """Point the fluent API at ``url``; its client."""
    mlflow.set_tracking_uri(url)
    mlflow.set_experiment("bench")
    return MlflowClient(url)


def timed(work, count: int, servers: dict[str, str], repeats: int) -> dict:
    """``work(client)`` ``repeats`` times on each server: per server, the median wall seconds
    per item, and of those the median seconds the client spent waiting for its answers
    (wall time less the client's own CPU time: what the server costs it)."""
    walls = {name: [] for name in servers}
    waits = {name: [] for name in servers}
    for repeat in range(repeats):
        order = list(servers) if repeat % 2 == 0 else list(servers)[::-1]
        for name in order:
            client = use(servers[name])
            wall, cpu = time.perf_counter(), time.process_time()
            work(client)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            walls[name].append(wall / count)
            waits[name].append(max(wall - cpu, 0.0) / count)
    return {
        name: {"wall": statistics.median(walls[name]), "wait": statistics.median(waits[name])}
        for name in servers
    }


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


def searches(runs: int, found: dict):
    """search_runs over the experiment "search", filled with ``runs`` runs beforehand:
    all of them, and those a metric and a tag select. ``found[url]`` counts what each found."""

    def search(client: MlflowClient, kind: str, **options) -> None:
        experiment = client.get_experiment_by_name("search").experiment_id
        frame = mlflow.search_runs(experiment_ids=[experiment], **options)
        found.setdefault(mlflow.get_tracking_uri(), {})[kind] = len(frame)

    def everything(client: MlflowClient) -> None:
        search(client, "found_all", max_results=runs)

    def filtered(client: MlflowClient) -> None:
        search(client, "found_filtered", filter_string="metrics.score > 0.5 and tags.group = '3'")

    return everything, filtered


@functools.cache
def ridge() -> Ridge:
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    return Ridge().fit(X, y)


def log_and_register(client: MlflowClient) -> None:
    with mlflow.start_run():
        mlflow.sklearn.log_model(
            ridge(),
            name="model",
            registered_model_name="bench-ridge",
            pip_requirements=["scikit-learn"],
        )


def main() -> None:
    sizes, servers = json.loads(sys.argv[1]), json.loads(sys.argv[2])
    repeats = sizes["repeats"]
    calls, batches, keys, runs = (sizes[k] for k in ("metric_calls", "batches", "keys", "runs"))
    replay = servers.pop("replay", None)
    for url in servers.values():  # not timed: both servers load code on their first model
        log_and_register(use(url))
    found: dict = {}
    everything, filtered = searches(sizes["search_runs"], found)
    searched = dict(servers)
    if replay:
        for search in (everything, filtered):  # not timed: the proxy keeps loopml's answers
            search(use(replay))
        searched["replay"] = replay
    figures = {
        "log_metric": timed(lambda _: log_metric_calls(calls), calls, servers, repeats),
        "log_batch": timed(
            lambda client: log_batch_points(client, batches, keys), batches * keys, servers, repeats
        ),
        "runs": timed(lambda _: start_and_end_runs(runs), runs, servers, repeats),
        "log_model": timed(log_and_register, 1, servers, sizes["models"]),
        "search": timed(everything, 1, searched, repeats),
        "filtered": timed(filtered, 1, searched, repeats),
    }
    counts = {name: found[url] for name, url in servers.items()}
    print(json.dumps({"figures": figures, "found": counts}))


if __name__ == "__main__":
    main()
