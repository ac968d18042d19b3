"""A drift alert's evidence: each drifted feature's distribution in the training data
against the monitor's window, read from the real prediction log."""

from __future__ import annotations

import uuid
from datetime import timedelta

import numpy as np
import pytest
from sklearn.datasets import load_diabetes
from sklearn.linear_model import Ridge

import loopml
from loopml import PredictionLog
from loopml.monitoring.evidence import drift_distributions
from loopml.store import utcnow


@pytest.fixture
def drifted(sqlite_ctx):
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    dataset = loopml.log_dataset(X.assign(target=y), "diabetes")
    version = loopml.log_model(
        Ridge().fit(X, y), "progression", input_example=X.head(), datasets=[dataset]
    )
    loopml.set_alias("progression", "champion", version.version)
    loopml.create_monitor(
        name="progression-drift",
        model="progression",
        kind="drift",
        columns=["bmi", "age"],
        window="1h",
        drift_share=0.5,
    )
    now = utcnow()
    live = X.sample(300, random_state=1).assign(bmi=lambda f: f["bmi"] + 0.05)  # one sd heavier
    with PredictionLog(sqlite_ctx.settings.resolved_artifact_uri) as log:
        log.append(
            {
                "prediction_id": uuid.uuid4().hex,
                "time": now - timedelta(minutes=5),
                "model": "progression",
                "version": version.version,
                "segment": "",
                "inputs": row,
                "prediction": 150.0,
            }
            for row in live.to_dict(orient="records")
        )
    loopml.run_monitors(now=now, force=True)
    return sqlite_ctx, now


def test_the_drifted_features_distribution_has_moved_and_the_stable_one_has_not(drifted):
    ctx, now = drifted
    bmi, age = drift_distributions(
        ctx.store,
        ctx.artifacts,
        ctx.settings.resolved_artifact_uri,
        "progression-drift",
        "",
        columns=["bmi", "age"],
        now=now,
    )
    assert (bmi.column, age.column) == ("bmi", "age")
    for found in (bmi, age):
        assert sum(found.reference) == pytest.approx(1) and sum(found.current) == pytest.approx(1)
    positions = np.arange(len(bmi.labels))
    assert np.dot(positions, bmi.current) > np.dot(positions, bmi.reference) + 2  # shifted up
    assert abs(np.dot(positions, age.current) - np.dot(positions, age.reference)) < 1


def test_the_alert_page_draws_them(drifted):
    from fastapi.testclient import TestClient

    from loopml.server import create_app

    ctx, _ = drifted
    [alert] = loopml.list_alerts()
    with TestClient(create_app(context=ctx)) as client:
        page = client.get(f"/ui/alerts/{alert.id}").text
    assert "Drifted features: training data against now" in page and 'id="dist-1"' in page
    assert "Distribution of bmi" in page
