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


def test_a_reference_kept_in_a_model_file_reads_back_and_the_model_loads_the_same(sqlite_ctx):
    from dataclasses import replace

    import pytest
    from sklearn.datasets import load_diabetes

    from loopml.errors import InvalidInput
    from loopml.models import Package, pack, unpack
    from loopml.monitoring.reference import encode_reference

    data = load_diabetes(as_frame=True)
    model = Ridge().fit(data.data, data.target)
    reference = loopml.make_reference(data.data)
    package = replace(pack(model, None, trusted=False), reference=encode_reference(reference))
    digest = sqlite_ctx.artifacts.put_bytes(package.to_bytes()).digest

    assert loopml.load_reference(digest).summary.to_dict() == reference.summary.to_dict()
    read = Package.from_bytes(sqlite_ctx.artifacts.get_bytes(digest))
    assert set(read.files) == set(package.files)  # the model's files alone
    loaded = unpack(read, trusted=False)
    assert np.array_equal(loaded.predict(data.data), model.predict(data.data))
    alone = sqlite_ctx.artifacts.put_bytes(pack(model, None, trusted=False).to_bytes()).digest
    with pytest.raises(InvalidInput, match="holds no drift reference"):
        loopml.load_reference(alone)
