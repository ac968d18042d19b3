"""MLflow's side of benchmarks/registry.py: log + register + alias, one model at a time.

Usage: python mlflow_registry.py WORKDIR COUNT. Prints one JSON object on its last line.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")

import mlflow
import numpy as np
from mlflow.tracking import MlflowClient
from sklearn.linear_model import Ridge


def main(workdir: Path, count: int) -> dict:
    uri = f"sqlite:///{workdir / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    client = MlflowClient(uri)
    experiment = client.create_experiment(
        "bench", artifact_location=(workdir / "artifacts").as_uri()
    )
    mlflow.set_experiment(experiment_id=experiment)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(500, 5))
    model = Ridge().fit(X, X @ rng.normal(size=5))
    times = []
    for i in range(count):
        started = time.perf_counter()
        with mlflow.start_run():
            info = mlflow.sklearn.log_model(
                model, name="model", registered_model_name=f"demand-{i}"
            )
        client.set_registered_model_alias(f"demand-{i}", "champion", info.registered_model_version)
        times.append(time.perf_counter() - started)
    return {"median_s": statistics.median(times), "count": count}


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]), int(sys.argv[2]))))
