"""The fairness monitor on a served model: load_diabetes's patients, "progression above the
median" predicted by a logistic regression that never sees ``sex``.

The two sexes progress alike (about half of each), yet the model selects women at about
0.40 and men at about 0.59 through features that stand in for sex: a demographic parity
ratio near 0.67, below the four-fifths limit. Given ``sex`` as a feature it treats them
alike (ratio near 0.88)."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from fairlearn.metrics import demographic_parity_ratio, equalized_odds_difference
from fastapi.testclient import TestClient
from sklearn.datasets import load_diabetes
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import loopml
from loopml.store import utcnow


@pytest.fixture
def patients():
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    high = (y > np.median(y)).astype(int)
    return X, high, np.where(X["sex"] > 0, "m", "f")


def _serve(X, high, name: str, features: list[str]):
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(X[features], high)
    version = loopml.log_model(model, name, input_example=X[features].head())
    loopml.set_alias(name, "champion", version.version)
    return model


def _monitor(name: str, **settings):
    defaults = {
        "kind": "fairness",
        "sensitive": "sex",
        "metric": "demographic_parity_ratio",
        "threshold": 0.8,
        "window": "1h",
        "min_rows": 30,
    }
    loopml.create_monitor(name=f"{name}-fairness", model=name, **{**defaults, **settings})


def _run(name: str):
    [outcome] = loopml.run_monitors(now=utcnow() + timedelta(seconds=1)).outcomes[
        f"{name}-fairness"
    ]
    return outcome


def test_a_model_that_favours_one_sex_alerts_on_its_live_window(app, patients):
    X, high, sex = patients
    features = [c for c in X.columns if c != "sex"]
    model = _serve(X, high, "progress", features)
    _monitor("progress")
    records = X[features].assign(sex=sex).to_dict(orient="records")  # sex beside the inputs
    with TestClient(app) as client:
        answer = client.post("/v1/models/progress/predict", json={"records": records})
        assert answer.status_code == 200, answer.text

    outcome = _run("progress")

    predicted = model.predict(X[features])
    expected = demographic_parity_ratio(high, predicted, sensitive_features=sex)
    assert expected == pytest.approx(0.666, abs=0.01)
    assert outcome.status == "alert"
    assert outcome.value == pytest.approx(expected, abs=1e-12)
    assert outcome.details["groups"]["f"]["rows"] == 235
    assert "demographic_parity_ratio by sex = 0.666, worse than 0.8" in outcome.message
    assert "f selection rate 0.396 (n=235)" in outcome.message
    [alert] = loopml.list_alerts(state="active", monitor="progress-fairness")
    assert alert.value == pytest.approx(expected) and alert.threshold == 0.8


def test_a_model_that_treats_the_sexes_alike_stays_quiet(app, patients):
    X, high, sex = patients
    model = _serve(X, high, "progress", list(X.columns))  # sex is an input, and is logged
    _monitor("progress", sensitive="group")
    records = X.assign(group=sex).to_dict(orient="records")
    with TestClient(app) as client:
        assert client.post("/v1/models/progress/predict", json={"records": records}).is_success

    outcome = _run("progress")

    expected = demographic_parity_ratio(high, model.predict(X), sensitive_features=sex)
    assert expected > 0.8
    assert outcome.status == "ok" and outcome.value == pytest.approx(expected, abs=1e-12)
    assert loopml.list_alerts(state="active") == []


def test_the_attribute_may_arrive_with_the_feedback(app, patients):
    """Equalized odds needs labels: measured on the labelled rows, as fairlearn measures it."""
    X, high, sex = patients
    features = [c for c in X.columns if c != "sex"]
    model = _serve(X, high, "progress", features)
    _monitor("progress", metric="equalized_odds_difference", threshold=0.1)
    with TestClient(app) as client:
        answer = client.post(
            "/v1/models/progress/predict", json={"records": X[features].to_dict(orient="records")}
        )
        ids = [p["prediction_id"] for p in answer.json()["predictions"]]
        labelled = list(range(0, len(ids), 2))  # half the labels came back
        feedback = [
            {"prediction_id": ids[i], "label": int(high[i]), "attributes": {"sex": str(sex[i])}}
            for i in labelled
        ]
        receipt = client.post("/v1/feedback", json={"feedback": feedback})
        assert receipt.status_code == 202, receipt.text

    outcome = _run("progress")

    predicted = model.predict(X[features])[labelled]
    expected = equalized_odds_difference(
        high.to_numpy()[labelled], predicted, sensitive_features=sex[labelled]
    )
    assert outcome.value == pytest.approx(expected, abs=1e-12)
    assert outcome.details["rows"] == len(labelled)
    assert outcome.status == ("alert" if expected > 0.1 else "ok")


def test_too_few_rows_in_a_group_is_no_verdict(app, patients):
    X, high, sex = patients
    features = [c for c in X.columns if c != "sex"]
    _serve(X, high, "progress", features)
    _monitor("progress", min_rows=30)
    rows = X[features].assign(sex=sex)
    few = rows[rows["sex"] == "f"].head(10)
    window = [*rows[rows["sex"] == "m"].to_dict(orient="records"), *few.to_dict(orient="records")]
    with TestClient(app) as client:
        assert client.post("/v1/models/progress/predict", json={"records": window}).is_success

    outcome = _run("progress")

    assert outcome.status == "no_data"
    assert "group 'f' has 10 scored rows, fewer than 30; no verdict yet" in outcome.message
    assert loopml.list_alerts(state="active") == []


def test_a_window_without_the_attribute_says_where_to_send_it(app, patients):
    X, high, _ = patients
    features = [c for c in X.columns if c != "sex"]
    _serve(X, high, "progress", features)
    _monitor("progress")
    with TestClient(app) as client:
        client.post(
            "/v1/models/progress/predict", json={"records": X[features].head(40).to_dict("records")}
        )

    outcome = _run("progress")

    assert outcome.status == "data_problem"
    assert "send it with each prediction ('input.sex') or with its feedback" in outcome.message


def test_a_fairness_monitor_needs_its_attribute_and_a_fairness_metric(ctx):
    with pytest.raises(ValueError, match="needs sensitive"):
        loopml.create_monitor(
            name="f", model="m", kind="fairness", metric="demographic_parity_ratio", threshold=0.8
        )
    with pytest.raises(ValueError, match="demographic_parity_ratio"):
        loopml.create_monitor(
            name="f", model="m", kind="fairness", sensitive="sex", metric="accuracy", threshold=0.8
        )
