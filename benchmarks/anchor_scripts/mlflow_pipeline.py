"""MLflow's side of benchmarks/pipeline.py (runs in the mlflow anchor environment).

The usual per-segment pattern: one parent run; per segment a nested run that
splits, fits a Ridge, logs params and metrics, logs the model with a registered
model name (a new version per segment) and points an alias of that segment at it.

    python mlflow_pipeline.py WORKDIR DATA_PARQUET SEGMENTS ROWS_PER_SEGMENT
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")


def main() -> None:
    workdir, data, segments, rows = (
        Path(sys.argv[1]),
        sys.argv[2],
        int(sys.argv[3]),
        int(sys.argv[4]),
    )
    import mlflow
    import mlflow.sklearn
    import numpy as np
    import pandas as pd
    from mlflow import MlflowClient
    from sklearn.linear_model import Ridge
    from sklearn.metrics import mean_absolute_error, r2_score

    workdir.mkdir(parents=True)
    uri = f"sqlite:///{workdir / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    client = MlflowClient(uri)
    experiment = client.create_experiment(
        "bench", artifact_location=(workdir / "artifacts").as_uri()
    )
    mlflow.set_experiment(experiment_id=experiment)
    frame = pd.read_parquet(data)
    features = [c for c in frame.columns if c.startswith("x")]
    groups = [g for _, g in frame.groupby("sku", sort=True)][:segments]
    rng = np.random.default_rng(0)
    started = time.perf_counter()
    with mlflow.start_run(run_name="pipeline"):
        for group in groups:
            sku = group["sku"].iloc[0]
            with mlflow.start_run(run_name=f"train {sku}", nested=True):
                order = rng.permutation(len(group))
                test, train = group.iloc[order[: rows // 5]], group.iloc[order[rows // 5 :]]
                model = Ridge().fit(train[features], train["units"])
                predicted = model.predict(test[features])
                mlflow.log_params({"model": "ridge", "sku": sku})
                r2 = r2_score(test["units"], predicted)
                mlflow.log_metrics({"mae": mean_absolute_error(test["units"], predicted), "r2": r2})
                info = mlflow.sklearn.log_model(
                    model,
                    name="model",
                    registered_model_name="bench",
                    input_example=train[features].head(2),
                )
                if r2 >= 0.5:  # the gate
                    client.set_registered_model_alias(
                        "bench", f"champion-{sku}", info.registered_model_version
                    )
    seconds = time.perf_counter() - started
    print(json.dumps({"segments": len(groups), "seconds": seconds}))


if __name__ == "__main__":
    main()
