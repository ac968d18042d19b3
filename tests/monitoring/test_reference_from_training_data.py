"""A drift monitor with no explicit reference compares with the champion's training data."""

import uuid
from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd
from sklearn.linear_model import Ridge

import loopml
from loopml import PredictionLog


def test_drift_monitor_uses_the_summaries_of_the_training_dataset(ctx):
    rng = np.random.default_rng(2)
    train = pd.DataFrame({"price": rng.normal(10, 1, 2000), "units": rng.normal(5, 1, 2000)})
    dataset = loopml.log_dataset(train, "sales")
    version = loopml.log_model(
        Ridge().fit(train[["price"]], train["units"]),
        "demand",
        input_example=train[["price"]].head(),
        datasets=[dataset],
    )
    loopml.set_alias("demand", "champion", version.version)
    loopml.create_monitor(
        name="demand-drift", model="demand", kind="drift", columns=["price"], window="1h"
    )
    now = datetime.now(timezone.utc)
    with PredictionLog(ctx.settings.resolved_artifact_uri) as log:
        log.append(
            {
                "prediction_id": uuid.uuid4().hex,
                "time": now - timedelta(minutes=5),
                "model": "demand",
                "version": version.version,
                "segment": "",
                "inputs": {"price": p},
                "prediction": 1.0,
            }
            for p in rng.normal(13, 1, 500)  # prices moved by three standard deviations
        )
    report = loopml.run_monitors(now=now, force=True)
    [outcome] = report.outcomes["demand-drift"]
    assert outcome.status == "alert" and outcome.details["columns"][0]["name"] == "price"
